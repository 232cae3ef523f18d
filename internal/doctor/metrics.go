package doctor

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one reading of a /metrics endpoint, parsed.
type Scrape struct {
	At       time.Time
	Families map[string]*dto.MetricFamily
}

// parseMetrics reads the Prometheus text format.
func parseMetrics(at time.Time, body []byte) (*Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("reading the metrics: %w", err)
	}
	return &Scrape{At: at, Families: fams}, nil
}

// Sampler reads a /metrics endpoint (through the API server: its own, or
// a pod's through the pod proxy).
type Sampler func(ctx context.Context) ([]byte, error)

// sampleTwice reads the endpoint, waits window, and reads it again: rates
// and quantiles over the window without Prometheus.
func sampleTwice(ctx context.Context, get Sampler, window time.Duration) (first, second *Scrape, err error) {
	read := func() (*Scrape, error) {
		body, err := get(ctx)
		if err != nil {
			return nil, err
		}
		return parseMetrics(time.Now(), body)
	}
	if first, err = read(); err != nil {
		return nil, nil, err
	}
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-time.After(window):
	}
	if second, err = read(); err != nil {
		return nil, nil, err
	}
	return first, second, nil
}

// labelsMatch reports whether m has every label of want.
func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if l.GetValue() != v {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// counter sums the counters (or untyped values) of family name whose
// labels match.
func (s *Scrape) counter(name string, match map[string]string) float64 {
	f := s.Families[name]
	if f == nil {
		return 0
	}
	var t float64
	for _, m := range f.GetMetric() {
		if !labelsMatch(m, match) {
			continue
		}
		switch {
		case m.Counter != nil:
			t += m.GetCounter().GetValue()
		case m.Untyped != nil:
			t += m.GetUntyped().GetValue()
		}
	}
	return t
}

// histogram is cumulative bucket counts by upper bound, summed over the
// series of family name whose labels match.
type histogram struct {
	bounds []float64
	counts map[float64]float64
	count  float64
}

func (s *Scrape) histogram(name string, match map[string]string) histogram {
	h := histogram{counts: map[float64]float64{}}
	f := s.Families[name]
	if f == nil {
		return h
	}
	for _, m := range f.GetMetric() {
		if m.Histogram == nil || !labelsMatch(m, match) {
			continue
		}
		h.count += float64(m.GetHistogram().GetSampleCount())
		for _, b := range m.GetHistogram().GetBucket() {
			ub := b.GetUpperBound()
			if _, ok := h.counts[ub]; !ok {
				h.bounds = append(h.bounds, ub)
			}
			h.counts[ub] += float64(b.GetCumulativeCount())
		}
	}
	sort.Float64s(h.bounds)
	return h
}

// minus is h's observations since earlier's.
func (h histogram) minus(earlier histogram) histogram {
	out := histogram{bounds: h.bounds, counts: map[float64]float64{}, count: h.count - earlier.count}
	for _, b := range h.bounds {
		out.counts[b] = h.counts[b] - earlier.counts[b]
	}
	return out
}

// quantile is Prometheus's histogram_quantile: linear interpolation in
// the bucket holding the q-th observation; the highest finite bound when
// it falls in +Inf; NaN without observations.
func (h histogram) quantile(q float64) float64 {
	if h.count <= 0 || len(h.bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.count
	prevBound, prevCount := 0.0, 0.0
	for _, b := range h.bounds {
		c := h.counts[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				return prevBound
			}
			if c == prevCount {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b, c
	}
	return prevBound
}

// seconds formats a latency.
func seconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "no data"
	case s < 1:
		return strconv.FormatFloat(s*1000, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(s, 'f', 2, 64) + " s"
}
