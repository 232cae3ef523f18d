//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/test/e2e/upstream"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// Issue 14: autopath behind NodeLocal DNSCache, where CoreDNS's cannot
// work (it finds the pod by the query's source address, which is the node
// cache's). Each server runs the kubeadm Corefile against the same API
// server and upstream, behind its own node cache: CoreDNS 1.14.2 on
// NodeLocal DNSCache's Corefile (the cluster zone forwarded to the
// server over TCP with its own cache, every other name straight to the
// upstream). A pod (the glibc model, from its own address) looks up, in
// order, another namespace's Service, a Service of a third namespace, and
// two external names.
//
//   - clusterdns without autopath, and CoreDNS with `autopath @kubernetes`
//     and `pods verified`: the full walks (4, 4, 8, 8 questions).
//   - clusterdns with autopath, learning: the first walk shows the server
//     the pod's cluster steps, so the next cluster name costs 2; the
//     external names still 8 (their last steps go from the node cache to
//     the upstream, never to the server, so they are never learned).
//   - clusterdns with autopath and --autopath-trust-client for the node
//     cache's address: 2 each.
//
// Every lookup ends with the same addresses on every server.
func TestAutopathBehindNodeLocalCache(t *testing.T) {
	e := need(t)
	up, err := upstream.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Stop()
	client := e.namespace(t, "ap-client")
	other := e.namespace(t, "ap-other")
	third := e.namespace(t, "ap-third")
	e.createService(t, other, "web", []corev1.ServicePort{svcPort("http", 80, "")})
	e.createService(t, third, "api", []corev1.ServicePort{svcPort("http", 80, "")})

	withAutopath := func(c string) string {
		return replaceOnce(t, c, "    loadbalance\n", "    loadbalance\n    autopath @kubernetes\n")
	}
	coreAutopath := func(c string) string {
		return replaceOnce(t, withAutopath(c), "pods insecure", "pods verified")
	}
	noNodeSearch := []string{"--autopath-node-search", ""}
	servers := []struct {
		label string
		s     corefileServer
		want  []int // questions the pod sends per lookup
	}{
		{"clusterdns without autopath", e.startKubeadmVariant(t, "ap-plain", up.Addr, true, nil), []int{4, 4, 8, 8}},
		{"CoreDNS autopath @kubernetes, pods verified", e.startKubeadmVariant(t, "ap-coredns", up.Addr, false, coreAutopath), []int{4, 4, 8, 8}},
		{"clusterdns autopath, learning", e.startKubeadmVariant(t, "ap-learn", up.Addr, true, withAutopath, noNodeSearch...), []int{4, 2, 8, 8}},
		{"clusterdns autopath, node cache trusted", e.startKubeadmVariant(t, "ap-trust", up.Addr, true, withAutopath,
			append(noNodeSearch, "--autopath-trust-client", e.dnsHost+"/32")...), []int{2, 2, 2, 2}},
	}
	lookups := []string{"web." + other, "api." + third, strings.TrimSuffix(upstream.WWW, "."), strings.TrimSuffix(upstream.Alias, ".")}
	model, err := resolv.ParseModel("glibc", "getaddrinfo")
	if err != nil {
		t.Fatal(err)
	}
	pod := netip.MustParseAddr("127.0.1.50")
	var addrs [][]string
	for _, srv := range servers {
		// Each server's own node cache, so that no cache is shared.
		cache := e.startNodeCache(t, "nodecache-"+srv.s.name, srv.s.addr, up.Addr)
		// The pod's resolv.conf: the kubelet's, the nodes having no search
		// domain (the servers are told so), the node cache as nameserver.
		conf := resolv.ClusterFirst(client, strings.TrimSuffix(zoneName, "."), cache)
		view := conf.View(model)
		view.Nameservers = []string{cache}
		view.Timeout = 2 * time.Second
		var got []int
		var ends []string
		for _, name := range lookups {
			res := resolv.RunView(view, name, model, &resolv.Live{Server: cache, Local: pod, TCPBatch: true})
			if !res.Resolved {
				t.Errorf("%s: %s does not resolve: %s %s", srv.label, name, res.Error, res.Stop)
			}
			got = append(got, len(res.Queries))
			ends = append(ends, addressesOf(t, cache, res.ResolvedBy))
		}
		t.Logf("%s: questions per lookup %v (%v), addresses %v", srv.label, got, lookups, ends)
		if !slices.Equal(got, srv.want) {
			t.Errorf("%s: the pod sent %v questions for %v, want %v", srv.label, got, lookups, srv.want)
		}
		addrs = append(addrs, ends)
	}
	for i := 1; i < len(addrs); i++ {
		if !slices.Equal(addrs[i], addrs[0]) {
			t.Errorf("%s ends with %v, %s with %v", servers[i].label, addrs[i], servers[0].label, addrs[0])
		}
	}
}

// startNodeCache runs CoreDNS as NodeLocal DNSCache runs it (its
// Corefile's shape): the cluster zone from the server over TCP, with its
// own cache (30 s, denial 5 s), every other name from the upstream. It
// returns its address.
func (e *environment) startNodeCache(t *testing.T, name, server, up string) string {
	t.Helper()
	port := freePortOn(e.dnsHost)
	corefile := fmt.Sprintf(`%[1]s:%[2]d {
    bind %[3]s
    errors
    cache {
        success 9984 30
        denial 9984 5
    }
    forward . %[4]s {
        force_tcp
    }
}
.:%[2]d {
    bind %[3]s
    errors
    cache 30
    forward . %[5]s
}
`, strings.TrimSuffix(zoneName, "."), port, e.dnsHost, server, up)
	path := e.path(name + ".Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{name: name, addr: net.JoinHostPort(e.dnsHost, itoa(port)), logs: &logBook{}}
	s.proc = &proc{Name: name, Bin: e.bins.CoreDNS, Args: []string{"-conf", path}, LogPath: e.path(name + ".log"), OnLine: s.logs.add}
	if err := s.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.proc.Stop)
	if err := s.waitAnswering(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s.addr
}

// addressesOf is the A records a name ends with through the server (its
// CNAME chain followed), sorted.
func addressesOf(t *testing.T, server, name string) string {
	t.Helper()
	m, err := exchange(server, name, dns.TypeA, qopt{})
	if err != nil {
		t.Errorf("%s A: %v", name, err)
		return ""
	}
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
