// Package metrics exports clusterdns's Prometheus metrics on a private
// registry: the query metrics under CoreDNS's names and labels (so CoreDNS
// dashboards, the coredns-mixin alerts and Netdata's CoreDNS collector read
// them unchanged) and clusterdns's own (zone contents, snapshot builds,
// informer sync, API watch errors, EndpointSlice hostname coverage,
// programming latency).
//
// Recording a query costs a few atomic adds: every label combination the
// hot path uses is resolved once, at construction. The package does not
// decide anything about DNS; it counts what the server and sources report.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
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

const maxRcode = 24

// zoneSet holds the resolved hot-path series of one zone label.
type zoneSet struct {
	requests  [2][3][]prometheus.Counter // proto, family, qtype index
	duration  []prometheus.Observer      // qtype index
	reqSize   [2]prometheus.Observer
	respSize  [2]prometheus.Observer
	responses [maxRcode + 1]prometheus.Counter
}

// Metrics is the registry and its collectors.
type Metrics struct {
	reg       *prometheus.Registry
	serverLbl string
	typeIndex map[uint16]int
	zones     map[string]*zoneSet
	truncated prometheus.Counter

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
	watchErrors         prometheus.Counter
	watchRecoveries     prometheus.Counter

	mu sync.Mutex
}

// New makes the metrics for a server listening on listen (the "server"
// label, e.g. "dns://127.0.0.1:5353") serving zones. Names outside them
// count under zone ".".
func New(listen string, zones []string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), serverLbl: "dns://" + listen, typeIndex: map[uint16]int{}, zones: map[string]*zoneSet{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for i, t := range qtypes {
		m.typeIndex[t] = i
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "dns", Name: "requests_total",
		Help: "Counter of DNS requests made per zone, protocol and family."}, []string{"server", "zone", "view", "proto", "family", "type"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coredns", Subsystem: "dns", Name: "request_duration_seconds",
		Buckets: timeBuckets, Help: "Histogram of the time (in seconds) each request took per zone."}, []string{"server", "zone", "view", "type"})
	reqSize := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coredns", Subsystem: "dns", Name: "request_size_bytes",
		Buckets: sizeBuckets, Help: "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol."}, []string{"server", "zone", "view", "proto"})
	respSize := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coredns", Subsystem: "dns", Name: "response_size_bytes",
		Buckets: sizeBuckets, Help: "Size of the returned response in bytes."}, []string{"server", "zone", "view", "proto"})
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "dns", Name: "responses_total",
		Help: "Counter of response status codes."}, []string{"server", "zone", "view", "rcode", "plugin"})
	m.reg.MustRegister(requests, duration, reqSize, respSize, responses)

	protos := [2]string{"udp", "tcp"}
	families := [3]string{"1", "2", "1"} // unknown client counts as IPv4
	for _, z := range append([]string{"."}, zones...) {
		zs := &zoneSet{}
		for p := range protos {
			for f := range families {
				for _, t := range qtypes {
					zs.requests[p][f] = append(zs.requests[p][f], requests.WithLabelValues(m.serverLbl, z, "", protos[p], families[f], dns.TypeToString[t]))
				}
				zs.requests[p][f] = append(zs.requests[p][f], requests.WithLabelValues(m.serverLbl, z, "", protos[p], families[f], "other"))
			}
			zs.reqSize[p] = reqSize.WithLabelValues(m.serverLbl, z, "", protos[p])
			zs.respSize[p] = respSize.WithLabelValues(m.serverLbl, z, "", protos[p])
		}
		for _, t := range qtypes {
			zs.duration = append(zs.duration, duration.WithLabelValues(m.serverLbl, z, "", dns.TypeToString[t]))
		}
		zs.duration = append(zs.duration, duration.WithLabelValues(m.serverLbl, z, "", "other"))
		plugin := "kubernetes"
		if z == "." {
			plugin = ""
		}
		for rc := 0; rc <= maxRcode; rc++ {
			name := dns.RcodeToString[rc]
			if name == "" {
				name = strconv.Itoa(rc)
			}
			zs.responses[rc] = responses.WithLabelValues(m.serverLbl, z, "", name, plugin)
		}
		m.zones[z] = zs
	}

	m.truncated = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "dns", Name: "truncated_responses_total",
		Help: "UDP answers that did not fit the client's buffer and were sent with TC set."})
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
	m.watchErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "kubernetes", Name: "watch_errors_total",
		Help: "Watch or list errors reported by the informers (each is followed by a retry)."})
	m.watchRecoveries = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "kubernetes", Name: "watch_recoveries_total",
		Help: "Times the API server became reachable again after watch errors."})
	m.reg.MustRegister(m.truncated, m.programming, m.programmingInternal, m.records, m.objects, m.hostnames,
		m.builds, m.buildDuration, m.synced, m.watchErrors, m.watchRecoveries)
	return m
}

// Registry is the private registry, for more collectors (probe) and tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetQueryLog makes every query event also go to f (the query log).
func (m *Metrics) SetQueryLog(f func(*server.QueryEvent)) { m.queryLog = f }

// ObserveQuery records one answered query (server.Observer).
func (m *Metrics) ObserveQuery(q *server.QueryEvent) {
	z := q.Zone
	if z == "" {
		z = "."
	}
	zs := m.zones[z]
	if zs == nil {
		zs = m.zones["."]
	}
	p := 0
	if q.Transport == server.TCP {
		p = 1
	}
	f := 0
	if q.Remote.IsValid() && !q.Remote.Addr().Unmap().Is4() {
		f = 1
	}
	ti, ok := m.typeIndex[q.Qtype]
	if !ok {
		ti = len(qtypes)
	}
	zs.requests[p][f][ti].Inc()
	zs.duration[ti].Observe(time.Since(q.Start).Seconds())
	zs.reqSize[p].Observe(float64(q.RequestSize))
	zs.respSize[p].Observe(float64(q.ResponseSize))
	if q.Rcode >= 0 && q.Rcode <= maxRcode {
		zs.responses[q.Rcode].Inc()
	}
	if q.Truncated {
		m.truncated.Inc()
	}
	if m.queryLog != nil {
		m.queryLog(q)
	}
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
