package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/metrics"
)

// startHealth serves /health (200 while the process runs) and /ready (200
// while ready says nil: the served state is complete and still followed;
// 503 with the reason otherwise), and checks /health itself every second
// until ctx is done, as CoreDNS's health plugin does (see healthPoller),
// into m's health metrics when m is not nil.
func startHealth(ctx context.Context, addr string, ready func() error, m *metrics.Metrics, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("GET /ready", readyHandler(ready))
	hs, err := httpserve.Start(ctx, addr, "health checks", mux, lim, log)
	if err != nil {
		return nil, err
	}
	u, err := healthURL(hs.Addr())
	if err != nil {
		hs.Close()
		return nil, err
	}
	p := newHealthPoller(u, log)
	if m != nil {
		p.rec = m.HealthRecorder()
	}
	go p.run(ctx)
	log.Info("health endpoints", "addr", hs.Addr(), "paths", "/health /ready")
	return hs, nil
}

// The self-check of CoreDNS 1.14.2's health plugin
// (plugin/health/overloaded.go): a GET of /health every second, with a 3 s
// timeout, and a warning when one takes more than 1 s.
const (
	healthPollInterval = time.Second
	healthPollTimeout  = 3 * time.Second
	healthPollSlow     = time.Second
)

// healthPoller GETs the health endpoint every interval and records how
// long each request took (coredns_health_request_duration_seconds) and
// those that got no response (coredns_health_request_failures_total). A
// local request that is slow or fails says the process is not keeping up;
// both are logged as warnings, as CoreDNS does.
type healthPoller struct {
	url                     string
	interval, timeout, slow time.Duration
	rec                     *metrics.HealthRecorder // nil: log only
	log                     *slog.Logger
}

// newHealthPoller makes the poller of url with CoreDNS's timings.
func newHealthPoller(url string, log *slog.Logger) *healthPoller {
	return &healthPoller{url: url, interval: healthPollInterval, timeout: healthPollTimeout, slow: healthPollSlow, log: log}
}

// run checks every interval until ctx is done. The first check is one
// interval after the start, as in CoreDNS. A check cut short by ctx is
// neither observed nor logged.
func (p *healthPoller) run(ctx context.Context) {
	client := &http.Client{
		Timeout: p.timeout,
		// No proxy, as CoreDNS's bypassProxy transport, and a new
		// connection for every check: CoreDNS closes each response
		// unread, so its transport never reuses one either. The time to
		// connect is part of what is measured, and no idle connection of
		// ours holds a place under the endpoint's connection cap.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		err := p.check(ctx, client)
		if err != nil && ctx.Err() != nil {
			return
		}
		d := time.Since(start)
		if p.rec != nil {
			p.rec.Request(d, err != nil)
		}
		switch {
		case err != nil:
			p.log.Warn("local health request failed", "url", p.url, "err", err)
		case d > p.slow:
			// A local request taking that long is not good (CoreDNS:
			// "1s is pretty random"); CoreDNS's words.
			p.log.Warn("local health request took more than "+p.slow.String(), "url", p.url, "duration", d)
		}
	}
}

// check GETs the endpoint once. Only getting no response is an error: the
// status is not looked at, as in CoreDNS.
func (p *healthPoller) check(ctx context.Context, client *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return fmt.Errorf("health self-check: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err // a *url.Error: "Get \"URL\": ..."
	}
	resp.Body.Close()
	return nil
}

// healthURL is the URL of /health on addr, the address the endpoint
// listens on. An unspecified host (":8080", "0.0.0.0:8080") is checked on
// localhost, as CoreDNS does for an address without a host.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("health endpoint address %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		host = "localhost"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/health"}
	return u.String(), nil
}

// readyHandler answers 200 when ready, else 503 with the reason.
func readyHandler(ready func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "OK")
	}
}

// startReady serves /ready alone, as CoreDNS's ready plugin does on its
// own address.
func startReady(ctx context.Context, addr string, ready func() error, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", readyHandler(ready))
	hs, err := httpserve.Start(ctx, addr, "readiness", mux, lim, log)
	if err != nil {
		return nil, err
	}
	log.Info("readiness endpoint", "addr", hs.Addr(), "paths", "/ready")
	return hs, nil
}

// metricsMaxAge is how long a /metrics rendering is served again: one
// rendering per second at most, however many clients scrape (Prometheus
// scrapes every few seconds; a flood of scrapes must not take the CPU
// queries need).
const metricsMaxAge = time.Second

// startMetrics serves the Prometheus endpoint /metrics.
func startMetrics(ctx context.Context, addr string, m *metrics.Metrics, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	hs, err := startHandler(ctx, addr, "/metrics", httpserve.Cached(m.Handler(), metricsMaxAge), lim, log)
	if err != nil {
		return nil, err
	}
	log.Info("metrics endpoint", "addr", hs.Addr(), "path", "/metrics")
	return hs, nil
}

// startHandler serves one handler at path on addr.
func startHandler(ctx context.Context, addr, path string, h http.Handler, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET "+path, h)
	return httpserve.Start(ctx, addr, path, mux, lim, log)
}

// startPprof serves Go's profiles under /debug/pprof/ (like CoreDNS's
// pprof plugin): opt-in, since they show internals and cost CPU when read.
// A CPU profile or trace writes for as long as it was asked to, so the
// write timeout is lifted here.
func startPprof(ctx context.Context, addr string, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	lim.WriteTimeout = -1
	hs, err := startHandler(ctx, addr, "/debug/pprof/", mux, lim, log)
	if err != nil {
		return nil, err
	}
	log.Info("profiling endpoint", "addr", hs.Addr(), "path", "/debug/pprof/")
	return hs, nil
}
