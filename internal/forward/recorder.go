package forward

import "time"

// Recorder receives what CoreDNS 1.14.2's forward metrics count. Methods
// are called on the query path and from health-check goroutines: they must
// be fast and safe for concurrent use. `to` is the upstream as
// Forwarder.Upstreams writes it ("IP:port", "[IPv6]:port"), CoreDNS's `to`
// label.
//
// CoreDNS 1.14.2 exports these (plugin/forward/metrics.go,
// plugin/pkg/proxy/metrics.go); the README's older names
// coredns_forward_requests_total{to}, coredns_forward_responses_total{to,
// rcode}, coredns_forward_request_duration_seconds{to,rcode} and
// coredns_forward_healthcheck_failures_total{to} are listed there as
// deprecated and are no longer exported by 1.14.2. An exporter that keeps
// them for old dashboards can derive them from the same events (Request
// and Response).
type Recorder interface {
	// Request: an attempt to send to the upstream begins. CoreDNS exports
	// no per-attempt count (its deprecated coredns_forward_requests_total
	// counted accepted replies, which Response sees).
	Request(to string)
	// Response: the upstream's reply was accepted, with its rcode (extended
	// rcodes included) and the time since the attempt began, dial included.
	// coredns_proxy_request_duration_seconds{proxy_name="forward",to,rcode}
	// (rcode as dns.RcodeToString, else the number).
	Response(to string, rcode int, d time.Duration)
	// HealthcheckFailure: a health check of the upstream failed.
	// coredns_proxy_healthcheck_failures_total{proxy_name="forward",to}.
	HealthcheckFailure(to string)
	// HealthcheckBroken: every upstream was down, so one was picked at
	// random. coredns_forward_healthcheck_broken_total.
	HealthcheckBroken()
	// MaxConcurrentReject: a query was refused by MaxConcurrent.
	// coredns_forward_max_concurrent_rejects_total.
	MaxConcurrentReject()
	// ConnCache: an attempt took a pooled connection (hit) or dialled a
	// new one. coredns_proxy_conn_cache_{hits,misses}_total{proxy_name=
	// "forward",to,proto} with proto "udp" or "tcp".
	ConnCache(to, proto string, hit bool)
}

type nopRecorder struct{}

func (nopRecorder) Request(string)                      {}
func (nopRecorder) Response(string, int, time.Duration) {}
func (nopRecorder) HealthcheckFailure(string)           {}
func (nopRecorder) HealthcheckBroken()                  {}
func (nopRecorder) MaxConcurrentReject()                {}
func (nopRecorder) ConnCache(string, string, bool)      {}
