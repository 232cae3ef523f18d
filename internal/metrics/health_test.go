package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHealthMetricsAsCoreDNS: the self-check's observations come out as
// CoreDNS 1.14.2's two health families (plugin/health/overloaded.go): no
// labels, its help texts, and plugin.SlimTimeBuckets.
func TestHealthMetricsAsCoreDNS(t *testing.T) {
	m := New(":53", nil)
	if out := scrape(t, m); strings.Contains(out, "coredns_health_") {
		t.Error("/metrics has coredns_health_* before HealthRecorder is asked for")
	}
	r := m.HealthRecorder()
	if m.HealthRecorder() != r {
		t.Error("a second HealthRecorder is another recorder")
	}
	for _, o := range []struct {
		d      time.Duration
		failed bool
	}{
		{100 * time.Microsecond, false}, // le 0.00025
		{250 * time.Microsecond, false}, // le 0.00025: the bound is inclusive
		{time.Millisecond, false},       // le 0.0025
		{20 * time.Millisecond, false},  // le 0.025
		{200 * time.Millisecond, false}, // le 0.25
		{1500 * time.Millisecond, false},
		{3 * time.Second, true},  // the client's timeout: +Inf, and a failure
		{time.Millisecond, true}, // refused at once
	} {
		r.Request(o.d, o.failed)
	}

	out := scrape(t, m)
	wantLines(t, out,
		`# HELP coredns_health_request_duration_seconds Histogram of the time (in seconds) each request took.`,
		`# TYPE coredns_health_request_duration_seconds histogram`,
		`coredns_health_request_duration_seconds_bucket{le="0.00025"} 2`,
		`coredns_health_request_duration_seconds_bucket{le="0.0025"} 4`,
		`coredns_health_request_duration_seconds_bucket{le="0.025"} 5`,
		`coredns_health_request_duration_seconds_bucket{le="0.25"} 6`,
		`coredns_health_request_duration_seconds_bucket{le="2.5"} 7`,
		`coredns_health_request_duration_seconds_bucket{le="+Inf"} 8`,
		`coredns_health_request_duration_seconds_count 8`,
		`# HELP coredns_health_request_failures_total The number of times the health check failed.`,
		`# TYPE coredns_health_request_failures_total counter`,
		`coredns_health_request_failures_total 2`,
	)

	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"coredns_health_request_duration_seconds": "HISTOGRAM", "coredns_health_request_failures_total": "COUNTER"}
	for _, f := range families {
		typ, ok := want[f.GetName()]
		if !ok {
			if strings.HasPrefix(f.GetName(), "coredns_health_") {
				t.Errorf("%s is exported but is not a CoreDNS health metric", f.GetName())
			}
			continue
		}
		delete(want, f.GetName())
		if got := f.GetType().String(); got != typ {
			t.Errorf("%s is a %s, want %s", f.GetName(), got, typ)
		}
		for _, mt := range f.GetMetric() {
			if len(mt.GetLabel()) != 0 {
				t.Errorf("%s has labels %v; CoreDNS's has none", f.GetName(), mt.GetLabel())
			}
			if h := mt.GetHistogram(); h != nil {
				var bounds []string
				for _, b := range h.GetBucket() {
					bounds = append(bounds, fmt.Sprint(b.GetUpperBound()))
				}
				// plugin.SlimTimeBuckets: ExponentialBuckets(0.00025, 10, 5).
				const coreDNS = "[0.00025 0.0025 0.025 0.25 2.5]"
				if got := fmt.Sprint(bounds); got != coreDNS {
					t.Errorf("%s buckets %s, want %s", f.GetName(), got, coreDNS)
				}
				if got, want := h.GetSampleSum(), (100*time.Microsecond + 250*time.Microsecond + 2*time.Millisecond +
					220*time.Millisecond + 4500*time.Millisecond).Seconds(); got < want-1e-9 || got > want+1e-9 {
					t.Errorf("%s sum %v, want %v", f.GetName(), got, want)
				}
			}
		}
	}
	for name := range want {
		t.Errorf("%s is not exported", name)
	}
}
