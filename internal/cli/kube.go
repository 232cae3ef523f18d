package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

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
// once the served state is complete, 503 before).
func startHealth(ctx context.Context, addr string, ready func() bool, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready: the cluster state is not synced yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for health checks on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health endpoint stopped", "err", err)
		}
	}()
	log.Info("health endpoints", "addr", ln.Addr().String(), "paths", "/health /ready")
	return hs, nil
}

// startMetrics serves the Prometheus endpoint /metrics.
func startMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger) (*http.Server, error) {
	hs, err := startHandler(ctx, addr, "/metrics", m.Handler())
	if err != nil {
		return nil, err
	}
	log.Info("metrics endpoint", "addr", hs.Addr, "path", "/metrics")
	return hs, nil
}

// startHandler serves one handler at path on addr; the returned server's
// Addr is the bound address.
func startHandler(ctx context.Context, addr, path string, h http.Handler) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET "+path, h)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for %s on %s: %w", path, addr, err)
	}
	hs := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return hs, nil
}

// startPprof serves Go's profiles under /debug/pprof/ (like CoreDNS's
// pprof plugin): opt-in, since they show internals and cost CPU when read.
func startPprof(ctx context.Context, addr string, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs, err := startHandler(ctx, addr, "/debug/pprof/", mux)
	if err != nil {
		return nil, err
	}
	log.Info("profiling endpoint", "addr", hs.Addr, "path", "/debug/pprof/")
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
