package probe

import (
	"context"
	"sort"
	"time"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/prometheus/client_golang/prometheus"
)

// Span is one drift from the round it was first seen in to the round it was
// gone in (End zero while it lasts).
type Span struct {
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Kind     string        `json:"kind"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end,omitzero"`
	Duration time.Duration `json:"duration_ns"`
}

// WatchResult is what a watch saw.
type WatchResult struct {
	Rounds int     `json:"rounds"`
	Closed []Span  `json:"closed"`
	Open   []Span  `json:"open"`
	Last   *Report `json:"last"`
}

// Expect returns the current expectations: the snapshot and the questions.
type Expect func(ctx context.Context) (*zone.Snapshot, []zone.Question, error)

// Metrics are the probe's Prometheus series.
type Metrics struct {
	rounds   prometheus.Counter
	checks   *prometheus.CounterVec
	drifting prometheus.Gauge
	duration prometheus.Histogram
}

// NewMetrics registers the clusterdns_probe_* series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		rounds: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "probe", Name: "rounds_total",
			Help: "Probe rounds run."}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "clusterdns", Subsystem: "probe", Name: "checks_total",
			Help: "Questions asked, by result (match, missing, extra, stale, rcode, error)."}, []string{"result"}),
		drifting: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "clusterdns", Subsystem: "probe", Name: "drifting",
			Help: "Questions whose answer differs from the cluster state in the last round."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "clusterdns", Subsystem: "probe", Name: "drift_duration_seconds",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16), Help: "How long a drift lasted, from the first round that saw it to the first that did not."}),
	}
	reg.MustRegister(m.rounds, m.checks, m.drifting, m.duration)
	return m
}

// Watch probes every interval for the given duration (0: until ctx ends),
// timing each drift from the round it appears in to the round it is gone.
func (p *Prober) Watch(ctx context.Context, expect Expect, interval, duration time.Duration, m *Metrics, onRound func(*Report)) (*WatchResult, error) {
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	res := &WatchResult{Closed: []Span{}, Open: []Span{}}
	open := map[[2]string]*Span{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		snap, qs, err := expect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return res, err
		}
		r := p.Run(ctx, snap, qs)
		if ctx.Err() != nil && len(r.Checks) < len(qs) {
			break // cut short: not a round
		}
		res.Rounds++
		res.Last = r
		now := r.Time
		seen := map[[2]string]bool{}
		for _, c := range r.Checks {
			k := [2]string{c.Name, c.Type}
			if m != nil {
				m.checks.WithLabelValues(c.Kind).Inc()
			}
			if !c.Drifting() {
				continue
			}
			seen[k] = true
			if open[k] == nil {
				open[k] = &Span{Name: c.Name, Type: c.Type, Kind: c.Kind, Start: now}
			}
		}
		for k, s := range open {
			if seen[k] {
				continue
			}
			s.End = now
			s.Duration = s.End.Sub(s.Start)
			res.Closed = append(res.Closed, *s)
			if m != nil {
				m.duration.Observe(s.Duration.Seconds())
			}
			delete(open, k)
		}
		if m != nil {
			m.rounds.Inc()
			m.drifting.Set(float64(r.Drifts))
		}
		if onRound != nil {
			onRound(r)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
			continue
		}
		break
	}
	for _, s := range open {
		s.Duration = time.Since(s.Start)
		res.Open = append(res.Open, *s)
	}
	sort.Slice(res.Closed, func(i, j int) bool { return res.Closed[i].Start.Before(res.Closed[j].Start) })
	sort.Slice(res.Open, func(i, j int) bool { return res.Open[i].Name < res.Open[j].Name })
	return res, nil
}
