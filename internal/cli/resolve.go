package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

type resolveFlags struct {
	state stateFlags
	zone  zoneFlags
	kube  kubeFlags

	pod            string
	resolvConf     string
	namespace      string
	ndots          int
	search         []string
	nodeResolvConf string
	nodeSearch     []string
	clusterDNS     string

	libc, call, qtype string
	server            string
	timeout           time.Duration
	upstream          string
	output            string
	autopath          autopathModelFlags
}

func newResolveCmd(s streams) *cobra.Command { return newResolveCmdWith(s, &resolveFlags{}) }

func newResolveCmdWith(s streams, f *resolveFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resolve NAME",
		Short: "Show the questions a pod's resolver sends for a name, and what they cost",
		Long: `Resolve shows, question by question, what a resolver inside a pod sends for
NAME: every search-list expansion in order, A and AAAA together or apart, the
answer each gets, where the client stops, and how many queries were wasted.

The resolver configuration comes from one of:
  --pod NS/NAME       the resolv.conf the kubelet writes for that pod (dnsPolicy,
                      dnsConfig, hostNetwork), the pod read from --manifests or a
                      live cluster (--kubeconfig)
  --resolv-conf FILE  a resolv.conf as written
  (neither)           a ClusterFirst pod in --namespace
--ndots and --search then override what the source gives.

The client is --libc glibc|musl|go with --call getaddrinfo (default),
gethostbyname, getent-hosts (glibc), dig (dig +search, with --type) or go.

Without --server it is a dry run: each question is answered by the record
engine from the cluster state (names outside the cluster zone as --upstream
says). With --server-autopath the dry run answers as a server run with
--autopath: the first question of the walk (<name>.<ns>.svc.<zone>) gets
what the walk would end with, unless autopath declines it (and says why);
the report counts the queries saved.

With --server ADDR the questions go to that DNS server, in the same order
and under the same continue/stop rules, and each answer is timed; timeouts
wait --timeout (default: the resolv.conf's, 5s).

Exit status: 0 when the name resolves, 1 when it does not, 2 on usage or
input errors.`,
		Args: usageArgs(func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("resolve takes one NAME, got %d arguments", len(args))
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResolve(cmd, s, f, args[0])
		},
	}
	f.state.register(cmd)
	f.zone.register(cmd)
	f.kube.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.pod, "pod", "", "NS/NAME of the pod whose resolver to model")
	fl.StringVar(&f.resolvConf, "resolv-conf", "", "resolv.conf file to model")
	fl.StringVarP(&f.namespace, "namespace", "n", "default", "namespace of the (ClusterFirst) pod, without --pod or --resolv-conf")
	fl.IntVar(&f.ndots, "ndots", 0, "override ndots, as a dnsConfig option would (default: what the source gives)")
	fl.StringSliceVar(&f.search, "search", nil, "override the whole search list (comma separated)")
	fl.StringVar(&f.nodeResolvConf, "node-resolv-conf", "", "the node's resolv.conf (kubelet --resolv-conf): its search list follows the cluster domains, Default-policy pods get it whole")
	fl.StringSliceVar(&f.nodeSearch, "node-search", nil, "node search domains (as in the node's resolv.conf), e.g. us-east-2.compute.internal")
	fl.StringVar(&f.clusterDNS, "cluster-dns", "", "kubelet --cluster-dns (default: the kube-system/kube-dns Service IP, else "+resolv.DefaultClusterDNS+")")
	fl.StringVar(&f.libc, "libc", "glibc", "resolver library: glibc, musl or go")
	fl.StringVar(&f.call, "call", "", "API: getaddrinfo, gethostbyname, getent-hosts (glibc), dig or go (default: getaddrinfo, go for --libc go)")
	fl.StringVar(&f.qtype, "type", "A", "query type of --call dig")
	fl.StringVar(&f.server, "server", "", "send the questions to this DNS server (host:port, port 53 if left out)")
	fl.DurationVar(&f.timeout, "timeout", 0, "how long a try waits for its reply (default: the resolv.conf's timeout, 5s)")
	fl.StringVar(&f.upstream, "upstream", "assume", "dry run, names outside the cluster zone: assume (the name as given answers, other names NXDOMAIN), nxdomain, or refused (as clusterdns serve)")
	fl.StringVarP(&f.output, "output", "o", "text", "text or json")
	f.autopath.register(cmd, "server-autopath", "dry run: answer as a server run with --autopath (the first question of the walk gets the walk's end), and count the queries saved; the nodes' search domains are --node-search and --node-resolv-conf's", false)
	return cmd
}

// resolveSetup is everything a run needs, from the flags.
type resolveSetup struct {
	cfg    resolv.Config
	source string
	notes  []string
	model  resolv.Model
	snap   *zone.Snapshot
	up     resolv.Upstream
	// nodeSearch is the nodes' search list (the kubelet's host
	// configuration), which a server with autopath walks too.
	nodeSearch []string
	// autopath is what --server-autopath changed (nil without it).
	autopath *resolveAutopath
}

// resolveAutopath is the dry run's lookup without the server's autopath,
// and what autopath did with each question of the lookup with it (one
// event per query, in order).
type resolveAutopath struct {
	without resolv.Result
	events  []autopath.Event
	// learning is the pod's first lookup, while the server learns its
	// walk (the one shown is the next).
	learning resolv.Result
	trustFor time.Duration
}

func runResolve(cmd *cobra.Command, s streams, f *resolveFlags, name string) error {
	ctx := cmd.Context()
	if err := resolv.CheckName(name); err != nil {
		return usageError(err)
	}
	st, err := resolveSetupFrom(ctx, cmd, s, f)
	if err != nil {
		return err
	}
	var res resolv.Result
	if f.server != "" {
		addr, err := resolveServerAddr(f.server)
		if err != nil {
			return usageError(err)
		}
		res = resolv.RunLive(st.cfg, name, st.model, addr, f.timeout)
	} else {
		v := st.cfg.View(st.model)
		if f.timeout > 0 {
			v.Timeout = f.timeout
		}
		answer := resolv.Answers(st.snap, name, st.up)
		res = resolv.SimulateView(v, name, st.model, answer)
		if f.autopath.on {
			m, err := autopath.NewModel(f.autopath.config(st.snap.Options(), st.nodeSearch), st.snap, answer)
			if err != nil {
				return usageError(fmt.Errorf("--server-autopath: %w", err))
			}
			st.autopath = &resolveAutopath{without: res, trustFor: autopath.DefaultTrustFor}
			// The server expands a pod's walks once it has seen the pod
			// walk on its own: the first lookup teaches it, the next
			// shows what autopath does for that pod.
			st.autopath.learning = resolv.SimulateView(v, name, st.model, m.Answer)
			m.Events = nil
			res = resolv.SimulateView(v, name, st.model, m.Answer)
			st.autopath.events = m.Events
		}
	}
	switch f.output {
	case "json":
		err = writeResolveJSON(s.out, st, res, f.server != "")
	default:
		err = writeResolveText(s.out, st, res, f)
	}
	if err != nil {
		return err
	}
	if !res.Resolved {
		why := res.Error
		if why == "" {
			why = "no answer"
		}
		return failed(fmt.Errorf("%s does not resolve (%s)", name, why))
	}
	return nil
}

func resolveServerAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	if !strings.Contains(s, ":") {
		return net.JoinHostPort(s, "53"), nil
	}
	return "", fmt.Errorf("--server %q: want host:port", s)
}

// resolveSetupFrom checks the flags and composes the resolver
// configuration; its errors are usage or input errors.
func resolveSetupFrom(ctx context.Context, cmd *cobra.Command, s streams, f *resolveFlags) (*resolveSetup, error) {
	st, err := newResolveSetup(ctx, cmd.Flags().Changed, s, f)
	if err != nil {
		return nil, usageError(err)
	}
	return st, nil
}

func newResolveSetup(ctx context.Context, changed func(string) bool, s streams, f *resolveFlags) (*resolveSetup, error) {
	st := &resolveSetup{}
	if err := st.client(f, changed); err != nil {
		return nil, err
	}
	if err := f.checkSources(changed); err != nil {
		return nil, err
	}
	zopts, err := f.zone.options()
	if err != nil {
		return nil, err
	}
	state, client, err := f.clusterState(ctx, s, zopts)
	if err != nil {
		return nil, err
	}
	if f.server == "" {
		if st.snap, err = zone.Build(state, zopts); err != nil {
			return nil, err
		}
	}
	if f.resolvConf != "" {
		err = st.fromResolvConf(f.resolvConf, s.in)
	} else {
		err = st.fromKubelet(ctx, f, s.in, zopts.Zones[0], state, client)
	}
	if err != nil {
		return nil, err
	}
	st.override(f, changed)
	if f.autopath.on && f.resolvConf != "" {
		st.notes = append(st.notes, "--server-autopath: the nodes' search domains are not known with --resolv-conf: the server's walk has none")
	}
	return st, nil
}

// client reads the client model and what shapes its run: --libc, --call,
// --type, --output, --upstream, --timeout.
func (st *resolveSetup) client(f *resolveFlags, changed func(string) bool) error {
	var err error
	if st.model, err = resolv.ParseModel(f.libc, f.call); err != nil {
		return err
	}
	if st.model.Call == resolv.Dig {
		t, ok := dns.StringToType[strings.ToUpper(f.qtype)]
		if !ok {
			return fmt.Errorf("--type %q: not a DNS type", f.qtype)
		}
		st.model.Type = t
	} else if changed("type") {
		return errors.New("--type goes with --call dig (getaddrinfo and the others ask for addresses)")
	}
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("--output %q: want text or json", f.output)
	}
	if st.up, err = resolv.ParseUpstream(f.upstream); err != nil {
		return err
	}
	if f.timeout < 0 {
		return fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	if f.autopath.on && f.server != "" {
		return errors.New("--server-autopath models a server in a dry run; a live run (--server) shows what that server does: run it with --autopath")
	}
	return f.autopath.check(changed)
}

// checkSources refuses flags that contradict the chosen source of the
// resolver configuration, and values that cannot be.
func (f *resolveFlags) checkSources(changed func(string) bool) error {
	switch {
	case f.pod != "" && f.resolvConf != "":
		return errors.New("--pod and --resolv-conf both given: choose one source of the resolver configuration")
	case (f.pod != "" || f.resolvConf != "") && changed("namespace"):
		return errors.New("--namespace describes a ClusterFirst pod when neither --pod nor --resolv-conf is given; with those it has no meaning")
	case f.resolvConf != "" && (f.nodeResolvConf != "" || len(f.nodeSearch) > 0 || f.clusterDNS != ""):
		return errors.New("--node-resolv-conf, --node-search and --cluster-dns describe what the kubelet composes from; with --resolv-conf the file is used as it is")
	case changed("ndots") && (f.ndots < 0 || f.ndots > 15):
		return fmt.Errorf("--ndots %d: must be between 0 and 15", f.ndots)
	}
	if f.clusterDNS != "" {
		if _, err := netip.ParseAddr(f.clusterDNS); err != nil {
			return fmt.Errorf("--cluster-dns %q: not an IP address", f.clusterDNS)
		}
	}
	return nil
}

// clusterState reads the cluster state a dry run answers from and --pod
// is found in. A live run with --pod needs no state: the pod is read
// with the returned client instead.
func (f *resolveFlags) clusterState(ctx context.Context, s streams, zopts zone.Options) (*cluster.State, kubernetes.Interface, error) {
	live, err := f.kube.live(&f.state)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case f.server != "" && f.pod == "":
		return nil, nil, nil
	case live && f.server == "":
		state, err := kube.ListState(ctx, f.kube.options(zopts, nil))
		if err != nil {
			return nil, nil, fmt.Errorf("reading the cluster: %w", err)
		}
		return state, nil, nil
	case live:
		cfg, err := kube.RestConfig(f.kube.options(zopts, nil))
		if err != nil {
			return nil, nil, err
		}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("creating the Kubernetes client: %w", err)
		}
		return nil, client, nil
	}
	state, err := f.state.load(ctx, s.in)
	if err != nil {
		return nil, nil, fmt.Errorf("loading cluster state: %w", err)
	}
	return state, nil, nil
}

// fromResolvConf takes the configuration from a resolv.conf as written.
func (st *resolveSetup) fromResolvConf(path string, stdin io.Reader) error {
	data, err := resolveReadFile(path, stdin)
	if err != nil {
		return fmt.Errorf("--resolv-conf: %w", err)
	}
	if st.cfg, err = resolv.ParseString(string(data)); err != nil {
		return fmt.Errorf("--resolv-conf %s: %w", path, err)
	}
	st.source = "resolv.conf " + path
	return nil
}

// fromKubelet composes the configuration as the kubelet would for the pod
// (--pod, or a ClusterFirst pod in --namespace) from the node's.
func (st *resolveSetup) fromKubelet(ctx context.Context, f *resolveFlags, stdin io.Reader, clusterDomain string, state *cluster.State, client kubernetes.Interface) error {
	k := resolv.Kubelet{ClusterDomain: clusterDomain}
	var err error
	if k.Host, err = f.nodeConfig(stdin); err != nil {
		return err
	}
	pod := &cluster.Pod{Namespace: f.namespace}
	st.source = fmt.Sprintf("a ClusterFirst pod in namespace %s", f.namespace)
	if f.pod != "" {
		if pod, err = findResolvePod(ctx, f.pod, state, client); err != nil {
			return err
		}
		st.source = podSource(pod)
	}
	dnsIP, note := f.clusterDNS, ""
	if dnsIP == "" {
		dnsIP, note = resolveClusterDNS(ctx, state, client)
	}
	if note != "" {
		st.notes = append(st.notes, note)
	}
	k.ClusterDNS = []string{dnsIP}
	st.nodeSearch = k.Host.Search
	var notes []string
	st.cfg, notes = resolv.Compose(pod, k)
	st.notes = append(st.notes, notes...)
	return nil
}

// nodeConfig is the node's resolv.conf (--node-resolv-conf) with
// --node-search added.
func (f *resolveFlags) nodeConfig(stdin io.Reader) (resolv.Config, error) {
	var host resolv.Config
	if f.nodeResolvConf != "" {
		data, err := resolveReadFile(f.nodeResolvConf, stdin)
		if err != nil {
			return host, fmt.Errorf("--node-resolv-conf: %w", err)
		}
		if host, err = resolv.ParseString(string(data)); err != nil {
			return host, fmt.Errorf("--node-resolv-conf %s: %w", f.nodeResolvConf, err)
		}
	}
	if len(f.nodeSearch) > 0 {
		host = host.WithSearch(append(append([]string(nil), host.Search...), f.nodeSearch...))
	}
	return host, nil
}

// findResolvePod finds --pod NS/NAME in the state, or asks the cluster.
func findResolvePod(ctx context.Context, arg string, state *cluster.State, client kubernetes.Interface) (*cluster.Pod, error) {
	ns, name, ok := strings.Cut(arg, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("--pod %q: want NAMESPACE/NAME", arg)
	}
	if client != nil {
		return resolveLivePod(ctx, client, ns, name)
	}
	return resolveFindPod(state, ns, name)
}

// podSource names a pod and what in it shapes its resolv.conf.
func podSource(pod *cluster.Pod) string {
	pol := pod.DNSPolicy
	if pol == "" {
		pol = cluster.DNSClusterFirst
	}
	src := fmt.Sprintf("pod %s/%s (dnsPolicy %s", pod.Namespace, pod.Name, pol)
	if pod.HostNetwork {
		src += ", hostNetwork"
	}
	if pod.DNSConfig != nil {
		src += ", dnsConfig"
	}
	return src + ")"
}

// override applies --ndots and --search over what the source gave.
func (st *resolveSetup) override(f *resolveFlags, changed func(string) bool) {
	if changed("ndots") {
		st.cfg = st.cfg.WithOption("ndots", fmt.Sprint(f.ndots))
		st.notes = append(st.notes, fmt.Sprintf("ndots:%d from --ndots", f.ndots))
	}
	if changed("search") {
		st.cfg = st.cfg.WithSearch(f.search)
		st.notes = append(st.notes, "search list from --search")
	}
}

func resolveReadFile(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(stdin, 1<<20))
	}
	return os.ReadFile(path)
}

func resolveFindPod(state *cluster.State, ns, name string) (*cluster.Pod, error) {
	for i := range state.Pods {
		if p := &state.Pods[i]; p.Namespace == ns && p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("--pod %s/%s: no such pod in the cluster state", ns, name)
}

func resolveLivePod(ctx context.Context, c kubernetes.Interface, ns, name string) (*cluster.Pod, error) {
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("--pod %s/%s: no such pod in the cluster", ns, name)
		}
		return nil, fmt.Errorf("--pod %s/%s: %w", ns, name, err)
	}
	pod, err := kubeconv.Pod(p)
	if err != nil {
		return nil, fmt.Errorf("--pod %s/%s: %w", ns, name, err)
	}
	return &pod, nil
}

// clusterDNSOf is the kube-dns Service IP from the state or the cluster.
func resolveClusterDNS(ctx context.Context, state *cluster.State, c kubernetes.Interface) (string, string) {
	if state != nil {
		for _, svc := range state.Services {
			if svc.Namespace == "kube-system" && svc.Name == "kube-dns" && len(svc.ClusterIPs) > 0 {
				return svc.ClusterIPs[0].String(), ""
			}
		}
	}
	if c != nil {
		if svc, err := c.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{}); err == nil && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
			return svc.Spec.ClusterIP, ""
		}
	}
	return resolv.DefaultClusterDNS, "no kube-system/kube-dns Service: the cluster DNS is taken to be " + resolv.DefaultClusterDNS + " (set --cluster-dns)"
}

// The JSON output: exactly {config, libc, queries, resolved_by, wasted}.
type resolveJSON struct {
	Config     resolveJSONConfig `json:"config"`
	Libc       string            `json:"libc"`
	Queries    []resolveJSONQ    `json:"queries"`
	ResolvedBy *string           `json:"resolved_by"`
	Wasted     int               `json:"wasted"`
	// Autopath is there with --server-autopath only.
	Autopath *resolveJSONAutopath `json:"autopath,omitempty"`
}

// resolveJSONAutopath is what --server-autopath changed: the queries
// without it, and what the server did with each question it could have
// expanded (an NXDOMAIN of the cluster zone).
type resolveJSONAutopath struct {
	QueriesWithout int `json:"queries_without"`
	// QueriesFirst is the pod's first lookup, while the server learns
	// its walk (queries is the next one's).
	QueriesFirst int                    `json:"queries_first"`
	Saved        int                    `json:"saved"`
	Questions    []resolveJSONAutopathQ `json:"questions"`
}

type resolveJSONAutopathQ struct {
	// Query is the index of the question in queries.
	Query    int    `json:"query"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Expanded bool   `json:"expanded"`
	// Reason is autopath's, when it does not expand the question.
	Reason string `json:"reason,omitempty"`
	// EndsAt is the name the server's walk ended at (an answer, a failed
	// step), Step its place in the walk, Asked the names the server asked.
	EndsAt string `json:"ends_at,omitempty"`
	Step   int    `json:"step,omitempty"`
	Asked  int    `json:"asked"`
}

type resolveJSONConfig struct {
	Nameservers []string `json:"nameservers"`
	Search      []string `json:"search"`
	Ndots       int      `json:"ndots"`
	Options     []string `json:"options"`
}

type resolveJSONQ struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Rcode string   `json:"rcode"`
	Ms    *float64 `json:"ms,omitempty"`
}

func resolveSearchShown(s []string) []string {
	out := make([]string, 0, len(s))
	for _, d := range s {
		if d == "" {
			d = "."
		}
		out = append(out, d)
	}
	return out
}

func writeResolveJSON(w io.Writer, st *resolveSetup, r resolv.Result, live bool) error {
	v := st.cfg.View(st.model)
	out := resolveJSON{
		Config: resolveJSONConfig{Nameservers: v.Nameservers, Search: resolveSearchShown(v.Search), Ndots: v.Ndots, Options: v.Options},
		Libc:   string(st.model.Libc),
		Wasted: r.Wasted,
	}
	if out.Config.Options == nil {
		out.Config.Options = []string{}
	}
	if r.Resolved {
		by := r.ResolvedBy
		out.ResolvedBy = &by
	}
	out.Queries = make([]resolveJSONQ, 0, len(r.Queries))
	for _, q := range r.Queries {
		jq := resolveJSONQ{Name: q.Name, Type: dns.TypeToString[q.Type], Rcode: q.RcodeString()}
		if live {
			ms := math.Round(float64(q.Elapsed.Microseconds())/10) / 100
			jq.Ms = &ms
		}
		out.Queries = append(out.Queries, jq)
	}
	if ap := st.autopath; ap != nil {
		out.Autopath = &resolveJSONAutopath{QueriesWithout: len(ap.without.Queries), QueriesFirst: len(ap.learning.Queries), Saved: len(ap.without.Queries) - len(r.Queries), Questions: []resolveJSONAutopathQ{}}
		for i := range ap.events {
			ev := &ap.events[i]
			if !ev.Considered {
				continue
			}
			out.Autopath.Questions = append(out.Autopath.Questions, resolveJSONAutopathQ{Query: i, Name: ev.Name, Type: dns.TypeToString[ev.Qtype],
				Expanded: ev.Walk.Expanded(), Reason: ev.Why, EndsAt: ev.Walk.Name, Step: ev.Walk.Saved, Asked: len(ev.Asked)})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func writeResolveText(w io.Writer, st *resolveSetup, r resolv.Result, f *resolveFlags) error {
	writeResolveConfig(w, st, r.Name, f.server)
	if err := writeResolveQueries(w, st, r, f.server); err != nil {
		return err
	}
	writeResolveOutcome(w, r, f.server != "")
	return nil
}

// event is what the server's autopath did with query i, q (nil without
// --server-autopath, or for a question it was not handed). The model
// answers the questions in the order the client sends them, one event
// each.
func (ap *resolveAutopath) event(i int, q resolv.Query) *autopath.Event {
	if ap == nil || i >= len(ap.events) {
		return nil
	}
	ev := &ap.events[i]
	if !ev.Considered || ev.Name != q.Name || ev.Qtype != q.Type {
		return nil
	}
	return ev
}

// writeResolveAutopath says what the server's autopath saved and what its
// walks cost the server.
func writeResolveAutopath(w io.Writer, st *resolveSetup, r resolv.Result) {
	ap := st.autopath
	without := len(ap.without.Queries)
	fmt.Fprintf(w, "server autopath: %d queries instead of %d without it, %d saved\n", len(r.Queries), without, without-len(r.Queries))
	if first := len(ap.learning.Queries); first != len(r.Queries) {
		fmt.Fprintf(w, "  after the pod's first lookup in its namespace (%d queries), which shows the server the pod's own walk; again every %v\n", first, ap.trustFor)
	}
	walks, asked, outside := 0, 0, 0
	for i := range ap.events {
		ev := &ap.events[i]
		if !ev.Expanded() {
			continue
		}
		walks++
		asked += len(ev.Asked)
		for _, a := range ev.Asked {
			if !resolv.InZone(st.snap, a.Name) {
				outside++
			}
		}
	}
	if walks > 0 {
		fmt.Fprintf(w, "  the server walked %d time(s), asking %d name(s) itself, %d of them outside the cluster zone (forwarded)\n", walks, asked, outside)
	}
	fmt.Fprintln(w)
}

// writeResolveConfig says what is asked and the configuration the client
// uses.
func writeResolveConfig(w io.Writer, st *resolveSetup, name, server string) {
	v := st.cfg.View(st.model)
	mode := "dry run, answered by the record engine"
	if st.autopath != nil {
		mode += " as a server with autopath"
	}
	if server != "" {
		mode = "sent to " + server
	}
	fmt.Fprintf(w, "%s: %s, %s\n", name, st.model, mode)
	fmt.Fprintf(w, "resolv.conf of %s:\n", st.source)
	for _, l := range strings.Split(strings.TrimRight(st.cfg.Text(), "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "  => %s uses: ndots:%d, %d search domain(s), timeout %s, attempts %d, questions sent %s\n",
		st.model.Libc, v.Ndots, len(v.Search), v.Timeout, v.Attempts, st.model.SendMode(v))
	for _, n := range st.notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, n := range v.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintln(w)
}

// writeResolveQueries is the table of questions sent, in order, with their
// answers (and times, live).
func writeResolveQueries(w io.Writer, st *resolveSetup, r resolv.Result, server string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	switch {
	case server != "":
		fmt.Fprintln(tw, "  #\tquestion\ttype\tanswer\tms")
	case st.autopath != nil:
		fmt.Fprintln(tw, "  #\tquestion\ttype\tanswer\tserver autopath")
	default:
		fmt.Fprintln(tw, "  #\tquestion\ttype\tanswer")
	}
	for i, q := range r.Queries {
		ans := q.RcodeString()
		if q.Rcode == 0 && q.Answers > 0 {
			ans = fmt.Sprintf("NOERROR (%d)", q.Answers)
		}
		if q.Try > 1 {
			ans += fmt.Sprintf(" [try %d]", q.Try)
		}
		if q.TCP {
			ans += " [TCP]"
		}
		answeredBy := q.Name
		ev := st.autopath.event(i, q)
		if ev != nil && ev.Walk.Expanded() {
			answeredBy = ev.Walk.Name
		}
		if server == "" && st.snap != nil && !resolv.InZone(st.snap, answeredBy) && q.Rcode != dns.RcodeRefused {
			ans += " (upstream, assumed)"
		}
		switch {
		case server != "":
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%.1f\n", i+1, q.Name, dns.TypeToString[q.Type], ans, float64(q.Elapsed.Microseconds())/1000)
		case st.autopath != nil:
			note := ""
			if ev != nil {
				note = ev.String()
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", i+1, q.Name, dns.TypeToString[q.Type], ans, note)
		default:
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", i+1, q.Name, dns.TypeToString[q.Type], ans)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if st.autopath != nil {
		writeResolveAutopath(w, st, r)
	}
	return nil
}

// writeResolveOutcome says how the client ended, what went wrong on the
// way and what to change.
func writeResolveOutcome(w io.Writer, r resolv.Result, live bool) {
	if r.Resolved {
		fmt.Fprintf(w, "resolved by %s: %d queries, %d wasted\n", r.ResolvedBy, len(r.Queries), r.Wasted)
	} else {
		fmt.Fprintf(w, "not resolved (%s): %d queries, %d wasted\n", r.Error, len(r.Queries), r.Wasted)
	}
	fmt.Fprintf(w, "  %s\n", r.Stop)
	if r.Stall > 0 {
		fmt.Fprintf(w, "  the client waits %s for replies that do not come\n", r.Stall)
	}
	var flags []resolv.Flag
	for _, fl := range r.Flags {
		if fl.Kind != "server-error" || live {
			flags = append(flags, fl)
		}
	}
	if len(flags) > 0 {
		fmt.Fprintln(w, "\nflags:")
		for _, fl := range flags {
			where := ""
			if fl.Query >= 0 {
				where = fmt.Sprintf(" (#%d)", fl.Query+1)
			}
			fmt.Fprintf(w, "  ! %s%s: %s\n", fl.Kind, where, fl.Message)
		}
	}
	if tips := resolv.Advice(r); len(tips) > 0 {
		fmt.Fprintln(w, "\nadvice:")
		for _, t := range tips {
			fmt.Fprintf(w, "  - %s\n", t.Message)
			if t.Fix != "" {
				fmt.Fprintf(w, "    fix: %s\n", t.Fix)
			}
		}
	}
}
