package doctor

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/clusterdns/clusterdns/test/e2e/corefiles"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// kubeadmCorefile is kubeadm's Corefile (v1.37).
var kubeadmCorefile = corefiles.Kubeadm{Upstream: "/etc/resolv.conf", Lameduck: 5 * time.Second}.String()

func ptr[T any](v T) *T { return &v }

// fixture is a healthy kubeadm-like cluster: three nodes, CoreDNS 1.11.3
// with two Ready replicas on two nodes behind kube-dns, its ConfigMap,
// and in namespace app a StatefulSet's headless Service web with two
// Ready pods named in the EndpointSlice.
type fixture struct {
	objects []runtime.Object
	// forbid lists resources whose list is Forbidden.
	forbid []string
	// listSeconds is how long the API server's LISTs take; dnsLatency,
	// servfail (a share) the DNS pods' answers (every pod alike, unless
	// pod names one).
	listSeconds, dnsLatency, servfail float64
	pod                               string
	// staleReplica names a DNS pod whose server answers an older state:
	// app/web's second pod at its old address.
	staleReplica string
	// forwarded: the DNS pods' IPs do not answer; they are reached
	// through PortForward (to their servers' TCP addresses).
	forwarded bool
}

// dnsServers runs a clusterdns server per DNS pod on loopback, answering
// the fixture's state (staleReplica's an older one), and has the doctor
// ask them instead of the pod IPs.
func (c *fixture) dnsServers(t testing.TB, in *Input) {
	t.Helper()
	opts := in.zoneOptions()
	now, err := zone.Build(in.state(), opts)
	if err != nil {
		t.Fatal(err)
	}
	old := *in.state()
	old.EndpointSlices = slices.Clone(old.EndpointSlices)
	for i, es := range old.EndpointSlices {
		if es.Name == "web-xyz" {
			eps := slices.Clone(es.Endpoints)
			eps[1].Addresses = cluster.AddressesOf(netip.MustParseAddr("10.244.9.99"))
			old.EndpointSlices[i].Endpoints = eps
		}
	}
	before, err := zone.Build(&old, opts)
	if err != nil {
		t.Fatal(err)
	}
	addrs, tcpAddrs := map[string]string{}, map[string]string{}
	for _, p := range in.DNS().Pods {
		srv := server.New(server.Config{})
		if p.Name == c.staleReplica {
			srv.Swap(before, true)
		} else {
			srv.Swap(now, true)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan [2]string, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ListenAndServe(ctx, "127.0.0.1:0", func(udp, tcp net.Addr) { ready <- [2]string{udp.String(), tcp.String()} })
		}()
		t.Cleanup(func() { cancel(); <-done })
		a := <-ready
		addrs[p.Name], tcpAddrs[p.Name] = a[0], a[1]
	}
	in.PodDNSAddr = func(p *corev1.Pod) string { return addrs[p.Name] }
	if c.forwarded {
		in.PodDNSAddr = func(*corev1.Pod) string { return "127.0.0.1:1" } // refused
		in.PortForward = func(_ context.Context, p *corev1.Pod, port int) (string, func(), error) {
			if port != 53 {
				return "", nil, fmt.Errorf("port %d, want the DNS port", port)
			}
			return tcpAddrs[p.Name], func() {}, nil
		}
	}
}

// histogramText is a Prometheus histogram of n observations of v seconds.
func histogramText(name, labels string, v float64, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE %s histogram\n", name)
	for _, ub := range []float64{0.00025, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64} {
		c := 0
		if v <= ub {
			c = n
		}
		fmt.Fprintf(&b, "%s_bucket{%sle=\"%g\"} %d\n", name, labels, ub, c)
	}
	fmt.Fprintf(&b, "%s_bucket{%sle=\"+Inf\"} %d\n%s_sum{%s} %g\n%s_count{%s} %d\n", name, labels, n, name, strings.TrimSuffix(labels, ","), v*float64(n), name, strings.TrimSuffix(labels, ","), n)
	return b.String()
}

// samplers are the fixture's /metrics: each read sees 100 more requests.
func (c *fixture) samplers(in *Input) {
	var mu sync.Mutex
	reads := map[string]int{}
	next := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		reads[key]++
		return 100 * reads[key]
	}
	listSeconds := c.listSeconds
	if listSeconds == 0 {
		listSeconds = 0.02
	}
	in.APIMetrics = func(context.Context) ([]byte, error) {
		n := next("api")
		var b strings.Builder
		for i, res := range listResources {
			h := histogramText("apiserver_request_sli_duration_seconds", fmt.Sprintf("verb=\"LIST\",resource=%q,", res), listSeconds, n)
			if i > 0 {
				h = h[strings.IndexByte(h, '\n')+1:] // one TYPE line per family
			}
			b.WriteString(h)
		}
		return []byte(b.String()), nil
	}
	in.PodMetrics = func(p *corev1.Pod, port int) Sampler {
		pod := p.Name
		return func(context.Context) ([]byte, error) {
			n := next(pod)
			lat, share := 0.0005, 0.0
			if c.pod == "" || c.pod == pod {
				lat, share = max(lat, c.dnsLatency), c.servfail
			}
			sf := int(share * float64(n))
			text := fmt.Sprintf("# TYPE coredns_dns_responses_total counter\ncoredns_dns_responses_total{rcode=\"NOERROR\",server=\"dns://:53\"} %d\ncoredns_dns_responses_total{rcode=\"SERVFAIL\",server=\"dns://:53\"} %d\n", n-sf, sf)
			return []byte(text + histogramText("coredns_dns_request_duration_seconds", "server=\"dns://:53\",", lat, n)), nil
		}
	}
	in.Window = 10 * time.Millisecond
}

func healthy() *fixture {
	c := &fixture{}
	add := func(o ...runtime.Object) { c.objects = append(c.objects, o...) }
	for _, ns := range []string{"default", SystemNamespace, "app", "other"} {
		add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}}})
	}
	for i := range 3 {
		add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}})
	}
	sel := map[string]string{"k8s-app": "kube-dns"}
	add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: DNSServiceName, Namespace: SystemNamespace},
		Spec: corev1.ServiceSpec{Selector: sel, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}}}})
	container := corev1.Container{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.11.3",
		Args: []string{"-conf", "/etc/coredns/Corefile"},
		Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP}},
		Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("170Mi")}},
		VolumeMounts:   []corev1.VolumeMount{{Name: "config-volume", MountPath: "/etc/coredns"}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181)}}},
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{container}, DNSPolicy: corev1.DNSDefault,
		Volumes: []corev1.Volume{{Name: "config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"}, Items: []corev1.KeyToPath{{Key: "Corefile", Path: "Corefile"}}}}}}}
	add(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: SystemNamespace},
		Spec:   appsv1.DeploymentSpec{Replicas: ptr(int32(2)), Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: spec}},
		Status: appsv1.DeploymentStatus{AvailableReplicas: 2}})
	add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "coredns-5d78c9869d", Namespace: SystemNamespace,
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "coredns", Controller: ptr(true)}}}})
	add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: SystemNamespace}, Data: map[string]string{"Corefile": kubeadmCorefile}})
	var eps []discoveryv1.Endpoint
	for i, name := range []string{"coredns-5d78c9869d-aaaaa", "coredns-5d78c9869d-bbbbb"} {
		ip := fmt.Sprintf("10.244.%d.2", i)
		add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: SystemNamespace, Labels: sel,
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "coredns-5d78c9869d", Controller: ptr(true)}}},
			Spec: *spec.DeepCopy(), Status: readyStatus(ip, "coredns")})
		c.objects[len(c.objects)-1].(*corev1.Pod).Spec.NodeName = fmt.Sprintf("node-%d", i)
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: name, Namespace: SystemNamespace}})
	}
	add(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-abcde", Namespace: SystemNamespace,
		Labels: map[string]string{"kubernetes.io/service-name": DNSServiceName}}, AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("dns"), Port: ptr(int32(53)), Protocol: ptr(corev1.ProtocolUDP)}}})
	// app/web: a StatefulSet's headless Service.
	add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, ClusterIPs: []string{corev1.ClusterIPNone}, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}})
	eps = nil
	for i := range 2 {
		name, ip := fmt.Sprintf("web-%d", i), fmt.Sprintf("10.244.%d.10", i)
		add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", Labels: map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: "web", Controller: ptr(true)}}},
			Spec:   corev1.PodSpec{Hostname: name, Subdomain: "web", NodeName: fmt.Sprintf("node-%d", i), Containers: []corev1.Container{{Name: "web", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}}},
			Status: readyStatus(ip, "web")})
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}, Hostname: ptr(name), Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: name, Namespace: "app"}})
	}
	add(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-xyz", Namespace: "app",
		Labels:      map[string]string{"kubernetes.io/service-name": "web", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
		Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: time.Now().Add(-2 * time.Second).Format(time.RFC3339Nano)},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
			Time: ptr(metav1.NewTime(time.Now().Add(-time.Second)))}}}, AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80)), Protocol: ptr(corev1.ProtocolTCP)}}})
	return c
}

func readyStatus(ip, container string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: container, Ready: true}}}
}

// get returns the object of kind named name (namespace ignored), to edit.
func get[T runtime.Object](c *fixture, name string) T {
	for _, o := range c.objects {
		if t, ok := o.(T); ok && o.(metav1.Object).GetName() == name {
			return t
		}
	}
	panic("no such object: " + name)
}

func (c *fixture) corefile(edit func(string) string) {
	cm := get[*corev1.ConfigMap](c, "coredns")
	cm.Data["Corefile"] = edit(cm.Data["Corefile"])
}

func (c *fixture) run(t *testing.T) *Report {
	t.Helper()
	client := fake.NewClientset(c.objects...)
	for _, res := range c.forbid {
		client.PrependReactor("list", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: res}, "", fmt.Errorf("RBAC: access denied"))
		})
	}
	in, err := Read(context.Background(), client, "https://test", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.samplers(in)
	c.dnsServers(t, in)
	return Run(context.Background(), in, Options{})
}

func (r *Report) check(id string) *Check {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

func dump(r *Report) string {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%s %s %s %s\n", c.Status, c.ID, c.Summary, c.Why)
		for _, f := range c.Findings {
			fmt.Fprintf(&b, "    %s %s %v %s\n", f.Severity, f.Code, f.Objects, f.Message)
		}
	}
	return b.String()
}

// A healthy kubeadm cluster: nothing at error, and every check runs
// (NodeLocal DNSCache, not installed, says so).
func TestHealthyClusterHasNoError(t *testing.T) {
	r := healthy().run(t)
	if r.Failed() {
		t.Errorf("a finding at error on a healthy cluster:\n%s", dump(r))
	}
	for _, c := range r.Checks {
		if c.Status == StatusCrashed || (c.Status == StatusNotRun && c.ID != "dns.nodelocal" && c.ID != "dns.config-forming") {
			t.Errorf("%s %s: %s", c.ID, c.Status, c.Why)
		}
	}
	if d := r.DNS; !strings.Contains(d, "Deployment kube-system/coredns") || !strings.Contains(d, "coredns:v1.11.3") {
		t.Errorf("DNS found: %q", d)
	}
	if len(r.Checks) != len(checks) {
		t.Errorf("%d checks reported, %d defined", len(r.Checks), len(checks))
	}
}

// Each problem of the guide, seeded into the healthy cluster, is reported
// by its check with its code, severity and object.
func TestEachProblemIsReported(t *testing.T) {
	for _, tc := range []struct {
		rule     string
		seed     func(c *fixture)
		check    string
		code     string
		severity Severity
		object   string // in one of the finding's objects
	}{
		{"a DNS container OOMKilled", func(c *fixture) {
			p := get[*corev1.Pod](c, "coredns-5d78c9869d-aaaaa")
			p.Status.ContainerStatuses[0].RestartCount = 3
			p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}
		}, "dns.restarts", "dns-oomkilled", SeverityError, "Pod/kube-system/coredns-5d78c9869d-aaaaa"},
		{"a DNS container in CrashLoopBackOff", func(c *fixture) {
			p := get[*corev1.Pod](c, "coredns-5d78c9869d-bbbbb")
			p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		}, "dns.restarts", "dns-crashloop", SeverityError, "Pod/kube-system/coredns-5d78c9869d-bbbbb"},
		{"no DNS pod Ready", func(c *fixture) {
			for _, n := range []string{"coredns-5d78c9869d-aaaaa", "coredns-5d78c9869d-bbbbb"} {
				get[*corev1.Pod](c, n).Status.Conditions[0].Status = corev1.ConditionFalse
			}
		}, "dns.ready", "dns-no-ready-pods", SeverityError, "Pod/kube-system/coredns-5d78c9869d-aaaaa"},
		{"a memory limit under the sizing formula", func(c *fixture) {
			get[*appsv1.Deployment](c, "coredns").Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("40Mi")
		}, "dns.memory", "dns-memory-limit-low", SeverityError, "Deployment/kube-system/coredns"},
		{"one replica on three nodes", func(c *fixture) {
			get[*appsv1.Deployment](c, "coredns").Spec.Replicas = ptr(int32(1))
		}, "dns.replicas", "dns-single-replica", SeverityWarning, "Deployment/kube-system/coredns"},
		{"replicas under the installed autoscaler's rule", func(c *fixture) {
			c.objects = append(c.objects,
				&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-autoscaler", Namespace: SystemNamespace},
					Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "autoscaler",
						Args: []string{"--configmap=kube-dns-autoscaler", "--target=Deployment/coredns"}}}}}}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-autoscaler", Namespace: SystemNamespace},
					Data: map[string]string{"linear": `{"coresPerReplica":4,"nodesPerReplica":1,"min":1}`}})
		}, "dns.replicas", "dns-replicas-low", SeverityWarning, "Deployment/kube-system/kube-dns-autoscaler"},
		{"every replica on one node", func(c *fixture) {
			get[*corev1.Pod](c, "coredns-5d78c9869d-bbbbb").Spec.NodeName = "node-0"
		}, "dns.spread", "dns-replicas-one-node", SeverityWarning, "Node/node-0"},
		{"CoreDNS before 1.7.0 panics on API jitter", func(c *fixture) {
			get[*appsv1.Deployment](c, "coredns").Spec.Template.Spec.Containers[0].Image = "k8s.gcr.io/coredns:1.6.7"
		}, "dns.version", "coredns-tombstone-panic", SeverityError, "Deployment/kube-system/coredns"},
		{"NodeLocal DNSCache not ready on every node", func(c *fixture) {
			c.objects = append(c.objects, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "node-local-dns", Namespace: SystemNamespace},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberReady: 2}})
		}, "dns.nodelocal", "nodelocal-not-ready", SeverityError, "DaemonSet/kube-system/node-local-dns"},
		{"the kubelet's DNSConfigForming warnings", func(c *fixture) {
			c.objects = append(c.objects, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "app"}, Reason: "DNSConfigForming",
				Message: "Search Line limits were exceeded, some search paths have been omitted", Source: corev1.EventSource{Host: "node-2"}, Count: 4})
		}, "dns.config-forming", "dns-config-forming", SeverityWarning, "Node/node-2"},
		{"the cluster zone cached 30 s (cache 30 without disable)", func(c *fixture) {
			c.corefile(func(s string) string {
				return strings.Replace(s, "cache 30 {\n       disable success cluster.local\n       disable denial cluster.local\n    }", "cache 30", 1)
			})
		}, "config.staleness", "stale-answers", SeverityWarning, "ConfigMap kube-system/coredns"},
		{"forward to a loopback resolver", func(c *fixture) {
			c.corefile(func(s string) string {
				return strings.Replace(s, "forward . /etc/resolv.conf", "forward . 127.0.0.53", 1)
			})
		}, "config.loop", "forward-loopback", SeverityError, "ConfigMap kube-system/coredns"},
		{"no ready plugin while the probe asks /ready", func(c *fixture) {
			c.corefile(func(s string) string { return strings.Replace(s, "    ready\n", "", 1) })
		}, "config.ready", "ready-plugin-missing", SeverityError, "Deployment/kube-system/coredns"},
		{"readiness on /health", func(c *fixture) {
			get[*appsv1.Deployment](c, "coredns").Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet = &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(8080)}
		}, "config.ready", "readiness-on-health", SeverityWarning, "Deployment/kube-system/coredns"},
		{"a lame duck longer than the grace period", func(c *fixture) {
			c.corefile(func(s string) string { return strings.Replace(s, "lameduck 5s", "lameduck 45s", 1) })
		}, "config.lameduck", "lameduck-over-grace", SeverityError, "Deployment/kube-system/coredns"},
		{"reverse zones without fallthrough", func(c *fixture) {
			c.corefile(func(s string) string { return strings.Replace(s, "       fallthrough in-addr.arpa ip6.arpa\n", "", 1) })
		}, "config.reverse", "reverse-no-fallthrough", SeverityWarning, "ConfigMap kube-system/coredns"},
		{"forward without max_concurrent", func(c *fixture) {
			c.corefile(func(s string) string {
				return strings.Replace(s, "forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }", "forward . /etc/resolv.conf", 1)
			})
		}, "config.max-concurrent", "forward-unbounded", SeverityWarning, "ConfigMap kube-system/coredns"},
		{"autopath behind NodeLocal DNSCache", func(c *fixture) {
			c.corefile(func(s string) string {
				return strings.Replace(strings.Replace(s, "pods insecure", "pods verified", 1), "    loadbalance\n", "    loadbalance\n    autopath @kubernetes\n", 1)
			})
			c.objects = append(c.objects, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "node-local-dns", Namespace: SystemNamespace},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberReady: 3}})
		}, "config.pods", "autopath-behind-nodelocal", SeverityError, "DaemonSet/kube-system/node-local-dns"},
		{"a kube-dns endpoint not ready", func(c *fixture) {
			get[*discoveryv1.EndpointSlice](c, "kube-dns-abcde").Endpoints[1].Conditions.Ready = ptr(false)
		}, "config.endpoints", "dns-endpoints-not-ready", SeverityWarning, "Service/kube-system/kube-dns"},
		{"a default-deny egress NetworkPolicy", func(c *fixture) {
			c.objects = append(c.objects, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-egress", Namespace: "app"},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}})
		}, "config.network-policy", "netpol-blocks-dns", SeverityError, "NetworkPolicy/app/deny-egress"},
		{"an egress policy allowing DNS over UDP only", func(c *fixture) {
			c.objects = append(c.objects, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "dns-udp", Namespace: "app"},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
					Egress: []networkingv1.NetworkPolicyEgressRule{{
						To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": SystemNamespace}},
							PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}}}},
						Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(53))}}}}}})
		}, "config.network-policy", "netpol-blocks-dns", SeverityWarning, "NetworkPolicy/app/dns-udp"},
		{"the EndpointSlice controller published a change 20 s late", func(c *fixture) {
			es := get[*discoveryv1.EndpointSlice](c, "web-xyz")
			es.Annotations[corev1.EndpointsLastChangeTriggerTime] = time.Now().Add(-25 * time.Second).Format(time.RFC3339Nano)
			es.ManagedFields[0].Time = ptr(metav1.NewTime(time.Now().Add(-5 * time.Second)))
		}, "controlplane.endpointslice-lag", "endpointslice-lag", SeverityWarning, "EndpointSlice/app/web-xyz"},
		{"a headless Service's port without a name (no SRV record)", func(c *fixture) {
			get[*corev1.Service](c, "web").Spec.Ports[0].Name = ""
		}, "headless.names", "port-unnamed", SeverityError, "Service/app/web"},
		{"a StatefulSet pod without its hostname in the EndpointSlice", func(c *fixture) {
			get[*discoveryv1.EndpointSlice](c, "web-xyz").Endpoints[1].Hostname = nil
		}, "headless.names", "endpointslice-missing-hostname", SeverityError, ""},
		{"a hostNetwork pod on ClusterFirst", func(c *fixture) {
			c.objects = append(c.objects, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agent-x1", Namespace: "app",
				OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent", Controller: ptr(true)}}},
				Spec: corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{Name: "a", Image: "agent"}}}, Status: readyStatus("192.168.0.5", "a")})
		}, "clients.dns-policy", "hostnetwork-clusterfirst", SeverityWarning, "DaemonSet/app/agent"},
		{"one DNS replica answers an older state", func(c *fixture) { c.staleReplica = "coredns-5d78c9869d-bbbbb" },
			"answers.dns-servers", "dns-replica-stale", SeverityError, "Pod/kube-system/coredns-5d78c9869d-bbbbb"},
		{"LIST of what a cluster DNS watches is slow at the API server", func(c *fixture) { c.listSeconds = 3 },
			"controlplane.list-latency", "apiserver-list-slow", SeverityWarning, "APIServer/"},
		{"one DNS pod answers 5% SERVFAIL", func(c *fixture) { c.servfail, c.pod = 0.05, "coredns-5d78c9869d-bbbbb" },
			"metrics.dns-pods", "dns-servfail-rate", SeverityError, "Pod/kube-system/coredns-5d78c9869d-bbbbb"},
		{"DNS pods answer with a p99 over 500 ms", func(c *fixture) { c.dnsLatency = 0.9 },
			"metrics.dns-pods", "dns-latency-high", SeverityWarning, "Pod/kube-system/coredns-5d78c9869d-aaaaa"},
		{"a workload refers to a short name of another namespace (ndots)", func(c *fixture) {
			c.objects = append(c.objects,
				&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "other"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.5.5", ClusterIPs: []string{"10.96.5.5"},
					Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}}},
				&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-7f-abcde", Namespace: "app",
					OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "api-7f", Controller: ptr(true)}}},
					Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "api", Env: []corev1.EnvVar{{Name: "DB_HOST", Value: "db.other"}}}}},
					Status: readyStatus("10.244.1.50", "api")})
		}, "clients.ndots", "ndots-short-names", SeverityInfo, "ReplicaSet/app/api-7f"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			c := healthy()
			tc.seed(c)
			r := c.run(t)
			chk := r.check(tc.check)
			if chk == nil {
				t.Fatalf("no check %s", tc.check)
			}
			for _, f := range chk.Findings {
				if f.Code != tc.code {
					continue
				}
				if f.Severity != tc.severity {
					t.Errorf("%s: severity %s, want %s", f.Code, f.Severity, tc.severity)
				}
				if tc.object != "" && !strings.Contains(strings.Join(f.Objects, " "), tc.object) {
					t.Errorf("%s: objects %v, want %s", f.Code, f.Objects, tc.object)
				}
				if f.Message == "" {
					t.Errorf("%s: no message", f.Code)
				}
				return
			}
			t.Errorf("%s did not report %s:\n%s", tc.check, tc.code, dump(r))
		})
	}
}

// A resource the doctor may not list makes the checks that need it "not
// run", saying why; the others still run.
func TestForbiddenResourceIsNotRunWithWhy(t *testing.T) {
	c := healthy()
	c.forbid = []string{"nodes"}
	r := c.run(t)
	chk := r.check("dns.replicas")
	if chk.Status != StatusNotRun || !strings.Contains(chk.Why, "no permission to list nodes") {
		t.Errorf("dns.replicas: %s %q", chk.Status, chk.Why)
	}
	if r.check("dns.ready").Status != StatusOK {
		t.Errorf("dns.ready did not run:\n%s", dump(r))
	}
}

// A check that panics is reported as crashed, with the panic, and the
// report goes on.
func TestACheckThatPanicsIsCrashed(t *testing.T) {
	c := runOne(context.Background(), &Input{Errs: map[string]error{}}, checkDef{id: "x.boom", group: GroupClients, title: "boom",
		run: func(context.Context, *Input, *Check) { panic("kaboom") }})
	if c.Status != StatusCrashed || !strings.Contains(c.Why, "kaboom") {
		t.Errorf("%s %q", c.Status, c.Why)
	}
}

// Without a kube-dns Service the doctor says so at error, and the checks
// of the cluster DNS do not run.
func TestNoClusterDNS(t *testing.T) {
	c := healthy()
	var kept []runtime.Object
	for _, o := range c.objects {
		if s, ok := o.(*corev1.Service); ok && s.Name == DNSServiceName {
			continue
		}
		kept = append(kept, o)
	}
	c.objects = kept
	r := c.run(t)
	found := r.check("dns.found")
	if found.Status != StatusFail || found.Findings[0].Code != "dns-service-missing" {
		t.Errorf("dns.found:\n%s", dump(r))
	}
	if r.check("dns.ready").Status != StatusNotRun {
		t.Errorf("dns.ready ran without a cluster DNS")
	}
}

// quantile interpolates as Prometheus's histogram_quantile does.
func TestQuantileAsPrometheus(t *testing.T) {
	h := histogram{bounds: []float64{0.1, 0.5, 1, math.Inf(1)}, counts: map[float64]float64{0.1: 50, 0.5: 90, 1: 100, math.Inf(1): 100}, count: 100}
	for _, tc := range []struct{ q, want float64 }{{0.5, 0.1}, {0.7, 0.3}, {0.99, 0.95}} {
		if got := h.quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%.2f = %g, want %g", tc.q, got, tc.want)
		}
	}
	inf := histogram{bounds: []float64{1, math.Inf(1)}, counts: map[float64]float64{1: 10, math.Inf(1): 100}, count: 100}
	if got := inf.quantile(0.99); got != 1 {
		t.Errorf("in +Inf: %g, want the highest finite bound 1", got)
	}
	if got := (histogram{}).quantile(0.99); !math.IsNaN(got) {
		t.Errorf("no observations: %g", got)
	}
}

// Acceptance: one stale replica is singled out by name; the replica that
// agrees with the state is not reported.
func TestOneStaleReplicaIsSingledOut(t *testing.T) {
	c := healthy()
	c.staleReplica = "coredns-5d78c9869d-aaaaa"
	r := c.run(t)
	chk := r.check("answers.dns-servers")
	if chk.Status != StatusFail || len(chk.Findings) != 1 {
		t.Fatalf("answers:\n%s", dump(r))
	}
	f := chk.Findings[0]
	if f.Code != "dns-replica-stale" || len(f.Objects) != 1 || f.Objects[0] != "Pod/kube-system/coredns-5d78c9869d-aaaaa" ||
		!strings.Contains(strings.Join(f.Evidence, "\n"), "10.244.9.99") {
		t.Errorf("%+v", f)
	}
}

// A DNS pod whose IP does not answer (the doctor on a laptop) is asked
// through a port-forward, over TCP; the stale one is still named.
func TestAnswersThroughPortForward(t *testing.T) {
	c := healthy()
	c.staleReplica, c.forwarded = "coredns-5d78c9869d-bbbbb", true
	r := c.run(t)
	chk := r.check("answers.dns-servers")
	if !strings.Contains(chk.Summary, "(2 through a port-forward)") || len(chk.Findings) != 1 || chk.Findings[0].Code != "dns-replica-stale" ||
		chk.Findings[0].Objects[0] != "Pod/kube-system/coredns-5d78c9869d-bbbbb" {
		t.Errorf("answers:\n%s", dump(r))
	}
}

// FuzzMetrics: any /metrics body, read twice over: parsing it, summing
// its counters and taking its histograms' quantiles neither panics nor
// gives a quantile outside the buckets.
func FuzzMetrics(f *testing.F) {
	f.Add([]byte(histogramText("coredns_dns_request_duration_seconds", "server=\"dns://:53\",", 0.002, 10)), []byte(histogramText("coredns_dns_request_duration_seconds", "server=\"dns://:53\",", 0.2, 30)))
	f.Add([]byte("# TYPE coredns_dns_responses_total counter\ncoredns_dns_responses_total{rcode=\"SERVFAIL\"} 3\n"), []byte("coredns_dns_responses_total 1e309\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		first, err1 := parseMetrics(time.Now(), a)
		second, err2 := parseMetrics(time.Now(), b)
		if err1 != nil || err2 != nil {
			return
		}
		for name := range second.Families {
			second.counter(name, map[string]string{"rcode": "SERVFAIL"})
			h := second.histogram(name, nil).minus(first.histogram(name, nil))
			q := h.quantile(0.99)
			if !math.IsNaN(q) && len(h.bounds) > 0 && q > h.bounds[len(h.bounds)-1] && !math.IsInf(h.bounds[len(h.bounds)-1], 1) {
				t.Errorf("%s: quantile %g above the last bound %g", name, q, h.bounds[len(h.bounds)-1])
			}
		}
	})
}
