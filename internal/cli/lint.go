package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/clusterdns/clusterdns/internal/lint"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/spf13/cobra"
)

type lintFlags struct {
	output    string
	failOn    string
	enable    []string
	disable   []string
	zones     []string
	listRules bool
	state     stateFlags
}

func newLintCmd(s streams) *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint PATH... | -",
		Short: "Check manifests for the mistakes that cost DNS names (CI)",
		Long: `Check Kubernetes manifests for the mistakes that cost DNS names: a pod subdomain
that names no headless Service, a StatefulSet serviceName that names none, unnamed
ports (no SRV record), selectors that match nothing, named targetPorts no container
declares, resolver settings the API server rejects.

PATH is a file, a directory (read recursively; one holding a kustomization.yaml is
built with kustomize) or - for stdin (helm template ... | clusterdns lint -). All
inputs are checked together: lint a Service with its workloads.

Each finding is printed as "file:line: severity rule: message" with a fix. A rule is
turned off with --disable, or for one object with the annotation
clusterdns.io/lint-ignore: rule,rule.

Exit status: 0 when no finding is at or above --fail-on, 1 when one is, 2 on usage
errors or when the inputs cannot be read or decoded (no rule runs then).`,
		Example: `  clusterdns lint deploy/ examples/
  helm template my-release ./chart | clusterdns lint -
  clusterdns lint --output sarif k8s/ > lint.sarif`,
		Args: usageArgs(func(_ *cobra.Command, args []string) error {
			if len(args) == 0 && !f.listRules {
				return errors.New("lint: give at least one PATH, or - for stdin")
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.listRules {
				return writeRules(s)
			}
			return runLint(cmd.Context(), s, &f, args)
		},
	}
	f.register(cmd)
	return cmd
}

func (f *lintFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text, json or sarif (2.1.0)")
	fl.StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has at least this severity: error, warning, info or none")
	fl.StringSliceVar(&f.enable, "enable", nil, "run only these rules (comma-separated IDs; default all)")
	fl.StringSliceVar(&f.disable, "disable", nil, "do not run these rules (comma-separated IDs)")
	fl.StringArrayVar(&f.zones, "zone", flagZones(zone.DefaultOptions().Zones), "cluster domain names are checked in; repeatable (the first is the one pods' search lists hold)")
	fl.BoolVar(&f.listRules, "list-rules", false, "list the rules and exit")
	f.state.registerCIDRs(cmd)
	f.state.registerLimits(cmd)
}

// threshold is the severity --fail-on names; never is true for none.
func (f *lintFlags) threshold() (sev lint.Severity, never bool, err error) {
	if strings.EqualFold(f.failOn, "none") {
		return sev, true, nil
	}
	if sev, err = lint.ParseSeverity(f.failOn); err != nil {
		return sev, false, fmt.Errorf("--fail-on: %w (or none)", err)
	}
	return sev, false, nil
}

func runLint(ctx context.Context, s streams, f *lintFlags, paths []string) error {
	threshold, failNever, err := f.threshold()
	if err != nil {
		return usageError(err)
	}
	switch f.output {
	case "text", "json", "sarif":
	default:
		return usageError(fmt.Errorf("--output %q: want text, json or sarif", f.output))
	}
	mo, err := f.state.manifestOptions()
	if err != nil {
		return usageError(err)
	}
	rep, err := lint.Lint(ctx, paths, s.in, lint.Options{Zones: f.zones, Manifest: mo, Enable: f.enable, Disable: f.disable})
	if err != nil {
		return usageError(err)
	}
	if err := writeLintReport(s.out, rep, f.output); err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		for _, e := range rep.Errors {
			fmt.Fprintf(s.err, "%v\n", e)
		}
		return usageError(fmt.Errorf("lint: %d input error%s: no rule ran", len(rep.Errors), pluralS(len(rep.Errors))))
	}
	if f.output == "text" {
		fmt.Fprintf(s.err, "clusterdns lint: %s\n", rep.Summary())
	}
	if n := rep.Count(threshold); !failNever && n > 0 {
		return failed(fmt.Errorf("lint: %d finding%s at or above %s", n, pluralS(n), threshold))
	}
	return nil
}

func writeLintReport(w io.Writer, rep *lint.Report, output string) error {
	switch output {
	case "json":
		return rep.WriteJSON(w)
	case "sarif":
		return rep.WriteSARIF(w, versionString())
	}
	return rep.WriteText(w)
}

func writeRules(s streams) error {
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tWHAT")
	for _, r := range lint.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, strings.ReplaceAll(r.Summary, "`", ""))
	}
	return tw.Flush()
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
