//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// runTool runs a clusterdns command against the test cluster and returns
// its exit code and output.
func (e *environment) runTool(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(e.clusterdnsBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running clusterdns %v: %v", args, err)
	}
	return code, out.String()
}

type explained struct {
	Rcode  string   `json:"rcode"`
	Answer []string `json:"answer"`
	Causes []struct {
		Code string `json:"code"`
	} `json:"causes"`
	Server *struct {
		Agrees bool `json:"agrees"`
	} `json:"server"`
}

func (x explained) codes() []string {
	var out []string
	for _, c := range x.Causes {
		out = append(out, c.Code)
	}
	return out
}

func (e *environment) explain(t *testing.T, args ...string) (int, explained) {
	t.Helper()
	code, out := e.runTool(t, append([]string{"explain", "--kubeconfig", e.adminKubeconfig, "-o", "json"}, args...)...)
	var x explained
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &x); err != nil {
		t.Fatalf("explain %v: %v\n%s", args, err, out)
	}
	return code, x
}

// startGatedClusterdns runs a clusterdns that reaches the API server
// through a gate, and waits until it has synced; cut the gate to leave it
// serving a stale state.
func (e *environment) startGatedClusterdns(t *testing.T, name string) (*dnsServer, *gate) {
	t.Helper()
	g := newGate(t, fmt.Sprintf("127.0.0.1:%d", e.apiPort))
	g.open()
	kc := e.path(name + ".kubeconfig")
	if err := controlplane.WriteKubeconfig(kc, "https://"+g.addr(), e.caFile, controlplane.AdminToken); err != nil {
		t.Fatal(err)
	}
	s, err := e.startClusterdns(name, "127.0.0.1", kc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.proc.Stop)
	if err := s.waitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s, g
}

// TestExplainLiveCluster: a broken StatefulSet (serviceName typo, unnamed
// port, an unready pod) explained from the live cluster; --server agrees
// with clusterdns and disagrees with a server cut off from the API.
func TestExplainLiveCluster(t *testing.T) {
	e := need(t)
	ctx := ctxFor(t)
	ns := e.namespace(t, "e2e-explain")
	e.createService(t, ns, "web", []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}, headless)
	e.createStatefulSet(t, ns, "web", "wbe", 3, podTemplate(map[string]string{"app": "web"}, "http=8080"))
	pods := e.waitPods(t, ns, "app=web", 3, "web-0", "web-1", "web-2")
	if err := e.kubelet.SetReady(ctx, ns, "web-1", false); err != nil {
		t.Fatal(err)
	}
	web := svcName("web", ns)
	// This test runs after the API server outage scenario: an informer
	// whose watch broke again just after may still be in client-go's
	// back-off (up to 30 s), so allow what the outage scenario allows.
	e.expectWithin(t, 90*time.Second, web, dns.TypeA, dns.RcodeSuccess, []string{pods[0].v4, pods[2].v4})

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{fqdn("web-0", "web", ns, "svc")}, 1, "pod-subdomain-mismatch"},
		{[]string{"_http._tcp." + web, "SRV"}, 1, "port-unnamed"},
		{[]string{web}, 0, "pod-not-ready"},
	} {
		code, x := e.explain(t, c.args...)
		if code != c.code || !slices.Contains(x.codes(), c.want) {
			t.Errorf("explain %v: exit %d codes %v, want exit %d with %s", c.args, code, x.codes(), c.code, c.want)
		}
	}

	code, x := e.explain(t, "--server", e.clusterdns.addr, web)
	if code != 0 || x.Server == nil || !x.Server.Agrees {
		t.Errorf("explain --server clusterdns: exit %d %+v, want agrees", code, x.Server)
	}

	// A clusterdns cut off from the API server after it synced keeps the old
	// state: after web-1 is Ready again, it disagrees.
	stale, g := e.startGatedClusterdns(t, "clusterdns-stale")
	g.cut()
	if err := e.kubelet.SetReady(ctx, ns, "web-1", true); err != nil {
		t.Fatal(err)
	}
	e.expect(t, web, dns.TypeA, pods[0].v4, pods[1].v4, pods[2].v4)
	code, x = e.explain(t, "--server", stale.addr, web)
	if code != 1 || !slices.Contains(x.codes(), "server-disagrees") {
		t.Errorf("explain --server stale: exit %d codes %v, want server-disagrees", code, x.codes())
	}
	t.Log("explain from the live cluster: subdomain typo, unnamed port, unready pod; --server agrees with clusterdns, disagrees with a stale server")
}

// TestProbeWatchDrift: a clusterdns cut off from the API server keeps a pod's
// old IP after the pod is recreated; probe --watch sees the drift and times
// it until the server is reconnected and catches up.
func TestProbeWatchDrift(t *testing.T) {
	e := need(t)
	ctx := ctxFor(t)
	ns := e.namespace(t, "e2e-probe")
	e.createService(t, ns, "db", []corev1.ServicePort{svcPort("pg", 5432, "pg")}, headless)
	e.createStatefulSet(t, ns, "db", "db", 1, podTemplate(map[string]string{"app": "db", manualLabel: "manual"}, "pg=15432"))
	host := fqdn("db-0", "db", ns, "svc")
	setUp := func(prevUID types.UID) types.UID {
		t.Helper()
		p := e.bindRecreated(t, ns, "db-0", prevUID)
		ips := e.kubelet.AllocIPs()
		if _, err := e.kubelet.SetStatus(ctx, ns, "db-0", ips, true); err != nil {
			t.Fatal(err)
		}
		e.expect(t, host, dns.TypeA, ips[0])
		return p.UID
	}
	uid := setUp("")

	lagging, g := e.startGatedClusterdns(t, "clusterdns-lagging")
	code, out := e.runTool(t, "probe", "--kubeconfig", e.adminKubeconfig, "--server", lagging.addr, "--service", ns+"/db")
	if code != 0 {
		t.Fatalf("probe before the change: exit %d\n%s", code, out)
	}

	g.cut()
	e.forceDelete(t, ns, "db-0")
	setUp(uid)
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	go func() {
		c, o := e.runTool(t, "probe", "--kubeconfig", e.adminKubeconfig, "--server", lagging.addr, "--service", ns+"/db",
			"--watch", "30s", "--interval", "200ms", "-o", "json")
		done <- result{c, o}
	}()
	time.Sleep(3 * time.Second)
	reconnected := time.Now()
	g.open()
	eventually(t, 40*time.Second, "the lagging server catches up", func() (bool, string) {
		m, err := exchange(lagging.addr, host, dns.TypeA, qopt{})
		want, _ := exchange(e.clusterdns.addr, host, dns.TypeA, qopt{})
		if err != nil || want == nil {
			return false, fmt.Sprint(err)
		}
		return slices.Equal(rdata(m, dns.TypeA), rdata(want, dns.TypeA)), show(m)
	})
	t.Logf("the lagging server caught up %v after it was reconnected", time.Since(reconnected).Round(time.Millisecond))
	r := <-done
	var res struct {
		Closed []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Kind     string `json:"kind"`
			Duration int64  `json:"duration_ns"`
		} `json:"closed"`
		Open []any `json:"open"`
	}
	if err := json.Unmarshal([]byte(r.out[:strings.LastIndex(r.out, "}")+1]), &res); err != nil {
		t.Fatalf("probe --watch output: %v\n%s", err, r.out)
	}
	var host4 time.Duration
	for _, c := range res.Closed {
		if c.Name == host && c.Type == "A" {
			host4 = time.Duration(c.Duration)
		}
	}
	if r.code != 0 || host4 < 2*time.Second || len(res.Open) != 0 {
		t.Fatalf("probe --watch: exit %d, drift of %s A = %v (want >= 2s, the time cut off), open %v\n%s", r.code, host, host4, res.Open, r.out)
	}
	line := fmt.Sprintf("probe --watch: %s A drifted for %v after the pod got a new IP (server cut off from the API for ~3s, then re-listing)", host, host4.Round(time.Millisecond))
	fmt.Println(line)
	t.Log(line)
}
