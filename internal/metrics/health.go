package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The health plugin's metrics of CoreDNS 1.14.2 (plugin/health/overloaded.go):
// the plugin GETs its own /health every second and observes how long that
// took, a sign of a process that cannot keep up. Neither has a label (being
// overloaded is a property of the process, not of a server block; the
// plugin's README says so).
//
//	coredns_health_request_duration_seconds   histogram, plugin.SlimTimeBuckets
//	coredns_health_request_failures_total     counter
//
// CoreDNS registers both with promauto on the default registry, so every
// CoreDNS with the prometheus plugin exports them, at 0 without the health
// plugin. Here they are registered with the first HealthRecorder call, as
// the forward and cache families are: the health endpoint asks for it when
// it starts, so they are exported whenever /health is served.

// slimTimeBuckets are CoreDNS's plugin.SlimTimeBuckets,
// prometheus.ExponentialBuckets(0.00025, 10, 5): 0.25 ms .. 2.5 s.
var slimTimeBuckets = prometheus.ExponentialBuckets(0.00025, 10, 5)

// nativeHistogramBucketFactor is CoreDNS's plugin.NativeHistogramBucketFactor.
const nativeHistogramBucketFactor = 1.05

// HealthRecorder records the self-checks of the health endpoint.
type HealthRecorder struct {
	duration prometheus.Histogram
	failures prometheus.Counter
}

func newHealthRecorder(reg prometheus.Registerer) *HealthRecorder {
	r := &HealthRecorder{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "coredns", Subsystem: "health", Name: "request_duration_seconds",
			Buckets: slimTimeBuckets, NativeHistogramBucketFactor: nativeHistogramBucketFactor,
			Help: "Histogram of the time (in seconds) each request took."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "health", Name: "request_failures_total",
			Help: "The number of times the health check failed."}),
	}
	reg.MustRegister(r.duration, r.failures)
	return r
}

// HealthRecorder returns the recorder of the health endpoint's self-check,
// registering its two families on the first call; later calls return the
// same recorder.
func (m *Metrics) HealthRecorder() *HealthRecorder {
	m.healthOnce.Do(func() { m.health = newHealthRecorder(m.reg) })
	return m.health
}

// Request records one self-check that took d. failed is true when no
// response came (an error of the client, its timeout included), the one
// case CoreDNS counts as a failure; a failed check is observed in the
// histogram too, with the time it took to fail. A response's status is not
// looked at, as in CoreDNS.
func (r *HealthRecorder) Request(d time.Duration, failed bool) {
	r.duration.Observe(d.Seconds())
	if failed {
		r.failures.Inc()
	}
}
