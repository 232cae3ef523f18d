//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/corefiles"
	"github.com/clusterdns/clusterdns/test/e2e/upstream"
	"github.com/miekg/dns"
)

// kubeadmCorefile is kubeadm's Corefile on port, bound to host, watching
// the test API server, forwarding to a real upstream, plus a stub-domain
// block (no cache) for a zone below the upstream's.
func kubeadmCorefile(host string, port int, kubeconfig, up string, health, ready, metrics int) string {
	k := corefiles.Kubeadm{Port: port, Bind: host, Kubeconfig: kubeconfig, Zone: strings.TrimSuffix(zoneName, "."), Upstream: up,
		Health: health, Ready: ready, Metrics: metrics, Lameduck: time.Second}
	return k.String() + fmt.Sprintf(`stub.example.test:%[2]d {
    bind %[1]s
    errors
    forward . %[3]s
}
`, host, port, up)
}

// Scenario: the whole cluster DNS. clusterdns (serve --corefile) and
// CoreDNS 1.14.2 run the same kubeadm Corefile against the same API server
// and the same real upstream (unbound), and answer every question alike:
// cluster names, external names (CNAME chain, NXDOMAIN, NODATA, a short
// TTL, an answer too large for UDP), a stub domain, reverse names inside
// and outside the cluster. TTLs are compared as "at most the cap". The
// upstream's query log shows clusterdns's cache: a name asked twice
// reaches it once.
func TestKubeadmCorefileSameAnswers(t *testing.T) {
	e := need(t)
	up, err := upstream.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Stop()
	core := e.startCorefileServer(t, "coredns-corefile", up.Addr, false)
	ours := e.startCorefileServer(t, "clusterdns-corefile", up.Addr, true)

	kubeIP := "10.96.0.1"
	questions := []struct {
		name   string
		qtype  uint16
		o      qopt
		maxTTL uint32 // 30: the cache's cap (cluster names: ttl 30)
	}{
		{svcName("kubernetes", "default"), dns.TypeA, qopt{}, 0},
		{svcName("nope", "default"), dns.TypeA, qopt{}, 0},
		{reverse(kubeIP), dns.TypePTR, qopt{}, 0},
		{upstream.WWW, dns.TypeA, qopt{}, 0},
		{upstream.WWW, dns.TypeAAAA, qopt{}, 0},
		{upstream.Alias, dns.TypeA, qopt{}, 0},
		{upstream.Missing, dns.TypeA, qopt{}, 0},
		{upstream.TXTOnly, dns.TypeA, qopt{}, 0},
		{upstream.Short, dns.TypeA, qopt{}, 0},
		{upstream.BigTXT, dns.TypeTXT, qopt{}, 0},
		{upstream.BigTXT, dns.TypeTXT, qopt{tcp: true}, 0},
		{upstream.PTRName, dns.TypePTR, qopt{}, 0},
		{"outside.example.org.", dns.TypeA, qopt{}, 0},
		{"www.stub.example.test.", dns.TypeA, qopt{}, 300}, // the stub block: no cache
	}
	for round := range 2 { // the second round comes from the caches
		for _, q := range questions {
			a, err1 := exchange(ours.addr, q.name, q.qtype, q.o)
			b, err2 := exchange(core.addr, q.name, q.qtype, q.o)
			if err1 != nil || err2 != nil {
				t.Errorf("round %d %s %s: clusterdns %v, coredns %v", round, q.name, dns.TypeToString[q.qtype], err1, err2)
				continue
			}
			maxTTL := q.maxTTL
			if maxTTL == 0 {
				maxTTL = 30
			}
			if d := compareForwarded(a, b, maxTTL); len(d) > 0 {
				t.Errorf("round %d %s %s %s:\n  %s\n  clusterdns: %s\n  coredns:    %s", round, q.name, dns.TypeToString[q.qtype], transport(q.o),
					strings.Join(d, "\n  "), show(a), show(b))
			}
		}
	}

	// The cache, seen from the upstream.
	up.Reset()
	for range 3 {
		if _, err := exchange(ours.addr, "cachecheck.example.test.", dns.TypeA, qopt{}); err != nil {
			t.Fatal(err)
		}
	}
	// unbound writes its log a little later than it answers.
	poll(3*time.Second, 50*time.Millisecond, func() (bool, string) { return up.Count("cachecheck.example.test.", "A") > 0, "" })
	time.Sleep(500 * time.Millisecond)
	if n := up.Count("cachecheck.example.test.", "A"); n != 1 {
		t.Errorf("a name asked 3 times within its TTL reached the upstream %d times, want 1 (%v)", n, up.Queries())
	}
	for range 2 {
		exchange(ours.addr, svcName("kubernetes", "default"), dns.TypeA, qopt{})
	}
	time.Sleep(500 * time.Millisecond)
	for _, q := range up.Queries() {
		if strings.HasSuffix(q.Name, zoneName+".") {
			t.Errorf("a cluster name reached the upstream: %v", q)
		}
	}
}

// startCorefileServer is startKubeadmVariant on the kubeadm Corefile itself.
func (e *environment) startCorefileServer(t *testing.T, name, up string, clusterdns bool) *dnsServer {
	t.Helper()
	return e.startKubeadmVariant(t, name, up, clusterdns, nil).dnsServer
}

// compareForwarded compares two answers as compareMsgs does, with every
// TTL checked to be at most maxTTL and then left out (caches count them
// down on their own clocks).
func compareForwarded(ours, theirs *dns.Msg, maxTTL uint32) []string {
	var d []string
	strip := func(who string, m *dns.Msg) *dns.Msg {
		c := m.Copy()
		for _, sec := range [][]dns.RR{c.Answer, c.Ns} {
			for _, rr := range sec {
				if rr.Header().Ttl > maxTTL {
					d = append(d, fmt.Sprintf("%s: TTL %d above %d: %s", who, rr.Header().Ttl, maxTTL, rr))
				}
				rr.Header().Ttl = 0
			}
		}
		return c
	}
	a, b := strip("clusterdns", ours), strip("coredns", theirs)
	if a.Truncated && b.Truncated {
		// Each cut the records it held to what fits; which ones depends on
		// the order the upstream sent them in (unbound rotates it), so
		// only how many is compared.
		if len(a.Answer) != len(b.Answer) || a.Rcode != b.Rcode {
			d = append(d, fmt.Sprintf("truncated: clusterdns %s with %d records, coredns %s with %d", dns.RcodeToString[a.Rcode], len(a.Answer), dns.RcodeToString[b.Rcode], len(b.Answer)))
		}
		return d
	}
	// CoreDNS's loadbalance and ours shuffle: order is not compared.
	for _, m := range []*dns.Msg{a, b} {
		sort.Slice(m.Answer, func(i, j int) bool { return m.Answer[i].String() < m.Answer[j].String() })
	}
	d = append(d, compareMsgs(a, b)...)
	return slices.Compact(d)
}
