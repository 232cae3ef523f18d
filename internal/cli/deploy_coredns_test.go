package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/corefile"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// checkedElsewhere are the overlays TestDeployOverlays leaves to a test of
// their own.
var checkedElsewhere = map[string]bool{"kubeadm-replace-coredns": true}

// TestDeployReplaceCoreDNS checks deploy/overlays/kubeadm-replace-coredns
// against kubeadm's CoreDNS Deployment and against what serve --corefile
// makes of kubeadm's Corefile: the same name, selector and ServiceAccount,
// the coredns ConfigMap's Corefile where --corefile reads it, the ports
// and probe ports the Corefile's port, health and ready plugins give, and
// a command line serve accepts.
func TestDeployReplaceCoreDNS(t *testing.T) {
	rendered := kustomizeBuild(t, filepath.Join(repoRoot(t), "deploy", "overlays", "kubeadm-replace-coredns"))
	docs := splitYAML(t, "kubeadm-replace-coredns", rendered)
	if len(docs) != 1 {
		t.Fatalf("want one object (the Deployment), got %d", len(docs))
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(docs[0], &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "coredns" || d.Namespace != "kube-system" || d.Spec.Selector.MatchLabels["k8s-app"] != "kube-dns" || len(d.Spec.Selector.MatchLabels) != 1 {
		t.Errorf("Deployment %s/%s selector %v: want kube-system/coredns with kubeadm's selector k8s-app=kube-dns", d.Namespace, d.Name, d.Spec.Selector.MatchLabels)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "coredns" || pod.DNSPolicy != corev1.DNSDefault || pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("pod: serviceAccount %q, dnsPolicy %q, priorityClass %q", pod.ServiceAccountName, pod.DNSPolicy, pod.PriorityClassName)
	}
	c := pod.Containers[0]
	if c.Name != "coredns" {
		t.Errorf("container %q: kubeadm's is coredns (kubectl apply merges containers by name)", c.Name)
	}
	checkServeArgs(t, "kubeadm-replace-coredns args", c.Args)
	path, ok := flagValue(c.Args, "corefile")
	if !ok || !mounted(pod, c, path, "coredns", "Corefile") {
		t.Errorf("--corefile %q is not the coredns ConfigMap's Corefile as mounted", path)
	}

	// What serve makes of kubeadm's Corefile must meet the manifest.
	cfg, err := corefile.ParseFile(filepath.Join(repoRoot(t), "internal", "corefile", "testdata", "kubeadm.Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Blocks[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)] = p.ContainerPort
	}
	for _, want := range []string{fmt.Sprintf("%d/UDP", b.Zones[0].Port), fmt.Sprintf("%d/TCP", b.Zones[0].Port), portOf(t, b.Prometheus.Addr) + "/TCP"} {
		if _, ok := ports[want]; !ok {
			t.Errorf("container ports %v lack %s", ports, want)
		}
	}
	if got := fmt.Sprint(c.LivenessProbe.HTTPGet.Port.IntValue()); c.LivenessProbe.HTTPGet.Path != "/health" || got != portOf(t, b.Health.Addr) {
		t.Errorf("liveness %s:%s, the Corefile's health is %s", c.LivenessProbe.HTTPGet.Path, got, b.Health.Addr)
	}
	if got := fmt.Sprint(c.ReadinessProbe.HTTPGet.Port.IntValue()); c.ReadinessProbe.HTTPGet.Path != "/ready" || got != portOf(t, b.Ready.Addr) {
		t.Errorf("readiness %s:%s, the Corefile's ready is %s", c.ReadinessProbe.HTTPGet.Path, got, b.Ready.Addr)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		!slices.ContainsFunc(pod.SecurityContext.Sysctls, func(s corev1.Sysctl) bool {
			return s.Name == "net.ipv4.ip_unprivileged_port_start" && s.Value == "53"
		}) {
		t.Error("want a non-root pod with net.ipv4.ip_unprivileged_port_start=53 (port 53 without capabilities)")
	}
}

// mounted reports whether file path of container c is key of ConfigMap cm.
func mounted(pod corev1.PodSpec, c corev1.Container, path, cm, key string) bool {
	for _, m := range c.VolumeMounts {
		if filepath.Join(m.MountPath, key) != path {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm {
				return len(v.ConfigMap.Items) == 0 || slices.ContainsFunc(v.ConfigMap.Items, func(k corev1.KeyToPath) bool { return k.Key == key && k.Path == key })
			}
		}
	}
	return false
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[i+1:]
}
