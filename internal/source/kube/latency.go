package kube

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Service kinds, the label of the programming-latency histograms (CoreDNS's
// coredns_kubernetes_dns_programming_duration_seconds uses the same values).
const (
	KindClusterIP               = "cluster_ip"
	KindHeadlessWithSelector    = "headless_with_selector"
	KindHeadlessWithoutSelector = "headless_without_selector"
)

// LatencyBuckets are the histogram upper bounds: 1 ms doubling to 524 s, as
// CoreDNS's programming-duration histogram.
var LatencyBuckets = func() []time.Duration {
	var b []time.Duration
	d := time.Millisecond
	for range 20 {
		b = append(b, d)
		d *= 2
	}
	return b
}()

// Histogram counts durations in LatencyBuckets.
type Histogram struct {
	Counts []uint64 // per bucket, not cumulative; the last is +Inf
	Count  uint64
	Sum    time.Duration
}

func newHistogram() *Histogram { return &Histogram{Counts: make([]uint64, len(LatencyBuckets)+1)} }

func (h *Histogram) observe(d time.Duration) {
	i := sort.Search(len(LatencyBuckets), func(i int) bool { return d <= LatencyBuckets[i] })
	h.Counts[i]++
	h.Count++
	h.Sum += d
}

// Quantile estimates the q-quantile as the upper bound of its bucket.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(h.Count) + 0.5)
	if rank == 0 {
		rank = 1
	}
	var c uint64
	for i, n := range h.Counts {
		c += n
		if c >= rank {
			if i < len(LatencyBuckets) {
				return LatencyBuckets[i]
			}
			break
		}
	}
	return LatencyBuckets[len(LatencyBuckets)-1]
}

// Latency holds the DNS programming latency per service kind: from the
// EndpointSlice's last-change-trigger-time to the moment the new answer is
// served (Total), and the part spent here, from the event reaching the
// informer to the snapshot swap (Internal).
type Latency struct {
	mu       sync.Mutex
	total    map[string]*Histogram
	internal map[string]*Histogram
}

// NewLatency returns empty histograms.
func NewLatency() *Latency {
	return &Latency{total: map[string]*Histogram{}, internal: map[string]*Histogram{}}
}

// Observe records one EndpointSlice change of a service of the kind.
func (l *Latency) Observe(kind string, total, internal time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	observeIn(l.total, kind, total)
	observeIn(l.internal, kind, internal)
}

func observeIn(m map[string]*Histogram, kind string, d time.Duration) {
	h := m[kind]
	if h == nil {
		h = newHistogram()
		m[kind] = h
	}
	h.observe(d)
}

// Snapshot returns copies of the histograms (total, internal) by kind.
func (l *Latency) Snapshot() (total, internal map[string]Histogram) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cp := func(m map[string]*Histogram) map[string]Histogram {
		out := map[string]Histogram{}
		for k, h := range m {
			out[k] = Histogram{Counts: append([]uint64(nil), h.Counts...), Count: h.Count, Sum: h.Sum}
		}
		return out
	}
	return cp(l.total), cp(l.internal)
}

// String summarizes the histograms: count, p50 and p99 per kind.
func (l *Latency) String() string {
	total, internal := l.Snapshot()
	kinds := make([]string, 0, len(total))
	for k := range total {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		t, in := total[k], internal[k]
		fmt.Fprintf(&b, "%s: n=%d p50<=%s p99<=%s (internal p50<=%s p99<=%s); ", k, t.Count, t.Quantile(0.5), t.Quantile(0.99), in.Quantile(0.5), in.Quantile(0.99))
	}
	return strings.TrimSuffix(b.String(), "; ")
}
