package cli

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"
)

// autopathFlags turn on server-side search-path expansion (autopath).
type autopathFlags struct {
	on         bool
	zones      []string // a Corefile's autopath ZONES (nil: the kubernetes zones)
	resolvConf string
	nodeSearch []string
	nodeSet    bool
	clients    []string
	exclude    []string
	ndots      int
	budget     time.Duration
	trusted    []string
	trustFor   time.Duration
}

func (f *autopathFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "autopath", false, "answer the first question of a pod's search walk (<name>.<ns>.svc.<zone>, NXDOMAIN) with what the walk would end with, as CoreDNS's autopath but without watching pods")
	fl.StringVar(&f.resolvConf, "autopath-resolv-conf", "/etc/resolv.conf", "the nodes' search domains for autopath come from this file's search line (as CoreDNS reads its own)")
	fl.StringArrayVar(&f.nodeSearch, "autopath-node-search", nil, "the nodes' search domains for autopath, instead of --autopath-resolv-conf's; repeatable (an empty value: none)")
	fl.StringArrayVar(&f.clients, "autopath-client", nil, "expand only questions from this network (CIDR, the pod network); repeatable. Default: every client")
	fl.StringArrayVar(&f.exclude, "autopath-exclude-namespace", nil, "never expand the questions of pods in this namespace; repeatable")
	fl.IntVar(&f.ndots, "autopath-ndots", autopath.DefaultNdots, "the clients' ndots: a name with this many dots or more is not expanded")
	fl.DurationVar(&f.budget, "autopath-budget", autopath.DefaultBudget, "the longest a walk may take; past it the client gets the NXDOMAIN")
	fl.StringArrayVar(&f.trusted, "autopath-trust-client", nil, "expand the walks of clients in this network (CIDR) at once, taking their search list to be the kubelet's, as CoreDNS does (NodeLocal DNSCache's address, whose forwarded steps never reach the server; 0.0.0.0/0 and ::/0: every client); repeatable. Other clients are expanded only as far as the server has seen them walk on their own")
	fl.DurationVar(&f.trustFor, "autopath-trust-for", autopath.DefaultTrustFor, "how long what the server saw of a client's own walk is acted on")
}

// expander makes the Expander the flags ask for (nil when autopath is
// off), asking s, for the forward zones of opts.
func (f *autopathFlags) expander(s *server.Server, opts zone.Options, rec autopath.Recorder, log *slog.Logger) (*autopath.Expander, error) {
	if !f.on {
		return nil, nil
	}
	zones := opts.Zones
	if f.zones != nil {
		zones = nil
		// CoreDNS's autopath ZONES default to the block's ("."): a
		// kubernetes zone at or under one of them is expanded.
		for _, z := range opts.Zones {
			if slices.ContainsFunc(f.zones, func(az string) bool { return dns.IsSubDomain(az, z) }) {
				zones = append(zones, z)
			}
		}
		if len(zones) == 0 {
			return nil, fmt.Errorf("autopath %s: none of these is a zone of the kubernetes plugin (%s)", strings.Join(f.zones, " "), strings.Join(opts.Zones, " "))
		}
	}
	if f.trustFor <= 0 {
		return nil, fmt.Errorf("--autopath-trust-for %v: must be positive", f.trustFor)
	}
	cfg := autopath.Config{Zones: zones, Ndots: f.ndots, Exclude: f.exclude, Budget: f.budget, Recorder: rec, Log: log, GuardFor: guardFor(opts), TrustFor: f.trustFor}
	var err error
	if cfg.Clients, err = parseCIDRs("--autopath-client", f.clients); err != nil {
		return nil, err
	}
	if cfg.Trusted, err = parseCIDRs("--autopath-trust-client", f.trusted); err != nil {
		return nil, err
	}
	search, err := f.search()
	if err != nil {
		return nil, err
	}
	cfg.NodeSearch = search
	x, err := autopath.New(cfg, s)
	if err != nil {
		return nil, fmt.Errorf("--autopath: %w", err)
	}
	return x, nil
}

// parseCIDRs parses a flag's CIDRs.
func parseCIDRs(flag string, values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range values {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%s %q: not a CIDR: %w", flag, c, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// search is the nodes' search list: the flag's, or the resolv.conf's.
func (f *autopathFlags) search() ([]string, error) {
	if f.nodeSet {
		return nonEmpty(f.nodeSearch), nil
	}
	file, err := os.Open(f.resolvConf)
	if err != nil {
		return nil, fmt.Errorf("--autopath-resolv-conf: %w", err)
	}
	defer file.Close()
	conf, err := resolv.Parse(file)
	if err != nil {
		return nil, fmt.Errorf("--autopath-resolv-conf %s: %w", f.resolvConf, err)
	}
	return conf.Search, nil
}

// guardFor is how long the successor of an NXDOMAIN stays marked: while a
// cache in front may still answer the NXDOMAIN itself, and a little more.
func guardFor(opts zone.Options) time.Duration {
	return time.Duration(opts.TTL)*time.Second + 5*time.Second
}

// autopathModelFlags describe a server's autopath to a dry run (resolve
// --server-autopath, explain --autopath): serve's flags that change which
// questions it expands and how its walks end.
type autopathModelFlags struct {
	on         bool
	onFlag     string
	nodeSearch []string
	exclude    []string
	ndots      int
}

// register registers the flag that turns the model on (name, usage) and
// serve's --autopath-ndots and --autopath-exclude-namespace; with
// nodeSearch, serve's --autopath-node-search too (resolve takes the
// nodes' search domains from its kubelet flags instead).
func (f *autopathModelFlags) register(cmd *cobra.Command, name, usage string, nodeSearch bool) {
	fl := cmd.Flags()
	f.onFlag = name
	fl.BoolVar(&f.on, name, false, usage)
	if nodeSearch {
		fl.StringArrayVar(&f.nodeSearch, "autopath-node-search", nil, "with --"+name+": the nodes' search domains, as serve's --autopath-node-search; repeatable (default: none)")
	}
	fl.StringArrayVar(&f.exclude, "autopath-exclude-namespace", nil, "with --"+name+": a namespace the server does not expand (serve's flag); repeatable")
	fl.IntVar(&f.ndots, "autopath-ndots", autopath.DefaultNdots, "with --"+name+": serve's --autopath-ndots")
}

// check refuses the model's flags without the flag that turns it on.
func (f *autopathModelFlags) check(changed func(string) bool) error {
	if f.on {
		return nil
	}
	for _, n := range []string{"autopath-node-search", "autopath-exclude-namespace", "autopath-ndots"} {
		if changed(n) {
			return fmt.Errorf("--%s goes with --%s", n, f.onFlag)
		}
	}
	return nil
}

// config is the configuration of the modelled server over the zones of
// opts, whose nodes have the search domains nodeSearch.
func (f *autopathModelFlags) config(opts zone.Options, nodeSearch []string) autopath.Config {
	return autopath.Config{Zones: opts.Zones, Ndots: f.ndots, NodeSearch: nodeSearch, Exclude: f.exclude, GuardFor: guardFor(opts)}
}

// flagNodeSearch is --autopath-node-search.
func (f *autopathModelFlags) flagNodeSearch() []string { return nonEmpty(f.nodeSearch) }

// nonEmpty is a list of flag values without the empty ones (an empty
// value says: none).
func nonEmpty(values []string) []string {
	var out []string
	for _, s := range values {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
