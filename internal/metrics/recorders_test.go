package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cache"
)

// family is what CoreDNS 1.14.2 declares for a metric: its type, label
// names (sorted) and help text (plugin/pkg/proxy/metrics.go,
// plugin/forward/metrics.go, plugin/cache/metrics.go; the two deprecated
// forward counters from 1.10's plugin/forward/metrics.go).
type family struct {
	typ    string
	labels string
	help   string
}

var coreDNSFamilies = map[string]family{
	"coredns_proxy_request_duration_seconds":       {"HISTOGRAM", "proxy_name,rcode,to", "Histogram of the time each request took."},
	"coredns_proxy_healthcheck_failures_total":     {"COUNTER", "proxy_name,to", "Counter of the number of failed healthchecks."},
	"coredns_proxy_conn_cache_hits_total":          {"COUNTER", "proto,proxy_name,to", "Counter of connection cache hits per upstream and protocol."},
	"coredns_proxy_conn_cache_misses_total":        {"COUNTER", "proto,proxy_name,to", "Counter of connection cache misses per upstream and protocol."},
	"coredns_forward_healthcheck_broken_total":     {"COUNTER", "", "Counter of the number of complete failures of the healthchecks."},
	"coredns_forward_max_concurrent_rejects_total": {"COUNTER", "", "Counter of the number of queries rejected because the concurrent queries were at maximum."},
	"coredns_forward_requests_total":               {"COUNTER", "to", "Counter of requests made per upstream."},
	"coredns_forward_responses_total":              {"COUNTER", "rcode,to", "Counter of responses received per upstream."},
	"coredns_cache_entries":                        {"GAUGE", "server,type,view,zones", "The number of elements in the cache."},
	"coredns_cache_requests_total":                 {"COUNTER", "server,view,zones", "The count of cache requests."},
	"coredns_cache_hits_total":                     {"COUNTER", "server,type,view,zones", "The count of cache hits."},
	"coredns_cache_misses_total":                   {"COUNTER", "server,view,zones", "The count of cache misses. Deprecated, derive misses from cache hits/requests counters."},
	"coredns_cache_prefetch_total":                 {"COUNTER", "server,view,zones", "The number of times the cache has prefetched a cached item."},
	"coredns_cache_drops_total":                    {"COUNTER", "server,view,zones", "The number responses that are not cached, because the reply is malformed."},
	"coredns_cache_served_stale_total":             {"COUNTER", "server,view,zones", "The number of requests served from stale cache entries."},
	"coredns_cache_evictions_total":                {"COUNTER", "server,type,view,zones", "The count of cache evictions."},
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, want := range lines {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestForwardMetricsAsCoreDNS: the forward recorder's events come out as
// the series CoreDNS 1.14.2 exports for them, plus the two deprecated
// counters the coredns-mixin reads, and not the other deprecated names.
func TestForwardMetricsAsCoreDNS(t *testing.T) {
	m := New(":53", []string{"cluster.local."})
	r := m.ForwardRecorder()
	if m.ForwardRecorder() != r {
		t.Error("a second ForwardRecorder is another recorder")
	}
	const v4, v6 = "10.0.0.53:53", "[fd00::53]:53"
	r.Request(v4)
	r.ConnCache(v4, "udp", false)
	r.Response(v4, 0, 3*time.Millisecond)
	r.Request(v4)
	r.ConnCache(v4, "udp", true)
	r.Response(v4, 0, 3*time.Millisecond)
	r.ConnCache(v4, "tcp", false)
	r.Response(v6, 2, time.Second)
	r.Response(v6, 3841, time.Millisecond) // extended rcode without a name
	r.HealthcheckFailure(v4)
	r.HealthcheckBroken()
	r.MaxConcurrentReject()
	r.MaxConcurrentReject()

	out := scrape(t, m)
	wantLines(t, out,
		`# HELP coredns_proxy_request_duration_seconds Histogram of the time each request took.`,
		`# TYPE coredns_proxy_request_duration_seconds histogram`,
		`coredns_proxy_request_duration_seconds_bucket{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53",le="0.00025"} 0`,
		`coredns_proxy_request_duration_seconds_bucket{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53",le="0.002"} 0`,
		`coredns_proxy_request_duration_seconds_bucket{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53",le="0.004"} 2`,
		`coredns_proxy_request_duration_seconds_bucket{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53",le="8.192"} 2`,
		`coredns_proxy_request_duration_seconds_bucket{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53",le="+Inf"} 2`,
		`coredns_proxy_request_duration_seconds_sum{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53"} 0.006`,
		`coredns_proxy_request_duration_seconds_count{proxy_name="forward",rcode="NOERROR",to="10.0.0.53:53"} 2`,
		`coredns_proxy_request_duration_seconds_count{proxy_name="forward",rcode="SERVFAIL",to="[fd00::53]:53"} 1`,
		`coredns_proxy_request_duration_seconds_count{proxy_name="forward",rcode="3841",to="[fd00::53]:53"} 1`,
		`coredns_proxy_healthcheck_failures_total{proxy_name="forward",to="10.0.0.53:53"} 1`,
		`coredns_proxy_healthcheck_failures_total{proxy_name="forward",to="[fd00::53]:53"} 0`,
		`coredns_proxy_conn_cache_hits_total{proto="udp",proxy_name="forward",to="10.0.0.53:53"} 1`,
		`coredns_proxy_conn_cache_misses_total{proto="udp",proxy_name="forward",to="10.0.0.53:53"} 1`,
		`coredns_proxy_conn_cache_misses_total{proto="tcp",proxy_name="forward",to="10.0.0.53:53"} 1`,
		`coredns_forward_healthcheck_broken_total 1`,
		`coredns_forward_max_concurrent_rejects_total 2`,
		`coredns_forward_requests_total{to="10.0.0.53:53"} 2`,
		`coredns_forward_requests_total{to="[fd00::53]:53"} 2`,
		`coredns_forward_responses_total{rcode="NOERROR",to="10.0.0.53:53"} 2`,
		`coredns_forward_responses_total{rcode="SERVFAIL",to="[fd00::53]:53"} 1`,
	)
	for _, gone := range []string{"coredns_forward_request_duration_seconds", "coredns_forward_healthcheck_failures_total",
		"coredns_forward_conn_cache"} {
		if strings.Contains(out, gone) {
			t.Errorf("/metrics has %s, which CoreDNS 1.14.2 no longer exports", gone)
		}
	}
	checkFamilies(t, m, "coredns_proxy_", "coredns_forward_")
}

// TestCacheMetricsAsCoreDNS: a cache recorder's series carry CoreDNS
// 1.14.2's labels: the server label of the coredns_dns_* series, the
// block's zones, view "" and type "success" or "denial".
func TestCacheMetricsAsCoreDNS(t *testing.T) {
	m := New(":53", []string{"cluster.local."})
	r := m.CacheRecorder(".")
	m.CacheRecorder("example.org.,example.net.")
	for range 3 {
		r.Request()
	}
	r.Hit(cache.Success)
	r.Hit(cache.Denial)
	r.Miss()
	r.Prefetch()
	r.ServedStale()
	r.Drop()
	r.Eviction(cache.Denial)
	r.Entries(cache.Success, 7)
	r.Entries(cache.Denial, 2)
	r.Entries(cache.Success, 6)

	out := scrape(t, m)
	wantLines(t, out,
		`# HELP coredns_cache_hits_total The count of cache hits.`,
		`# TYPE coredns_cache_hits_total counter`,
		`coredns_cache_requests_total{server="dns://:53",view="",zones="."} 3`,
		`coredns_cache_hits_total{server="dns://:53",type="success",view="",zones="."} 1`,
		`coredns_cache_hits_total{server="dns://:53",type="denial",view="",zones="."} 1`,
		`coredns_cache_misses_total{server="dns://:53",view="",zones="."} 1`,
		`coredns_cache_prefetch_total{server="dns://:53",view="",zones="."} 1`,
		`coredns_cache_served_stale_total{server="dns://:53",view="",zones="."} 1`,
		`coredns_cache_drops_total{server="dns://:53",view="",zones="."} 1`,
		`coredns_cache_evictions_total{server="dns://:53",type="denial",view="",zones="."} 1`,
		`coredns_cache_evictions_total{server="dns://:53",type="success",view="",zones="."} 0`,
		`# TYPE coredns_cache_entries gauge`,
		`coredns_cache_entries{server="dns://:53",type="success",view="",zones="."} 6`,
		`coredns_cache_entries{server="dns://:53",type="denial",view="",zones="."} 2`,
		// A second block's cache: its own zones label, at 0 from the start.
		`coredns_cache_requests_total{server="dns://:53",view="",zones="example.org.,example.net."} 0`,
		`coredns_cache_hits_total{server="dns://:53",type="denial",view="",zones="example.org.,example.net."} 0`,
	)
	// The cache series use the server label of the query series.
	wantLines(t, out, `coredns_dns_requests_total{family="1",proto="udp",server="dns://:53",type="A",view="",zone="cluster.local."} 0`)
	checkFamilies(t, m, "coredns_cache_")
}

// checkFamilies compares every exported family under the prefixes with
// coreDNSFamilies: type, label names and help, and the duration buckets
// with CoreDNS's plugin.TimeBuckets.
func checkFamilies(t *testing.T, m *Metrics, prefixes ...string) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		seen[name] = true
		want, ok := coreDNSFamilies[name]
		if !ok {
			t.Errorf("%s is exported but is not a CoreDNS metric", name)
			continue
		}
		if got := f.GetType().String(); got != want.typ {
			t.Errorf("%s is a %s, want %s", name, got, want.typ)
		}
		if f.GetHelp() != want.help {
			t.Errorf("%s help %q, want %q", name, f.GetHelp(), want.help)
		}
		for _, mt := range f.GetMetric() {
			var names []string
			for _, l := range mt.GetLabel() {
				names = append(names, l.GetName())
			}
			slices.Sort(names)
			if got := strings.Join(names, ","); got != want.labels {
				t.Errorf("%s has labels %s, want %s", name, got, want.labels)
			}
			if h := mt.GetHistogram(); h != nil {
				var bounds []string
				for _, b := range h.GetBucket() {
					bounds = append(bounds, fmt.Sprint(b.GetUpperBound()))
				}
				const coreDNS = "[0.00025 0.0005 0.001 0.002 0.004 0.008 0.016 0.032 0.064 0.128 0.256 0.512 1.024 2.048 4.096 8.192]"
				if got := fmt.Sprint(bounds); got != coreDNS {
					t.Errorf("%s buckets %s, want %s", name, got, coreDNS)
				}
			}
		}
	}
	for name := range coreDNSFamilies {
		if !seen[name] && slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			t.Errorf("%s is not exported", name)
		}
	}
}

// TestNoForwardOrCacheMetricsUnused: a server that neither forwards nor
// caches exports none of their families.
func TestNoForwardOrCacheMetricsUnused(t *testing.T) {
	out := scrape(t, New(":53", []string{"cluster.local."}))
	for _, p := range []string{"coredns_proxy_", "coredns_forward_", "coredns_cache_"} {
		if strings.Contains(out, p) {
			t.Errorf("/metrics has %s* before any recorder is asked for", p)
		}
	}
}

// TestRecordersConcurrent records from many goroutines at once (run with
// -race): upstreams and rcodes first seen concurrently count once each.
func TestRecordersConcurrent(t *testing.T) {
	m := New(":53", nil)
	const workers, n = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			fr := m.ForwardRecorder()
			cr := m.CacheRecorder(".")
			for i := range n {
				to := fmt.Sprintf("10.0.0.%d:53", i%3)
				fr.Request(to)
				fr.ConnCache(to, "udp", i%2 == 0)
				fr.Response(to, i%4, time.Millisecond)
				cr.Request()
				cr.Hit(cache.Kind(w % 2))
				cr.Entries(cache.Success, i)
			}
		})
	}
	wg.Wait()
	out := scrape(t, m)
	wantLines(t, out,
		fmt.Sprintf(`coredns_cache_requests_total{server="dns://:53",view="",zones="."} %d`, workers*n),
		fmt.Sprintf(`coredns_cache_hits_total{server="dns://:53",type="denial",view="",zones="."} %d`, workers/2*n),
		fmt.Sprintf(`coredns_proxy_conn_cache_hits_total{proto="udp",proxy_name="forward",to="10.0.0.0:53"} %d`, workers*84),
	)
	total := 0
	for i := range 3 {
		for rc, name := range []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"} {
			c := 0
			for j := range n {
				if j%3 == i && j%4 == rc {
					c++
				}
			}
			total += c * workers
			wantLines(t, out, fmt.Sprintf(`coredns_proxy_request_duration_seconds_count{proxy_name="forward",rcode="%s",to="10.0.0.%d:53"} %d`, name, i, c*workers))
		}
	}
	if total != workers*n {
		t.Fatalf("test counted %d replies", total)
	}
}

// BenchmarkCacheRecorderLookup is what a cache lookup records (Request
// and Hit), from as many goroutines as GOMAXPROCS.
func BenchmarkCacheRecorderLookup(b *testing.B) {
	r := New(":53", nil).CacheRecorder(".")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Request()
			r.Hit(cache.Success)
		}
	})
}

// BenchmarkForwardRecorderExchange is what one forwarded attempt records.
func BenchmarkForwardRecorderExchange(b *testing.B) {
	r := New(":53", nil).ForwardRecorder()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Request("10.0.0.53:53")
			r.ConnCache("10.0.0.53:53", "udp", true)
			r.Response("10.0.0.53:53", 0, 2*time.Millisecond)
		}
	})
}
