package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/clusterdns/clusterdns/internal/lint"
	"github.com/spf13/cobra"
)

// Exit codes of lint.
const (
	lintExitFindings = 1 // findings at or above --fail-on
	lintExitInput    = 2 // input or usage errors
)

func newLintCmd(s streams) *cobra.Command {
	var (
		output       string
		failOn       string
		enable       []string
		disable      []string
		zoneName     string
		podCIDRs     []string
		serviceCIDRs []string
		listRules    bool
		sf           stateFlags
	)
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

Exit status: 0 when no finding is at or above --fail-on, 1 when one is, 2 when the
inputs cannot be read or decoded (no rule runs then).`,
		Example: `  clusterdns lint deploy/ examples/
  helm template my-release ./chart | clusterdns lint -
  clusterdns lint --output sarif k8s/ > lint.sarif`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !listRules {
				return &exitError{lintExitInput, errors.New("lint: give at least one PATH, or - for stdin")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if listRules {
				return writeRules(s)
			}
			usage := func(err error) error { return &exitError{lintExitInput, fmt.Errorf("lint: %w", err)} }
			var threshold lint.Severity
			failNever := strings.EqualFold(failOn, "none")
			if !failNever {
				var err error
				if threshold, err = lint.ParseSeverity(failOn); err != nil {
					return usage(fmt.Errorf("--fail-on: %w (or none)", err))
				}
			}
			switch output {
			case "text", "json", "sarif":
			default:
				return usage(fmt.Errorf("--output %q: want text, json or sarif", output))
			}
			sf.podCIDRs, sf.serviceCIDRs = podCIDRs, serviceCIDRs
			mo, err := sf.manifestOptions()
			if err != nil {
				return usage(err)
			}
			rep, err := lint.Lint(cmd.Context(), args, s.in, lint.Options{
				Zone: zoneName, Manifest: mo, Enable: enable, Disable: disable,
			})
			if err != nil {
				return usage(err)
			}
			switch output {
			case "json":
				err = rep.WriteJSON(s.out)
			case "sarif":
				err = rep.WriteSARIF(s.out, versionString())
			default:
				err = rep.WriteText(s.out)
			}
			if err != nil {
				return err
			}
			if len(rep.Errors) > 0 {
				for _, e := range rep.Errors {
					fmt.Fprintf(s.err, "%v\n", e)
				}
				return &exitError{lintExitInput, fmt.Errorf("lint: %d input error%s: no rule ran", len(rep.Errors), pluralS(len(rep.Errors)))}
			}
			if output == "text" {
				fmt.Fprintf(s.err, "clusterdns lint: %s\n", rep.Summary())
			}
			if n := rep.Count(threshold); !failNever && n > 0 {
				return &exitError{lintExitFindings, fmt.Errorf("lint: %d finding%s at or above %s", n, pluralS(n), threshold)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&output, "output", "o", "text", "output format: text, json or sarif (2.1.0)")
	fl.StringVar(&failOn, "fail-on", "error", "exit 1 when a finding has at least this severity: error, warning, info or none")
	fl.StringSliceVar(&enable, "enable", nil, "run only these rules (comma-separated IDs; default all)")
	fl.StringSliceVar(&disable, "disable", nil, "do not run these rules (comma-separated IDs)")
	fl.StringVar(&zoneName, "zone", "cluster.local", "cluster domain names are checked in")
	fl.StringSliceVar(&podCIDRs, "pod-cidr", []string{"10.244.0.0/16"}, "CIDRs (one per family) pod IPs are given from, for pods whose manifests have none")
	fl.StringSliceVar(&serviceCIDRs, "service-cidr", []string{"10.96.0.0/12"}, "CIDRs (one per family) cluster IPs are given from, for services whose manifests have none")
	fl.BoolVar(&listRules, "list-rules", false, "list the rules and exit")
	sf.registerLimits(cmd)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{lintExitInput, fmt.Errorf("lint: %w", err)}
	})
	return cmd
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
