//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/miekg/dns"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// Scenario 7: deploy/ against the real API server. Every kustomization in
// deploy/ passes `kubectl apply -k --dry-run=server`, and clusterdns,
// running with the token of a ServiceAccount bound only to the ClusterRoles
// deploy/ ships (and with the Deployment's own flags), syncs and answers.
func TestDeployManifests(t *testing.T) {
	e := need(t)
	deploy, err := filepath.Abs(filepath.Join("..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(deploy, "kustomization.yaml")); err != nil {
		t.Skipf("deploy/kustomization.yaml does not exist (yet): nothing to check (%v)", err)
	}

	t.Run("dry-run", func(t *testing.T) {
		dirs := []string{deploy}
		overlays, _ := filepath.Glob(filepath.Join(deploy, "overlays", "*", "kustomization.yaml"))
		for _, o := range overlays {
			dirs = append(dirs, filepath.Dir(o))
		}
		for _, dir := range dirs {
			rel, _ := filepath.Rel(filepath.Dir(deploy), dir)
			out, err := e.kubectl("apply", "-k", dir, "--dry-run=server")
			if err != nil {
				t.Errorf("kubectl apply -k %s --dry-run=server: %v\n%s", rel, err, out)
				continue
			}
			t.Logf("kubectl apply -k %s --dry-run=server:\n%s", rel, strings.TrimSpace(out))
		}
	})

	t.Run("base", func(t *testing.T) {
		e.runAsDeployed(t, deploy, "e2e-rbac-base")
	})

	// The optional component for --pod-records verified, on top of the base.
	comp := filepath.Join(deploy, "components", "verified-pods")
	if _, err := os.Stat(filepath.Join(comp, "kustomization.yaml")); err == nil {
		t.Run("verified-pods", func(t *testing.T) {
			dir := t.TempDir()
			// kustomize takes only relative paths to other kustomizations.
			base, err1 := filepath.Rel(dir, filepath.Join(deploy, "base"))
			rcomp, err2 := filepath.Rel(dir, comp)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n  - %s\n", base, rcomp)
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
				t.Fatal(err)
			}
			e.runAsDeployed(t, dir, "e2e-rbac-verified")
		})
	}
}

// kubectl runs the built kubectl as the admin.
func (e *environment) kubectl(args ...string) (string, error) {
	cmd := exec.Command(e.bins.Kubectl, append([]string{"--kubeconfig", e.adminKubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// kustomize renders dir with the built kubectl and returns its objects.
func (e *environment) kustomize(t *testing.T, dir string) []map[string]any {
	t.Helper()
	cmd := exec.Command(e.bins.Kubectl, "kustomize", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var objs []map[string]any
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding kubectl kustomize %s: %v", dir, err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

func convert(t *testing.T, from map[string]any, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}

// runAsDeployed creates the ClusterRoles of the rendered kustomization dir,
// binds them as its ClusterRoleBindings do to a ServiceAccount in ns, and
// runs clusterdns with that account's token and the Deployment's flags.
func (e *environment) runAsDeployed(t *testing.T, dir, ns string) {
	ctx := ctxFor(t)
	e.namespace(t, ns)
	objs := e.kustomize(t, dir)
	var roles []rbacv1.ClusterRole
	var bindings []rbacv1.ClusterRoleBinding
	var args []string
	for _, o := range objs {
		switch o["kind"] {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			convert(t, o, &r)
			roles = append(roles, r)
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			convert(t, o, &b)
			bindings = append(bindings, b)
		case "Deployment":
			var d struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
				Spec     struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}
			convert(t, o, &d)
			if d.Metadata.Name == "clusterdns" && len(d.Spec.Template.Spec.Containers) > 0 {
				args = d.Spec.Template.Spec.Containers[0].Args
			}
		}
	}
	if !slices.ContainsFunc(roles, func(r rbacv1.ClusterRole) bool { return r.Name == "clusterdns" }) {
		t.Fatalf("kubectl kustomize %s renders no ClusterRole named clusterdns", dir)
	}
	if args == nil {
		t.Fatalf("kubectl kustomize %s renders no Deployment clusterdns with args", dir)
	}

	for _, r := range roles {
		r := r
		r.ResourceVersion = ""
		cur, err := e.cs.RbacV1().ClusterRoles().Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = e.cs.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
		case err == nil:
			r.ResourceVersion = cur.ResourceVersion
			_, err = e.cs.RbacV1().ClusterRoles().Update(ctx, &r, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatalf("ClusterRole %s: %v", r.Name, err)
		}
		t.Logf("ClusterRole %s: %s", r.Name, rulesString(r.Rules))
	}
	const sa = "clusterdns"
	if _, err := e.cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bindings {
		if b.RoleRef.Kind != "ClusterRole" || !slices.ContainsFunc(roles, func(r rbacv1.ClusterRole) bool { return r.Name == b.RoleRef.Name }) {
			t.Fatalf("ClusterRoleBinding %s binds %s %s, which deploy/ does not define", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		nb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + b.Name},
			RoleRef:    b.RoleRef,
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
		}
		if _, err := e.cs.RbacV1().ClusterRoleBindings().Create(ctx, nb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := e.cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, sa, err)
	}
	kc := e.path(ns + ".kubeconfig")
	if err := controlplane.WriteKubeconfig(kc, e.apiURL, e.caFile, tok.Status.Token); err != nil {
		t.Fatal(err)
	}

	// The Deployment's flags, but our own addresses.
	var flags []string
	verified := false
	for _, a := range args {
		// Our addresses, and our kubeconfig instead of the pod's account.
		if a == "serve" || strings.HasPrefix(a, "--listen") || strings.HasPrefix(a, "--health-addr") || strings.HasPrefix(a, "--metrics-addr") ||
			strings.HasPrefix(a, "--in-cluster") || strings.HasPrefix(a, "--kubeconfig") {
			continue
		}
		if a == "--pod-records=verified" {
			verified = true
		}
		flags = append(flags, a)
	}
	t.Logf("clusterdns serve flags from the Deployment: %s", strings.Join(flags, " "))
	s, err := e.startClusterdns("clusterdns-"+ns, "127.0.0.1", kc, flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.proc.Stop)
	started := time.Now()
	if err := s.waitReady(60 * time.Second); err != nil {
		t.Fatalf("clusterdns with the ServiceAccount token of %s/%s: %v", ns, sa, err)
	}
	t.Logf("ready %v after start with only deploy/'s ClusterRoles", time.Since(started).Round(time.Millisecond))
	for _, l := range s.logs.since(time.Time{}, func(l logLine) bool {
		return strings.Contains(strings.ToLower(l.raw), "forbidden")
	}) {
		t.Errorf("clusterdns was refused something: %s", l.raw)
	}

	// It answers what the cluster holds.
	created := e.createService(t, ns, "probe", []corev1.ServicePort{svcPort("http", 80, "http")})
	v4, _ := splitFamilies(created.Spec.ClusterIPs)
	name := svcName("probe", ns)
	eventually(t, expectTimeout, "clusterdns ("+ns+") answers "+name, func() (bool, string) {
		m, err := exchange(s.addr, name, dns.TypeA, qopt{})
		if err != nil {
			return false, err.Error()
		}
		return slices.Equal(rdata(m, dns.TypeA), v4), show(m)
	})
	if verified {
		e.createPod(t, ns, "probe-pod", map[string]string{"app": "probe"}, "", "", "http=8080")
		p := e.waitPods(t, ns, "app=probe", 1, "probe-pod")[0]
		podName := fqdn(dashed(p.v4), ns, "pod")
		eventually(t, expectTimeout, "clusterdns ("+ns+", verified) answers "+podName, func() (bool, string) {
			m, err := exchange(s.addr, podName, dns.TypeA, qopt{})
			if err != nil {
				return false, err.Error()
			}
			return slices.Equal(rdata(m, dns.TypeA), []string{p.v4}), show(m)
		})
		other := fqdn("10-0-0-1", ns, "pod")
		m, err := exchange(s.addr, other, dns.TypeA, qopt{})
		if err != nil || m.Rcode != dns.RcodeNameError {
			t.Errorf("clusterdns (verified) %s A = %s %v, want NXDOMAIN (no pod has that IP)", other, show(m), err)
		}
		t.Logf("--pod-records verified with the pods ClusterRole: %s answered, %s NXDOMAIN", podName, other)
	}
}

func rulesString(rules []rbacv1.PolicyRule) string {
	var parts []string
	for _, r := range rules {
		parts = append(parts, fmt.Sprintf("%v/%v:%v", r.APIGroups, r.Resources, r.Verbs))
	}
	return strings.Join(parts, " ")
}
