package cache

// Kind is which of the two caches an entry lives in; its String is the
// `type` label CoreDNS gives the cache metrics.
type Kind uint8

// The two caches.
const (
	// Success holds NOERROR answers, referrals and empty NOERROR without
	// an SOA.
	Success Kind = iota
	// Denial holds NXDOMAIN, NODATA, SERVFAIL and NOTIMP.
	Denial
)

func (k Kind) String() string {
	if k == Denial {
		return "denial"
	}
	return "success"
}

// Recorder receives the cache plugin's metrics. Each method maps to one
// CoreDNS 1.14.2 series (plugin/cache/metrics.go); the server, zones and
// view labels are fixed per cache, so the Recorder holds them and the
// methods carry only the `type` label where CoreDNS has one:
//
//	Request      coredns_cache_requests_total{server,zones,view}
//	Hit          coredns_cache_hits_total{server,type,zones,view}
//	Miss         coredns_cache_misses_total{server,zones,view}
//	Prefetch     coredns_cache_prefetch_total{server,zones,view}
//	ServedStale  coredns_cache_served_stale_total{server,zones,view}
//	Drop         coredns_cache_drops_total{server,zones,view}
//	Eviction     coredns_cache_evictions_total{server,type,zones,view}
//	Entries      coredns_cache_entries{server,type,zones,view} (a gauge)
//
// Request and Hit or Miss are called on every Get, so an implementation
// must be cheap and safe for concurrent use (per-worker counters, as the
// metrics package keeps for queries).
type Recorder interface {
	Request()
	Hit(Kind)
	Miss()
	// Prefetch counts a refresh the cache asked its caller to start
	// (Status HitPrefetch or StaleRefresh), as CoreDNS counts one per
	// prefetch it runs.
	Prefetch()
	ServedStale()
	// Drop counts a cacheable reply whose question did not match the
	// query's.
	Drop()
	Eviction(Kind)
	// Entries reports the number of entries of a kind after a store, as
	// CoreDNS sets its gauge.
	Entries(Kind, int)
}

// nopRecorder records nothing; it spares the hot path a nil check.
type nopRecorder struct{}

func (nopRecorder) Request()          {}
func (nopRecorder) Hit(Kind)          {}
func (nopRecorder) Miss()             {}
func (nopRecorder) Prefetch()         {}
func (nopRecorder) ServedStale()      {}
func (nopRecorder) Drop()             {}
func (nopRecorder) Eviction(Kind)     {}
func (nopRecorder) Entries(Kind, int) {}
