//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	k8sVersion     = "v1.37.2"
	corednsVersion = "v1.14.2"
	zoneName       = "cluster.local"
	nodeName       = "e2e-node"
	adminToken     = "e2e-admin-token"
	// serviceCIDRs is dual-stack; the first family is the default.
	serviceCIDRs = "10.96.0.0/16,fd00:96::/112"
)

// controllers are the kube-controller-manager controllers the scenarios need.
var controllers = []string{
	"endpointslice-controller",
	"endpointslice-mirroring-controller",
	"statefulset-controller",
	"replicaset-controller",
	"deployment-controller",
	"garbage-collector-controller",
}

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
	bins, missing := findBinaries()
	if len(missing) > 0 && required() && binariesBuildable(missing) {
		fmt.Fprintf(os.Stderr, "e2e: missing %s; running test/e2e/tools/build.sh (the first build takes minutes)\n", strings.Join(missing, ", "))
		cmd := exec.Command("bash", filepath.Join("tools", "build.sh"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build.sh failed: %v\n", err)
		}
		bins, missing = findBinaries()
	}
	if len(missing) > 0 {
		setupSkip = "missing " + strings.Join(missing, ", ") + " (`bash test/e2e/tools/build.sh` builds all but etcd; etcd: `apt-get install etcd-server`)"
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

// binaries are the programs the harness runs.
type binaries struct {
	apiserver, controllerManager, kubectl, coredns, etcd string
}

func cacheDir() string {
	if d := os.Getenv("CLUSTERDNS_CACHE"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "clusterdns")
}

// findBinaries looks for the binaries build.sh writes and for etcd, and
// names those that are missing.
func findBinaries() (binaries, []string) {
	var b binaries
	var missing []string
	kdir := filepath.Join(cacheDir(), "kubernetes-"+k8sVersion)
	cdir := filepath.Join(cacheDir(), "coredns-"+corednsVersion)
	for _, x := range []struct {
		dst  *string
		path string
	}{
		{&b.apiserver, filepath.Join(kdir, "kube-apiserver")},
		{&b.controllerManager, filepath.Join(kdir, "kube-controller-manager")},
		{&b.kubectl, filepath.Join(kdir, "kubectl")},
		{&b.coredns, filepath.Join(cdir, "coredns")},
	} {
		if st, err := os.Stat(x.path); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, x.path)
			continue
		}
		*x.dst = x.path
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		b.etcd = p
	} else {
		missing = append(missing, "etcd in $PATH")
	}
	return b, missing
}

// binariesBuildable reports whether build.sh can provide what is missing
// (it builds everything but etcd).
func binariesBuildable(missing []string) bool {
	for _, m := range missing {
		if !strings.HasPrefix(m, "etcd") {
			return true
		}
	}
	return false
}

// environment is the control plane plus the two DNS servers under test.
type environment struct {
	dir  string
	bins binaries

	etcdPort, apiPort int
	apiURL            string
	caFile            string
	adminKubeconfig   string

	etcd, apiserver, kcm *proc

	restConfig *rest.Config
	cs         kubernetes.Interface
	kubelet    *fakeKubelet

	clusterdnsBin string
	dnsHost       string     // address clusterdns and CoreDNS listen on
	clusterdns    *dnsServer // --pod-records insecure --ttl 5, JSON logs
	coredns       *dnsServer // kubernetes plugin, pods insecure, ttl 5

	mu      sync.Mutex
	stopped bool
	cancel  context.CancelFunc
}

func (e *environment) path(name string) string { return filepath.Join(e.dir, name) }

func (e *environment) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel

	// Build clusterdns while the control plane starts.
	buildErr := make(chan error, 1)
	go func() { buildErr <- e.buildClusterdns() }()

	if err := writePKI(e.dir); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	e.caFile = e.path("ca.crt")
	if err := os.WriteFile(e.path("tokens.csv"), []byte(adminToken+",admin,admin,\"system:masters\"\n"), 0o600); err != nil {
		return err
	}
	if err := e.startEtcd(); err != nil {
		return err
	}
	if err := e.startAPIServer(); err != nil {
		return err
	}
	e.adminKubeconfig = e.path("admin.kubeconfig")
	if err := writeKubeconfig(e.adminKubeconfig, e.apiURL, e.caFile, adminToken); err != nil {
		return err
	}
	e.restConfig = &rest.Config{
		Host:            e.apiURL,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: e.caFile},
		QPS:             200,
		Burst:           400,
		Timeout:         20 * time.Second,
	}
	cs, err := kubernetes.NewForConfig(e.restConfig)
	if err != nil {
		return err
	}
	e.cs = cs
	if err := e.startControllerManager(); err != nil {
		return err
	}
	if err := e.createNode(ctx); err != nil {
		return err
	}
	e.kubelet = newFakeKubelet(cs)
	if err := e.kubelet.start(ctx); err != nil {
		return err
	}
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
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	e.mu.Unlock()
	if e.kubelet != nil {
		e.kubelet.stop()
	}
	if e.cancel != nil {
		e.cancel()
	}
	var ps []*proc
	for _, s := range []*dnsServer{e.clusterdns, e.coredns} {
		if s != nil {
			ps = append(ps, s.proc)
		}
	}
	ps = append(ps, e.kcm, e.apiserver, e.etcd)
	for _, p := range ps {
		if p != nil {
			p.stop()
		}
	}
}

// dumpLogs writes the tail of every component's log.
func (e *environment) dumpLogs(w io.Writer) {
	for _, p := range []*proc{e.etcd, e.apiserver, e.kcm} {
		if p != nil {
			fmt.Fprintf(w, "\n===== last lines of %s (%s) =====\n%s\n", p.name, p.logPath, p.tail(30))
		}
	}
	for _, s := range []*dnsServer{e.clusterdns, e.coredns} {
		if s != nil {
			fmt.Fprintf(w, "\n===== last lines of %s (%s) =====\n%s\n", s.name, s.proc.logPath, s.proc.tail(40))
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

func (e *environment) startEtcd() error {
	client, peer := freePort(), freePort()
	e.etcdPort = client
	cu := fmt.Sprintf("http://127.0.0.1:%d", client)
	pu := fmt.Sprintf("http://127.0.0.1:%d", peer)
	e.etcd = &proc{name: "etcd", bin: e.bins.etcd, logPath: e.path("etcd.log"), args: []string{
		"--name", "e2e",
		"--data-dir", e.path("etcd"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "e2e=" + pu,
		"--log-level", "warn", "--logger", "zap",
	}}
	if err := e.etcd.start(); err != nil {
		return err
	}
	return e.etcd.waitHTTP(cu+"/health", nil, 200, 30*time.Second)
}

func (e *environment) apiserverArgs() []string {
	return []string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", e.etcdPort),
		"--secure-port", strconv.Itoa(e.apiPort),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--cert-dir", e.path("apiserver-certs"),
		"--tls-cert-file", e.path("apiserver.crt"),
		"--tls-private-key-file", e.path("apiserver.key"),
		"--client-ca-file", e.caFile,
		"--service-account-issuer", "https://kubernetes.default.svc." + zoneName,
		"--service-account-key-file", e.path("sa.pub"),
		"--service-account-signing-key-file", e.path("sa.key"),
		"--token-auth-file", e.path("tokens.csv"),
		"--authorization-mode", "Node,RBAC",
		"--service-cluster-ip-range", serviceCIDRs,
		"--endpoint-reconciler-type", "none",
		// No kubelet mounts tokens here, and pods must not wait for the
		// "default" ServiceAccount.
		"--disable-admission-plugins", "ServiceAccount",
		"--v", "1",
	}
}

func (e *environment) startAPIServer() error {
	e.apiPort = freePort()
	e.apiURL = fmt.Sprintf("https://127.0.0.1:%d", e.apiPort)
	e.apiserver = &proc{name: "kube-apiserver", bin: e.bins.apiserver, logPath: e.path("kube-apiserver.log"), args: e.apiserverArgs()}
	if err := e.apiserver.start(); err != nil {
		return err
	}
	return e.waitAPIServer(90 * time.Second)
}

func (e *environment) waitAPIServer(timeout time.Duration) error {
	return e.apiserver.waitHTTP(e.apiURL+"/readyz", map[string]string{"Authorization": "Bearer " + adminToken}, 200, timeout)
}

// restartAPIServer starts kube-apiserver again with the same flags and etcd.
func (e *environment) restartAPIServer() error {
	if err := e.apiserver.start(); err != nil {
		return err
	}
	return e.waitAPIServer(90 * time.Second)
}

func (e *environment) startControllerManager() error {
	port := freePort()
	e.kcm = &proc{name: "kube-controller-manager", bin: e.bins.controllerManager, logPath: e.path("kube-controller-manager.log"), args: []string{
		"--kubeconfig", e.adminKubeconfig,
		"--authentication-kubeconfig", e.adminKubeconfig,
		"--authorization-kubeconfig", e.adminKubeconfig,
		"--controllers", strings.Join(controllers, ","),
		"--leader-elect=false",
		"--service-account-private-key-file", e.path("sa.key"),
		"--root-ca-file", e.caFile,
		"--use-service-account-credentials=false",
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(port),
		"--cert-dir", e.path("kcm-certs"),
		"--v", "1",
	}}
	if err := e.kcm.start(); err != nil {
		return err
	}
	// /healthz is served without credentials.
	return e.kcm.waitHTTP(fmt.Sprintf("https://127.0.0.1:%d/healthz", port), nil, 200, 60*time.Second)
}

// createNode registers the node the fake kubelet runs every pod on; the
// EndpointSlice controller skips pods whose node does not exist.
func (e *environment) createNode(ctx context.Context) error {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName, Labels: map[string]string{"kubernetes.io/hostname": nodeName}}}
	created, err := e.cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating node: %w", err)
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
	}
	_, err = e.cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// ---- processes ----

// proc is one child process; it can be started again after it stops.
type proc struct {
	name    string
	bin     string
	args    []string
	logPath string
	onLine  func(string) // called for every line of output, when set

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running", p.name)
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "### %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	// Children die with the test binary even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r, w, err := os.Pipe()
	if err != nil {
		f.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		f.Close()
		r.Close()
		w.Close()
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	w.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			f.WriteString(line + "\n")
			if p.onLine != nil {
				p.onLine(line)
			}
		}
		io.Copy(f, r)
		r.Close()
	}()
	done := make(chan struct{})
	p.cmd, p.done, p.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		<-copied
		fmt.Fprintf(f, "### %s exited: %v\n", time.Now().Format(time.RFC3339Nano), err)
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *proc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *proc) running() bool {
	select {
	case <-p.exited():
		return false
	default:
		return true
	}
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// stop sends SIGTERM, and SIGKILL after 15 seconds.
func (p *proc) stop() { p.stopWithin(15 * time.Second) }

// stopWithin sends SIGTERM, and SIGKILL after grace.
func (p *proc) stopWithin(grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

// tail returns the last n lines of the log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitHTTP polls url until it answers status, failing early if the process
// exits.
func (p *proc) waitHTTP(url string, header map[string]string, status int, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		if !p.running() {
			return fmt.Errorf("%s exited while waiting for %s: %v\n%s", p.name, url, p.exitErr(), p.tail(40))
		}
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == status {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: %s did not answer %d within %v (last: %s)\n%s", p.name, url, status, timeout, last, p.tail(40))
}

// freePort returns a port that is free on 127.0.0.1 for both TCP and UDP.
func freePort() int { return freePortOn("127.0.0.1") }

// freePortOn returns a port that is free on host for both TCP and UDP.
func freePortOn(host string) int {
	for {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			panic(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
}

// dnsHost is where the compared DNS servers listen: CLUSTERDNS_E2E_DNS_IP,
// else 127.0.0.1.
func dnsHost() string {
	if ip := os.Getenv("CLUSTERDNS_E2E_DNS_IP"); ip != "" {
		return ip
	}
	return "127.0.0.1"
}

// ---- certificates and kubeconfigs ----

// writePKI writes a CA, a serving certificate for 127.0.0.1 signed by it and
// the service-account key pair into dir.
func writePKI(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "clusterdns-e2e-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + zoneName},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{
		"ca.crt":        {Type: "CERTIFICATE", Bytes: caDER},
		"apiserver.crt": {Type: "CERTIFICATE", Bytes: srvDER},
		"apiserver.key": {Type: "EC PRIVATE KEY", Bytes: srvKeyDER},
		"sa.key":        {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)},
		"sa.pub":        {Type: "PUBLIC KEY", Bytes: saPub},
	}
	for name, blk := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(blk), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// writeKubeconfig writes a kubeconfig with one context "e2e" that talks to
// server with a bearer token.
func writeKubeconfig(path, server, caFile, token string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	// JSON is YAML; no YAML library needed.
	cfg := fmt.Sprintf(`{
  "apiVersion": "v1",
  "kind": "Config",
  "clusters": [{"name": "e2e", "cluster": {"server": %q, "certificate-authority-data": %q}}],
  "users": [{"name": "e2e", "user": {"token": %q}}],
  "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "e2e"}}],
  "current-context": "e2e"
}
`, server, b64(ca), token)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// ---- small helpers for tests ----

// poll calls f every interval until it returns true or timeout passes; it
// returns the last description f gave and whether it succeeded.
func poll(timeout, interval time.Duration, f func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, desc := f()
		last = desc
		if ok {
			return true, last
		}
		if time.Now().After(deadline) {
			return false, last
		}
		time.Sleep(interval)
	}
}

// eventually fails the test if f does not succeed within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	if ok, last := poll(timeout, 50*time.Millisecond, f); !ok {
		t.Fatalf("%s: not true within %v; last: %s", what, timeout, last)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
