// Command bench measures clusterdns against CoreDNS 1.14.2 (the kubernetes
// plugin), a minimal Go responder (the practical ceiling of a Go UDP
// server) and Knot DNS, on one machine, from the same cluster state created
// through a real control plane (test/e2e/controlplane). It writes
// bench/RESULTS.md.
//
//	make bench         # the full run (about 25 minutes once built)
//	make bench-quick   # a developer's check, under 3 minutes
//
// Flags: -quick, -out FILE, -rounds N, -seconds S, -keep (keep the work
// directory), -only LIST (comma-separated phases: throughput, latency, forward, hotpath, autopath,
// large, tcp, prog, memory, metrics, churn, scale, doctor).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
)

type config struct {
	quick   bool
	out     string
	rounds  int
	seconds float64
	keep    bool
	hold    bool
	pin     bool
	// scaleServices is the scale phase's Service count (-scale-services).
	scaleServices int
	// stateDir keeps the control plane's data and the record of the
	// created state, reused by the next run (-state-dir; scale only).
	stateDir string
	only     map[string]bool
}

func (c config) want(phase string) bool { return len(c.only) == 0 || c.only[phase] }

func main() {
	var c config
	var only string
	flag.BoolVar(&c.quick, "quick", false, "the quick variant: one short round, fewer sizes, no scale-up")
	flag.StringVar(&c.out, "out", "", "write the results (markdown) here")
	flag.IntVar(&c.rounds, "rounds", 0, "rounds per throughput measurement (default 3, quick 1)")
	flag.Float64Var(&c.seconds, "seconds", 0, "seconds per dnsperf run (default 6, quick 3)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory (logs, zone files, query files)")
	flag.BoolVar(&c.hold, "hold", false, "set up, start every server, print their addresses and wait for SIGINT (for profiling)")
	flag.BoolVar(&c.pin, "pin", false, "run every server on CPU 0 and dnsperf on CPU 1 (taskset), so the load generator's CPU is not taken from the server")
	flag.IntVar(&c.scaleServices, "scale-services", 50000, "Services of the scale phase's state (a fifth headless, 6 endpoints each beyond the base state)")
	flag.StringVar(&c.stateDir, "state-dir", "", "with -only scale: keep the control plane's data and the created state in this directory and reuse them in the next run (the 50k state takes most of the phase to write)")
	flag.StringVar(&only, "only", "", "comma-separated phases to run (throughput,latency,large,tcp,forward,hotpath,autopath,prog,memory,churn,scale,doctor)")
	flag.Parse()
	if c.rounds == 0 {
		c.rounds = 3
		if c.quick {
			c.rounds = 1
		}
	}
	if c.seconds == 0 {
		c.seconds = 6
		if c.quick {
			c.seconds = 3
		}
	}
	if only != "" {
		c.only = map[string]bool{}
		for _, p := range strings.Split(only, ",") {
			c.only[strings.TrimSpace(p)] = true
		}
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// repoRoot finds the module root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "bench")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from the clusterdns repository")
		}
		dir = parent
	}
}

// run sets up the control plane and the state, runs the phases of
// c.only and writes the results.
func run(c config) error {
	began := time.Now()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	bins, err := findTools()
	if err != nil {
		return err
	}
	var dir string
	if c.stateDir != "" {
		if len(c.only) != 1 || !c.only["scale"] || c.hold {
			return fmt.Errorf("-state-dir is for -only scale: the other phases change the state they measure")
		}
		if dir, err = filepath.Abs(c.stateDir); err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
	} else {
		dir, err = os.MkdirTemp("", "clusterdns-bench-")
	}
	if err != nil {
		return err
	}
	logf("work directory %s", dir)
	ok := false
	defer func() {
		if c.stateDir != "" {
			logf("control plane data and state kept in %s for the next -state-dir run", dir)
		} else if ok && !c.keep {
			os.RemoveAll(dir)
		} else {
			logf("logs and state kept in %s", dir)
		}
	}()

	e := &benchEnv{dir: dir, st: newState(), pin: c.pin}
	pinDnsperf = c.pin
	buildErr := buildServers(root, e)
	t0 := time.Now()
	cp, err := startControlPlane(dir, bins)
	if err != nil {
		<-buildErr
		return fmt.Errorf("control plane: %w", err)
	}
	defer cp.Stop()
	e.cp = cp
	if err := <-buildErr; err != nil {
		return err
	}
	logf("control plane up in %v", time.Since(t0).Round(time.Millisecond))

	r := newResults(c, bins)
	r.commandLine = "go run ./bench " + strings.Join(os.Args[1:], " ")
	if err := r.collectVersions(e); err != nil {
		return err
	}
	ctx := context.Background()
	b, err := newBuilder(cp, e.st)
	if err != nil {
		return err
	}
	if c.stateDir != "" {
		reused, err := e.st.load(dir)
		if err != nil {
			return err
		}
		if reused {
			svcs, eps := e.st.counts()
			r.baseServices, r.baseEndpoints = svcs, eps
			logf("state reused from %s: %d services, %d endpoints", dir, svcs, eps)
		} else {
			if err := setupState(ctx, c, e, b, r); err != nil {
				return err
			}
			if err := e.st.save(dir); err != nil {
				return err
			}
		}
	} else if err := setupState(ctx, c, e, b, r); err != nil {
		return err
	}
	if c.hold {
		return hold(e)
	}
	if err := measure(ctx, c, e, b, r); err != nil {
		return err
	}
	if !c.quick && (c.want("memory") || c.want("prog")) {
		if err := profileZone(root, e, r); err != nil {
			return err
		}
	}
	r.total = time.Since(began)
	if err := publish(c, r); err != nil {
		return err
	}
	ok = true
	return nil
}

// findTools finds the control plane's binaries, dnsperf and Knot DNS.
func findTools() (controlplane.Binaries, error) {
	bins, missing := controlplane.FindBinaries()
	if len(missing) > 0 {
		return bins, fmt.Errorf("missing %s: run `bash test/e2e/tools/build.sh` and `apt-get install etcd-server` (make bench does both)", strings.Join(missing, ", "))
	}
	for _, tool := range []string{"dnsperf", knotd} {
		if _, err := exec.LookPath(tool); err != nil {
			return bins, fmt.Errorf("%s not found: apt-get install dnsperf knot (make bench does)", tool)
		}
	}
	return bins, nil
}

// buildServers builds clusterdns and the ceiling in the background, so
// that it overlaps the control plane's start; the channel says when it is
// done. clusterdns is built as the Dockerfile builds it (static, stripped;
// CoreDNS is built as its releases are, by test/e2e/tools/build.sh): a cgo
// build of clusterdns exports every symbol (kustomize imports "plugin"),
// which alone adds 40 MiB of resident binary.
func buildServers(root string, e *benchEnv) <-chan error {
	e.clusterdns, e.ceiling = filepath.Join(e.dir, "clusterdns"), filepath.Join(e.dir, "ceiling")
	buildErr := make(chan error, 1)
	go func() {
		for _, b := range [][2]string{{e.clusterdns, "./cmd/clusterdns"}, {e.ceiling, "./bench/ceiling"}} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b[0], b[1])
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr <- fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
		buildErr <- nil
	}()
	return buildErr
}

// startControlPlane starts the control plane, without a kubelet, with
// its state and logs in dir.
func startControlPlane(dir string, bins controlplane.Binaries) (*controlplane.ControlPlane, error) {
	return controlplane.Start(dir, bins, controlplane.Options{
		// The benchmark writes EndpointSlices itself (selectorless
		// services); the controllers would only add load.
		Controllers: []string{"endpointslice-controller", "endpointslice-mirroring-controller"},
		NoKubelet:   true,
		ClientQPS:   3000, ClientBurst: 6000,
		EtcdQuotaBytes: 8 << 30,
	})
}

// setupState creates the base state through the API and records its size
// and how long it took.
func setupState(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	t0 := time.Now()
	if err := setupBase(ctx, b, c); err != nil {
		return err
	}
	r.baseServices, r.baseEndpoints = e.st.counts()
	logf("base state: %d services, %d endpoints in %v", r.baseServices, r.baseEndpoints, time.Since(t0).Round(time.Millisecond))
	r.setupTime = time.Since(t0)
	return nil
}

// publish writes the results to -out and to stdout.
func publish(c config, r *results) error {
	md := r.markdown()
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(md), 0o644); err != nil {
			return err
		}
		logf("wrote %s", c.out)
	}
	fmt.Print(md)
	return nil
}

// setupBase creates the state every throughput figure is measured on: 1,000
// services over 10 namespaces, one in five headless, 10 endpoints each; the
// large headless services; and the headless service of the programming
// latency run.
func setupBase(ctx context.Context, b *builder, c config) error {
	var nss []string
	for i := range 10 {
		nss = append(nss, fmt.Sprintf("bench-%d", i))
	}
	if err := b.namespaces(ctx, append(nss, largeNS, progNS)...); err != nil {
		return err
	}
	if err := b.create(ctx, spec{prefix: "svc", namespaces: nss, count: 1000, headlessEvery: 5, eps: 10}); err != nil {
		return err
	}
	for _, n := range largeSizes(c) {
		if err := b.create(ctx, spec{prefix: fmt.Sprintf("big%d", n), namespaces: []string{largeNS}, count: 1, headlessEvery: 1, eps: n}); err != nil {
			return err
		}
	}
	return b.create(ctx, spec{prefix: "churn", namespaces: []string{progNS}, count: 1, headlessEvery: 1, eps: 1000})
}

func largeSizes(c config) []int {
	if c.quick {
		return []int{1000}
	}
	return []int{100, 1000, 4000}
}

var _ = runtime.NumCPU

// hold starts every server and waits for SIGINT, writing the query files.
func hold(e *benchEnv) error {
	servers, err := startAll(e, throughputKinds)
	if err != nil {
		return err
	}
	defer stopAll(servers)
	for _, mix := range []string{mixA, mixB, mixC} {
		if err := writeQueries(e.path("mix-"+mix+".txt"), mixQueries(e.st, mix)); err != nil {
			return err
		}
		if err := writeBinaryQueries(e.path("mix-"+mix+".bin"), mixQueries(e.st, mix), 1232); err != nil {
			return err
		}
	}
	for _, k := range throughputKinds {
		s := servers[k]
		fmt.Printf("%-22s %s pid %d %s\n", k, s.addr, s.proc.Pid(), s.metrics)
	}
	fmt.Printf("query files: %s/mix-{a,b,c}.txt (text, no EDNS) and .bin (dnsperf -B, EDNS 1232); kubeconfig %s\n", e.dir, e.cp.AdminKubeconfig)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

// profileZone runs bench/zoneprof (the record engine in process on the
// largest state) and keeps its report and the top of its heap and CPU
// profiles for RESULTS.md: they say what limits memory, start-up and
// programming latency.
func profileZone(root string, e *benchEnv, r *results) error {
	heap, cpu := e.path("zone-heap.prof"), e.path("zone-update.prof")
	cmd := exec.Command("go", "run", "./bench/zoneprof", "-heap", heap, "-cpu", cpu)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("zoneprof: %v\n%s", err, out)
	}
	r.zoneReport = strings.TrimSpace(string(out))
	for _, p := range []struct {
		dst  *string
		args []string
	}{
		{&r.zoneHeapTop, []string{"tool", "pprof", "-top", "-nodecount=12", "-sample_index=inuse_space", heap}},
		{&r.zoneCPUTop, []string{"tool", "pprof", "-top", "-nodecount=10", cpu}},
	} {
		cmd := exec.Command("go", p.args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go %s: %v", strings.Join(p.args, " "), err)
		}
		*p.dst = pprofTop(string(out))
	}
	logf("zone profile: %s", r.zoneReport)
	return nil
}

// pprofTop keeps the table of a `pprof -top` output.
func pprofTop(s string) string {
	var keep []string
	on := false
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "Showing nodes") || strings.Contains(l, "flat%") {
			on = true
		}
		if on && strings.TrimSpace(l) != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
