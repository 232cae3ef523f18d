//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"k8s.io/client-go/kubernetes"
)

// The control plane itself (etcd, kube-apiserver, kube-controller-manager,
// the node and the fake kubelet) lives in package controlplane, which the
// benchmark (bench/) runs too; this file adds the two DNS servers under
// comparison.

const (
	k8sVersion     = controlplane.K8sVersion
	corednsVersion = controlplane.CoreDNSVersion
	zoneName       = controlplane.Zone
	nodeName       = controlplane.NodeName
	// manualLabel on a pod (value "manual") keeps the fake kubelet's hands
	// off it: the test binds it and writes its status itself.
	manualLabel = controlplane.ManualLabel
)

// env is the running control plane and the two DNS servers, set up once by
// TestMain. setupSkip is why it is missing when the prerequisites are absent.
var (
	env       *environment
	setupSkip string
)

// required reports whether missing prerequisites fail the run instead of
// skipping it.
func required() bool {
	return os.Getenv("CI") != "" || os.Getenv("CLUSTERDNS_E2E") == "1"
}

// need returns the environment, skipping (or, in CI, failing) the test when
// the prerequisites are missing.
func need(t *testing.T) *environment {
	t.Helper()
	if env == nil {
		if required() {
			t.Fatalf("e2e prerequisites missing (CI or CLUSTERDNS_E2E=1 is set, so this fails): %s", setupSkip)
		}
		t.Skipf("e2e prerequisites missing: %s (run `make e2e`, or set CLUSTERDNS_E2E=1 to make this fail)", setupSkip)
	}
	return env
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	bins, missing := controlplane.FindBinaries()
	if len(missing) > 0 && required() && controlplane.BinariesBuildable(missing) {
		fmt.Fprintf(os.Stderr, "e2e: missing %s; running test/e2e/tools/build.sh (the first build takes minutes)\n", strings.Join(missing, ", "))
		cmd := exec.Command("bash", filepath.Join("tools", "build.sh"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build.sh failed: %v\n", err)
		}
		bins, missing = controlplane.FindBinaries()
	}
	if len(missing) > 0 {
		setupSkip = "missing " + strings.Join(missing, ", ") + " (`bash test/e2e/tools/build.sh` builds them)"
		fmt.Fprintf(os.Stderr, "e2e: %s\n", setupSkip)
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "clusterdns-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	fmt.Printf("e2e: work directory %s\n", dir)
	e := &environment{dir: dir, bins: bins}
	code := 1
	defer func() {
		e.stop()
		printDiffSummary(os.Stdout)
		if code == 0 && os.Getenv("CLUSTERDNS_E2E_KEEP") == "" {
			os.RemoveAll(dir)
		} else {
			fmt.Printf("e2e: logs and state kept in %s\n", dir)
		}
	}()
	start := time.Now()
	if err := e.start(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: setting up: %v\n", err)
		e.dumpLogs(os.Stderr)
		return 1
	}
	fmt.Printf("e2e: control plane, clusterdns and CoreDNS up in %v; clusterdns on %s, CoreDNS on %s\n",
		time.Since(start).Round(time.Millisecond), e.clusterdns.addr, e.coredns.addr)
	env = e
	code = m.Run()
	if code != 0 {
		e.dumpLogs(os.Stderr)
	}
	return code
}

// proc is a child process (see controlplane.Proc).
type proc = controlplane.Proc

// environment is the control plane plus the two DNS servers under test.
type environment struct {
	dir  string
	bins controlplane.Binaries
	cp   *controlplane.ControlPlane

	apiPort         int
	apiURL          string
	caFile          string
	adminKubeconfig string

	apiserver, kcm *proc

	cs      kubernetes.Interface
	kubelet *controlplane.Kubelet

	clusterdnsBin string
	dnsHost       string     // address clusterdns and CoreDNS listen on
	clusterdns    *dnsServer // --pod-records insecure --ttl 5, JSON logs
	coredns       *dnsServer // kubernetes plugin, pods insecure, ttl 5
}

func (e *environment) path(name string) string { return filepath.Join(e.dir, name) }

func (e *environment) start() error {
	// Build clusterdns while the control plane starts.
	buildErr := make(chan error, 1)
	go func() { buildErr <- e.buildClusterdns() }()

	cp, err := controlplane.Start(e.dir, e.bins, controlplane.Options{})
	if err != nil {
		<-buildErr
		return err
	}
	e.cp = cp
	e.apiPort, e.apiURL, e.caFile, e.adminKubeconfig = cp.APIPort, cp.APIURL, cp.CAFile, cp.AdminKubeconfig
	e.apiserver, e.kcm = cp.APIServer, cp.KCM
	e.cs, e.kubelet = cp.CS, cp.Kubelet
	if err := <-buildErr; err != nil {
		return err
	}
	// The DNS servers under test and for reference.
	e.dnsHost = dnsHost()
	cd, err := e.startClusterdns("clusterdns", e.dnsHost, e.adminKubeconfig, "--pod-records", "insecure", "--ttl", "5")
	if err != nil {
		return err
	}
	e.clusterdns = cd
	if err := cd.waitReady(60 * time.Second); err != nil {
		return err
	}
	core, err := e.startCoreDNS()
	if err != nil {
		return err
	}
	e.coredns = core
	for _, s := range []*dnsServer{cd, core} {
		if err := s.waitAnswering(60 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

func (e *environment) stop() {
	if e.cp != nil && e.cp.Kubelet != nil {
		// Stop the kubelet before the DNS servers, as before the split.
		e.cp.Kubelet.Stop()
		e.cp.Kubelet = nil
	}
	for _, s := range []*dnsServer{e.clusterdns, e.coredns} {
		if s != nil {
			s.proc.Stop()
		}
	}
	if e.cp != nil {
		e.cp.Stop()
	}
}

// dumpLogs writes the tail of every component's log.
func (e *environment) dumpLogs(w io.Writer) {
	if e.cp != nil {
		for _, p := range e.cp.Procs() {
			fmt.Fprintf(w, "\n===== last lines of %s (%s) =====\n%s\n", p.Name, p.LogPath, p.Tail(30))
		}
	}
	for _, s := range []*dnsServer{e.clusterdns, e.coredns} {
		if s != nil {
			fmt.Fprintf(w, "\n===== last lines of %s (%s) =====\n%s\n", s.name, s.proc.LogPath, s.proc.Tail(40))
		}
	}
}

func (e *environment) buildClusterdns() error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	e.clusterdnsBin = e.path("clusterdns")
	cmd := exec.Command("go", "build", "-o", e.clusterdnsBin, "./cmd/clusterdns")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/clusterdns: %v\n%s", err, out)
	}
	return nil
}

// restartAPIServer starts kube-apiserver again with the same flags and etcd.
func (e *environment) restartAPIServer() error { return e.cp.RestartAPIServer() }

// freePort returns a port that is free on 127.0.0.1 for both TCP and UDP.
func freePort() int { return controlplane.FreePort() }

// freePortOn returns a port that is free on host for both TCP and UDP.
func freePortOn(host string) int { return controlplane.FreePortOn(host) }

// dnsHost is where the compared DNS servers listen: CLUSTERDNS_E2E_DNS_IP,
// else 127.0.0.1.
func dnsHost() string {
	if ip := os.Getenv("CLUSTERDNS_E2E_DNS_IP"); ip != "" {
		return ip
	}
	return "127.0.0.1"
}

// ---- small helpers for tests ----

// poll calls f every interval until it returns true or timeout passes; it
// returns the last description f gave and whether it succeeded.
func poll(timeout, interval time.Duration, f func() (bool, string)) (bool, string) {
	return controlplane.Poll(timeout, interval, f)
}

// eventually fails the test if f does not succeed within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	if ok, last := poll(timeout, 50*time.Millisecond, f); !ok {
		t.Fatalf("%s: not true within %v; last: %s", what, timeout, last)
	}
}

func ptr[T any](v T) *T { return &v }

var _ = context.Background
