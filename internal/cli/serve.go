package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/metrics"
	"github.com/clusterdns/clusterdns/internal/outside"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/transfer"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

type serveFlags struct {
	state    stateFlags
	zone     zoneFlags
	kube     kubeFlags
	upstream upstreamFlags
	autopath autopathFlags
	corefile string
	core     *serveCorefile
	// transferTo are --transfer-to's targets (zone transfers, NOTIFY).
	transferTo []string
	readyAddr  string
	// changed reports whether a flag was given on the command line.
	changed     func(name string) bool
	listen      string
	healthAddr  string
	metricsAddr string
	logQueries  float64
	maxUDP      int
	loadBalance bool
	logLevel    string
	logFormat   string
	reloadDelay time.Duration
	lameduck    time.Duration
	gcPercent   int
	heapMargin  float64
	gcSet       bool
	pprofAddr   string

	tcpMaxConns       int
	tcpMaxConnsSet    bool
	tcpIdleTimeout    time.Duration
	tcpMessageTimeout time.Duration
	tcpMaxPending     int
	httpMaxConns      int
}

// defaultGCPercent is the collector's target when neither --gc-percent nor
// GOGC says otherwise. Queries allocate nothing, so the collector works
// only when the zone changes; a low target keeps the heap close to what is
// live (the zone and the informer caches) for little CPU.
const defaultGCPercent = 25

// defaultHeapMargin is --heap-margin's. The limit applies only while the
// informers re-list (see relistRecorder): with 0.15 the re-list peak fell
// (1.46x -> 1.23-1.27x own steady at 10k services), but held all the time
// under churn (bench -only churn, 1k services, 100 changes/s) it made the
// collector run 50 times a second instead of twice, and clusterdns lost
// half its queries.
const defaultHeapMargin = 0.15

func newServeCmd(s streams) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the cluster zone over DNS (UDP and TCP)",
		Long: `Serve answers DNS queries for the cluster zone, authoritatively, from the
cluster state of a live cluster (--kubeconfig, or the pod's service account
when run in a cluster) or of --manifests (without either: the embedded example
cluster).

From a cluster it watches Services, EndpointSlices and Namespaces (and Pods
with --pod-records verified); each change rebuilds only the names of the
service it touches. Until the first full state is in, names that would not
exist answer SERVFAIL and /ready says 503; if the API server goes away later,
the last state keeps being served.

From manifests, a changed file rebuilds the zone; an edit that does not load
is logged and the last good state keeps being served.

Exit status: 0 after SIGTERM or SIGINT, 1 when it cannot start (manifests
that do not load, an address in use) or stops on an error, 2 on usage errors.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.gcSet = cmd.Flags().Changed("gc-percent")
			f.tcpMaxConnsSet = cmd.Flags().Changed("tcp-max-conns")
			return runServe(cmd.Context(), s, &f)
		},
	}
	f.register(cmd)
	return cmd
}

func (f *serveFlags) register(cmd *cobra.Command) {
	f.state.register(cmd)
	f.zone.register(cmd)
	f.kube.register(cmd)
	f.upstream.register(cmd)
	f.autopath.register(cmd)
	fl := cmd.Flags()
	f.changed = fl.Changed
	fl.StringVar(&f.corefile, "corefile", "", "read the cluster DNS configuration from this CoreDNS Corefile (the coredns ConfigMap's): zones and kubernetes options, forward, cache, loop, loadbalance, log, health, ready, prometheus; flags that say the same are refused")
	fl.StringSliceVar(&f.transferTo, "transfer-to", nil, "allow zone transfers (AXFR over TCP) of the cluster zones to these clients: * (anyone), a CIDR range, or an address[:port], which also gets a NOTIFY on every change of the zone; repeatable")
	fl.StringVar(&f.readyAddr, "ready-addr", "", `another address serving /ready alone (as CoreDNS's ready plugin on :8181); "" for none`)
	fl.StringVar(&f.listen, "listen", "127.0.0.1:5353", "address to serve DNS on, UDP and TCP")
	fl.StringVar(&f.healthAddr, "health-addr", "127.0.0.1:8080", `address of the HTTP endpoints /health (alive) and /ready (serving a synced state); "" to disable`)
	fl.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9153", `address of the Prometheus endpoint /metrics (CoreDNS-compatible names); "" to disable`)
	fl.Float64Var(&f.logQueries, "log-queries", 0, "log this fraction of queries (0 to 1): name, type, rcode, size, duration, client")
	fl.IntVar(&f.maxUDP, "max-udp-size", server.DefaultMaxUDPSize, "largest UDP answer, even when a client offers more (EDNS); 512 to 65535")
	fl.BoolVar(&f.loadBalance, "loadbalance", false, "shuffle the A and AAAA records of every answer, as CoreDNS's loadbalance plugin")
	fl.IntVar(&f.tcpMaxConns, "tcp-max-conns", server.DefaultMaxTCPConns, "most DNS TCP connections at once (lowered to fit the file descriptor limit); at the cap a new connection closes the one idle longest")
	fl.DurationVar(&f.tcpIdleTimeout, "tcp-idle-timeout", server.DefaultTCPIdleTimeout, "close a DNS TCP connection with no query under way, or whose client takes no answer, for this long")
	fl.DurationVar(&f.tcpMessageTimeout, "tcp-message-timeout", server.DefaultTCPMessageTimeout, "close a DNS TCP connection whose query takes longer than this to arrive, from its first byte to its last")
	fl.IntVar(&f.tcpMaxPending, "tcp-max-pending", server.DefaultTCPMaxPending, "bytes of answers a DNS TCP connection buffers before it stops reading until the client takes them (one more answer may exceed it)")
	fl.IntVar(&f.httpMaxConns, "http-max-conns", httpserve.DefaultMaxConns, "most connections to each HTTP endpoint (health, metrics, pprof); at the cap a new one closes the one idle longest")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fl.DurationVar(&f.reloadDelay, "reload-delay", manifest.DefaultReloadDelay, "wait this long after a manifest change before reloading")
	fl.DurationVar(&f.lameduck, "lameduck", 0, "on SIGTERM, answer /ready 503 but keep serving this long before exiting (like CoreDNS's health lameduck)")
	fl.StringVar(&f.pprofAddr, "pprof-addr", "", `address of Go's profiles, /debug/pprof/ (heap, CPU, goroutines); "" (the default) to disable`)
	fl.Float64Var(&f.heapMargin, "heap-margin", defaultHeapMargin, "for a minute after an informer starts to re-list, keep Go's memory limit this fraction over the live heap (the least of the last minute), so that the re-list collects harder instead of growing the heap; 0 leaves the limit alone (GOMEMLIMIT, when set, wins)")
	fl.IntVar(&f.gcPercent, "gc-percent", defaultGCPercent, "heap growth, in percent of the live heap, that starts a collection (Go's GOGC, which wins when set and this flag is not); queries allocate nothing, so a low value costs CPU only on zone changes")
}

// serveSetup is what the checked flags of serve give.
type serveSetup struct {
	log  *slog.Logger
	zone zone.Options
	// empty is the zone with no cluster state: what a live source starts
	// from, and the normalized zone names.
	empty       *zone.Snapshot
	live        bool
	tcpMaxConns int
}

// check checks the flags before anything starts; its errors are usage
// errors.
func (f *serveFlags) check(s streams) (*serveSetup, error) {
	log, err := newLogger(s.err, f.logLevel, f.logFormat)
	if err != nil {
		return nil, err
	}
	st := &serveSetup{log: log}
	if f.corefile != "" {
		if err := f.applyCorefile(f.changed); err != nil {
			return nil, err
		}
		st.zone = f.core.zoneOptions()
	} else if st.zone, err = f.zone.options(); err != nil {
		return nil, err
	}
	if _, err := f.state.manifestOptions(); err != nil {
		return nil, err
	}
	if st.live, err = f.kube.live(&f.state); err != nil {
		return nil, err
	}
	switch {
	case f.logQueries < 0 || f.logQueries > 1:
		return nil, fmt.Errorf("--log-queries %v: want a fraction between 0 and 1", f.logQueries)
	case f.heapMargin < 0 || math.IsNaN(f.heapMargin):
		return nil, fmt.Errorf("--heap-margin %v: want 0 (off) or more", f.heapMargin)
	case f.gcPercent < 0:
		return nil, fmt.Errorf("--gc-percent %d: want 0 or more (Go's collector cannot be turned off here)", f.gcPercent)
	case f.maxUDP < 512 || f.maxUDP > 65535:
		return nil, fmt.Errorf("--max-udp-size %d: want 512 (the size without EDNS) to 65535", f.maxUDP)
	}
	if err := f.checkLimits(); err != nil {
		return nil, err
	}
	st.zone.NameserverIPs = nameserverIPs(f.listen)
	if st.empty, err = zone.Empty(st.zone); err != nil {
		return nil, err
	}
	if err := f.checkFallthrough(st.empty); err != nil {
		return nil, err
	}
	st.tcpMaxConns = f.fitTCPConns(log)
	return st, nil
}

func runServe(ctx context.Context, s streams, f *serveFlags) error {
	st, err := f.check(s)
	if err != nil {
		return usageError(err)
	}
	stop := ctx // cancelled by SIGTERM/SIGINT
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	sv, closeUpstreams, err := newServing(ctx, f, st)
	if err != nil {
		return usageError(err)
	}
	defer closeUpstreams()
	var src *kube.Source
	if st.live {
		src, err = sv.startLive(f, st)
	} else {
		err = sv.startManifests(ctx, s, f)
	}
	if err != nil {
		return err
	}
	closeEndpoints, err := startEndpoints(ctx, f, sv)
	defer closeEndpoints()
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	listening := sv.serveDNS(ctx, s.out, f.listen, src, errc)
	if src != nil {
		go func() {
			select {
			case <-listening:
			case <-ctx.Done():
				return
			}
			errc <- src.Run(ctx, sv)
		}()
	}
	if sv.reloader != nil {
		go sv.reloader.run(ctx, f.core.kube.Reload)
	}
	err = sv.waitStop(stop, errc, f.lameduck)
	cancel()
	return err
}

// newServing makes the serving loop, its DNS server and, when they are
// asked for, its metrics and its forwarders (closed by the returned
// function).
func newServing(ctx context.Context, f *serveFlags, st *serveSetup) (*serving, func(), error) {
	sv := &serving{opts: st.zone, log: st.log, gcPercent: -1, heapMargin: f.heapMargin, ctx: ctx, relistWake: make(chan struct{}, 1)}
	if f.gcSet || os.Getenv("GOGC") == "" {
		sv.gcPercent = f.gcPercent
	}
	var observer server.Observer
	if f.metricsAddr != "" || f.logQueries > 0 {
		sv.metrics = metrics.New(f.listen, st.empty.Zones())
		if f.logQueries > 0 {
			sv.metrics.SetQueryLog(queryLogger(st.log, f.logQueries))
		}
		observer = sv.metrics
	}
	cfg := server.Config{MaxUDPSize: f.maxUDP, LoadBalance: f.loadBalance, Logger: st.log, Observer: observer,
		MaxTCPConns: st.tcpMaxConns, TCPIdleTimeout: f.tcpIdleTimeout, TCPMessageTimeout: f.tcpMessageTimeout, TCPMaxPending: f.tcpMaxPending}
	closeUpstreams := func() {}
	if f.core != nil {
		res, hasLoop, stop, err := f.core.resolver(ctx, st.log, sv.recorders())
		if err != nil {
			return nil, stop, err
		}
		closeUpstreams = stop
		if rl := f.core.kube.Reload; rl != nil {
			data, _ := os.ReadFile(f.corefile)
			sv.reloader = &corefileReloader{f: f, sv: sv, cur: f.core, data: data, closer: stop}
			closeUpstreams = sv.reloader.close
		}
		if res != nil {
			cfg.Outside, cfg.Fallthrough = res, f.core.fallthroughZones()
			if hasLoop {
				sv.loop = outside.NewLoopDetector(res, ".")
				cfg.Outside = sv.loop
			}
		}
	} else if f.upstream.enabled() {
		recs := sv.recorders()
		res, stop, err := f.upstream.resolver(ctx, st.log, recs.forward, recs.cache("."))
		if err != nil {
			return nil, closeUpstreams, err
		}
		// The default block's zone is "." (the others are stub domains).
		sv.loop = outside.NewLoopDetector(res, ".")
		cfg.Outside, cfg.Fallthrough, closeUpstreams = sv.loop, f.upstream.fallthroughZones, stop
	}
	sv.srv = server.New(cfg)
	f.autopath.nodeSet = f.changed != nil && f.changed("autopath-node-search")
	x, err := f.autopath.expander(sv.srv, st.zone, sv.recorders().autopath, st.log)
	if err != nil {
		return nil, closeUpstreams, err
	}
	if x != nil {
		sv.srv.SetExpander(x)
	}
	if err := f.setupTransfer(ctx, sv, st); err != nil {
		return nil, closeUpstreams, err
	}
	if f.core != nil {
		rw, err := f.core.rewriter()
		if err != nil {
			return nil, closeUpstreams, err
		}
		sv.srv.SetRewriter(rw)
		ht, h, err := f.core.hostsTable(st.log)
		if err != nil {
			return nil, closeUpstreams, err
		}
		sv.srv.SetHosts(ht)
		if h != nil {
			var hctx context.Context
			hctx, sv.stopHosts = context.WithCancel(ctx)
			go h.Run(hctx)
		}
	}
	return sv, closeUpstreams, nil
}

// checkFallthrough: each --fallthrough zone is a served reverse zone.
func (f *serveFlags) checkFallthrough(snap *zone.Snapshot) error {
	for _, z := range f.upstream.fallthroughZones {
		if n := snap.NameFacts(z); !n.Reverse || n.Name != n.Zone {
			return fmt.Errorf("--fallthrough %q: not a served reverse zone (%s)", z, strings.Join(snap.Options().ReverseZones, " "))
		}
	}
	if len(f.upstream.fallthroughZones) > 0 && !f.upstream.enabled() {
		return fmt.Errorf("--fallthrough needs --upstream: there is nowhere to forward to")
	}
	return nil
}

// startLive makes the live source, which runs once DNS is served; until
// it has synced, the empty zone is served, not synced.
func (sv *serving) startLive(f *serveFlags, st *serveSetup) (*kube.Source, error) {
	klog.SetSlogLogger(st.log.With("component", "client-go"))
	kopts := f.kube.options(st.zone, st.log)
	if sv.metrics != nil {
		kopts.Recorder = sv.metrics
	}
	kopts.OnList = sv.listStarted
	src, err := kube.New(kopts)
	if err != nil {
		return nil, err
	}
	sv.cur = st.empty
	sv.srv.Swap(sv.cur, false)
	return src, nil
}

// startManifests serves the state of the manifests (or the embedded
// example) and, for files, follows them.
func (sv *serving) startManifests(ctx context.Context, s streams, f *serveFlags) error {
	state, err := f.state.load(ctx, s.in)
	if err != nil {
		return fmt.Errorf("loading cluster state: %w", err)
	}
	snap, err := sv.serveState(state)
	if err != nil {
		return err
	}
	sv.log.Info("zone built", "source", f.state.sourceName(), "services", snap.Stats.Services, "names", snap.Stats.Names, "records", snap.Stats.Records, "serial", snap.Serial)
	sv.Synced()
	if f.state.watchable() {
		// Serving is announced once the files are watched: a change made
		// after the announcement is never missed.
		watching := make(chan struct{})
		go sv.followManifests(ctx, &f.state, f.reloadDelay, watching)
		<-watching
	}
	return nil
}

// startEndpoints starts the HTTP endpoints asked for: health, metrics,
// pprof. closeAll closes those started, also after an error.
func startEndpoints(ctx context.Context, f *serveFlags, sv *serving) (closeAll func(), err error) {
	var started []*httpserve.Server
	closeAll = func() {
		for _, hs := range started {
			hs.Close()
		}
	}
	lim := httpserve.Limits{MaxConns: f.httpMaxConns}
	for _, ep := range []struct {
		addr  string
		start func() (*httpserve.Server, error)
	}{
		{f.healthAddr, func() (*httpserve.Server, error) {
			return startHealth(ctx, f.healthAddr, sv.ready, sv.metrics, lim, sv.log)
		}},
		{f.readyAddr, func() (*httpserve.Server, error) { return startReady(ctx, f.readyAddr, sv.ready, lim, sv.log) }},
		{f.metricsAddr, func() (*httpserve.Server, error) { return startMetrics(ctx, f.metricsAddr, sv.metrics, lim, sv.log) }},
		{f.pprofAddr, func() (*httpserve.Server, error) { return startPprof(ctx, f.pprofAddr, lim, sv.log) }},
	} {
		if ep.addr == "" {
			continue
		}
		hs, err := ep.start()
		if err != nil {
			return closeAll, err
		}
		started = append(started, hs)
	}
	return closeAll, nil
}

// serveDNS serves DNS on listen until ctx is done, sending how it ended to
// errc. Once it listens it says where on out (with dig commands to try,
// without a live source src), and the channel it returns is closed.
func (sv *serving) serveDNS(ctx context.Context, out io.Writer, listen string, src *kube.Source, errc chan<- error) <-chan struct{} {
	listening := make(chan struct{})
	go func() {
		errc <- sv.srv.ListenAndServe(ctx, listen, func(udp, tcp net.Addr) {
			snap := sv.srv.Snapshot()
			zones := strings.Join(snap.Zones(), " ")
			sv.log.Info("serving DNS", "udp", udp.String(), "tcp", tcp.String(), "zones", zones)
			if src == nil {
				printDigHelp(out, udp, snap)
			} else {
				fmt.Fprintf(out, "clusterdns is serving %s on %s (UDP and TCP) from %s\n", zones, udp, src.Host())
			}
			close(listening)
			if sv.loop != nil {
				go sv.watchLoop(ctx, udp.String(), errc)
			}
		})
	}()
	return listening
}

// watchLoop probes for a forwarding loop (CoreDNS's loop plugin) and ends
// serve with the reason when it finds one: a server that forwards to
// itself would answer nothing but SERVFAIL after 5 s.
func (sv *serving) watchLoop(ctx context.Context, self string, errc chan<- error) {
	go sv.loop.Probe(ctx, self)
	select {
	case <-sv.loop.Detected():
		errc <- sv.loop.Err(self)
	case <-ctx.Done():
	}
}

// waitStop waits for the end: an error from DNS or the live source, or
// stop (SIGTERM, SIGINT). With a lame duck period it then keeps answering
// for that long while /ready says it is shutting down, so that load
// balancers and kube-proxy stop sending queries first.
func (sv *serving) waitStop(stop context.Context, errc <-chan error, lameduck time.Duration) error {
	select {
	case err := <-errc:
		return err
	case <-stop.Done():
	}
	if lameduck <= 0 {
		return nil
	}
	sv.stopping.Store(true)
	sv.log.Info("shutting down: not ready, still answering", "for", lameduck)
	select {
	case <-time.After(lameduck):
		return nil
	case err := <-errc:
		return err
	}
}

// nameserverIPs are the addresses the apex NS set falls back to: the listen
// address, or every address of the host when it listens on all of them.
func nameserverIPs(listen string) []netip.Addr {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil
	}
	if !ap.Addr().IsUnspecified() {
		return []netip.Addr{ap.Addr()}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			out = append(out, p.Addr())
		}
	}
	return out
}

// printDigHelp prints a few dig commands that get answers from this server.
func printDigHelp(w io.Writer, addr net.Addr, snap *zone.Snapshot) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return
	}
	host := ua.IP.String()
	if ua.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	at := fmt.Sprintf("dig @%s -p %d", host, ua.Port)
	fmt.Fprintf(w, "clusterdns is serving %s on %s (UDP and TCP). Try:\n", strings.Join(snap.Zones(), " "), addr)
	for _, q := range snap.Examples(6) {
		fmt.Fprintf(w, "  %s %s %s\n", at, dns.TypeToString[q.Type], q.Name)
	}
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

// setupTransfer turns zone transfers on (--transfer-to, or the Corefile's
// transfer plugin) and starts the NOTIFY loop.
func (f *serveFlags) setupTransfer(ctx context.Context, sv *serving, st *serveSetup) error {
	var targets []transfer.Target
	var zones []string
	if f.core != nil {
		targets, zones = f.core.transfer()
	} else if len(f.transferTo) > 0 {
		var err error
		if targets, err = transfer.ParseTargets(f.transferTo); err != nil {
			return fmt.Errorf("--transfer-to: %w", err)
		}
	}
	if targets == nil {
		return nil
	}
	forward := st.empty.ForwardZones()
	if zones != nil {
		var in []string
		for _, z := range zones {
			if slices.Contains(forward, z) {
				in = append(in, z)
			}
		}
		if len(in) == 0 {
			return fmt.Errorf("transfer: none of its zones (%s) is a cluster zone (%s)", strings.Join(zones, " "), strings.Join(forward, " "))
		}
		forward = in
	}
	tr := transfer.New(targets, forward)
	sv.srv.SetTransferer(tr)
	sv.notifier = transfer.NewNotifier(tr, forward, st.log)
	go sv.notifier.Run(ctx)
	st.log.Info("zone transfers on", "zones", forward, "to", f.transferDescription(targets))
	return nil
}

func (*serveFlags) transferDescription(ts []transfer.Target) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.String())
	}
	return out
}
