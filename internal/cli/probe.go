package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/probe"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

type probeFlags struct {
	state       stateFlags
	zone        zoneFlags
	kube        kubeFlags
	server      string
	services    []string
	output      string
	timeout     time.Duration
	watch       time.Duration
	interval    time.Duration
	metricsAddr string
	logLevel    string
}

func newProbeCmd(s streams) *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe --server ADDR",
		Short: "Compare a DNS server's answers with what the cluster state says",
		Long: `Probe asks a DNS server, for every headless Service (or each --service), the
service A/AAAA, every SRV name and every per-pod name the record engine says
should exist, and compares the answers: match, missing, extra, stale (other
records, e.g. an old pod IP), rcode (same records, other rcode) or error.

With --watch it repeats every --interval, exports clusterdns_probe_* metrics
on --metrics-addr, and reports how long each drift lasted: after a pod is
rescheduled, how long clients were given its old IP.

Exit status: 0 when every answer matches, 1 on drift, 2 on usage or input errors.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProbe(cmd.Context(), s, &f)
		},
	}
	f.state.register(cmd)
	f.zone.register(cmd)
	f.kube.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "DNS server to probe (host:port)")
	fl.StringArrayVar(&f.services, "service", nil, "probe this Service (NAMESPACE/NAME); repeatable; default: every headless Service")
	fl.StringVarP(&f.output, "output", "o", "text", "text or json")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "per-question timeout")
	fl.DurationVar(&f.watch, "watch", 0, "repeat for this long, timing drifts (0: one round)")
	fl.DurationVar(&f.interval, "interval", time.Second, "time between rounds with --watch")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "with --watch, serve clusterdns_probe_* metrics here")
	fl.StringVar(&f.logLevel, "log-level", "warn", "log level of the live source")
	return cmd
}

// currentState follows a live cluster for the probe (kube.Sink).
type currentState struct {
	mu     sync.Mutex
	snap   *zone.Snapshot
	once   sync.Once
	synced chan struct{} // closed once the first full state is in
}

func newCurrentState(empty *zone.Snapshot) *currentState {
	return &currentState{snap: empty, synced: make(chan struct{})}
}

func (c *currentState) Apply(ch zone.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap = c.snap.Update(ch)
}

func (c *currentState) Synced() { c.once.Do(func() { close(c.synced) }) }

func (c *currentState) get() *zone.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap
}

// probeSyncTimeout is how long the probe waits for a live cluster's state.
const probeSyncTimeout = 30 * time.Second

func runProbe(ctx context.Context, s streams, f *probeFlags) error {
	if err := f.check(); err != nil {
		return usageError(err)
	}
	zopts, err := f.zone.options()
	if err != nil {
		return usageError(err)
	}
	live, err := f.kube.live(&f.state)
	if err != nil {
		return usageError(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	target := probe.Target{Services: f.services}
	var expect probe.Expect
	if live {
		if expect, err = f.followCluster(ctx, s, zopts, target); err != nil {
			if ctx.Err() != nil {
				return err // interrupted
			}
			return usageError(err)
		}
	} else {
		expect = f.readManifests(s, zopts, target)
	}
	p := &probe.Prober{Server: f.server, Timeout: f.timeout}
	if f.watch <= 0 {
		return probeOnce(ctx, s.out, p, expect, f.output)
	}
	return f.probeRounds(ctx, s, p, expect)
}

func (f *probeFlags) check() error {
	switch {
	case f.server == "":
		return errors.New("--server is required")
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("--output %q: want text or json", f.output)
	case f.interval <= 0:
		return fmt.Errorf("--interval %s: must be positive", f.interval)
	}
	return nil
}

// followCluster watches the live cluster until ctx is done, waits for its
// first full state, and returns what the probe expects from it as it
// changes.
func (f *probeFlags) followCluster(ctx context.Context, s streams, zopts zone.Options, target probe.Target) (probe.Expect, error) {
	log, err := newLogger(s.err, f.logLevel, "text")
	if err != nil {
		return nil, err
	}
	empty, err := zone.Empty(zopts)
	if err != nil {
		return nil, err
	}
	src, err := kube.New(f.kube.options(zopts, log))
	if err != nil {
		return nil, err
	}
	cur := newCurrentState(empty)
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, cur) }()
	select {
	case <-cur.synced:
	case err := <-errc:
		return nil, fmt.Errorf("watching the cluster: %w", err)
	case <-time.After(probeSyncTimeout):
		return nil, fmt.Errorf("the cluster state did not sync within %s", probeSyncTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func(context.Context) (*zone.Snapshot, []zone.Question, error) {
		snap := cur.get()
		qs, err := probe.Questions(snap, target)
		return snap, qs, err
	}, nil
}

// readManifests returns what the probe expects from the manifests, read
// again every round.
func (f *probeFlags) readManifests(s streams, zopts zone.Options, target probe.Target) probe.Expect {
	return func(ctx context.Context) (*zone.Snapshot, []zone.Question, error) {
		state, err := f.state.load(ctx, s.in)
		if err != nil {
			return nil, nil, fmt.Errorf("loading cluster state: %w", err)
		}
		snap, err := zone.Build(state, zopts)
		if err != nil {
			return nil, nil, err
		}
		qs, err := probe.Questions(snap, target)
		return snap, qs, err
	}
}

// probeOnce asks every question once and reports.
func probeOnce(ctx context.Context, w io.Writer, p *probe.Prober, expect probe.Expect, output string) error {
	snap, qs, err := expect(ctx)
	if err != nil {
		return usageError(err)
	}
	r := p.Run(ctx, snap, qs)
	if output == "json" {
		writeJSON(w, r)
	} else {
		writeReport(w, r)
	}
	if !r.OK() {
		return failed(fmt.Errorf("%d of %d answers drift from the cluster state", r.Drifts, len(r.Checks)))
	}
	return nil
}

// probeRounds asks every --interval for --watch, timing the drifts, with
// the metrics served on --metrics-addr.
func (f *probeFlags) probeRounds(ctx context.Context, s streams, p *probe.Prober, expect probe.Expect) error {
	reg := prometheus.NewRegistry()
	m := probe.NewMetrics(reg)
	if f.metricsAddr != "" {
		log, err := newLogger(s.err, f.logLevel, "text")
		if err != nil {
			return usageError(err)
		}
		hs, err := startHandler(ctx, f.metricsAddr, "/metrics", httpserve.Cached(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), metricsMaxAge), httpserve.Limits{}, log)
		if err != nil {
			return usageError(err)
		}
		defer hs.Close()
	}
	onRound := func(r *probe.Report) {
		if f.output == "text" {
			writeRound(s.out, r)
		}
	}
	res, err := p.Watch(ctx, expect, f.interval, f.watch, m, onRound)
	if err != nil {
		return usageError(err)
	}
	if f.output == "json" {
		writeJSON(s.out, res)
	} else {
		writeDrifts(s.out, res)
	}
	if len(res.Open) > 0 || (res.Last != nil && !res.Last.OK()) {
		return failed(errors.New("the server still drifts from the cluster state"))
	}
	return nil
}

// writeRound is one line per round, and one per drifting answer.
func writeRound(w io.Writer, r *probe.Report) {
	fmt.Fprintf(w, "%s  %d checks, %d drifting\n", r.Time.Format("15:04:05.000"), len(r.Checks), r.Drifts)
	for _, c := range r.Checks {
		if c.Drifting() {
			fmt.Fprintf(w, "  %-7s %s %s: want %s %v, got %s %v\n", c.Kind, c.Name, c.Type, c.Rcode, c.Expected, c.GotRcode, c.Got)
		}
	}
}

// writeDrifts says how long each drift of a --watch run lasted.
func writeDrifts(w io.Writer, res *probe.WatchResult) {
	fmt.Fprintf(w, "\n%d rounds; %d drifts ended, %d still open\n", res.Rounds, len(res.Closed), len(res.Open))
	for _, sp := range res.Closed {
		fmt.Fprintf(w, "  drift of %s %s (%s) lasted %s\n", sp.Name, sp.Type, sp.Kind, sp.Duration.Round(time.Millisecond))
	}
	for _, sp := range res.Open {
		fmt.Fprintf(w, "  drift of %s %s (%s) still open after %s\n", sp.Name, sp.Type, sp.Kind, sp.Duration.Round(time.Millisecond))
	}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeReport(w io.Writer, r *probe.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "RESULT\tNAME\tTYPE\tEXPECTED\tGOT\n")
	for _, c := range r.Checks {
		want := c.Rcode + " " + strings.Join(short(c.Expected), ",")
		got := c.GotRcode + " " + strings.Join(short(c.Got), ",")
		if c.Error != "" {
			got = "error: " + c.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Kind, c.Name, c.Type, strings.TrimSpace(want), strings.TrimSpace(got))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d checks against %s, %d drifting\n", len(r.Checks), r.Server, r.Drifts)
}

// short keeps the data of "owner TYPE data" strings.
func short(rrs []string) []string {
	out := make([]string, len(rrs))
	for i, s := range rrs {
		f := strings.SplitN(s, " ", 3)
		out[i] = f[len(f)-1]
	}
	return out
}
