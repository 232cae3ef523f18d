package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// serve --autopath: the first step of a pod's walk for an external name
// is answered with the walk's end, and counted as CoreDNS counts it.
func TestServeAutopath(t *testing.T) {
	up := startFakeUpstream(t, 1)
	metricsAddr := freeAddr(t)
	addr, _, _ := startServe(t, "--manifests", exampleManifests, "--upstream", up.addr, "--autopath", "--autopath-node-search", "",
		"--metrics-addr", metricsAddr)
	r := query(t, addr, "www.example.com.default.svc.cluster.local.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || r.Answer[0].(*dns.CNAME).Target != "www.example.com." {
		t.Fatalf("first step: %v", r)
	}
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeSuccess || r.Answer[0].Header().Rrtype != dns.TypeA {
		t.Errorf("a cluster name is not answered as before: %v", r)
	}
	body := scrape(t, metricsAddr)
	for _, want := range []string{
		`coredns_autopath_success_total{server="dns://127.0.0.1:0"} 1`,
		// svc.cluster.local, cluster.local, then the name: 3 questions saved.
		`clusterdns_autopath_saved_queries_total{server="dns://127.0.0.1:0"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(body, "autopath"))
		}
	}
}

// `autopath @kubernetes` in a Corefile turns it on, over the kubernetes
// zones; outside the kubernetes block it is refused.
func TestServeCorefileAutopath(t *testing.T) {
	up := startFakeUpstream(t, 1)
	text := strings.Replace(kubeadmCorefile(up.addr, ""), "    loadbalance\n", "    loadbalance\n    autopath @kubernetes\n", 1)
	path := writeCorefile(t, t.TempDir(), text)
	addr, _, _ := startServe(t, "--corefile", path, "--manifests", exampleManifests, "--autopath-node-search", "")
	if r := query(t, addr, "www.example.com.default.svc.cluster.local.", dns.TypeA); len(r.Answer) != 2 || r.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("autopath from the Corefile: %v", r)
	}
	bad := writeCorefile(t, t.TempDir(), text+"example.org:53 {\n    autopath @kubernetes\n    forward . "+up.addr+"\n}\n")
	if code := Main(t.Context(), []string{"serve", "--corefile", bad, "--manifests", exampleManifests}, strings.NewReader(""), io.Discard, io.Discard); code == 0 {
		t.Error("autopath outside the kubernetes block was accepted")
	}
}

// --autopath-client takes CIDRs only.
func TestServeAutopathFlagsChecked(t *testing.T) {
	var errOut strings.Builder
	code := Main(t.Context(), []string{"serve", "--manifests", exampleManifests, "--autopath", "--autopath-client", "10.244.0.0", "--autopath-node-search", ""}, strings.NewReader(""), io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--autopath-client") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
