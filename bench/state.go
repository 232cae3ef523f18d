package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
)

// The cluster state both servers serve, created through the API server:
// selectorless Services with hand-written EndpointSlices (so that 150k
// endpoints need no pods), the way a controller would write them.

const (
	zone      = "cluster.local"
	managedBy = "bench.clusterdns.io"
	// clientNS is the namespace of the pod the ClusterFirst mix plays.
	clientNS = "bench-0"
	// progNS holds the headless service whose endpoints change during the
	// programming-latency run.
	progNS    = "bench-prog"
	largeNS   = "bench-large"
	svcPortNo = 80
	epPortNo  = 8080
)

// service is one Service as the benchmark created it.
type service struct {
	ns, name  string
	headless  bool
	clusterIP string
	eps       []endpoint
}

type endpoint struct {
	ip       string
	hostname string // empty: none
}

func (s *service) fqdn() string { return s.name + "." + s.ns + ".svc." + zone + "." }

// state is everything created so far.
type state struct {
	mu       sync.Mutex
	services []*service
	byKey    map[string]*service
	nextIP   atomic.Uint32
}

func newState() *state { return &state{byKey: map[string]*service{}} }

// stateFile is the record of the created state in a -state-dir.
const stateFile = "bench-state.json"

type savedState struct {
	NextIP   uint32
	Services []savedService
}

type savedService struct {
	NS, Name  string
	Headless  bool   `json:",omitempty"`
	ClusterIP string `json:",omitempty"`
	IPs       []string
	Hostnames []string `json:",omitempty"` // parallel to IPs when headless
}

// save records the state in dir, so that a later run on the same control
// plane data can measure without creating it again.
func (st *state) save(dir string) error {
	st.mu.Lock()
	out := savedState{NextIP: st.nextIP.Load()}
	for _, s := range st.services {
		ss := savedService{NS: s.ns, Name: s.name, Headless: s.headless, ClusterIP: s.clusterIP}
		for _, e := range s.eps {
			ss.IPs = append(ss.IPs, e.ip)
			if s.headless {
				ss.Hostnames = append(ss.Hostnames, e.hostname)
			}
		}
		out.Services = append(out.Services, ss)
	}
	st.mu.Unlock()
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// load reads the state saved in dir; false when there is none.
func (st *state) load(dir string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var in savedState
	if err := json.Unmarshal(data, &in); err != nil {
		return false, fmt.Errorf("reading %s: %w", filepath.Join(dir, stateFile), err)
	}
	for _, ss := range in.Services {
		s := &service{ns: ss.NS, name: ss.Name, headless: ss.Headless, clusterIP: ss.ClusterIP}
		for i, ip := range ss.IPs {
			e := endpoint{ip: ip}
			if i < len(ss.Hostnames) {
				e.hostname = ss.Hostnames[i]
			}
			s.eps = append(s.eps, e)
		}
		st.add(s)
	}
	st.nextIP.Store(in.NextIP)
	return true, nil
}

// allocIP returns a fresh endpoint address in 10.128.0.0/9.
func (st *state) allocIP() string {
	for {
		n := st.nextIP.Add(1)
		a := netip.AddrFrom4([4]byte{10, byte(128 + n>>16), byte(n >> 8), byte(n)})
		if b := a.As4(); b[3] != 0 && b[3] != 255 {
			return a.String()
		}
	}
}

func (st *state) add(s *service) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.services = append(st.services, s)
	st.byKey[s.ns+"/"+s.name] = s
}

func (st *state) get(ns, name string) *service {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byKey[ns+"/"+name]
}

// counts returns the number of services and endpoints.
func (st *state) counts() (svcs, eps int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.services {
		eps += len(s.eps)
	}
	return len(st.services), eps
}

// filter returns the services for which f is true.
func (st *state) filter(f func(*service) bool) []*service {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*service
	for _, s := range st.services {
		if f(s) {
			out = append(out, s)
		}
	}
	return out
}

// builder creates objects through the API with a pool of workers.
type builder struct {
	cs kubernetes.Interface
	st *state
}

// newBuilder writes through a client of its own that speaks protobuf, as
// controllers do: JSON costs the API server and the benchmark CPU that
// the 2 cores need for writing the scale state.
func newBuilder(cp *controlplane.ControlPlane, st *state) (*builder, error) {
	cfg := rest.CopyConfig(cp.RestConfig)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("the benchmark's API client: %w", err)
	}
	return &builder{cs: cs, st: st}, nil
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// retry retries f on API errors that go away (throttling, timeouts,
// the client's own timeout when the API server is slow to answer: a write
// that was done then is AlreadyExists the next time, which callers take).
func retry(f func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = f()
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		var ne net.Error
		clientTimeout := errors.As(err, &ne) && ne.Timeout()
		// An HTTP/2 stream the API server reset (it does when a handler
		// outlives its own timeout) is worth another try too.
		var se http2.StreamError
		clientTimeout = clientTimeout || errors.As(err, &se) || strings.Contains(err.Error(), "stream error: stream ID")
		if !(clientTimeout || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsTimeout(err) || apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err)) {
			return err
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	return err
}

func (b *builder) namespaces(ctx context.Context, names ...string) error {
	return parallel(len(names), 8, func(i int) error {
		return retry(func() error {
			_, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: names[i]}}, metav1.CreateOptions{})
			return err
		})
	})
}

// spec describes services to create: count services named
// <prefix>-<i> spread over namespaces, every headlessEvery-th headless,
// each with eps endpoints.
type spec struct {
	prefix        string
	namespaces    []string
	count         int
	headlessEvery int // 0: none; 1: all
	eps           int
	// have are the services ("<ns>/<name>") already in the state.
	have map[string]bool
}

// adopt takes into the state the services of the namespaces that an
// interrupted run wrote completely (the Service and its EndpointSlice),
// as the API server has them, and moves the address counter past their
// endpoints; it returns them by "<ns>/<name>". Writing them again would
// cost the API server a ClusterIP allocation and release per Service.
func (b *builder) adopt(ctx context.Context, namespaces []string) (map[string]bool, error) {
	have := map[string]bool{}
	var maxIP uint32
	for _, ns := range namespaces {
		svcs, err := b.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the services of %s: %w", ns, err)
		}
		slices, err := b.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the EndpointSlices of %s: %w", ns, err)
		}
		bySvc := map[string]*discoveryv1.EndpointSlice{}
		for i := range slices.Items {
			es := &slices.Items[i]
			bySvc[es.Labels[discoveryv1.LabelServiceName]] = es
		}
		for i := range svcs.Items {
			o := &svcs.Items[i]
			es := bySvc[o.Name]
			if es == nil || len(es.Endpoints) == 0 {
				continue // written again: its slice is missing
			}
			s := &service{ns: ns, name: o.Name, headless: o.Spec.ClusterIP == corev1.ClusterIPNone}
			if !s.headless {
				s.clusterIP = o.Spec.ClusterIP
			}
			for _, ep := range es.Endpoints {
				e := endpoint{ip: ep.Addresses[0]}
				if ep.Hostname != nil {
					e.hostname = *ep.Hostname
				}
				if a, err := netip.ParseAddr(e.ip); err == nil && a.Is4() {
					v := a.As4()
					maxIP = max(maxIP, uint32(v[1]-128)<<16|uint32(v[2])<<8|uint32(v[3]))
				}
				s.eps = append(s.eps, e)
			}
			b.st.add(s)
			have[ns+"/"+o.Name] = true
		}
	}
	for {
		cur := b.st.nextIP.Load()
		if cur >= maxIP || b.st.nextIP.CompareAndSwap(cur, maxIP) {
			break
		}
	}
	return have, nil
}

// create makes the services and their EndpointSlices.
func (b *builder) create(ctx context.Context, sp spec) error {
	return parallel(sp.count, 48, func(i int) error {
		s := &service{ns: sp.namespaces[i%len(sp.namespaces)], name: fmt.Sprintf("%s-%d", sp.prefix, i)}
		if sp.have[s.ns+"/"+s.name] {
			return nil // written by an interrupted run (adopt)
		}
		s.headless = sp.headlessEvery > 0 && i%sp.headlessEvery == 0
		for j := 0; j < sp.eps; j++ {
			e := endpoint{ip: b.st.allocIP()}
			if s.headless {
				e.hostname = s.name + "-" + strconv.Itoa(j)
			}
			s.eps = append(s.eps, e)
		}
		if err := b.createService(ctx, s); err != nil {
			return err
		}
		return b.writeSlices(ctx, s, time.Time{}, true)
	})
}

func (b *builder) createService(ctx context.Context, s *service) error {
	obj := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: svcPortNo, Protocol: corev1.ProtocolTCP,
			TargetPort: intstr.FromInt32(epPortNo)}}},
	}
	if s.headless {
		obj.Spec.ClusterIP = corev1.ClusterIPNone
	}
	var out *corev1.Service
	err := retry(func() error {
		var err error
		out, err = b.cs.CoreV1().Services(s.ns).Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			out, err = b.cs.CoreV1().Services(s.ns).Get(ctx, s.name, metav1.GetOptions{})
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("creating service %s/%s: %w", s.ns, s.name, err)
	}
	if !s.headless {
		s.clusterIP = out.Spec.ClusterIP
	}
	b.st.add(s)
	return nil
}

// sliceObjects are the EndpointSlices of s, at most 1000 endpoints each
// (the API's limit), named <svc>-<n>.
func sliceObjects(s *service, trigger time.Time) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for n := 0; n*1000 < len(s.eps) || n == 0; n++ {
		hi := min((n+1)*1000, len(s.eps))
		es := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      fmt.Sprintf("%s-%d", s.name, n),
				Namespace: s.ns,
				Labels:    map[string]string{discoveryv1.LabelServiceName: s.name, discoveryv1.LabelManagedBy: managedBy},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(epPortNo)), Protocol: ptr(corev1.ProtocolTCP)}},
		}
		if !trigger.IsZero() {
			es.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: trigger.UTC().Format(time.RFC3339Nano)}
		}
		for _, e := range s.eps[n*1000 : hi] {
			ep := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
				NodeName: ptr("e2e-node")}
			if e.hostname != "" {
				ep.Hostname = ptr(e.hostname)
			}
			es.Endpoints = append(es.Endpoints, ep)
		}
		out = append(out, es)
	}
	return out
}

// writeSlices creates (or, with create false, updates) the EndpointSlices
// of s.
func (b *builder) writeSlices(ctx context.Context, s *service, trigger time.Time, create bool) error {
	for _, es := range sliceObjects(s, trigger) {
		err := retry(func() error {
			api := b.cs.DiscoveryV1().EndpointSlices(s.ns)
			if create {
				_, err := api.Create(ctx, es, metav1.CreateOptions{})
				if !apierrors.IsAlreadyExists(err) {
					return err
				}
			}
			cur, err := api.Get(ctx, es.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				_, err = api.Create(ctx, es, metav1.CreateOptions{})
				return err
			}
			if err != nil {
				return err
			}
			es.ResourceVersion = cur.ResourceVersion
			_, err = api.Update(ctx, es, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("writing EndpointSlice %s/%s: %w", s.ns, es.Name, err)
		}
	}
	return nil
}

// grow gives each of svcs n endpoints in total.
func (b *builder) grow(ctx context.Context, svcs []*service, n int) error {
	return parallel(len(svcs), 32, func(i int) error {
		s := svcs[i]
		for j := len(s.eps); j < n; j++ {
			e := endpoint{ip: b.st.allocIP()}
			if s.headless {
				e.hostname = s.name + "-" + strconv.Itoa(j)
			}
			s.eps = append(s.eps, e)
		}
		return b.writeSlices(ctx, s, time.Time{}, false)
	})
}

func ptr[T any](v T) *T { return &v }

// warm waits for the API server's watch caches of what the servers list
// (a list at resourceVersion 0 is served from the cache once it has
// filled from etcd), so that start-to-ready measures a server listing
// from a running API server, as a DNS pod that restarts does, not the
// API server's own start.
func (b *builder) warm(ctx context.Context) error {
	t0 := time.Now()
	opts := metav1.ListOptions{ResourceVersion: "0", Limit: 1}
	if _, err := b.cs.CoreV1().Namespaces().List(ctx, opts); err != nil {
		return fmt.Errorf("warming the API server's namespace cache: %w", err)
	}
	if _, err := b.cs.CoreV1().Services("").List(ctx, opts); err != nil {
		return fmt.Errorf("warming the API server's service cache: %w", err)
	}
	if _, err := b.cs.DiscoveryV1().EndpointSlices("").List(ctx, opts); err != nil {
		return fmt.Errorf("warming the API server's EndpointSlice cache: %w", err)
	}
	logf("API server's watch caches warm in %v", time.Since(t0).Round(time.Millisecond))
	return nil
}
