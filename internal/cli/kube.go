package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/metrics"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"
)

// kubeFlags select a live cluster as the source.
type kubeFlags struct {
	kubeconfig string
	context    string
	inCluster  bool
}

func (f *kubeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to serve (in a pod, the service account is used without it)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "use the pod's service account (the default in a pod when neither --kubeconfig nor --manifests is given)")
}

// live decides whether the source is a live cluster, and refuses
// contradicting flags.
func (f *kubeFlags) live(state *stateFlags) (bool, error) {
	explicit := f.kubeconfig != "" || f.inCluster
	if explicit && !state.embedded() {
		return false, errors.New("--manifests cannot be combined with --kubeconfig or --in-cluster: choose one source")
	}
	if f.context != "" && f.kubeconfig == "" {
		return false, errors.New("--context needs --kubeconfig")
	}
	if f.kubeconfig != "" && f.inCluster {
		return false, errors.New("--kubeconfig and --in-cluster both given: choose one")
	}
	if explicit {
		return true, nil
	}
	if state.embedded() && kube.InClusterAvailable() {
		f.inCluster = true
		return true, nil
	}
	return false, nil
}

func (f *kubeFlags) options(z zone.Options, log *slog.Logger) kube.Options {
	return kube.Options{
		Kubeconfig: f.kubeconfig,
		Context:    f.context,
		InCluster:  f.inCluster && f.kubeconfig == "",
		Pods:       z.PodRecords == zone.PodsVerified,
		TargetRefs: z.EndpointPodNames,
		UserAgent:  "clusterdns/" + versionString(),
		Logger:     log,
	}
}

// startHealth serves /health (200 while the process runs) and /ready (200
// while ready says nil: the served state is complete and still followed;
// 503 with the reason otherwise).
func startHealth(ctx context.Context, addr string, ready func() error, lim httpserve.Limits, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	hs, err := httpserve.Start(ctx, addr, "health checks", mux, lim, log)
	if err != nil {
		return nil, err
	}
	log.Info("health endpoints", "addr", hs.Addr(), "paths", "/health /ready")
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

// queryLogger logs a sample of queries: every 1/rate-th one, counted, so
// the sample is even and costs nothing random per query.
func queryLogger(log *slog.Logger, rate float64) func(*server.QueryEvent) {
	every := uint64(1 / rate)
	if every == 0 {
		every = 1
	}
	var n atomic.Uint64
	return func(q *server.QueryEvent) {
		if n.Add(1)%every != 0 {
			return
		}
		client := ""
		if q.Remote.IsValid() {
			client = q.Remote.String()
		}
		proto := "udp"
		if q.Transport == server.TCP {
			proto = "tcp"
		}
		log.Info("query", "name", string(q.Name), "type", dns.TypeToString[q.Qtype], "rcode", dns.RcodeToString[q.Rcode],
			"size", q.ResponseSize, "duration", time.Since(q.Start), "client", client, "proto", proto)
	}
}
