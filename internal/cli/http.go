package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/metrics"
)

// startHealth serves /health (200 while the process runs) and /ready (200
// while ready says nil: the served state is complete and still followed;
// 503 with the reason otherwise).
func startHealth(ctx context.Context, addr string, ready func() error, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("GET /ready", readyHandler(ready))
	hs, err := httpserve.Start(ctx, addr, "health checks", mux, lim, log)
	if err != nil {
		return nil, err
	}
	log.Info("health endpoints", "addr", hs.Addr(), "paths", "/health /ready")
	return hs, nil
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
