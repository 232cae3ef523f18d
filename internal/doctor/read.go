package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// SystemNamespace is where the cluster DNS runs.
const SystemNamespace = "kube-system"

// Input is what the doctor read from the cluster, once: every check looks
// at the same objects. A resource it could not list is in Errs, and the
// checks that need it do not run (and say why).
type Input struct {
	Host string
	Now  time.Time
	// Namespace, when set, narrows the workload checks (headless
	// Services, clients) to one namespace.
	Namespace string

	Namespaces      []corev1.Namespace
	Services        []corev1.Service
	EndpointSlices  []discoveryv1.EndpointSlice
	Pods            []corev1.Pod
	Nodes           []corev1.Node
	NetworkPolicies []networkingv1.NetworkPolicy
	// Deployments, ReplicaSets, DaemonSets and ConfigMaps of the system
	// namespace (the cluster DNS, its autoscaler, NodeLocal DNSCache).
	Deployments []appsv1.Deployment
	ReplicaSets []appsv1.ReplicaSet
	DaemonSets  []appsv1.DaemonSet
	ConfigMaps  []corev1.ConfigMap
	// Events are the kubelet's DNSConfigForming warnings.
	Events []corev1.Event

	// Errs holds, per resource ("pods", "nodes", ...), why it could not
	// be listed.
	Errs map[string]error

	// APIMetrics reads the API server's /metrics, PodMetrics a pod's
	// (nil: not reachable); Window is how far apart their two scrapes are
	// (DefaultWindow when 0).
	APIMetrics Sampler
	PodMetrics func(pod *corev1.Pod, port int) Sampler
	Window     time.Duration
	// Servers, when set, are the DNS servers the answers check asks
	// (host:port) instead of the DNS pods; PodDNSAddr, when set, is where
	// a DNS pod is asked instead of its pod IP.
	Servers    []string
	PodDNSAddr func(*corev1.Pod) string
	// PortForward, when set, forwards a local port to a pod's TCP port
	// through the API server (pods/portforward) and returns the local
	// address and how to stop it: a DNS pod whose IP is not routed here
	// is asked through it.
	PortForward func(ctx context.Context, pod *corev1.Pod, port int) (addr string, stop func(), err error)
	// ForwardOnly asks every DNS pod through PortForward, without trying
	// its IP first.
	ForwardOnly bool

	sampleOnce sync.Once
	apiSample  *sampling
	podSamples map[string]*sampling

	dnsOnce   sync.Once
	dns       *ClusterDNS
	stateOnce sync.Once
	st        *cluster.State
	snapOnce  sync.Once
	snap      *zone.Snapshot
	snapErr   error
}

// Resources the doctor lists, as Errs keys.
const (
	ResNamespaces      = "namespaces"
	ResServices        = "services"
	ResEndpointSlices  = "endpointslices"
	ResPods            = "pods"
	ResNodes           = "nodes"
	ResNetworkPolicies = "networkpolicies"
	ResDeployments     = "deployments"
	ResReplicaSets     = "replicasets"
	ResDaemonSets      = "daemonsets"
	ResConfigMaps      = "configmaps"
	ResEvents          = "events"
)

// Read lists what the checks need through client, concurrently. It fails
// only when the cluster cannot be read at all (the namespaces cannot be
// listed for another reason than a permission); a resource it may not
// list is recorded in Errs.
func Read(ctx context.Context, client kubernetes.Interface, host string, progress func(string)) (*Input, error) {
	in := &Input{Host: host, Now: time.Now(), Errs: map[string]error{}}
	if progress == nil {
		progress = func(string) {}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	list := func(res string, f func(context.Context) (int, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				in.Errs[res] = err
				progress(fmt.Sprintf("listing %s: %v", res, err))
				return
			}
			progress(fmt.Sprintf("listed %d %s", n, res))
		}()
	}
	all := metav1.ListOptions{}
	core, apps := client.CoreV1(), client.AppsV1()
	list(ResNamespaces, func(ctx context.Context) (int, error) {
		l, err := core.Namespaces().List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.Namespaces = l.Items
		return len(l.Items), nil
	})
	list(ResServices, func(ctx context.Context) (int, error) {
		l, err := core.Services("").List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.Services = l.Items
		return len(l.Items), nil
	})
	list(ResEndpointSlices, func(ctx context.Context) (int, error) {
		l, err := client.DiscoveryV1().EndpointSlices("").List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.EndpointSlices = l.Items
		return len(l.Items), nil
	})
	list(ResPods, func(ctx context.Context) (int, error) {
		l, err := core.Pods("").List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.Pods = l.Items
		return len(l.Items), nil
	})
	list(ResNodes, func(ctx context.Context) (int, error) {
		l, err := core.Nodes().List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.Nodes = l.Items
		return len(l.Items), nil
	})
	list(ResNetworkPolicies, func(ctx context.Context) (int, error) {
		l, err := client.NetworkingV1().NetworkPolicies("").List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.NetworkPolicies = l.Items
		return len(l.Items), nil
	})
	list(ResDeployments, func(ctx context.Context) (int, error) {
		l, err := apps.Deployments(SystemNamespace).List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.Deployments = l.Items
		return len(l.Items), nil
	})
	list(ResReplicaSets, func(ctx context.Context) (int, error) {
		l, err := apps.ReplicaSets(SystemNamespace).List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.ReplicaSets = l.Items
		return len(l.Items), nil
	})
	list(ResDaemonSets, func(ctx context.Context) (int, error) {
		l, err := apps.DaemonSets(SystemNamespace).List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.DaemonSets = l.Items
		return len(l.Items), nil
	})
	list(ResConfigMaps, func(ctx context.Context) (int, error) {
		l, err := core.ConfigMaps(SystemNamespace).List(ctx, all)
		if err != nil {
			return 0, err
		}
		in.ConfigMaps = l.Items
		return len(l.Items), nil
	})
	list(ResEvents, func(ctx context.Context) (int, error) {
		l, err := core.Events("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("reason", "DNSConfigForming").String()})
		if err != nil {
			return 0, err
		}
		in.Events = l.Items
		return len(l.Items), nil
	})
	wg.Wait()
	if err := in.Errs[ResNamespaces]; err != nil && !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("reading the cluster at %s: %w", host, err)
	}
	return in, nil
}

// MaxMetricsBytes bounds one /metrics body read (a DNS pod's is tens of
// KiB, an API server's a few MiB).
const MaxMetricsBytes = 64 << 20

// readLimited reads r to its end, at most MaxMetricsBytes.
func readLimited(r io.ReadCloser, what string) ([]byte, error) {
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, MaxMetricsBytes+1))
	if err == nil && len(b) > MaxMetricsBytes {
		err = fmt.Errorf("%s: more than %d MiB", what, MaxMetricsBytes>>20)
	}
	return b, err
}

// APIServerMetrics reads the API server's own /metrics (the
// nonResourceURL /metrics, get).
func APIServerMetrics(client kubernetes.Interface) Sampler {
	return func(ctx context.Context) ([]byte, error) {
		rc, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").Stream(ctx)
		if err != nil {
			return nil, err
		}
		return readLimited(rc, "the API server's /metrics")
	}
}

// PodMetricsVia reads a pod's /metrics through the API server's pod proxy
// (pods/proxy, get), and, when that fails, at the pod's IP directly (the
// doctor in the cluster; an API server refuses to proxy to some
// addresses, loopback and link-local ones).
func PodMetricsVia(client kubernetes.Interface) func(pod *corev1.Pod, port int) Sampler {
	direct := &http.Client{Timeout: 5 * time.Second}
	return func(pod *corev1.Pod, port int) Sampler {
		return func(ctx context.Context) ([]byte, error) {
			rc, err := client.CoreV1().Pods(pod.Namespace).ProxyGet("http", pod.Name, strconv.Itoa(port), "metrics", nil).Stream(ctx)
			if err == nil {
				return readLimited(rc, "the pod's /metrics")
			}
			if pod.Status.PodIP == "" {
				return nil, err
			}
			url := "http://" + net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(port)) + "/metrics"
			req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if rerr != nil {
				return nil, err
			}
			resp, derr := direct.Do(req)
			if derr != nil {
				return nil, fmt.Errorf("through the pod proxy: %s; at %s: %w", shortErr(err), url, derr)
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				return nil, fmt.Errorf("through the pod proxy: %s; at %s: %s", shortErr(err), url, resp.Status)
			}
			return readLimited(resp.Body, url)
		}
	}
}

// need says why a check cannot run without the resources: "" when all
// were read.
func (in *Input) need(resources ...string) string {
	for _, r := range resources {
		if err, ok := in.Errs[r]; ok {
			if apierrors.IsForbidden(err) {
				return fmt.Sprintf("no permission to list %s (%s)", r, shortErr(err))
			}
			return fmt.Sprintf("could not list %s: %s", r, shortErr(err))
		}
	}
	return ""
}

func shortErr(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return st.Status().Message
	}
	return err.Error()
}

// inScope reports whether namespace ns is in the workload checks' scope.
func (in *Input) inScope(ns string) bool { return in.Namespace == "" || in.Namespace == ns }
