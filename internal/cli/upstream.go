package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/clusterdns/clusterdns/internal/outside"
	"github.com/spf13/cobra"
)

// upstreamFlags say what serve does with names outside its zones: without
// --upstream they are REFUSED (clusterdns behind CoreDNS); with it they are
// forwarded, as kubeadm's `forward . /etc/resolv.conf`, through a cache as
// `cache N`.
type upstreamFlags struct {
	upstreams        []string
	stubs            []string
	cacheTTL         time.Duration
	fallthroughZones []string
	policy           string
	maxConcurrent    int
}

func (f *upstreamFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.upstreams, "upstream", nil, "forward names outside the served zones to this server (IP, IP:port) or to the nameservers of this resolv.conf file; repeatable. Without it they are REFUSED")
	fl.StringArrayVar(&f.stubs, "stub-domain", nil, "ZONE=SERVER[,SERVER...]: forward names in ZONE to these servers instead (a stub domain, as a Corefile block `ZONE:53 { forward . SERVER }`); repeatable")
	fl.DurationVar(&f.cacheTTL, "cache", 0, "cache forwarded answers up to this long (as `cache 30` for 30s), capacities and other settings as CoreDNS's defaults; 0 to cache nothing")
	fl.StringArrayVar(&f.fallthroughZones, "fallthrough", nil, "a served reverse zone whose names without PTR are forwarded (as kubernetes `fallthrough in-addr.arpa ip6.arpa`); repeatable")
	fl.StringVar(&f.policy, "upstream-policy", forward.Random.String(), "how upstreams are chosen: random, round_robin or sequential")
	fl.IntVar(&f.maxConcurrent, "upstream-max-concurrent", 0, "most forwarded queries under way at once; above it REFUSED, as forward's max_concurrent (0: no limit)")
}

// enabled reports whether anything is forwarded.
func (f *upstreamFlags) enabled() bool { return len(f.upstreams) > 0 || len(f.stubs) > 0 }

// resolver builds the forwarders and caches the flags ask for, started;
// stop closes them.
func (f *upstreamFlags) resolver(ctx context.Context, log *slog.Logger, rec forward.Recorder, crec cache.Recorder) (res *outside.Resolver, stop func(), err error) {
	var fws []*forward.Forwarder
	stop = func() {
		for _, fw := range fws {
			fw.Close()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	newForwarder := func(to []string) (*forward.Forwarder, error) {
		cfg := forward.DefaultConfig(to...)
		policy, perr := forward.ParsePolicy(f.policy)
		if perr != nil {
			return nil, fmt.Errorf("--upstream-policy: %w", perr)
		}
		cfg.Policy, cfg.MaxConcurrent, cfg.Recorder, cfg.Logger = policy, f.maxConcurrent, rec, log
		fw, ferr := forward.New(cfg)
		if ferr != nil {
			return nil, ferr
		}
		fw.Start(ctx)
		fws = append(fws, fw)
		return fw, nil
	}
	routes, err := f.routes(newForwarder, crec)
	if err != nil {
		return nil, stop, err
	}
	res, err = outside.New(routes, log)
	return res, stop, err
}

// routes are the default route (--upstream, --cache) and one per stub
// domain (no cache, as a Corefile block with only forward).
func (f *upstreamFlags) routes(newForwarder func([]string) (*forward.Forwarder, error), crec cache.Recorder) ([]outside.Route, error) {
	if f.maxConcurrent < 0 {
		return nil, fmt.Errorf("--upstream-max-concurrent %d: want 0 or more", f.maxConcurrent)
	}
	var routes []outside.Route
	if len(f.upstreams) > 0 {
		fw, err := newForwarder(f.upstreams)
		if err != nil {
			return nil, fmt.Errorf("--upstream: %w", err)
		}
		rt := outside.Route{Zone: ".", Forward: fw}
		if f.cacheTTL > 0 {
			cfg := cache.DefaultConfig()
			cfg.SuccessMaxTTL, cfg.DenialMaxTTL, cfg.Recorder = f.cacheTTL, f.cacheTTL, crec
			if rt.Cache, err = cache.New(cfg); err != nil {
				return nil, fmt.Errorf("--cache %s: %w", f.cacheTTL, err)
			}
		}
		routes = append(routes, rt)
	} else if f.cacheTTL < 0 {
		return nil, fmt.Errorf("--cache %s: want 0 or more", f.cacheTTL)
	}
	for _, s := range f.stubs {
		zone, servers, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(zone) == "" || strings.TrimSpace(servers) == "" {
			return nil, fmt.Errorf("--stub-domain %q: want ZONE=SERVER[,SERVER...]", s)
		}
		fw, err := newForwarder(strings.Split(servers, ","))
		if err != nil {
			return nil, fmt.Errorf("--stub-domain %q: %w", s, err)
		}
		routes = append(routes, outside.Route{Zone: zone, Forward: fw})
	}
	return routes, nil
}
