package kube

import (
	"strings"
	"testing"
	"time"
)

func TestLatencyHistogramBuckets(t *testing.T) {
	l := NewLatency()
	for _, d := range []time.Duration{500 * time.Microsecond, 3 * time.Millisecond, 3 * time.Millisecond, 100 * time.Millisecond, 20 * time.Minute} {
		l.Observe(KindClusterIP, d, d/10)
	}
	total, internal := l.Snapshot()
	h := total[KindClusterIP]
	if h.Count != 5 || internal[KindClusterIP].Count != 5 {
		t.Fatalf("counts %d/%d, want 5", h.Count, internal[KindClusterIP].Count)
	}
	// Buckets are upper bounds 1ms, 2ms, 4ms, ...; 20 minutes overflows.
	if h.Counts[0] != 1 || h.Counts[2] != 2 || h.Counts[len(h.Counts)-1] != 1 {
		t.Errorf("bucket counts %v", h.Counts)
	}
	if q := h.Quantile(0.5); q != 4*time.Millisecond {
		t.Errorf("p50 bound = %v, want 4ms", q)
	}
	if !strings.Contains(l.String(), "cluster_ip: n=5") {
		t.Errorf("summary %q", l.String())
	}
}
