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
		Args: cobra.NoArgs,
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

// currentState follows the cluster state for the probe: manifests are
// re-read every round, a live cluster is watched.
type currentState struct {
	mu   sync.Mutex
	snap *zone.Snapshot
	ok   bool
}

func (c *currentState) Apply(ch zone.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap = c.snap.Update(ch)
}

func (c *currentState) Synced() {
	c.mu.Lock()
	c.ok = true
	c.mu.Unlock()
}

func (c *currentState) get() (*zone.Snapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap, c.ok
}

func runProbe(ctx context.Context, s streams, f *probeFlags) error {
	if f.server == "" {
		return usageError(errors.New("--server is required"))
	}
	if f.output != "text" && f.output != "json" {
		return usageError(fmt.Errorf("--output %q: want text or json", f.output))
	}
	if f.interval <= 0 {
		return usageError(fmt.Errorf("--interval %s: must be positive", f.interval))
	}
	zopts, err := f.zone.options()
	if err != nil {
		return usageError(err)
	}
	live, err := f.kube.live(&f.state)
	if err != nil {
		return usageError(err)
	}
	target := probe.Target{Services: f.services}
	var expect probe.Expect
	if live {
		log, err := newLogger(s.err, f.logLevel, "text")
		if err != nil {
			return usageError(err)
		}
		empty, err := zone.Empty(zopts)
		if err != nil {
			return usageError(err)
		}
		cur := &currentState{snap: empty}
		src, err := kube.New(f.kube.options(zopts, log))
		if err != nil {
			return usageError(err)
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- src.Run(ctx, cur) }()
		deadline := time.After(30 * time.Second)
		for {
			if _, ok := cur.get(); ok {
				break
			}
			select {
			case err := <-errc:
				return usageError(fmt.Errorf("watching the cluster: %w", err))
			case <-deadline:
				return usageError(errors.New("the cluster state did not sync within 30s"))
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		expect = func(context.Context) (*zone.Snapshot, []zone.Question, error) {
			snap, _ := cur.get()
			qs, err := probe.Questions(snap, target)
			return snap, qs, err
		}
	} else {
		expect = func(ctx context.Context) (*zone.Snapshot, []zone.Question, error) {
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
	p := &probe.Prober{Server: f.server, Timeout: f.timeout}

	if f.watch <= 0 {
		snap, qs, err := expect(ctx)
		if err != nil {
			return usageError(err)
		}
		r := p.Run(ctx, snap, qs)
		if f.output == "json" {
			writeJSON(s.out, r)
		} else {
			writeReport(s.out, r)
		}
		if !r.OK() {
			return &exitError{code: 1, err: fmt.Errorf("%d of %d answers drift from the cluster state", r.Drifts, len(r.Checks))}
		}
		return nil
	}

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
			fmt.Fprintf(s.out, "%s  %d checks, %d drifting\n", r.Time.Format("15:04:05.000"), len(r.Checks), r.Drifts)
			for _, c := range r.Checks {
				if c.Drifting() {
					fmt.Fprintf(s.out, "  %-7s %s %s: want %s %v, got %s %v\n", c.Kind, c.Name, c.Type, c.Rcode, c.Expected, c.GotRcode, c.Got)
				}
			}
		}
	}
	res, err := p.Watch(ctx, expect, f.interval, f.watch, m, onRound)
	if err != nil {
		return usageError(err)
	}
	if f.output == "json" {
		writeJSON(s.out, res)
	} else {
		fmt.Fprintf(s.out, "\n%d rounds; %d drifts ended, %d still open\n", res.Rounds, len(res.Closed), len(res.Open))
		for _, sp := range res.Closed {
			fmt.Fprintf(s.out, "  drift of %s %s (%s) lasted %s\n", sp.Name, sp.Type, sp.Kind, sp.Duration.Round(time.Millisecond))
		}
		for _, sp := range res.Open {
			fmt.Fprintf(s.out, "  drift of %s %s (%s) still open after %s\n", sp.Name, sp.Type, sp.Kind, sp.Duration.Round(time.Millisecond))
		}
	}
	if len(res.Open) > 0 || (res.Last != nil && !res.Last.OK()) {
		return &exitError{code: 1, err: errors.New("the server still drifts from the cluster state")}
	}
	return nil
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
