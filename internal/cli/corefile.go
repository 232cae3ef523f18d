package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/clusterdns/clusterdns/internal/hosts"
	"github.com/clusterdns/clusterdns/internal/outside"
	"github.com/clusterdns/clusterdns/internal/rewrite"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/transfer"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// The flags a Corefile says instead: giving one with --corefile is an
// error, so that nothing silently differs from the file.
var corefileSays = []string{"zone", "reverse-zone", "ttl", "pod-records", "endpoint-pod-names", "namespaces", "ignore-empty-service",
	"kubeconfig", "context", "in-cluster", "upstream", "stub-domain", "cache", "fallthrough", "upstream-policy", "upstream-max-concurrent",
	"loadbalance", "lameduck", "log-queries", "zonal", "transfer-to", "multicluster-zone"}

// serveCorefile is what serve takes from a Corefile.
type serveCorefile struct {
	cfg  *corefile.Config
	kube *corefile.ServerBlock // the block with the kubernetes plugin
}

// applyCorefile reads --corefile and sets the flags it stands for. The
// listen, health, ready and metrics addresses come from the Corefile unless
// their flags are given (to run a Corefile on other ports, e.g. in tests).
func (f *serveFlags) applyCorefile(changed func(string) bool) error {
	for _, name := range corefileSays {
		if changed(name) {
			return fmt.Errorf("--%s cannot be combined with --corefile: the Corefile says it", name)
		}
	}
	cfg, err := corefile.ParseFile(f.corefile)
	if err != nil {
		return err
	}
	sc := &serveCorefile{cfg: cfg}
	if err := sc.check(); err != nil {
		return err
	}
	f.core = sc
	kb := sc.kube
	k := kb.Kubernetes
	if k.Kubeconfig != nil && f.state.embedded() {
		f.kube.kubeconfig, f.kube.context = k.Kubeconfig.Path, k.Kubeconfig.Context
	} else if f.state.embedded() {
		f.kube.inCluster = true // the kubernetes plugin's default
	}
	if !changed("listen") {
		host := ""
		if kb.Bind != nil {
			host = kb.Bind.Addr.String()
		}
		f.listen = net.JoinHostPort(host, strconv.Itoa(int(kb.Zones[0].Port)))
	}
	f.setEndpoints(kb, changed)
	f.loadBalance = kb.LoadBalance != nil
	if len(kb.Log) > 0 {
		f.logQueries = 1
	}
	if kb.Health != nil {
		f.lameduck = kb.Health.Lameduck
	}
	if kb.AutoPath != nil {
		// CoreDNS reads its own resolv.conf's search line (the node's,
		// under dnsPolicy Default); so does the flag's default.
		f.autopath.on = true
		f.autopath.zones = kb.AutoPath.Zones
	}
	return nil
}

// setEndpoints takes the HTTP addresses of health, ready and prometheus
// (none when the plugin is absent, as in CoreDNS).
func (f *serveFlags) setEndpoints(kb *corefile.ServerBlock, changed func(string) bool) {
	set := func(flag string, dst *string, present bool, addr string) {
		if changed(flag) {
			return
		}
		*dst = ""
		if present {
			*dst = addr
		}
	}
	set("health-addr", &f.healthAddr, kb.Health != nil, addrOf(kb.Health, func(h *corefile.Health) string { return h.Addr }))
	set("ready-addr", &f.readyAddr, kb.Ready != nil, addrOf(kb.Ready, func(r *corefile.Ready) string { return r.Addr }))
	set("metrics-addr", &f.metricsAddr, kb.Prometheus != nil, addrOf(kb.Prometheus, func(p *corefile.Prometheus) string { return p.Addr }))
}

func addrOf[T any](p *T, get func(*T) string) string {
	if p == nil {
		return ""
	}
	return get(p)
}

// check refuses what serve cannot do with a Corefile yet, naming the line.
func (sc *serveCorefile) check() error {
	var port uint16
	var bind *corefile.Bind
	for i := range sc.cfg.Blocks {
		b := &sc.cfg.Blocks[i]
		if i > 0 && !sameBind(bind, b.Bind) {
			return fmt.Errorf("%s: blocks bound to different addresses: clusterdns serves one listener", b.Pos)
		}
		bind = b.Bind
		for _, z := range b.Zones {
			if port != 0 && z.Port != port {
				return fmt.Errorf("%s: blocks on two ports (%d and %d): clusterdns serves one port", b.Pos, port, z.Port)
			}
			port = z.Port
		}
		if err := unsupportedYet(b); err != nil {
			return err
		}
		if b.Kubernetes != nil {
			if sc.kube != nil {
				return fmt.Errorf("%s: a second kubernetes plugin (the first is at %s): clusterdns serves one cluster", b.Kubernetes.Pos, sc.kube.Kubernetes.Pos)
			}
			sc.kube = b
		}
	}
	if sc.kube == nil {
		return fmt.Errorf("%s: no server block has the kubernetes plugin: nothing for clusterdns to serve", sc.cfg.File)
	}
	return nil
}

// unsupportedYet names the plugins the Corefile reader knows but serve
// does not run yet.
func unsupportedYet(b *corefile.ServerBlock) error {
	switch {
	case b.Hosts != nil && b.Kubernetes == nil:
		return fmt.Errorf("%s: plugin \"hosts\" outside the block of the kubernetes plugin is not supported by clusterdns yet", b.Hosts.Pos)
	case len(b.Rewrites) > 0 && b.Kubernetes == nil:
		return fmt.Errorf("%s: plugin \"rewrite\" outside the block of the kubernetes plugin is not supported by clusterdns yet", b.Rewrites[0].Pos)
	case b.Transfer != nil && b.Kubernetes == nil:
		return fmt.Errorf("%s: plugin \"transfer\" outside the block of the kubernetes plugin: clusterdns transfers only the cluster zones", b.Transfer.Pos)
	case b.AutoPath != nil && b.Kubernetes == nil:
		return fmt.Errorf("%s: plugin \"autopath\" outside the block of the kubernetes plugin is not supported by clusterdns", b.AutoPath.Pos)
	case len(b.Forwards) > 1:
		return fmt.Errorf("%s: a second forward in one block is not supported by clusterdns yet", b.Forwards[1].Pos)
	case b.Cache != nil && b.Forwards == nil:
		return fmt.Errorf("%s: cache without forward: clusterdns caches forwarded answers only (cluster answers are never stale)", b.Cache.Pos)
	}
	for _, r := range b.Log {
		if len(r.Names) != 1 || r.Names[0] != "." || len(r.Classes) != 1 || r.Classes[0] != "all" {
			return fmt.Errorf("%s: log with names or classes is not supported by clusterdns yet (plain log logs every query)", r.Pos)
		}
	}
	if b.Cache != nil {
		for _, z := range b.Cache.Zones {
			if !blockHasZone(b, z) {
				return fmt.Errorf("%s: cache for zone %s, narrower than its block, is not supported by clusterdns yet", b.Cache.Pos, z)
			}
		}
	}
	return nil
}

// blockZones is the zones label of a block's metrics: its zones joined by
// commas, as CoreDNS writes it.
func blockZones(b *corefile.ServerBlock) string {
	zs := make([]string, len(b.Zones))
	for i, z := range b.Zones {
		zs[i] = z.Zone
	}
	return strings.Join(zs, ",")
}

func sameBind(a, b *corefile.Bind) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Addr == b.Addr
}

func blockHasZone(b *corefile.ServerBlock, z string) bool {
	for _, bz := range b.Zones {
		if bz.Zone == z {
			return true
		}
	}
	return false
}

// rewriter is the kubernetes block's rewrite rules for the server; nil
// when it has none.
func (sc *serveCorefile) rewriter() (server.Rewriter, error) {
	rules := sc.kube.Rewrites
	if len(rules) == 0 {
		return nil, nil
	}
	rw, err := rewrite.New(rules)
	if err != nil {
		return nil, err
	}
	return rewriterAdapter{rw}, nil
}

// hostsTable is the kubernetes block's hosts plugin for the server, and
// its file's reload loop; nil when the block has none.
func (sc *serveCorefile) hostsTable(log *slog.Logger) (server.HostsTable, *hosts.Hosts, error) {
	if sc.kube.Hosts == nil {
		return nil, nil, nil
	}
	h, err := hosts.New(sc.kube.Hosts, log)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", sc.kube.Hosts.Pos, err)
	}
	return hostsAdapter{h}, h, nil
}

// hostsAdapter gives the server the hosts package's table.
type hostsAdapter struct{ h *hosts.Hosts }

func (a hostsAdapter) AnswerHosts(qname string, qtype uint16, msg []byte, max int) (server.HostsAction, []byte, int, bool) {
	res := a.h.Lookup(qname, qtype)
	switch res.Action {
	case hosts.ActionAnswer:
		out, n := res.AppendAnswer(msg, max)
		return server.HostsAnswer, out, n, n < len(res.Records)
	case hosts.ActionServFail:
		return server.HostsServFail, msg, 0, false
	}
	return server.HostsNext, msg, 0, false
}

// rewriterAdapter gives the server the rewrite package's rules.
type rewriterAdapter struct{ rw *rewrite.Rewriter }

func (a rewriterAdapter) Question(name string) (string, server.Restorer, bool) {
	n, rev, ok := a.rw.Question(name)
	return n, rev, ok
}

// transfer is the kubernetes block's transfer plugin: its targets and
// zones (the block's by default); nil targets when it has none.
func (sc *serveCorefile) transfer() ([]transfer.Target, []string) {
	if t := sc.kube.Transfer; t != nil {
		return t.To, t.Zones
	}
	return nil, nil
}

// zoneOptions are the kubernetes plugin's options.
func (sc *serveCorefile) zoneOptions() zone.Options { return sc.kube.Kubernetes.ZoneOptions() }

// fallthroughZones are the kubernetes plugin's fallthrough zones that it
// serves ("." is every one of them).
func (sc *serveCorefile) fallthroughZones() []string {
	k := sc.kube.Kubernetes
	var out []string
	for _, z := range k.Zones {
		for _, fz := range k.Fallthrough {
			if fz == "." || strings.EqualFold(fz, z) {
				out = append(out, z)
				break
			}
		}
	}
	return out
}

// resolver builds a route for every zone of every block with a forward,
// started; stop closes the forwarders.
func (sc *serveCorefile) resolver(ctx context.Context, log *slog.Logger, recs recorderSet) (res *outside.Resolver, hasLoop bool, stop func(), err error) {
	var fws []*forward.Forwarder
	stop = func() {
		for _, fw := range fws {
			fw.Close()
		}
	}
	var routes []outside.Route
	for i := range sc.cfg.Blocks {
		b := &sc.cfg.Blocks[i]
		if len(b.Forwards) == 0 {
			continue
		}
		hasLoop = hasLoop || b.Loop != nil
		fw, err := forward.New(forwardConfig(&b.Forwards[0], recs.forward, log))
		if err != nil {
			stop()
			return nil, false, stop, fmt.Errorf("%s: %w", b.Forwards[0].Pos, err)
		}
		fw.Start(ctx)
		fws = append(fws, fw)
		var c *cache.Cache
		if b.Cache != nil {
			if c, err = cache.New(cacheConfig(b.Cache, recs.cache(blockZones(b)))); err != nil {
				stop()
				return nil, false, stop, fmt.Errorf("%s: %w", b.Cache.Pos, err)
			}
		}
		for _, z := range b.Zones {
			routes = append(routes, outside.Route{Zone: z.Zone, Forward: fw, Cache: c})
		}
	}
	if len(routes) == 0 {
		return nil, false, stop, nil
	}
	res, err = outside.New(routes, log)
	return res, hasLoop, stop, err
}

// forwardConfig is forward's configuration from a Corefile forward block.
func forwardConfig(fw *corefile.Forward, rec forward.Recorder, log *slog.Logger) forward.Config {
	var to []string
	for _, u := range fw.To {
		to = append(to, u.String())
	}
	cfg := forward.DefaultConfig(to...)
	cfg.From, cfg.Except = fw.From, fw.Except
	cfg.ForceTCP, cfg.PreferUDP = fw.ForceTCP, fw.PreferUDP
	cfg.Policy = map[corefile.Policy]forward.Policy{corefile.PolicyRandom: forward.Random, corefile.PolicyRoundRobin: forward.RoundRobin, corefile.PolicySequential: forward.Sequential}[fw.Policy]
	cfg.MaxFails, cfg.MaxConnectAttempts = int(fw.MaxFails), int(fw.MaxConnectAttempts)
	cfg.HealthCheck, cfg.HealthCheckNoRec, cfg.HealthCheckDomain = fw.HealthCheck, fw.HealthCheckNoRec, fw.HealthCheckDomain
	cfg.Expire, cfg.MaxIdleConns, cfg.MaxConcurrent = fw.Expire, fw.MaxIdleConns, fw.MaxConcurrent
	cfg.Recorder, cfg.Logger = rec, log
	return cfg
}

// cacheConfig is the cache's configuration from a Corefile cache block.
func cacheConfig(c *corefile.Cache, rec cache.Recorder) cache.Config {
	cfg := cache.DefaultConfig()
	cfg.SuccessCapacity, cfg.DenialCapacity = c.SuccessCapacity, c.DenialCapacity
	cfg.SuccessMaxTTL, cfg.SuccessMinTTL = c.SuccessMaxTTL, c.SuccessMinTTL
	cfg.DenialMaxTTL, cfg.DenialMinTTL = c.DenialMaxTTL, c.DenialMinTTL
	cfg.ServfailTTL = c.ServfailTTL
	cfg.Prefetch = cache.Prefetch{Amount: c.Prefetch.Amount, Duration: c.Prefetch.Duration, Percentage: c.Prefetch.Percentage}
	cfg.ServeStale = cache.ServeStale{Duration: c.ServeStale.Duration, Verify: c.ServeStale.Verify}
	cfg.DisableSuccess, cfg.DisableDenial = c.DisableSuccess, c.DisableDenial
	cfg.KeepTTL, cfg.Recorder = c.KeepTTL, rec
	return cfg
}
