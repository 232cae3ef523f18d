package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/prometheus/client_golang/prometheus"
)

// The forward metrics of CoreDNS 1.14.2. The forward plugin itself exports
// only coredns_forward_healthcheck_broken_total and
// coredns_forward_max_concurrent_rejects_total (plugin/forward/metrics.go);
// the per-upstream series come from the proxy package it uses, under
// coredns_proxy_* with proxy_name="forward" (plugin/pkg/proxy/metrics.go,
// plugin/forward/setup.go: proxy.NewProxy("forward", ...)).
//
// Deprecated names. 1.11 moved the per-upstream series to coredns_proxy_*;
// 1.14.2 no longer exports coredns_forward_requests_total,
// coredns_forward_responses_total, coredns_forward_request_duration_seconds
// nor coredns_forward_healthcheck_failures_total (its forward README lists
// them as deprecated). We still export coredns_forward_requests_total{to}
// and coredns_forward_responses_total{rcode,to}, as CoreDNS 1.10 did,
// because the coredns-mixin (povilasv/coredns-mixin, unchanged since
// 2023-04) still queries them: its CoreDNS dashboard plots
// coredns_forward_requests_total by (to) and coredns_forward_responses_total
// by (rcode) (dashboards/coredns.libsonnet), and its CoreDNSForwardErrorsHigh
// alerts are the SERVFAIL share of coredns_forward_responses_total
// (alerts/forward.libsonnet). They are two counters per upstream (and
// rcode), an atomic add each per reply, under names 1.14.2 does not use,
// so no 1.14.2 query sees them. The mixin's two other forward rules read
// coredns_forward_request_duration_seconds_bucket and
// coredns_forward_healthcheck_failures_total; those stay unexported, to
// keep the set as close to 1.14.2's as the mixin's dashboard allows: a
// second duration histogram would double the forward series (18 per
// upstream and rcode), and both have direct 1.14.2 replacements
// (coredns_proxy_request_duration_seconds{proxy_name="forward"},
// coredns_proxy_healthcheck_failures_total{proxy_name="forward"}).
const proxyName = "forward"

// forwardVecs are the forward families, registered once on the first
// ForwardRecorder call: a server that forwards nothing exports none.
type forwardVecs struct {
	duration   *prometheus.HistogramVec
	hcFailures *prometheus.CounterVec
	connHits   *prometheus.CounterVec
	connMisses *prometheus.CounterVec
	broken     prometheus.Counter
	rejects    prometheus.Counter
	// Deprecated in CoreDNS, kept for the coredns-mixin (see above).
	requests  *prometheus.CounterVec
	responses *prometheus.CounterVec
}

func newForwardVecs(reg prometheus.Registerer) *forwardVecs {
	v := &forwardVecs{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coredns", Subsystem: "proxy", Name: "request_duration_seconds",
			Buckets: timeBuckets, NativeHistogramBucketFactor: 1.05, Help: "Histogram of the time each request took."},
			[]string{"proxy_name", "to", "rcode"}),
		hcFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "proxy", Name: "healthcheck_failures_total",
			Help: "Counter of the number of failed healthchecks."}, []string{"proxy_name", "to"}),
		connHits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "proxy", Name: "conn_cache_hits_total",
			Help: "Counter of connection cache hits per upstream and protocol."}, []string{"proxy_name", "to", "proto"}),
		connMisses: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "proxy", Name: "conn_cache_misses_total",
			Help: "Counter of connection cache misses per upstream and protocol."}, []string{"proxy_name", "to", "proto"}),
		broken: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "forward", Name: "healthcheck_broken_total",
			Help: "Counter of the number of complete failures of the healthchecks."}),
		rejects: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "forward", Name: "max_concurrent_rejects_total",
			Help: "Counter of the number of queries rejected because the concurrent queries were at maximum."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "forward", Name: "requests_total",
			Help: "Counter of requests made per upstream."}, []string{"to"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "forward", Name: "responses_total",
			Help: "Counter of responses received per upstream."}, []string{"rcode", "to"}),
	}
	reg.MustRegister(v.duration, v.hcFailures, v.connHits, v.connMisses, v.broken, v.rejects, v.requests, v.responses)
	return v
}

// ForwardRecorder returns the recorder of the forward metrics (see
// forwardVecs for the names). Every forwarder may share one; recorders
// from several calls count into the same series, as CoreDNS's forward
// plugins (one per server block) share its global vectors.
func (m *Metrics) ForwardRecorder() forward.Recorder {
	m.fwdOnce.Do(func() { m.fwd = &forwardRecorder{v: newForwardVecs(m.reg)} })
	return m.fwd
}

// forwardRecorder resolves the series of an upstream once, on its first
// event, and keeps them in a lock-free map: recording is a map load and
// an atomic add (an observation for the histogram), with no label hashing.
type forwardRecorder struct {
	v         *forwardVecs
	upstreams sync.Map // to → *upstreamSeries
}

// upstreamSeries are one upstream's series. Those without an rcode label
// exist (at 0) from the upstream's first event, so that rate() sees their
// first increment; the per-rcode ones appear with their first reply, as in
// CoreDNS, rather than 25 empty histograms per upstream.
type upstreamSeries struct {
	to         string
	hcFailures prometheus.Counter
	connHits   [2]prometheus.Counter // udp, tcp
	connMisses [2]prometheus.Counter
	requests   prometheus.Counter
	rcodes     [maxRcode + 1]atomic.Pointer[rcodeSeries]
}

// rcodeSeries are the series of an upstream and rcode.
type rcodeSeries struct {
	duration  prometheus.Observer
	responses prometheus.Counter
}

func (r *forwardRecorder) upstream(to string) *upstreamSeries {
	if u, ok := r.upstreams.Load(to); ok {
		return u.(*upstreamSeries)
	}
	u := &upstreamSeries{to: to,
		hcFailures: r.v.hcFailures.WithLabelValues(proxyName, to),
		requests:   r.v.requests.WithLabelValues(to)}
	for p, proto := range protoLabels {
		u.connHits[p] = r.v.connHits.WithLabelValues(proxyName, to, proto)
		u.connMisses[p] = r.v.connMisses.WithLabelValues(proxyName, to, proto)
	}
	got, _ := r.upstreams.LoadOrStore(to, u)
	return got.(*upstreamSeries)
}

func (r *forwardRecorder) rcode(u *upstreamSeries, rc int) *rcodeSeries {
	if rc >= 0 && rc <= maxRcode {
		if s := u.rcodes[rc].Load(); s != nil {
			return s
		}
	}
	lbl := strconv.Itoa(rc) // CoreDNS: dns.RcodeToString, else the number
	if rc >= 0 && rc <= maxRcode {
		lbl = rcodeLabels[rc]
	}
	s := &rcodeSeries{duration: r.v.duration.WithLabelValues(proxyName, u.to, lbl),
		responses: r.v.responses.WithLabelValues(lbl, u.to)}
	if rc >= 0 && rc <= maxRcode {
		// A racing store holds the same children: WithLabelValues
		// returns the vector's one child per label set.
		u.rcodes[rc].Store(s)
	}
	return s
}

// Request is not counted: CoreDNS counted coredns_forward_requests_total
// with each accepted reply, next to responses_total (1.10
// plugin/forward/connect.go), never per attempt, so Response counts it.
func (r *forwardRecorder) Request(string) {}

// Response records an accepted reply: the proxy duration histogram and
// the deprecated requests and responses counters.
func (r *forwardRecorder) Response(to string, rcode int, d time.Duration) {
	u := r.upstream(to)
	s := r.rcode(u, rcode)
	s.duration.Observe(d.Seconds())
	s.responses.Inc()
	u.requests.Inc()
}

func (r *forwardRecorder) HealthcheckFailure(to string) { r.upstream(to).hcFailures.Inc() }
func (r *forwardRecorder) HealthcheckBroken()           { r.v.broken.Inc() }
func (r *forwardRecorder) MaxConcurrentReject()         { r.v.rejects.Inc() }

// ConnCache counts a pooled connection taken (hit) or a dial (miss).
func (r *forwardRecorder) ConnCache(to, proto string, hit bool) {
	var p int
	switch proto {
	case "udp":
		p = 0
	case "tcp":
		p = 1
	default: // not sent by the forwarder today ("tcp-tls" in CoreDNS)
		if hit {
			r.v.connHits.WithLabelValues(proxyName, to, proto).Inc()
		} else {
			r.v.connMisses.WithLabelValues(proxyName, to, proto).Inc()
		}
		return
	}
	u := r.upstream(to)
	if hit {
		u.connHits[p].Inc()
	} else {
		u.connMisses[p].Inc()
	}
}
