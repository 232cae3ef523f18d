// Package controlplane runs a real Kubernetes control plane on loopback for
// the end-to-end tests and the benchmark: etcd, kube-apiserver and
// kube-controller-manager (the real EndpointSlice, StatefulSet, Deployment
// and garbage-collector controllers), one registered node and a fake
// kubelet that plays scheduler and kubelet for it.
//
// The binaries come from test/e2e/tools/build.sh (a cache directory keyed
// by version; etcd from Debian's etcd-server package when the built one is
// missing); FindBinaries locates them.
package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	K8sVersion     = "v1.37.2"
	CoreDNSVersion = "v1.14.2"
	// EtcdVersion is the etcd build.sh builds (the one Kubernetes pins).
	EtcdVersion = "v3.7.0"
	// Zone is the cluster domain.
	Zone = "cluster.local"
	// NodeName is the one node every pod runs on.
	NodeName   = "e2e-node"
	AdminToken = "e2e-admin-token"
	// ServiceCIDRs is dual-stack; the first family is the default.
	ServiceCIDRs = "10.96.0.0/16,fd00:96::/112"
)

// DefaultControllers are the kube-controller-manager controllers the e2e
// scenarios need.
var DefaultControllers = []string{
	"endpointslice-controller",
	"endpointslice-mirroring-controller",
	"statefulset-controller",
	"replicaset-controller",
	"deployment-controller",
	"garbage-collector-controller",
}

// Binaries are the programs a control plane runs, plus CoreDNS.
type Binaries struct {
	APIServer, ControllerManager, Kubectl, CoreDNS, Etcd string
	// EtcdLegacy is set for an etcd before 3.5 (Debian's 3.4), which
	// cannot answer the API server's progress requests.
	EtcdLegacy bool
}

// CacheDir is where build.sh puts the binaries: $CLUSTERDNS_CACHE, else
// $XDG_CACHE_HOME/clusterdns, else ~/.cache/clusterdns.
func CacheDir() string {
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

// FindBinaries looks for the binaries build.sh writes and for etcd, and
// names those that are missing.
func FindBinaries() (Binaries, []string) {
	var b Binaries
	var missing []string
	kdir := filepath.Join(CacheDir(), "kubernetes-"+K8sVersion)
	cdir := filepath.Join(CacheDir(), "coredns-"+CoreDNSVersion+"-release")
	for _, x := range []struct {
		dst  *string
		path string
	}{
		{&b.APIServer, filepath.Join(kdir, "kube-apiserver")},
		{&b.ControllerManager, filepath.Join(kdir, "kube-controller-manager")},
		{&b.Kubectl, filepath.Join(kdir, "kubectl")},
		{&b.CoreDNS, filepath.Join(cdir, "coredns")},
	} {
		if st, err := os.Stat(x.path); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, x.path)
			continue
		}
		*x.dst = x.path
	}
	built := filepath.Join(CacheDir(), "etcd-"+EtcdVersion, "etcd")
	if st, err := os.Stat(built); err == nil && st.Mode()&0o111 != 0 {
		b.Etcd = built
	} else if p, err := exec.LookPath("etcd"); err == nil {
		b.Etcd = p
		out, _ := exec.Command(p, "--version").Output()
		b.EtcdLegacy = strings.Contains(string(out), "etcd Version: 3.4.") || strings.Contains(string(out), "etcd Version: 3.3.")
	} else {
		missing = append(missing, built)
	}
	return b, missing
}

// BinariesBuildable reports whether build.sh can provide what is missing
// (it builds everything).
func BinariesBuildable(missing []string) bool { return len(missing) > 0 }

// Options configure a control plane.
type Options struct {
	// Controllers run by kube-controller-manager; DefaultControllers if nil.
	Controllers []string
	// NoKubelet skips the fake kubelet (objects are written directly).
	NoKubelet bool
	// ClientQPS and ClientBurst rate-limit the admin client (200/400 if 0).
	ClientQPS   float32
	ClientBurst int
	// EtcdQuotaBytes raises etcd's backend quota when set.
	EtcdQuotaBytes int64
}

// ControlPlane is etcd, kube-apiserver, kube-controller-manager, a node
// and the fake kubelet.
type ControlPlane struct {
	Dir  string
	Bins Binaries
	opts Options

	EtcdPort, APIPort int
	APIURL            string
	CAFile            string
	AdminKubeconfig   string

	Etcd, APIServer, KCM *Proc

	RestConfig *rest.Config
	CS         kubernetes.Interface
	Kubelet    *Kubelet

	mu      sync.Mutex
	stopped bool
	cancel  context.CancelFunc
}

// Path is a file in the work directory.
func (c *ControlPlane) Path(name string) string { return filepath.Join(c.Dir, name) }

// Start runs a control plane with its state and logs in dir. On error,
// what was started is stopped.
func Start(dir string, bins Binaries, opts Options) (*ControlPlane, error) {
	c := &ControlPlane{Dir: dir, Bins: bins, opts: opts}
	if err := c.start(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *ControlPlane) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if err := WritePKI(c.Dir); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	c.CAFile = c.Path("ca.crt")
	if err := os.WriteFile(c.Path("tokens.csv"), []byte(AdminToken+",admin,admin,\"system:masters\"\n"), 0o600); err != nil {
		return err
	}
	if err := c.startEtcd(); err != nil {
		return err
	}
	if err := c.startAPIServer(); err != nil {
		return err
	}
	c.AdminKubeconfig = c.Path("admin.kubeconfig")
	if err := WriteKubeconfig(c.AdminKubeconfig, c.APIURL, c.CAFile, AdminToken); err != nil {
		return err
	}
	qps, burst := c.opts.ClientQPS, c.opts.ClientBurst
	if qps == 0 {
		qps, burst = 200, 400
	}
	c.RestConfig = &rest.Config{
		Host:            c.APIURL,
		BearerToken:     AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile},
		QPS:             qps,
		Burst:           burst,
		Timeout:         20 * time.Second,
	}
	cs, err := kubernetes.NewForConfig(c.RestConfig)
	if err != nil {
		return err
	}
	c.CS = cs
	if err := c.startControllerManager(); err != nil {
		return err
	}
	if err := c.createNode(ctx); err != nil {
		return err
	}
	if !c.opts.NoKubelet {
		c.Kubelet = NewKubelet(cs)
		if err := c.Kubelet.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops the kubelet and the processes; it may be called more than once.
func (c *ControlPlane) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	if c.Kubelet != nil {
		c.Kubelet.Stop()
	}
	if c.cancel != nil {
		c.cancel()
	}
	for _, p := range []*Proc{c.KCM, c.APIServer, c.Etcd} {
		if p != nil {
			p.Stop()
		}
	}
}

// Procs are the control plane's processes, for logs.
func (c *ControlPlane) Procs() []*Proc {
	var out []*Proc
	for _, p := range []*Proc{c.Etcd, c.APIServer, c.KCM} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

func (c *ControlPlane) startEtcd() error {
	client, peer := FreePort(), FreePort()
	c.EtcdPort = client
	cu := fmt.Sprintf("http://127.0.0.1:%d", client)
	pu := fmt.Sprintf("http://127.0.0.1:%d", peer)
	args := []string{
		"--name", "e2e",
		"--data-dir", c.Path("etcd"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "e2e=" + pu,
		"--log-level", "warn", "--logger", "zap",
	}
	if c.Bins.EtcdLegacy {
		// etcd 3.4 (Debian's) cannot answer the API server's on-demand
		// progress requests ("RequestWatchProgress feature is not
		// supported"), so after a kube-apiserver restart the watch cache
		// of a quiet resource stays at the restart revision, and a client
		// that re-lists from etcd and then watches from the newer revision
		// gets "Too large resource version" until that resource changes,
		// with client-go's back-off growing to 30 s meanwhile. Periodic
		// progress notifications keep every watch cache current, as a
		// supported etcd (3.5.13+) does on request.
		args = append(args, "--experimental-watch-progress-notify-interval", "1s")
	}
	if c.opts.EtcdQuotaBytes > 0 {
		args = append(args, "--quota-backend-bytes", strconv.FormatInt(c.opts.EtcdQuotaBytes, 10))
	}
	c.Etcd = &Proc{Name: "etcd", Bin: c.Bins.Etcd, LogPath: c.Path("etcd.log"), Args: args}
	if err := c.Etcd.Start(); err != nil {
		return err
	}
	return c.Etcd.WaitHTTP(cu+"/health", nil, 200, 30*time.Second)
}

func (c *ControlPlane) apiserverArgs() []string {
	return []string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort),
		"--secure-port", strconv.Itoa(c.APIPort),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--cert-dir", c.Path("apiserver-certs"),
		"--tls-cert-file", c.Path("apiserver.crt"),
		"--tls-private-key-file", c.Path("apiserver.key"),
		"--client-ca-file", c.CAFile,
		"--service-account-issuer", "https://kubernetes.default.svc." + Zone,
		"--service-account-key-file", c.Path("sa.pub"),
		"--service-account-signing-key-file", c.Path("sa.key"),
		"--token-auth-file", c.Path("tokens.csv"),
		"--authorization-mode", "Node,RBAC",
		"--service-cluster-ip-range", ServiceCIDRs,
		"--endpoint-reconciler-type", "none",
		// No kubelet mounts tokens here, and pods must not wait for the
		// "default" ServiceAccount.
		"--disable-admission-plugins", "ServiceAccount",
		"--v", "1",
	}
}

func (c *ControlPlane) startAPIServer() error {
	c.APIPort = FreePort()
	c.APIURL = fmt.Sprintf("https://127.0.0.1:%d", c.APIPort)
	c.APIServer = &Proc{Name: "kube-apiserver", Bin: c.Bins.APIServer, LogPath: c.Path("kube-apiserver.log"), Args: c.apiserverArgs()}
	if err := c.APIServer.Start(); err != nil {
		return err
	}
	return c.WaitAPIServer(90 * time.Second)
}

// WaitAPIServer waits until /readyz answers 200.
func (c *ControlPlane) WaitAPIServer(timeout time.Duration) error {
	return c.APIServer.WaitHTTP(c.APIURL+"/readyz", map[string]string{"Authorization": "Bearer " + AdminToken}, 200, timeout)
}

// RestartAPIServer starts kube-apiserver again with the same flags and etcd.
func (c *ControlPlane) RestartAPIServer() error {
	if err := c.APIServer.Start(); err != nil {
		return err
	}
	return c.WaitAPIServer(90 * time.Second)
}

func (c *ControlPlane) startControllerManager() error {
	port := FreePort()
	controllers := c.opts.Controllers
	if controllers == nil {
		controllers = DefaultControllers
	}
	c.KCM = &Proc{Name: "kube-controller-manager", Bin: c.Bins.ControllerManager, LogPath: c.Path("kube-controller-manager.log"), Args: []string{
		"--kubeconfig", c.AdminKubeconfig,
		"--authentication-kubeconfig", c.AdminKubeconfig,
		"--authorization-kubeconfig", c.AdminKubeconfig,
		"--controllers", strings.Join(controllers, ","),
		"--leader-elect=false",
		"--service-account-private-key-file", c.Path("sa.key"),
		"--root-ca-file", c.CAFile,
		"--use-service-account-credentials=false",
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(port),
		"--cert-dir", c.Path("kcm-certs"),
		"--v", "1",
	}}
	if err := c.KCM.Start(); err != nil {
		return err
	}
	// /healthz is served without credentials.
	return c.KCM.WaitHTTP(fmt.Sprintf("https://127.0.0.1:%d/healthz", port), nil, 200, 60*time.Second)
}

// createNode registers the node the fake kubelet runs every pod on; the
// EndpointSlice controller skips pods whose node does not exist.
func (c *ControlPlane) createNode(ctx context.Context) error {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: NodeName, Labels: map[string]string{"kubernetes.io/hostname": NodeName}}}
	created, err := c.CS.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A control plane started again on a kept directory (bench/kubeprof).
		created, err = c.CS.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("creating node: %w", err)
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
	}
	_, err = c.CS.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// Poll calls f every interval until it returns true or timeout passes; it
// returns the last description f gave and whether it succeeded.
func Poll(timeout, interval time.Duration, f func() (bool, string)) (bool, string) {
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
