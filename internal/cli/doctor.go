package cli

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clusterdns/clusterdns/internal/doctor"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
)

type doctorFlags struct {
	kube      kubeFlags
	namespace string
	output    string
	verbose   bool
	quiet     bool
	window    time.Duration
	servers   []string
	dnsVia    string
}

func newDoctorCmd(s streams) *cobra.Command {
	var f doctorFlags
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Run the whole DNS troubleshooting procedure against a live cluster",
		Long: `Doctor reads the cluster once (read-only) and checks, in the order of the
troubleshooting guide: the cluster DNS behind the kube-dns Service (pods
Ready, restarts and OOMKills, memory and replicas for the cluster's size,
spread over nodes, known problems of its version, NodeLocal DNSCache, the
kubelet's DNSConfigForming warnings); its Corefile (how stale an answer can
be across the caches, forwarding loops, readiness, lame duck, reverse
fallthrough, max_concurrent, pods verified and autopath, the kube-dns
endpoints, NetworkPolicies that block port 53); every headless Service's
names, explained by the record engine (grouped by explain's cause codes);
what each DNS pod (or --server) answers for them against the cluster state,
so that one stale replica is named; the clients (hostNetwork pods on
ClusterFirst, nameservers that bypass the cluster DNS, lint's ndots rule on
the live pod specs); and, from two scrapes --metrics-window apart, the API
server's LIST latency and each DNS pod's SERVFAIL rate and p99 latency.

Every check ends ok, warn, fail, not run (with why: no permission, nothing
to check) or crashed. Output: text (default), json (a stable schema, see
the README), markdown or html (a report to attach to an incident, with the
guide's flowchart for each failing name). Progress goes to stderr.

Exit status: 0 when nothing is at error, 1 when something is, 2 when the
cluster cannot be read.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd, s, &f)
		},
	}
	f.kube.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.namespace, "namespace", "n", "", "narrow the workload checks (headless Services, clients) to this namespace; the cluster DNS is always checked")
	fl.StringVarP(&f.output, "output", "o", "text", "text, json, markdown or html")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "text: also print info findings")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress on stderr")
	fl.StringArrayVar(&f.servers, "server", nil, "ask this DNS server (host[:port]) what it answers, instead of each cluster DNS pod at its pod IP (which needs the doctor in the cluster, or routed pod IPs); repeatable")
	fl.StringVar(&f.dnsVia, "dns-via", "auto", "how the answers check reaches each DNS pod: auto (its pod IP, else a port-forward through the API server, over TCP: a laptop), direct (the pod IP only) or port-forward")
	fl.DurationVar(&f.window, "metrics-window", doctor.DefaultWindow, "how far apart the two scrapes of the API server's and the DNS pods' /metrics are (rates and quantiles without Prometheus)")
	return cmd
}

func runDoctor(cmd *cobra.Command, s streams, f *doctorFlags) error {
	write := map[string]func(*doctor.Report) error{
		"text":     func(r *doctor.Report) error { return doctor.WriteText(s.out, r, f.verbose) },
		"json":     func(r *doctor.Report) error { return doctor.WriteJSON(s.out, r) },
		"markdown": func(r *doctor.Report) error { return doctor.WriteMarkdown(s.out, r) },
		"html":     func(r *doctor.Report) error { return doctor.WriteHTML(s.out, r) },
	}[f.output]
	if write == nil {
		return usageError(fmt.Errorf("--output %q: want text, json, markdown or html", f.output))
	}
	if !slices.Contains([]string{"auto", "direct", "port-forward"}, f.dnsVia) {
		return usageError(fmt.Errorf("--dns-via %q: want auto, direct or port-forward", f.dnsVia))
	}
	if f.kube.context != "" && f.kube.kubeconfig == "" {
		return usageError(errors.New("--context needs --kubeconfig"))
	}
	opts := kube.Options{Kubeconfig: f.kube.kubeconfig, Context: f.kube.context, UserAgent: "clusterdns-doctor/" + versionString()}
	opts.InCluster = f.kube.kubeconfig == "" && (f.kube.inCluster || kube.InClusterAvailable())
	if opts.Kubeconfig == "" && !opts.InCluster {
		return usageError(errors.New("no cluster: give --kubeconfig (or run in a pod, or --in-cluster)"))
	}
	cfg, err := kube.RestConfig(opts)
	if err != nil {
		return usageError(err)
	}
	cfg.Timeout = 60 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return usageError(fmt.Errorf("creating the Kubernetes client: %w", err))
	}
	progress := func(msg string) {
		if !f.quiet {
			fmt.Fprintf(s.err, "doctor: %s\n", msg)
		}
	}
	ctx := cmd.Context()
	in, err := doctor.Read(ctx, client, cfg.Host, progress)
	if err != nil {
		return usageError(err)
	}
	in.Namespace = f.namespace
	for _, srv := range f.servers {
		addr, err := resolveServerAddr(srv)
		if err != nil {
			return usageError(fmt.Errorf("--server: %w", err))
		}
		in.Servers = append(in.Servers, addr)
	}
	in.APIMetrics, in.PodMetrics, in.Window = doctor.APIServerMetrics(client), doctor.PodMetricsVia(client), f.window
	switch f.dnsVia {
	case "auto":
		in.PortForward = doctor.PortForwarder(cfg, client)
	case "port-forward":
		in.PortForward, in.ForwardOnly = doctor.PortForwarder(cfg, client), true
	}
	r := doctor.Run(ctx, in, doctor.Options{Progress: progress})
	if err := write(r); err != nil {
		return err
	}
	if r.Failed() {
		return failed(errors.New(r.Summary()))
	}
	return nil
}
