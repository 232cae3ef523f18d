package metrics

import (
	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/prometheus/client_golang/prometheus"
)

// AutopathRecorder returns the recorder of server-side search-path
// expansion: CoreDNS 1.14.2's coredns_autopath_success_total{server}
// (plugin/autopath/metrics.go: every expanded answer, NODATA included),
// and clusterdns_autopath_saved_queries_total{server}, the questions the
// clients did not have to send. Both exist, at 0, from this call on.
func (m *Metrics) AutopathRecorder() autopath.Recorder {
	m.autopathOnce.Do(func() {
		success := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "autopath", Name: "success_total",
			Help: "Counter of requests that did autopath."}, []string{"server"})
		saved := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "autopath", Name: "saved_queries_total",
			Help: "Questions of search-path walks the clients did not send because the first was answered with the walk's end (per query type)."}, []string{"server"})
		m.reg.MustRegister(success, saved)
		m.autopath = &autopathRecorder{success: success.WithLabelValues(m.serverLbl), saved: saved.WithLabelValues(m.serverLbl)}
	})
	return m.autopath
}

type autopathRecorder struct{ success, saved prometheus.Counter }

func (r *autopathRecorder) Expanded(saved int) {
	r.success.Inc()
	r.saved.Add(float64(saved))
}
