package metrics

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/probe"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

func testServer(t testing.TB, obs server.Observer, synced bool) *server.Server {
	t.Helper()
	st := &cluster.State{
		Namespaces: []cluster.Namespace{{Name: "default"}},
		Services: []cluster.Service{{Name: "api", Namespace: "default", Type: cluster.ServiceTypeClusterIP,
			ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}, Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}}},
	}
	snap, err := zone.Build(st, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{Observer: obs})
	s.Swap(snap, synced)
	return s
}

func query(t testing.TB, s *server.Server, name string, qtype uint16, tr server.Transport, remote string) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	b, _ := m.Pack()
	if s.RespondFrom(b, nil, tr, netip.MustParseAddrPort(remote)) == nil {
		t.Fatal("dropped")
	}
}

func scrape(t *testing.T, m *Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestQueryMetricsMoveWithCoreDNSLabels scrapes /metrics after real queries:
// the CoreDNS-named counters and histograms carry the right labels.
func TestQueryMetricsMoveWithCoreDNSLabels(t *testing.T) {
	m := New("127.0.0.1:53", []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	s := testServer(t, m, true)
	query(t, s, "api.default.svc.cluster.local.", dns.TypeA, server.UDP, "10.0.0.1:1000")
	query(t, s, "api.default.svc.cluster.local.", dns.TypeA, server.UDP, "10.0.0.1:1000")
	query(t, s, "nope.default.svc.cluster.local.", dns.TypeAAAA, server.TCP, "[fd00::1]:1000")
	query(t, s, "example.com.", dns.TypeA, server.UDP, "10.0.0.1:1000")
	unsynced := testServer(t, m, false)
	query(t, unsynced, "nope.default.svc.cluster.local.", dns.TypeA, server.UDP, "10.0.0.1:1000")

	out := scrape(t, m)
	for _, want := range []string{
		`coredns_dns_requests_total{family="1",proto="udp",server="dns://127.0.0.1:53",type="A",view="",zone="cluster.local."} 3`,
		`coredns_dns_requests_total{family="2",proto="tcp",server="dns://127.0.0.1:53",type="AAAA",view="",zone="cluster.local."} 1`,
		`coredns_dns_requests_total{family="1",proto="udp",server="dns://127.0.0.1:53",type="A",view="",zone="."} 1`,
		`coredns_dns_responses_total{plugin="kubernetes",rcode="NOERROR",server="dns://127.0.0.1:53",view="",zone="cluster.local."} 2`,
		`coredns_dns_responses_total{plugin="kubernetes",rcode="NXDOMAIN",server="dns://127.0.0.1:53",view="",zone="cluster.local."} 1`,
		`coredns_dns_responses_total{plugin="kubernetes",rcode="SERVFAIL",server="dns://127.0.0.1:53",view="",zone="cluster.local."} 1`,
		`coredns_dns_responses_total{plugin="",rcode="REFUSED",server="dns://127.0.0.1:53",view="",zone="."} 1`,
		`coredns_dns_request_duration_seconds_count{server="dns://127.0.0.1:53",type="A",view="",zone="cluster.local."} 3`,
		`coredns_dns_request_duration_seconds_bucket{server="dns://127.0.0.1:53",type="A",view="",zone="cluster.local.",le="0.00025"}`,
		`coredns_dns_request_size_bytes_count{proto="udp",server="dns://127.0.0.1:53",view="",zone="cluster.local."} 3`,
		`coredns_dns_response_size_bytes_count{proto="tcp",server="dns://127.0.0.1:53",view="",zone="cluster.local."} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestClusterdnsMetrics(t *testing.T) {
	m := New("127.0.0.1:53", []string{"cluster.local."})
	m.SetSynced(true)
	m.WatchError()
	m.ProgrammingLatency("headless_with_selector", 30*time.Millisecond, time.Millisecond)
	m.SnapshotBuilt(2*time.Millisecond, zone.Stats{Services: 3, Names: 10, Records: 12, HeadlessEndpoints: 5, HeadlessEndpointsWithHostname: 3})
	out := scrape(t, m)
	for _, want := range []string{
		`clusterdns_source_synced 1`,
		`clusterdns_kubernetes_watch_errors_total 1`,
		`coredns_kubernetes_dns_programming_duration_seconds_count{service_kind="headless_with_selector"} 1`,
		`clusterdns_kubernetes_dns_programming_internal_duration_seconds_count{service_kind="headless_with_selector"} 1`,
		`clusterdns_zone_headless_endpoints{hostname="true"} 3`,
		`clusterdns_zone_headless_endpoints{hostname="false"} 2`,
		`clusterdns_zone_objects{kind="services"} 3`,
		`clusterdns_zone_snapshot_builds_total 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestDashboardUsesExportedMetrics checks that every metric the Grafana
// dashboard in deploy/ queries is one clusterdns (or its probe) exports.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/clusterdns.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	m := New("127.0.0.1:53", []string{"cluster.local."})
	probe.NewMetrics(m.Registry())
	s := testServer(t, m, true)
	query(t, s, "api.default.svc.cluster.local.", dns.TypeA, server.UDP, "10.0.0.1:1000")
	m.ProgrammingLatency("cluster_ip", time.Millisecond, time.Millisecond)
	m.SnapshotBuilt(time.Millisecond, zone.Stats{})
	m.WatchError()
	m.WatchRecovered()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			exported[f.GetName()+suffix] = true
		}
	}
	nameRE := regexp.MustCompile(`\b(coredns|clusterdns|process)_[a-z_]+\b`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range nameRE.FindAllString(tg.Expr, -1) {
				n++
				if !exported[name] {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, name)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d metric references found", n)
	}
}

// BenchmarkRespond measures the one-query path (Server.RespondFrom, as TCP
// and tests use it) with and without metrics: there the observer's share
// includes reading the clock twice (about 40 ns each on this machine).
func BenchmarkRespond(b *testing.B) {
	m := new(dns.Msg)
	m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	wire, _ := m.Pack()
	remote := netip.MustParseAddrPort("10.0.0.1:1000")
	for _, c := range []struct {
		name string
		obs  server.Observer
	}{
		{"without-metrics", nil},
		{"with-metrics", New("127.0.0.1:53", []string{"cluster.local."})},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := testServer(b, c.obs, true)
			out := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				out = s.RespondFrom(wire, out[:0], server.UDP, remote)
			}
		})
	}
}

// BenchmarkObserveQuery is the cost of recording one query as the UDP
// workers do: the duration measured once per batch by the server.
func BenchmarkObserveQuery(b *testing.B) {
	m := New("127.0.0.1:53", []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	ev := &server.QueryEvent{Name: []byte("api.default.svc.cluster.local."), Qtype: dns.TypeA, Zone: "cluster.local.",
		Remote: netip.MustParseAddrPort("10.0.0.1:1000"), RequestSize: 47, ResponseSize: 63, Authoritative: true,
		Start: time.Now(), Duration: 3 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveQuery(ev)
	}
}

// BenchmarkObserveQueryParallel records from as many goroutines as
// GOMAXPROCS, each as its own worker, as the UDP sockets' readers do.
func BenchmarkObserveQueryParallel(b *testing.B) {
	m := New("127.0.0.1:53", []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	var worker atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ev := &server.QueryEvent{Name: []byte("api.default.svc.cluster.local."), Qtype: dns.TypeA, Zone: "cluster.local.",
			Remote: netip.MustParseAddrPort("10.0.0.1:1000"), RequestSize: 47, ResponseSize: 63, Authoritative: true,
			Start: time.Now(), Duration: 3 * time.Microsecond, Worker: int(worker.Add(1) - 1)}
		for pb.Next() {
			m.ObserveQuery(ev)
		}
	})
}

// BenchmarkServeUDP is the server-level cost: queries over loopback UDP to
// ListenAndServe from 16 client sockets, 8 queries in flight each, with
// and without metrics. ns/op is per answered query (client included).
func BenchmarkServeUDP(b *testing.B) {
	m := new(dns.Msg)
	m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	wire, _ := m.Pack()
	for _, c := range []struct {
		name string
		obs  server.Observer
	}{
		{"without-metrics", nil},
		{"with-metrics", New("127.0.0.1:53", []string{"cluster.local."})},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := testServer(b, c.obs, true)
			ctx, cancel := context.WithCancel(context.Background())
			addrc := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- s.ListenAndServe(ctx, "127.0.0.1:0", func(u, _ net.Addr) { addrc <- u.String() }) }()
			addr := <-addrc
			const clients, inflight = 16, 8
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					conn, err := net.Dial("udp", addr)
					if err != nil {
						b.Error(err)
						return
					}
					defer conn.Close()
					buf := make([]byte, 512)
					outstanding := 0
					for {
						for outstanding < inflight && left.Add(-1) >= 0 {
							conn.Write(wire)
							outstanding++
						}
						if outstanding == 0 {
							return
						}
						conn.SetReadDeadline(time.Now().Add(time.Second))
						if _, err := conn.Read(buf); err != nil {
							outstanding = 0 // lost: move on
							continue
						}
						outstanding--
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
