package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/explain"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"
)

type explainFlags struct {
	state     stateFlags
	zone      zoneFlags
	kube      kubeFlags
	namespace string
	ndots     int
	server    string
	timeout   time.Duration
	output    string
	autopath  autopathModelFlags
}

func newExplainCmd(s streams) *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain NAME [TYPE] | explain pod NS/NAME | explain service NS/NAME",
		Short: "Say why a name does or does not resolve",
		Long: `Explain walks the same record engine that serves the zone: it prints the
answer clusterdns would give, the path through the decision tree (headless?
query type? named port? hostname on the EndpointSlice? ready?) with the object
and field that decided each step, and every cause it finds, most likely first,
each with a fix.

TYPE is A (default), AAAA, SRV, PTR, CNAME or TXT. A short name (web-0.web)
is expanded as a pod in --namespace with ndots:5 would. With --server, the
same question goes to a live DNS server and the difference is explained.
With --autopath (and serve's --autopath-* flags that shape it), a name of
the first step's shape (<name>.<ns>.svc.<zone>) that is NXDOMAIN is
explained as a server run with --autopath answers it: the walk's end
instead, or why autopath leaves the NXDOMAIN alone.

Exit status: 0 when the name resolves as asked, 1 when it does not, 2 on usage
or input errors.`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.autopath.check(cmd.Flags().Changed); err != nil {
				return usageError(err)
			}
			return runExplain(cmd.Context(), s, &f, args)
		},
	}
	f.state.register(cmd)
	f.zone.register(cmd)
	f.kube.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.namespace, "namespace", "n", "default", "namespace of the asking pod, for short names")
	fl.IntVar(&f.ndots, "ndots", 5, "ndots of the asking pod, for short names")
	fl.StringVar(&f.server, "server", "", "also ask this DNS server (host:port) and compare")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "how long to wait for --server")
	fl.StringVarP(&f.output, "output", "o", "text", "text or json")
	f.autopath.register(cmd, "autopath", "the server runs with --autopath: say what it answers instead of an NXDOMAIN of the first step's shape (<name>.<ns>.svc.<zone>), or why it does not expand it", true)
	return cmd
}

// loadState reads the cluster state of a one-shot command: a live cluster
// or manifests (the embedded example without either).
func loadState(ctx context.Context, s streams, st *stateFlags, kf *kubeFlags, zf *zoneFlags) (*cluster.State, error) {
	live, err := kf.live(st)
	if err != nil {
		return nil, usageError(err)
	}
	if live {
		zopts, err := zf.options()
		if err != nil {
			return nil, usageError(err)
		}
		state, err := kube.ListState(ctx, kf.options(zopts, nil))
		if err != nil {
			return nil, usageError(err)
		}
		return state, nil
	}
	state, err := st.load(ctx, s.in)
	if err != nil {
		return nil, usageError(fmt.Errorf("loading cluster state: %w", err))
	}
	return state, nil
}

func runExplain(ctx context.Context, s streams, f *explainFlags, args []string) error {
	if f.output != "text" && f.output != "json" {
		return usageError(fmt.Errorf("--output %q: want text or json", f.output))
	}
	zopts, err := f.zone.options()
	if err != nil {
		return usageError(err)
	}
	var objKind, objNS, objName string
	qtype := dns.TypeA
	switch {
	case len(args) == 2 && (args[0] == "pod" || args[0] == "service" || args[0] == "svc"):
		objKind = args[0]
		ns, name, ok := strings.Cut(args[1], "/")
		if !ok || ns == "" || name == "" {
			return usageError(fmt.Errorf("explain %s %q: want NAMESPACE/NAME", args[0], args[1]))
		}
		objNS, objName = ns, name
	case len(args) == 2:
		t, ok := dns.StringToType[strings.ToUpper(args[1])]
		if !ok {
			return usageError(fmt.Errorf("unknown query type %q: want A, AAAA, SRV, PTR, CNAME or TXT", args[1]))
		}
		qtype = t
	}
	if objKind == "" {
		if err := checkQueryName(args[0]); err != nil {
			return usageError(err)
		}
	}
	state, err := loadState(ctx, s, &f.state, &f.kube, &f.zone)
	if err != nil {
		return err
	}
	ex, err := explain.New(state, zopts)
	if err != nil {
		return usageError(err)
	}
	if f.autopath.on {
		if err := ex.SetAutopath(f.autopath.config(zopts, f.autopath.flagNodeSearch())); err != nil {
			return usageError(fmt.Errorf("--autopath: %w", err))
		}
	}
	var results []*explain.Result
	if objKind != "" {
		results, err = ex.ExplainObject(objKind, objNS, objName)
		if err != nil {
			return usageError(err)
		}
	} else {
		results = []*explain.Result{ex.ExplainShort(args[0], qtype, f.namespace, f.ndots)}
	}
	ok := true
	for _, r := range results {
		if f.server != "" {
			r.Compare(f.server, f.timeout)
		}
		if !r.Resolves() || (r.Server != nil && !r.Server.Agrees) {
			ok = false
		}
	}
	if f.output == "json" {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		var v any = results
		if objKind == "" {
			v = results[0]
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		for i, r := range results {
			if i > 0 {
				fmt.Fprintln(s.out, "\n---")
			}
			r.WriteText(s.out)
		}
	}
	if !ok {
		return failed(errors.New(notResolving(results)))
	}
	return nil
}

func notResolving(rs []*explain.Result) string {
	var bad []string
	for _, r := range rs {
		if !r.Resolves() || (r.Server != nil && !r.Server.Agrees) {
			bad = append(bad, r.Name+" "+r.Type)
		}
	}
	return "does not resolve as asked: " + strings.Join(bad, ", ")
}

// checkQueryName refuses what no resolver could send: an empty label, a
// label over 63 bytes, a name over 253 characters (RFC 1035 §2.3.4).
func checkQueryName(name string) error {
	trimmed := strings.TrimSuffix(name, ".")
	shown := name
	if len(shown) > 80 {
		shown = shown[:60] + "..." + shown[len(shown)-17:]
	}
	if trimmed == "" {
		return fmt.Errorf("invalid name %q: empty", shown)
	}
	for i, label := range strings.Split(trimmed, ".") {
		switch {
		case label == "":
			return fmt.Errorf("invalid name %q: label %d is empty", shown, i+1)
		case len(label) > 63:
			return fmt.Errorf("invalid name %q: label %d is %d characters, at most 63 fit in a DNS label", shown, i+1, len(label))
		}
	}
	if len(trimmed) > 253 {
		return fmt.Errorf("invalid name %q: %d characters, at most 253 fit in a DNS name", shown, len(trimmed))
	}
	return nil
}
