package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/metrics"
)

// healthCounts reads the self-check's observations and failures from m.
func healthCounts(t *testing.T, m *metrics.Metrics) (observed, failed uint64) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			switch f.GetName() {
			case "coredns_health_request_duration_seconds":
				observed = mt.GetHistogram().GetSampleCount()
			case "coredns_health_request_failures_total":
				failed = uint64(mt.GetCounter().GetValue())
			}
		}
	}
	return observed, failed
}

// runPoller polls url with the given timings until it has observed n
// checks, then stops it and waits for it to return.
func runPoller(t *testing.T, url string, timeout, slow time.Duration, n uint64) (m *metrics.Metrics, log *syncBuffer) {
	t.Helper()
	m, log = metrics.New(":53", nil), &syncBuffer{}
	p := newHealthPoller(url, slog.New(slog.NewTextHandler(log, nil)))
	p.interval, p.timeout, p.slow, p.rec = 10*time.Millisecond, timeout, slow, m.HealthRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.run(ctx)
		close(done)
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got, _ := healthCounts(t, m); got >= n {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%d checks observed in 5 s, want %d:\n%s", func() uint64 { o, _ := healthCounts(t, m); return o }(), n, log.String())
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the poller did not stop when its context was cancelled")
	}
	return m, log
}

// TestHealthPollerAsCoreDNS: every check is observed; only a check with no
// response (refused, timed out) counts as a failure, and a non-200 does
// not (CoreDNS does not look at the status); a failure, or a check slower
// than the slow threshold, logs a warning.
func TestHealthPollerAsCoreDNS(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String() + "/health"
	}()
	for _, tc := range []struct {
		name      string
		handler   http.HandlerFunc // nil: nothing listens
		timeout   time.Duration
		slow      time.Duration
		allFailed bool
		warn      string // "" : no warning
	}{
		{name: "answers", handler: func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("OK\n")) },
			timeout: healthPollTimeout, slow: healthPollSlow},
		{name: "503 is not a failure", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
			timeout: healthPollTimeout, slow: healthPollSlow},
		{name: "slow", handler: func(w http.ResponseWriter, _ *http.Request) { time.Sleep(30 * time.Millisecond) },
			timeout: healthPollTimeout, slow: 10 * time.Millisecond, warn: "local health request took more than 10ms"},
		{name: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, timeout: 30 * time.Millisecond, slow: healthPollSlow, allFailed: true, warn: "local health request failed"},
		{name: "nothing listens", timeout: healthPollTimeout, slow: healthPollSlow, allFailed: true, warn: "local health request failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := closed
			if tc.handler != nil {
				ts := httptest.NewServer(tc.handler)
				defer ts.Close()
				url = ts.URL + "/health"
			}
			m, log := runPoller(t, url, tc.timeout, tc.slow, 3)
			observed, failed := healthCounts(t, m)
			if tc.allFailed && failed != observed {
				t.Errorf("%d failures in %d checks, want all", failed, observed)
			}
			if !tc.allFailed && failed != 0 {
				t.Errorf("%d failures in %d checks, want none", failed, observed)
			}
			if tc.warn == "" && strings.Contains(log.String(), "WARN") {
				t.Errorf("warning logged:\n%s", log.String())
			}
			if tc.warn != "" && !strings.Contains(log.String(), "level=WARN msg=\""+tc.warn) {
				t.Errorf("no warning %q:\n%s", tc.warn, log.String())
			}
			if tc.warn != "" && !strings.Contains(log.String(), "url="+url) {
				t.Errorf("the warning does not name %s:\n%s", url, log.String())
			}
		})
	}
}

// A check cut short by the end of the context is neither observed nor
// counted as a failure (CoreDNS returns on context.Canceled), and the
// poller returns at once rather than after the timeout.
func TestHealthPollerStopsMidCheck(t *testing.T) {
	started := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer ts.Close()
	m, log := metrics.New(":53", nil), &syncBuffer{}
	p := newHealthPoller(ts.URL+"/health", slog.New(slog.NewTextHandler(log, nil)))
	p.interval, p.rec = 10*time.Millisecond, m.HealthRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.run(ctx)
		close(done)
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no check reached the endpoint")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the poller did not stop mid-check when its context was cancelled")
	}
	if observed, failed := healthCounts(t, m); observed != 0 || failed != 0 {
		t.Errorf("a cancelled check counted: %d observed, %d failed", observed, failed)
	}
	if strings.Contains(log.String(), "WARN") {
		t.Errorf("a cancelled check logged a warning:\n%s", log.String())
	}
}

// startHealth checks its own /health with CoreDNS's timings: the first
// check is one second after the start, observed and not failed.
func TestStartHealthChecksItself(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the first check, a second after the start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, log := metrics.New(":53", nil), &syncBuffer{}
	hs, err := startHealth(ctx, "127.0.0.1:0", func() error { return nil }, m, httpserve.Limits{}, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	start := time.Now()
	for {
		observed, failed := healthCounts(t, m)
		if failed != 0 {
			t.Fatalf("the self-check failed:\n%s", log.String())
		}
		if observed > 0 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no self-check observed in 5 s:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e := time.Since(start); e < healthPollInterval-100*time.Millisecond {
		t.Errorf("first check after %v, want one interval (%v)", e, healthPollInterval)
	}
	if strings.Contains(log.String(), "WARN") {
		t.Errorf("warning logged:\n%s", log.String())
	}
}

// Without metrics, the endpoint still checks itself (for the warnings)
// and records nothing.
func TestStartHealthWithoutMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs, err := startHealth(ctx, "127.0.0.1:0", func() error { return nil }, nil, httpserve.Limits{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs.Close()
}

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/health",
		"10.0.0.10:8080": "http://10.0.0.10:8080/health",
		"[::1]:8080":     "http://[::1]:8080/health",
		":8080":          "http://localhost:8080/health", // CoreDNS's rule for an address without a host
		"0.0.0.0:8080":   "http://localhost:8080/health",
		"[::]:8080":      "http://localhost:8080/health",
	} {
		got, err := healthURL(addr)
		if err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("8080"); err == nil || !strings.Contains(err.Error(), `"8080"`) {
		t.Errorf("healthURL(\"8080\") error %v, want one naming the address", err)
	}
}
