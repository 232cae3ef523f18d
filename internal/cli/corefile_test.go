package cli

import (
	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/clusterdns/clusterdns/test/e2e/corefiles"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// kubeadmCorefile is kubeadm's Corefile with forward pointed at to, the
// reload line given ("": none), and no lameduck, so that the test stops at
// once.
func kubeadmCorefile(to, reload string) string {
	return corefiles.Kubeadm{Upstream: to, Reload: reload, NoReload: reload == ""}.String()
}

func writeCorefile(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var exampleManifests = filepath.Join("..", "..", "examples", "cluster")

// serve --corefile with kubeadm's Corefile: cluster names from the engine,
// the rest forwarded through the cache, reverse names outside the cluster
// forwarded (fallthrough).
func TestServeKubeadmCorefile(t *testing.T) {
	up := startFakeUpstream(t, 1)
	path := writeCorefile(t, t.TempDir(), kubeadmCorefile(up.addr, "reload"))
	metricsAddr := freeAddr(t)
	addr, _, _ := startServe(t, "--corefile", path, "--manifests", exampleManifests, "--ready-addr", "127.0.0.1:0", "--metrics-addr", metricsAddr)
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || r.Answer[0].Header().Ttl != 30 {
		t.Fatalf("cluster name (ttl 30): %v", r)
	}
	for range 2 {
		if r := query(t, addr, "www.example.com.", dns.TypeA); len(r.Answer) != 1 {
			t.Fatalf("forwarded: %v", r)
		}
	}
	if n := up.count("www.example.com."); n != 1 {
		t.Errorf("upstream asked %d times, want 1 (cache 30)", n)
	}
	if r := query(t, addr, "9.9.9.9.in-addr.arpa.", dns.TypePTR); len(r.Answer) != 1 {
		t.Errorf("reverse name outside the cluster not forwarded: %v", r)
	}
	if up.count("web.default.svc.cluster.local.") != 0 {
		t.Error("a cluster name reached the upstream")
	}
	body := scrape(t, metricsAddr)
	for _, want := range []string{
		`coredns_cache_hits_total{server="dns://127.0.0.1:0",type="success",view="",zones="."} 1`,
		`coredns_cache_misses_total{server="dns://127.0.0.1:0",view="",zones="."}`,
		`coredns_proxy_request_duration_seconds_count{proxy_name="forward",rcode="NOERROR",to="` + up.addr + `"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(body, "coredns_cache_"))
		}
	}
}

// The reload plugin: a changed forward is applied while serving; a broken
// Corefile is logged and the running configuration kept.
func TestServeCorefileReload(t *testing.T) {
	first, second := startFakeUpstream(t, 1), startFakeUpstream(t, 2)
	dir := t.TempDir()
	path := writeCorefile(t, dir, kubeadmCorefile(first.addr, "reload 2s 1s"))
	addr, _, log := startServe(t, "--corefile", path, "--manifests", exampleManifests)
	if r := query(t, addr, "a.example.com.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Fatalf("before the reload: %v", r)
	}
	writeCorefile(t, dir, kubeadmCorefile(second.addr, "reload 2s 1s"))
	waitFor(t, 10*time.Second, func() bool {
		r := query(t, addr, "b.example.com.", dns.TypeA)
		return len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "192.0.2.2"
	}, "the changed forward to be applied")
	writeCorefile(t, dir, ".:53 {\n  kubernetes cluster.local\n  forward . 192.0.2.1 {\n    policy fastest\n  }\n reload 2s 1s\n}\n")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(log.String(), "not valid; keeping the running configuration") }, "the broken Corefile to be logged")
	if r := query(t, addr, "c.example.com.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
		t.Errorf("after a broken Corefile: %v", r)
	}
}

// scrape is the text of a /metrics endpoint.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func waitFor(t *testing.T, d time.Duration, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// serve refuses what the Corefile says with a flag, and what it cannot run
// yet, naming the line.
func TestServeCorefileRefusals(t *testing.T) {
	dir := t.TempDir()
	good := writeCorefile(t, dir, kubeadmCorefile("127.0.0.1:53", "reload"))
	hosts := filepath.Join(dir, "hosts.Corefile")
	os.WriteFile(hosts, []byte("example:53 {\n  hosts {\n    10.0.0.1 db.example\n    fallthrough\n  }\n}\n.:53 {\n  kubernetes cluster.local\n}\n"), 0o644)
	bad := filepath.Join(dir, "bad.Corefile")
	os.WriteFile(bad, []byte(".:53 {\n  kubernetes cluster.local\n  etcd\n}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--corefile", good, "--ttl", "5"}, "--ttl cannot be combined with --corefile"},
		{[]string{"--corefile", good, "--upstream", "127.0.0.1"}, "--upstream cannot be combined with --corefile"},
		{[]string{"--corefile", hosts}, `hosts.Corefile:2: plugin "hosts" outside the block of the kubernetes plugin is not supported by clusterdns yet`},
		{[]string{"--corefile", bad}, `bad.Corefile:3: plugin "etcd" is not supported by clusterdns`},
		{[]string{"--corefile", filepath.Join(dir, "missing")}, "missing"},
	} {
		var out, errb strings.Builder
		code := Main(t.Context(), append([]string{"serve", "--listen", "127.0.0.1:0", "--manifests", exampleManifests}, tc.args...), strings.NewReader(""), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// corefile check: 0 for kubeadm's Corefile, 1 with the lines it does not
// serve.
func TestCorefileCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeCorefile(t, dir, kubeadmCorefile("/etc/resolv.conf", "reload"))
	bad := filepath.Join(dir, "bad.Corefile")
	os.WriteFile(bad, []byte(".:53 {\n  kubernetes cluster.local\n  etcd\n  template IN A example {\n  }\n}\n"), 0o644)
	var out, errb strings.Builder
	if code := Main(t.Context(), []string{"corefile", "check", good}, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(out.String(), "forward: forward names under .") {
		t.Errorf("kubeadm: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := Main(t.Context(), []string{"corefile", "check", bad}, strings.NewReader(""), &out, &errb); code != 1 ||
		!strings.Contains(out.String(), `bad.Corefile:3: plugin "etcd" is not supported by clusterdns`) || !strings.Contains(out.String(), `bad.Corefile:4: plugin "template"`) {
		t.Errorf("unsupported: exit %d\n%s", code, out.String())
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// rewrite name in the kubernetes block: an alias answered as the cluster
// name it is rewritten to, with the client's name in the answer (answer
// auto), as CoreDNS does.
func TestServeCorefileRewrite(t *testing.T) {
	up := startFakeUpstream(t, 1)
	path := writeCorefile(t, t.TempDir(), `.:53 {
    rewrite name exact db.example.com web.default.svc.cluster.local
    rewrite name suffix .corp.example .default.svc.cluster.local answer auto
    kubernetes cluster.local
    forward . `+up.addr+`
}
`)
	addr, _, _ := startServe(t, "--corefile", path, "--manifests", exampleManifests)
	direct := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA)
	for _, name := range []string{"db.example.com.", "web.corp.example."} {
		r := query(t, addr, name, dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != len(direct.Answer) || r.Question[0].Name != name {
			t.Fatalf("%s: %v", name, r)
		}
		for _, rr := range r.Answer {
			if rr.Header().Name != name {
				t.Errorf("%s: owner %s, want the asked name (answer auto)", name, rr.Header().Name)
			}
		}
	}
	if up.count("db.example.com.") != 0 {
		t.Error("a rewritten name reached the upstream")
	}
}

// hosts in the kubernetes block: its names before the cluster's, the rest
// falling through (to kubernetes, then forward), as CoreDNS chains them.
func TestServeCorefileHosts(t *testing.T) {
	up := startFakeUpstream(t, 1)
	dir := t.TempDir()
	hostsFile := filepath.Join(dir, "hosts")
	os.WriteFile(hostsFile, []byte("# a node file\n10.0.0.5 files.example.com\n"), 0o644)
	path := writeCorefile(t, dir, `.:53 {
    hosts `+hostsFile+` {
       10.0.0.1 db.example.com
       ttl 60
       fallthrough
    }
    kubernetes cluster.local
    forward . `+up.addr+`
}
`)
	addr, _, _ := startServe(t, "--corefile", path, "--manifests", exampleManifests)
	for name, want := range map[string]string{"db.example.com.": "10.0.0.1", "files.example.com.": "10.0.0.5"} {
		r := query(t, addr, name, dns.TypeA)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != want || r.Answer[0].Header().Ttl != 60 || !r.Authoritative {
			t.Errorf("%s: %v", name, r)
		}
	}
	if r := query(t, addr, "1.0.0.10.in-addr.arpa.", dns.TypePTR); len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "db.example.com." {
		t.Errorf("PTR from hosts: %v", r)
	}
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); len(r.Answer) == 0 {
		t.Errorf("a cluster name fell through to nothing: %v", r)
	}
	if r := query(t, addr, "www.example.org.", dns.TypeA); len(r.Answer) != 1 || up.count("www.example.org.") != 1 {
		t.Errorf("an outside name did not fall through to forward: %v", r)
	}
}

// A reload that changes the transfer plugin (or zonal, multicluster) says
// it takes effect at the next restart, as the kubernetes options do.
func TestReloadNamesTransferAndZoneOptionsForRestart(t *testing.T) {
	read := func(src string) *serveCorefile {
		t.Helper()
		cfg, err := corefile.Parse("Corefile", strings.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		sc := &serveCorefile{cfg: cfg}
		if err := sc.check(); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	base := read(".:53 {\n  kubernetes cluster.local\n  transfer {\n    to 10.0.0.1\n  }\n}\n")
	for _, tt := range []struct{ src, want string }{
		{".:53 {\n  kubernetes cluster.local\n  transfer {\n    to 10.0.0.2\n  }\n}\n", "transfer"},
		{".:53 {\n  kubernetes cluster.local\n}\n", "transfer"},
		{".:53 {\n  kubernetes cluster.local {\n    zonal\n  }\n  transfer {\n    to 10.0.0.1\n  }\n}\n", "kubernetes"},
	} {
		if got := strings.Join(restartNeeded(base, read(tt.src)), ","); !strings.Contains(got, tt.want) {
			t.Errorf("reload to\n%s\nneeds a restart for %q, want %q named", tt.src, got, tt.want)
		}
	}
	if got := restartNeeded(base, read(".:53 {\n  kubernetes cluster.local\n  transfer {\n    to 10.0.0.1\n  }\n}\n")); len(got) != 0 {
		t.Errorf("the same Corefile needs a restart for %v", got)
	}
}
