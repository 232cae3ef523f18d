package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"

	"strings"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/examples"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/metrics"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/fsnotify/fsnotify"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// stateFlags are the flags of every command that reads cluster state.
type stateFlags struct {
	manifests    []string
	podCIDRs     []string
	serviceCIDRs []string
	limits       manifest.Limits
}

// registerLimits adds the flags bounding a manifest input.
func (f *stateFlags) registerLimits(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.Int64Var(&f.limits.MaxBytes, "manifest-max-bytes", manifest.DefaultMaxBytes, "most bytes of manifests read in all; a larger input is an error")
	fl.Int64Var(&f.limits.MaxValues, "manifest-max-values", manifest.DefaultMaxValues, "most values (mappings, lists, scalars) in all the manifests, YAML aliases expanded; more is an error")
}

func (f *stateFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.manifests, "manifests", nil, "manifest file or directory (recursive) to read cluster state from, - for stdin; repeatable. Without it the embedded example cluster is used")
	fl.StringSliceVar(&f.podCIDRs, "pod-cidr", []string{"10.244.0.0/16"}, "CIDRs (one per family) pod IPs are given from, for pods whose manifests have none")
	fl.StringSliceVar(&f.serviceCIDRs, "service-cidr", []string{"10.96.0.0/12"}, "CIDRs (one per family) cluster IPs are given from, for services whose manifests have none")
	f.registerLimits(cmd)
}

func parsePrefixes(flag string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flag, v, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (f *stateFlags) manifestOptions() (manifest.Options, error) {
	o := manifest.DefaultOptions()
	var err error
	if o.PodCIDRs, err = parsePrefixes("pod-cidr", f.podCIDRs); err != nil {
		return o, err
	}
	if o.ServiceCIDRs, err = parsePrefixes("service-cidr", f.serviceCIDRs); err != nil {
		return o, err
	}
	if f.limits.MaxBytes < 1 {
		return o, fmt.Errorf("--manifest-max-bytes %d: want at least 1", f.limits.MaxBytes)
	}
	if f.limits.MaxValues < 1 {
		return o, fmt.Errorf("--manifest-max-values %d: want at least 1", f.limits.MaxValues)
	}
	o.Limits = f.limits
	return o, nil
}

// embedded reports whether the example cluster is the source.
func (f *stateFlags) embedded() bool { return len(f.manifests) == 0 }

// load reads the cluster state once.
func (f *stateFlags) load(ctx context.Context, stdin io.Reader) (*cluster.State, error) {
	o, err := f.manifestOptions()
	if err != nil {
		return nil, err
	}
	if f.embedded() {
		sub, err := fs.Sub(examples.Cluster, "cluster")
		if err != nil {
			return nil, fmt.Errorf("opening the embedded example: %w", err)
		}
		return manifest.LoadFS(ctx, sub, o)
	}
	return manifest.Load(ctx, f.manifests, stdin, o)
}

type zoneFlags struct {
	zones            []string
	reverseZones     []string
	ttl              uint32
	podRecords       string
	endpointPodNames bool
	namespaces       []string
	ignoreEmpty      bool
}

func (f *zoneFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.zones, "zone", []string{"cluster.local"}, "cluster domain to serve; repeatable (the first is used for PTR targets)")
	fl.StringArrayVar(&f.reverseZones, "reverse-zone", []string{"in-addr.arpa", "ip6.arpa"}, "reverse zone to answer PTR queries in; repeatable")
	fl.Uint32Var(&f.ttl, "ttl", 5, "TTL of every record, 0 to 3600 seconds (dns-version keeps 28800)")
	fl.StringVar(&f.podRecords, "pod-records", "disabled", "<a-b-c-d>.<ns>.pod.<zone> names: disabled, insecure or verified")
	fl.BoolVar(&f.endpointPodNames, "endpoint-pod-names", false, "name endpoints without a hostname after their pod instead of their IP")
	fl.StringSliceVar(&f.namespaces, "namespaces", nil, "serve only these namespaces (default: all)")
	fl.BoolVar(&f.ignoreEmpty, "ignore-empty-service", false, "NXDOMAIN for ClusterIP services with no ready endpoints")
}

func (f *zoneFlags) options() (zone.Options, error) {
	o := zone.DefaultOptions()
	o.Zones = f.zones
	o.ReverseZones = f.reverseZones
	if f.ttl > zone.MaxTTL {
		return o, fmt.Errorf("--ttl %d: must be between 0 and %d", f.ttl, zone.MaxTTL)
	}
	o.TTL = f.ttl
	p, err := zone.ParsePodRecords(f.podRecords)
	if err != nil {
		return o, fmt.Errorf("--pod-records: %w", err)
	}
	o.PodRecords = p
	o.EndpointPodNames = f.endpointPodNames
	o.Namespaces = f.namespaces
	o.IgnoreEmptyService = f.ignoreEmpty
	return o, nil
}

type serveFlags struct {
	state       stateFlags
	zone        zoneFlags
	kube        kubeFlags
	listen      string
	healthAddr  string
	metricsAddr string
	logQueries  float64
	maxUDP      int
	logLevel    string
	logFormat   string
	debounce    time.Duration
	lameduck    time.Duration
	gcPercent   int
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
is logged and the last good state keeps being served.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.gcSet = cmd.Flags().Changed("gc-percent")
			f.tcpMaxConnsSet = cmd.Flags().Changed("tcp-max-conns")
			return runServe(cmd.Context(), s, &f)
		},
	}
	f.state.register(cmd)
	f.zone.register(cmd)
	f.kube.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:5353", "address to serve DNS on, UDP and TCP")
	fl.StringVar(&f.healthAddr, "health-addr", "127.0.0.1:8080", `address of the HTTP endpoints /health (alive) and /ready (serving a synced state); "" to disable`)
	fl.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9153", `address of the Prometheus endpoint /metrics (CoreDNS-compatible names); "" to disable`)
	fl.Float64Var(&f.logQueries, "log-queries", 0, "log this fraction of queries (0 to 1): name, type, rcode, size, duration, client")
	fl.IntVar(&f.maxUDP, "max-udp-size", server.DefaultMaxUDPSize, "largest UDP answer, even when a client offers more (EDNS); 512 to 65535")
	fl.IntVar(&f.tcpMaxConns, "tcp-max-conns", server.DefaultMaxTCPConns, "most DNS TCP connections at once (lowered to fit the file descriptor limit); at the cap a new connection closes the one idle longest")
	fl.DurationVar(&f.tcpIdleTimeout, "tcp-idle-timeout", server.DefaultTCPIdleTimeout, "close a DNS TCP connection with no query under way, or whose client takes no answer, for this long")
	fl.DurationVar(&f.tcpMessageTimeout, "tcp-message-timeout", server.DefaultTCPMessageTimeout, "close a DNS TCP connection whose query takes longer than this to arrive, from its first byte to its last")
	fl.IntVar(&f.tcpMaxPending, "tcp-max-pending", server.DefaultTCPMaxPending, "bytes of answers a DNS TCP connection buffers before it stops reading until the client takes them (one more answer may exceed it)")
	fl.IntVar(&f.httpMaxConns, "http-max-conns", httpserve.DefaultMaxConns, "most connections to each HTTP endpoint (health, metrics, pprof); at the cap a new one closes the one idle longest")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fl.DurationVar(&f.debounce, "reload-delay", 200*time.Millisecond, "wait this long after a manifest change before reloading")
	fl.DurationVar(&f.lameduck, "lameduck", 0, "on SIGTERM, answer /ready 503 but keep serving this long before exiting (like CoreDNS's health lameduck)")
	fl.StringVar(&f.pprofAddr, "pprof-addr", "", `address of Go's profiles, /debug/pprof/ (heap, CPU, goroutines); "" (the default) to disable`)
	fl.IntVar(&f.gcPercent, "gc-percent", defaultGCPercent, "heap growth, in percent of the live heap, that starts a collection (Go's GOGC, which wins when set and this flag is not); queries allocate nothing, so a low value costs CPU only on zone changes")
	return cmd
}

// serving builds snapshots from states and hands them to the server.
type serving struct {
	opts   zone.Options
	srv    *server.Server
	log    *slog.Logger
	serial atomic.Uint32

	// live source: the current snapshot, updated in place by changes.
	cur    *zone.Snapshot
	synced atomic.Bool
	// stopping is set in lame duck mode: /ready says so while answering.
	stopping atomic.Bool
	// lost, when set, is why the source no longer follows its input (a
	// watched manifest directory that went away): the last good state is
	// served, and /ready says why it is not ready.
	lost atomic.Pointer[error]

	metrics *metrics.Metrics

	// gcPercent is the collector's target once the first state is served
	// (-1: leave GOGC's); until then Go's default lets the first list and
	// build run with fewer collections.
	gcPercent int
}

// settle is called once the first full state is served: the collector
// takes its steady target, and the garbage of the first list and build
// (several times the size of what stays) goes back to the system now
// rather than over minutes. Once more a little later: at the moment of
// the sync, the source still holds the list's last buffers and the full
// change, a fifth of the heap at 150k endpoints, which the low target
// would otherwise keep until the zone next changes.
func (sv *serving) settle() {
	if sv.gcPercent >= 0 {
		debug.SetGCPercent(sv.gcPercent)
	}
	go func() {
		debug.FreeOSMemory()
		time.Sleep(2 * time.Second)
		debug.FreeOSMemory()
	}()
}

// built records a new snapshot in the metrics.
func (sv *serving) built(start time.Time, snap *zone.Snapshot) {
	if sv.metrics != nil {
		sv.metrics.SnapshotBuilt(time.Since(start), snap.Stats)
	}
}

// Apply updates the current snapshot with a change from the live source and
// serves it (kube.Sink).
func (sv *serving) Apply(ch zone.Change) {
	start := time.Now()
	ch.Serial = sv.nextSerial(ch.Serial)
	sv.cur = sv.cur.Update(ch)
	sv.built(start, sv.cur)
	sv.serial.Store(ch.Serial)
	sv.srv.Swap(sv.cur, sv.synced.Load())
}

// ready says why the server is not ready (nil: it is).
func (sv *serving) ready() error {
	switch {
	case sv.stopping.Load():
		return errors.New("shutting down")
	case !sv.synced.Load():
		return errors.New("the cluster state is not synced yet")
	}
	if err := sv.lost.Load(); err != nil {
		return fmt.Errorf("not following the manifests: %w", *err)
	}
	return nil
}

// following records whether the source follows its input, with a log line
// and the metric when that changes.
func (sv *serving) following(err error) {
	was := sv.lost.Load()
	switch {
	case err == nil && was != nil:
		sv.lost.Store(nil)
		sv.log.Info("following the manifests again")
	case err != nil && was == nil:
		sv.lost.Store(&err)
		sv.log.Error("stopped following the manifests; serving the last good state until they can be watched again", "err", err)
	case err != nil:
		sv.lost.Store(&err)
		return
	default:
		return
	}
	if sv.metrics != nil {
		sv.metrics.SetFollowing(err == nil)
	}
}

// Synced marks the live state complete: NXDOMAIN is NXDOMAIN from now on.
func (sv *serving) Synced() {
	sv.synced.Store(true)
	sv.srv.SetSynced(true)
	if sv.metrics != nil {
		sv.metrics.SetSynced(true)
	}
	sv.settle()
}

// nextSerial keeps the SOA serial moving forward, at least one per change.
func (sv *serving) nextSerial(want uint32) uint32 {
	if want == 0 {
		want = uint32(time.Now().Unix())
	}
	if prev := sv.serial.Load(); want <= prev {
		want = prev + 1
	}
	return want
}

func (sv *serving) apply(state *cluster.State) (*zone.Snapshot, error) {
	// The serial only moves forward, one second of resolution like CoreDNS,
	// and at least one per change.
	start := time.Now()
	next := sv.nextSerial(0)
	o := sv.opts
	o.Serial = next
	snap, err := zone.Build(state, o)
	if err != nil {
		return nil, err
	}
	sv.built(start, snap)
	sv.serial.Store(next)
	sv.srv.Swap(snap, true)
	return snap, nil
}

func runServe(ctx context.Context, s streams, f *serveFlags) error {
	log, err := newLogger(s.err, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	zopts, err := f.zone.options()
	if err != nil {
		return err
	}
	if _, err := f.state.manifestOptions(); err != nil {
		return err
	}
	live, err := f.kube.live(&f.state)
	if err != nil {
		return err
	}
	zopts.NameserverIPs = nameserverIPs(f.listen)
	if f.logQueries < 0 || f.logQueries > 1 {
		return fmt.Errorf("--log-queries %v: want a fraction between 0 and 1", f.logQueries)
	}
	if f.gcPercent < 0 {
		return fmt.Errorf("--gc-percent %d: want 0 or more (Go's collector cannot be turned off here)", f.gcPercent)
	}
	if f.maxUDP < 512 || f.maxUDP > 65535 {
		return fmt.Errorf("--max-udp-size %d: want 512 (the size without EDNS) to 65535", f.maxUDP)
	}
	if err := f.checkLimits(); err != nil {
		return err
	}
	tcpMaxConns := f.fitTCPConns(log)
	sv := &serving{opts: zopts, log: log, gcPercent: -1}
	if f.gcSet || os.Getenv("GOGC") == "" {
		sv.gcPercent = f.gcPercent
	}
	var observer server.Observer
	if f.metricsAddr != "" || f.logQueries > 0 {
		normalized, err := zone.Empty(zopts)
		if err != nil {
			return err
		}
		sv.metrics = metrics.New(f.listen, normalized.Zones())
		if f.logQueries > 0 {
			sv.metrics.SetQueryLog(queryLogger(log, f.logQueries))
		}
		observer = sv.metrics
	}
	srv := server.New(server.Config{MaxUDPSize: f.maxUDP, Logger: log, Observer: observer,
		MaxTCPConns: tcpMaxConns, TCPIdleTimeout: f.tcpIdleTimeout, TCPMessageTimeout: f.tcpMessageTimeout, TCPMaxPending: f.tcpMaxPending})
	sv.srv = srv

	stop := ctx // cancelled by SIGTERM/SIGINT
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var src *kube.Source
	if live {
		klog.SetSlogLogger(log.With("component", "client-go"))
		kopts := f.kube.options(zopts, log)
		if sv.metrics != nil {
			kopts.Recorder = sv.metrics
		}
		src, err = kube.New(kopts)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		sv.cur, err = zone.Empty(zopts)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		srv.Swap(sv.cur, false)
	} else {
		state, err := f.state.load(ctx, s.in)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("loading cluster state: %w", err)}
		}
		snap, err := sv.apply(state)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		sv.synced.Store(true)
		if sv.metrics != nil {
			sv.metrics.SetSynced(true)
		}
		log.Info("zone built", "source", sourceName(&f.state), "services", snap.Stats.Services, "names", snap.Stats.Names, "records", snap.Stats.Records, "serial", snap.Serial)
		sv.settle()
		if !f.state.embedded() && !readsStdin(f.state.manifests) {
			go func() {
				if err := watchManifests(ctx, f, s, sv); err != nil {
					sv.following(err)
				}
			}()
		}
	}

	errc := make(chan error, 3)
	httpLimits := httpserve.Limits{MaxConns: f.httpMaxConns}
	if f.healthAddr != "" {
		hs, err := startHealth(ctx, f.healthAddr, sv.ready, httpLimits, log)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		defer hs.Close()
	}
	if f.metricsAddr != "" {
		ms, err := startMetrics(ctx, f.metricsAddr, sv.metrics, httpLimits, log)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		defer ms.Close()
	}
	if f.pprofAddr != "" {
		ps, err := startPprof(ctx, f.pprofAddr, httpLimits, log)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		defer ps.Close()
	}
	listening := make(chan struct{})
	go func() {
		errc <- srv.ListenAndServe(ctx, f.listen, func(udp, tcp net.Addr) {
			log.Info("serving DNS", "udp", udp.String(), "tcp", tcp.String(), "zones", strings.Join(srv.Snapshot().Zones(), " "))
			if !live {
				printDigHelp(s.out, udp, srv.Snapshot())
			} else {
				fmt.Fprintf(s.out, "clusterdns is serving %s on %s (UDP and TCP) from %s\n", strings.Join(srv.Snapshot().Zones(), " "), udp, src.Host())
			}
			close(listening)
		})
	}()
	if live {
		go func() {
			select {
			case <-listening:
			case <-ctx.Done():
				return
			}
			errc <- src.Run(ctx, sv)
		}()
	}
	select {
	case err = <-errc:
	case <-stop.Done():
		err = nil
		if f.lameduck > 0 {
			// Lame duck: report not ready so load balancers and kube-proxy
			// stop sending queries, and keep answering those still coming.
			sv.stopping.Store(true)
			log.Info("shutting down: not ready, still answering", "for", f.lameduck)
			select {
			case <-time.After(f.lameduck):
			case err = <-errc:
			}
		}
	}
	cancel()
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	return nil
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

func sourceName(f *stateFlags) string {
	if f.embedded() {
		return "embedded example cluster"
	}
	return strings.Join(f.manifests, ",")
}

func readsStdin(paths []string) bool {
	for _, p := range paths {
		if p == "-" {
			return true
		}
	}
	return false
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

// watchManifests reloads the manifests when a file under them changes. It
// also watches the directory holding each path, so that a path removed and
// made again (a ConfigMap volume's swap, a deploy that recreates the
// directory) is followed again; while a path cannot be watched it retries
// every watchRetry, and /ready and the metrics say the source is not
// following.
func watchManifests(ctx context.Context, f *serveFlags, s streams, sv *serving) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("starting file watcher: %w", err)
	}
	defer w.Close()
	mw, err := newManifestWatch(w, f.state.manifests)
	if err != nil {
		return err
	}
	sv.following(mw.watch())
	var timer *time.Timer
	fire := make(chan struct{}, 1)
	reloadSoon := func() {
		if timer == nil {
			timer = time.AfterFunc(f.debounce, func() {
				select {
				case fire <- struct{}{}:
				default:
				}
			})
		} else {
			timer.Reset(f.debounce)
		}
	}
	retry := time.NewTicker(watchRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if !mw.relevant(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				// A new directory under a path, or a path made again.
				sv.following(mw.watch())
			}
			reloadSoon()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			sv.log.Warn("file watcher error", "err", err)
		case <-retry.C:
			if sv.lost.Load() == nil {
				continue
			}
			if err := mw.watch(); err == nil {
				sv.following(nil)
				reloadSoon() // what changed while nothing was watched
			}
		case <-fire:
			sv.following(mw.watch())
			state, err := f.state.load(ctx, s.in)
			if err != nil {
				sv.log.Error("reload failed; still serving the last good state", "err", err)
				sv.reloadFailed()
				continue
			}
			snap, err := sv.apply(state)
			if err != nil {
				sv.log.Error("rebuild failed; still serving the last good state", "err", err)
				sv.reloadFailed()
				continue
			}
			sv.log.Info("zone reloaded", "services", snap.Stats.Services, "names", snap.Stats.Names, "records", snap.Stats.Records, "serial", snap.Serial)
			debug.FreeOSMemory() // the old state and the load's garbage
		}
	}
}

// watchRetry is how often watches that could not be made are tried again.
const watchRetry = 2 * time.Second

// reloadFailed counts a failed reload and gives the memory the failed load
// took back to the system: a hostile or broken manifest must not leave a
// serving process larger than before.
func (sv *serving) reloadFailed() {
	if sv.metrics != nil {
		sv.metrics.ReloadFailed()
	}
	debug.FreeOSMemory()
}

// manifestWatch keeps inotify watches on the manifest paths: each path's
// parent directory (files are replaced by editors, and a directory removed
// and made again shows there), and every directory below a directory path.
type manifestWatch struct {
	w     *fsnotify.Watcher
	roots []string // absolute, cleaned
}

func newManifestWatch(w *fsnotify.Watcher, paths []string) (*manifestWatch, error) {
	mw := &manifestWatch{w: w}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", p, err)
		}
		mw.roots = append(mw.roots, abs)
	}
	return mw, nil
}

// relevant reports whether a change to name concerns the manifests (the
// parent directories also see their other entries change).
func (mw *manifestWatch) relevant(name string) bool {
	name = filepath.Clean(name)
	for _, r := range mw.roots {
		if name == r || strings.HasPrefix(name, r+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// watch adds the watches every path needs, and says which path cannot be
// watched (it does not exist, or the system refuses another watch). Adding
// a watch that exists is harmless, so it is called after every change.
func (mw *manifestWatch) watch() error {
	var errs []error
	for _, root := range mw.roots {
		if err := mw.w.Add(filepath.Dir(root)); err != nil {
			errs = append(errs, fmt.Errorf("watching %s: %w", filepath.Dir(root), err)) // fsnotify's errors name no path
			continue
		}
		fi, err := os.Stat(root)
		if err != nil {
			errs = append(errs, fmt.Errorf("watching %s: %w", root, errors.Unwrap(err))) // the *fs.PathError's own error
			continue
		}
		if !fi.IsDir() {
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if err := mw.w.Add(path); err != nil {
				return fmt.Errorf("watching %s: %w", path, err)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
