// Package metrics exports clusterdns's Prometheus metrics on a private
// registry: the query metrics under CoreDNS's names and labels (so CoreDNS
// dashboards, the coredns-mixin alerts and Netdata's CoreDNS collector read
// them unchanged) and clusterdns's own (zone contents, snapshot builds,
// informer sync, API watch errors, EndpointSlice hostname coverage,
// programming latency).
//
// Forwarding and caching export CoreDNS 1.14.2's metrics, with its label
// names, label values, buckets and help texts, through the recorders the
// forward and cache packages call (ForwardRecorder, CacheRecorder):
//
//	coredns_proxy_request_duration_seconds{proxy_name="forward",to,rcode}
//	coredns_proxy_healthcheck_failures_total{proxy_name="forward",to}
//	coredns_proxy_conn_cache_hits_total{proxy_name="forward",to,proto}
//	coredns_proxy_conn_cache_misses_total{proxy_name="forward",to,proto}
//	coredns_forward_healthcheck_broken_total
//	coredns_forward_max_concurrent_rejects_total
//	coredns_forward_requests_total{to}, coredns_forward_responses_total{rcode,to}
//	  (deprecated in CoreDNS and gone from 1.14.2, kept for the coredns-mixin)
//	coredns_cache_entries{server,type,zones,view} (type "success" or "denial")
//	coredns_cache_requests_total{server,zones,view}
//	coredns_cache_hits_total{server,type,zones,view}
//	coredns_cache_misses_total{server,zones,view}
//	coredns_cache_prefetch_total{server,zones,view}
//	coredns_cache_served_stale_total{server,zones,view}
//	coredns_cache_drops_total{server,zones,view}
//	coredns_cache_evictions_total{server,type,zones,view}
//
// The health endpoint's self-check exports the health plugin's two
// metrics, through HealthRecorder:
//
//	coredns_health_request_duration_seconds
//	coredns_health_request_failures_total
//
// Recording a query costs a few uncontended atomic adds: the query metrics
// are counters kept per server worker (sharded, so that the cores never
// write a shared cache line) behind a custom prometheus.Collector that sums
// them when /metrics is read, with CoreDNS's names, labels and buckets. A
// cache lookup adds one atomic add per counter it moves (series resolved
// once per cache); forwarding, a network round trip, resolves an
// upstream's series once and then observes them. The package does not
// decide anything about DNS; it counts what the server and sources report.
package metrics

import (
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// CoreDNS's buckets (plugin/metrics/vars and plugin/kubernetes/object).
var (
	timeBuckets        = prometheus.ExponentialBuckets(0.00025, 2, 16) // 0.25 ms .. 8.2 s
	sizeBuckets        = []float64{0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3}
	programmingBuckets = prometheus.ExponentialBuckets(0.001, 2, 20) // 1 ms .. 524 s
)

// qtypes with a label of their own; the rest count as "other", as CoreDNS.
var qtypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeTXT, dns.TypeCNAME, dns.TypeNS,
	dns.TypeSOA, dns.TypeMX, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR}

const (
	maxRcode = 24
	// nTypes is the number of type labels: qtypes and "other".
	nTypes       = 15
	nTimeBuckets = 16
	nSizeBuckets = 14
)

// typeIndex maps a qtype below 256 to its label index (every labelled type
// is below 256); others are "other".
var typeIndex = func() (t [256]uint8) {
	for i := range t {
		t[i] = uint8(len(qtypes))
	}
	for i, q := range qtypes {
		t[q] = uint8(i)
	}
	return t
}()

func typeIdx(q uint16) int {
	if q < 256 {
		return int(typeIndex[q])
	}
	return len(qtypes)
}

// timeBoundsNs are timeBuckets in nanoseconds.
var timeBoundsNs = func() (b [nTimeBuckets]int64) {
	for i, s := range timeBuckets {
		b[i] = int64(s * 1e9)
	}
	return b
}()

// zoneCounters are the query counters of one zone label in one shard.
// Histogram counts are the sums of their buckets; requests_total is kept
// per proto, family and type, and every other series per query too, so
// recording a query is eight uncontended atomic adds.
type zoneCounters struct {
	requests    [2][2][nTypes]atomic.Uint64 // proto, family (0: IPv4 or unknown, 1: IPv6), type
	durBuckets  [nTypes][nTimeBuckets + 1]atomic.Uint64
	durSumNs    [nTypes]atomic.Uint64
	reqSize     [2][nSizeBuckets + 1]atomic.Uint64
	reqSizeSum  [2]atomic.Uint64
	respSize    [2][nSizeBuckets + 1]atomic.Uint64
	respSizeSum [2]atomic.Uint64
	responses   [maxRcode + 1]atomic.Uint64
}

// shard is the counters one server worker writes (QueryEvent.Worker picks
// it), so that workers on different cores never write the same cache line.
type shard struct {
	_         [128]byte
	zones     []zoneCounters // by zone index
	truncated atomic.Uint64
	_         [128]byte
}

// Metrics is the registry and its collectors.
type Metrics struct {
	reg       *prometheus.Registry
	serverLbl string
	// zoneNames are the zone labels; index 0 is ".", the zone of names
	// outside the served zones.
	zoneNames []string
	shards    []*shard

	// Query log sampling, if set.
	queryLog func(*server.QueryEvent)

	programming         *prometheus.HistogramVec
	programmingInternal *prometheus.HistogramVec
	records             *prometheus.GaugeVec
	objects             *prometheus.GaugeVec
	hostnames           *prometheus.GaugeVec
	builds              prometheus.Counter
	buildDuration       prometheus.Histogram
	synced              prometheus.Gauge
	following           prometheus.Gauge
	reloadErrors        prometheus.Counter
	watchErrors         prometheus.Counter
	watchRecoveries     prometheus.Counter

	// The forward and cache families, registered on first use.
	fwdOnce   sync.Once
	fwd       *forwardRecorder
	cacheOnce sync.Once
	cacheVecs *cacheVecs
	// The health self-check families, registered on first use.
	healthOnce   sync.Once
	autopathOnce sync.Once
	autopath     *autopathRecorder
	health       *HealthRecorder
}

// New makes the metrics for a server listening on listen (the "server"
// label, e.g. "dns://127.0.0.1:5353") serving zones. Names outside them
// count under zone ".".
func New(listen string, zones []string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), serverLbl: "dns://" + listen, zoneNames: []string{"."}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, z := range zones {
		if !slices.Contains(m.zoneNames, z) {
			m.zoneNames = append(m.zoneNames, z)
		}
	}
	n := max(2*runtime.GOMAXPROCS(0), 2)
	for range n {
		m.shards = append(m.shards, &shard{zones: make([]zoneCounters, len(m.zoneNames))})
	}
	m.reg.MustRegister(&queryCollector{m: m})

	m.programming = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coredns", Subsystem: "kubernetes", Name: "dns_programming_duration_seconds",
		Buckets: programmingBuckets, Help: "Histogram of the time (in seconds) it took to program a dns instance."}, []string{"service_kind"})
	m.programmingInternal = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "clusterdns", Subsystem: "kubernetes", Name: "dns_programming_internal_duration_seconds",
		Buckets: programmingBuckets, Help: "Time from an EndpointSlice event reaching clusterdns to the new answer being served."}, []string{"service_kind"})
	m.records = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "clusterdns", Subsystem: "zone", Name: "records",
		Help: "Records in the served zone, by the kind of name holding them."}, []string{"kind"})
	m.objects = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "clusterdns", Subsystem: "zone", Name: "objects",
		Help: "Objects the zone is built from: services, names."}, []string{"kind"})
	m.hostnames = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "clusterdns", Subsystem: "zone", Name: "headless_endpoints",
		Help: "Ready endpoint addresses of headless services, with and without an EndpointSlice hostname (EndpointSlice hostname coverage)."}, []string{"hostname"})
	m.builds = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "zone", Name: "snapshot_builds_total",
		Help: "Snapshots built (full builds and incremental updates)."})
	m.buildDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "clusterdns", Subsystem: "zone", Name: "snapshot_build_duration_seconds",
		Buckets: prometheus.ExponentialBuckets(0.00001, 4, 12), Help: "Time to build or update a snapshot."})
	m.synced = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "clusterdns", Subsystem: "source", Name: "synced",
		Help: "1 once the served state is complete (informers synced, or manifests loaded)."})
	m.following = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "clusterdns", Subsystem: "source", Name: "following",
		Help: "1 while the source follows its input (the manifest files are watched, or the informers run); 0 while the last good state is served without being kept up to date."})
	m.reloadErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "source", Name: "reload_errors_total",
		Help: "Manifest reloads that failed (the last good state kept being served)."})
	m.watchErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "kubernetes", Name: "watch_errors_total",
		Help: "Watch or list errors reported by the informers (each is followed by a retry)."})
	m.watchRecoveries = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "kubernetes", Name: "watch_recoveries_total",
		Help: "Times the API server became reachable again after watch errors."})
	m.reg.MustRegister(m.programming, m.programmingInternal, m.records, m.objects, m.hostnames,
		m.builds, m.buildDuration, m.synced, m.following, m.reloadErrors, m.watchErrors, m.watchRecoveries)
	m.following.Set(1)
	return m
}

// Registry is the private registry, for tests (probe keeps its own).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetQueryLog makes every query event also go to f (the query log).
func (m *Metrics) SetQueryLog(f func(*server.QueryEvent)) { m.queryLog = f }

// ObserveQuery records one answered query (server.Observer). It is a few
// atomic adds on counters of the worker's own shard: no lock, no map, no
// float arithmetic; the collector sums the shards when /metrics is read.
func (m *Metrics) ObserveQuery(q *server.QueryEvent) {
	zi := 0
	if q.Zone != "" {
		for i := 1; i < len(m.zoneNames); i++ {
			if m.zoneNames[i] == q.Zone {
				zi = i
				break
			}
		}
	}
	sh := m.shards[uint(q.Worker)%uint(len(m.shards))]
	zc := &sh.zones[zi]
	p := 0
	if q.Transport == server.TCP {
		p = 1
	}
	f := 0
	if q.Remote.IsValid() && !q.Remote.Addr().Unmap().Is4() {
		f = 1
	}
	ti := typeIdx(q.Qtype)
	d := q.Duration
	if d == 0 {
		d = time.Since(q.Start)
	}
	zc.requests[p][f][ti].Add(1)
	zc.durBuckets[ti][timeBucket(int64(d))].Add(1)
	zc.durSumNs[ti].Add(uint64(max(d, 0)))
	zc.reqSize[p][sizeBucket(q.RequestSize)].Add(1)
	zc.reqSizeSum[p].Add(uint64(q.RequestSize))
	zc.respSize[p][sizeBucket(q.ResponseSize)].Add(1)
	zc.respSizeSum[p].Add(uint64(q.ResponseSize))
	if q.Rcode >= 0 && q.Rcode <= maxRcode {
		zc.responses[q.Rcode].Add(1)
	}
	if q.Truncated {
		sh.truncated.Add(1)
	}
	if m.queryLog != nil {
		m.queryLog(q)
	}
}

func timeBucket(ns int64) int {
	for i, b := range timeBoundsNs {
		if ns <= b {
			return i
		}
	}
	return nTimeBuckets
}

func sizeBucket(n int) int {
	v := float64(n)
	for i, b := range sizeBuckets {
		if v <= b {
			return i
		}
	}
	return nSizeBuckets
}

// queryCollector exposes the sharded query counters under CoreDNS's names,
// labels and buckets, with every series of every zone present from the
// start, as CoreDNS's.
type queryCollector struct{ m *Metrics }

var (
	requestsDesc = prometheus.NewDesc("coredns_dns_requests_total", "Counter of DNS requests made per zone, protocol and family.",
		[]string{"server", "zone", "view", "proto", "family", "type"}, nil)
	durationDesc = prometheus.NewDesc("coredns_dns_request_duration_seconds", "Histogram of the time (in seconds) each request took per zone.",
		[]string{"server", "zone", "view", "type"}, nil)
	reqSizeDesc = prometheus.NewDesc("coredns_dns_request_size_bytes", "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
		[]string{"server", "zone", "view", "proto"}, nil)
	respSizeDesc = prometheus.NewDesc("coredns_dns_response_size_bytes", "Size of the returned response in bytes.",
		[]string{"server", "zone", "view", "proto"}, nil)
	responsesDesc = prometheus.NewDesc("coredns_dns_responses_total", "Counter of response status codes.",
		[]string{"server", "zone", "view", "rcode", "plugin"}, nil)
	truncatedDesc = prometheus.NewDesc("clusterdns_dns_truncated_responses_total",
		"UDP answers that did not fit the client's buffer and were sent with TC set.", nil, nil)
)

var (
	protoLabels  = [2]string{"udp", "tcp"}
	familyLabels = [2]string{"1", "2"}
	typeLabels   = func() (l [nTypes]string) {
		for i, t := range qtypes {
			l[i] = dns.TypeToString[t]
		}
		l[len(qtypes)] = "other"
		return l
	}()
	rcodeLabels = func() (l [maxRcode + 1]string) {
		for rc := range l {
			l[rc] = dns.RcodeToString[rc]
			if l[rc] == "" {
				l[rc] = strconv.Itoa(rc)
			}
		}
		return l
	}()
)

func (c *queryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, durationDesc, reqSizeDesc, respSizeDesc, responsesDesc, truncatedDesc} {
		ch <- d
	}
}

// totals is zoneCounters summed over the shards.
type totals struct {
	requests    [2][2][nTypes]uint64
	durBuckets  [nTypes][nTimeBuckets + 1]uint64
	durSumNs    [nTypes]uint64
	reqSize     [2][nSizeBuckets + 1]uint64
	reqSizeSum  [2]uint64
	respSize    [2][nSizeBuckets + 1]uint64
	respSizeSum [2]uint64
	responses   [maxRcode + 1]uint64
}

func (t *totals) add(z *zoneCounters) {
	for p := range z.requests {
		for f := range z.requests[p] {
			for i := range z.requests[p][f] {
				t.requests[p][f][i] += z.requests[p][f][i].Load()
			}
		}
		for b := range z.reqSize[p] {
			t.reqSize[p][b] += z.reqSize[p][b].Load()
			t.respSize[p][b] += z.respSize[p][b].Load()
		}
		t.reqSizeSum[p] += z.reqSizeSum[p].Load()
		t.respSizeSum[p] += z.respSizeSum[p].Load()
	}
	for i := range z.durBuckets {
		for b := range z.durBuckets[i] {
			t.durBuckets[i][b] += z.durBuckets[i][b].Load()
		}
		t.durSumNs[i] += z.durSumNs[i].Load()
	}
	for rc := range z.responses {
		t.responses[rc] += z.responses[rc].Load()
	}
}

// histogram turns per-bucket counts (the last is +Inf) into Prometheus's
// cumulative buckets and the count.
func histogram(bounds []float64, counts []uint64) (map[float64]uint64, uint64) {
	out := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += counts[i]
		out[b] = cum
	}
	return out, cum + counts[len(bounds)]
}

func (c *queryCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	srv := m.serverLbl
	var truncated uint64
	for _, sh := range m.shards {
		truncated += sh.truncated.Load()
	}
	for zi, z := range m.zoneNames {
		var t totals
		for _, sh := range m.shards {
			t.add(&sh.zones[zi])
		}
		for p := range protoLabels {
			for f := range familyLabels {
				for i, typ := range typeLabels {
					ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(t.requests[p][f][i]), srv, z, "", protoLabels[p], familyLabels[f], typ)
				}
			}
			b, n := histogram(sizeBuckets, t.reqSize[p][:])
			ch <- prometheus.MustNewConstHistogram(reqSizeDesc, n, float64(t.reqSizeSum[p]), b, srv, z, "", protoLabels[p])
			b, n = histogram(sizeBuckets, t.respSize[p][:])
			ch <- prometheus.MustNewConstHistogram(respSizeDesc, n, float64(t.respSizeSum[p]), b, srv, z, "", protoLabels[p])
		}
		for i, typ := range typeLabels {
			b, n := histogram(timeBuckets, t.durBuckets[i][:])
			ch <- prometheus.MustNewConstHistogram(durationDesc, n, float64(t.durSumNs[i])/1e9, b, srv, z, "", typ)
		}
		plugin := "kubernetes"
		if z == "." {
			plugin = ""
		}
		for rc, name := range rcodeLabels {
			ch <- prometheus.MustNewConstMetric(responsesDesc, prometheus.CounterValue, float64(t.responses[rc]), srv, z, "", name, plugin)
		}
	}
	ch <- prometheus.MustNewConstMetric(truncatedDesc, prometheus.CounterValue, float64(truncated))
}

// SnapshotBuilt records a build or update and the new zone's contents.
func (m *Metrics) SnapshotBuilt(d time.Duration, st zone.Stats) {
	m.builds.Inc()
	m.buildDuration.Observe(d.Seconds())
	for k := zone.NodeKind(1); int(k) < len(st.RecordsByKind); k++ {
		m.records.WithLabelValues(k.String()).Set(float64(st.RecordsByKind[k]))
	}
	m.objects.WithLabelValues("services").Set(float64(st.Services))
	m.objects.WithLabelValues("names").Set(float64(st.Names))
	m.hostnames.WithLabelValues("true").Set(float64(st.HeadlessEndpointsWithHostname))
	m.hostnames.WithLabelValues("false").Set(float64(st.HeadlessEndpoints - st.HeadlessEndpointsWithHostname))
}

// SetSynced records whether the served state is complete.
func (m *Metrics) SetSynced(ok bool) {
	if ok {
		m.synced.Set(1)
	} else {
		m.synced.Set(0)
	}
}

// SetFollowing records whether the source still follows its input.
func (m *Metrics) SetFollowing(ok bool) {
	if ok {
		m.following.Set(1)
	} else {
		m.following.Set(0)
	}
}

// ReloadFailed counts a manifest reload that failed.
func (m *Metrics) ReloadFailed() { m.reloadErrors.Inc() }

// WatchError counts an informer watch error; WatchRecovered a recovery.
func (m *Metrics) WatchError()     { m.watchErrors.Inc() }
func (m *Metrics) WatchRecovered() { m.watchRecoveries.Inc() }

// ProgrammingLatency records one EndpointSlice change: from its
// last-change-trigger-time to the answer being served, and the part from
// the event to the swap.
func (m *Metrics) ProgrammingLatency(kind string, total, internal time.Duration) {
	m.programming.WithLabelValues(kind).Observe(total.Seconds())
	m.programmingInternal.WithLabelValues(kind).Observe(internal.Seconds())
}
