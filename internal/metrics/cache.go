package metrics

import (
	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/prometheus/client_golang/prometheus"
)

// cacheVecs are CoreDNS 1.14.2's cache families (plugin/cache/metrics.go),
// registered once on the first CacheRecorder call.
type cacheVecs struct {
	entries   *prometheus.GaugeVec
	requests  *prometheus.CounterVec
	hits      *prometheus.CounterVec
	misses    *prometheus.CounterVec
	prefetch  *prometheus.CounterVec
	drops     *prometheus.CounterVec
	stale     *prometheus.CounterVec
	evictions *prometheus.CounterVec
}

func newCacheVecs(reg prometheus.Registerer) *cacheVecs {
	typed := []string{"server", "type", "zones", "view"}
	plain := []string{"server", "zones", "view"}
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coredns", Subsystem: "cache", Name: name, Help: help}, labels)
	}
	v := &cacheVecs{
		entries: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "coredns", Subsystem: "cache", Name: "entries",
			Help: "The number of elements in the cache."}, typed),
		requests:  counter("requests_total", "The count of cache requests.", plain),
		hits:      counter("hits_total", "The count of cache hits.", typed),
		misses:    counter("misses_total", "The count of cache misses. Deprecated, derive misses from cache hits/requests counters.", plain),
		prefetch:  counter("prefetch_total", "The number of times the cache has prefetched a cached item.", plain),
		drops:     counter("drops_total", "The number responses that are not cached, because the reply is malformed.", plain),
		stale:     counter("served_stale_total", "The number of requests served from stale cache entries.", plain),
		evictions: counter("evictions_total", "The count of cache evictions.", typed),
	}
	reg.MustRegister(v.entries, v.requests, v.hits, v.misses, v.prefetch, v.drops, v.stale, v.evictions)
	return v
}

// CacheRecorder returns the recorder of one cache: the cache of the server
// block serving zones, the `zones` label, which CoreDNS writes as the
// block's zones joined with "," (plugin/cache/setup.go), "." for the
// default block. The server label is the one of the coredns_dns_* series
// and view is "" (clusterdns has no views). Its series exist, at 0, from
// this call on. Two recorders with the same zones count into the same
// series, as two CoreDNS caches with the same labels would.
func (m *Metrics) CacheRecorder(zones string) cache.Recorder {
	m.cacheOnce.Do(func() { m.cacheVecs = newCacheVecs(m.reg) })
	v, srv := m.cacheVecs, m.serverLbl
	r := &cacheRecorder{
		requests: v.requests.WithLabelValues(srv, zones, ""),
		misses:   v.misses.WithLabelValues(srv, zones, ""),
		prefetch: v.prefetch.WithLabelValues(srv, zones, ""),
		stale:    v.stale.WithLabelValues(srv, zones, ""),
		drops:    v.drops.WithLabelValues(srv, zones, ""),
	}
	for _, k := range []cache.Kind{cache.Success, cache.Denial} {
		i := kindIdx(k)
		r.hits[i] = v.hits.WithLabelValues(srv, k.String(), zones, "")
		r.evictions[i] = v.evictions.WithLabelValues(srv, k.String(), zones, "")
		r.entries[i] = v.entries.WithLabelValues(srv, k.String(), zones, "")
	}
	return r
}

// cacheRecorder holds its series resolved once: Request, Hit and Miss, on
// every cache lookup, are one atomic add each, with no label lookup.
type cacheRecorder struct {
	requests, misses, prefetch, stale, drops prometheus.Counter
	hits, evictions                          [2]prometheus.Counter // by kindIdx
	entries                                  [2]prometheus.Gauge
}

// kindIdx is 0 for cache.Success, 1 for cache.Denial (any other Kind
// counts as success, as Kind.String names it).
func kindIdx(k cache.Kind) int {
	if k == cache.Denial {
		return 1
	}
	return 0
}

func (r *cacheRecorder) Request()                    { r.requests.Inc() }
func (r *cacheRecorder) Hit(k cache.Kind)            { r.hits[kindIdx(k)].Inc() }
func (r *cacheRecorder) Miss()                       { r.misses.Inc() }
func (r *cacheRecorder) Prefetch()                   { r.prefetch.Inc() }
func (r *cacheRecorder) ServedStale()                { r.stale.Inc() }
func (r *cacheRecorder) Drop()                       { r.drops.Inc() }
func (r *cacheRecorder) Eviction(k cache.Kind)       { r.evictions[kindIdx(k)].Inc() }
func (r *cacheRecorder) Entries(k cache.Kind, n int) { r.entries[kindIdx(k)].Set(float64(n)) }
