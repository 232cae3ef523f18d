// Package kube is the live-cluster source: client-go informers on Services,
// EndpointSlices, Namespaces (and Pods, only when pod records are verified)
// whose changes become zone.Change values for the services they touch.
//
// Its caches hold no API objects: a transform converts each object as it
// arrives into the cluster model with package kubeconv (the conversion the
// manifest source uses too), and the caches keep that compact form, which
// the zone is handed as is (so an endpoint is held once, not once typed and
// once converted).
// It never rebuilds the whole zone for an event: a change to a Service or
// one of its EndpointSlices updates that service alone. It does not decide
// readiness (the cluster's EndpointSlice controller did) nor answer
// queries.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/zone"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// Options configure the source.
type Options struct {
	// Kubeconfig is the kubeconfig file; empty with InCluster set means the
	// pod's service account.
	Kubeconfig string
	// Context overrides the kubeconfig's current context.
	Context string
	// InCluster uses the in-cluster configuration.
	InCluster bool
	// Pods starts the Pod informer (needed for verified pod records).
	Pods bool
	// Multicluster starts the ServiceImport informer (multicluster zones);
	// the Multi-Cluster Services CRD must be installed.
	Multicluster bool
	// TargetRefs keeps the endpoints' targetRefs (needed to name endpoints
	// after their pods); without it they are dropped as objects arrive.
	TargetRefs bool
	// UserAgent is sent to the API server.
	UserAgent string
	Logger    *slog.Logger
	// Recorder, if set, is told about watch errors and programming latency
	// (package metrics).
	Recorder Recorder
	// OnList, if set, is called whenever an informer starts to list:
	// at the start, and again whenever client-go re-lists (an expired
	// watch, an API server restarted), which it does without telling
	// its watch error handler. Only a source made by New sees lists.
	OnList func()
}

// Recorder receives the source's signals.
type Recorder interface {
	WatchError()
	WatchRecovered()
	ProgrammingLatency(kind string, total, internal time.Duration)
}

// InClusterAvailable reports whether the process runs in a pod with a
// service account, where the in-cluster configuration works.
func InClusterAvailable() bool {
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" || os.Getenv("KUBERNETES_SERVICE_PORT") == "" {
		return false
	}
	_, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/token")
	return err == nil
}

// RestConfig returns the client configuration the options describe.
func RestConfig(o Options) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case o.Kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("loading kubeconfig %s: %w", o.Kubeconfig, err)
		}
	case o.InCluster:
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("loading in-cluster configuration: %w", err)
		}
	default:
		return nil, errors.New("no kubeconfig and not in a cluster")
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = o.UserAgent
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	// No gzip: the first list of a large cluster is tens of megabytes, and
	// compressing it on the API server and inflating it here costs more CPU
	// (on both ends, at start-up, when DNS is not ready yet) than sending
	// it as it is over the cluster network.
	cfg.DisableCompression = true
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg, nil
}

// Sink receives what the source sees. Apply must return once the change is
// being served: the source measures programming latency up to there.
type Sink interface {
	// Apply makes a snapshot with the change and serves it. The change
	// carries no serial: the sink gives each snapshot one (zone.NextSerial).
	Apply(ch zone.Change)
	// Synced is called once, after the first full state has been applied.
	Synced()
}

// Source watches a cluster.
type Source struct {
	opts   Options
	client kubernetes.Interface
	host   string
	log    *slog.Logger

	svcInf, sliceInf, nsInf, podInf cache.SharedIndexInformer
	// handlersSynced report whether each event handler has been given
	// its informer's initial list.
	handlersSynced []cache.InformerSynced
	// dyn reads ServiceImports (Options.Multicluster); importInf watches
	// them.
	dyn       dynamic.Interface
	importInf cache.SharedIndexInformer

	mu      sync.Mutex
	pending pendingSet
	kick    chan struct{}

	conn connectionState
}

// pendingSet is what changed since the last apply.
type pendingSet struct {
	namespaces bool
	services   map[string]bool // "<ns>/<name>"
	imports    map[string]bool // "<ns>/<name>"
	pods       map[string]bool // "<ns>/<name>"
	slices     []sliceEvent
}

// sliceEvent is one EndpointSlice change, for the programming latency.
type sliceEvent struct {
	service  string // "<ns>/<name>"
	trigger  time.Time
	received time.Time
}

// New makes a source from options; it does not contact the API server.
func New(o Options) (*Source, error) {
	cfg, err := RestConfig(o)
	if err != nil {
		return nil, err
	}
	if o.OnList != nil {
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return listSignal{rt, o.OnList} })
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	s := NewForClient(client, cfg.Host, o)
	if o.Multicluster {
		if s.dyn, err = dynamic.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("creating the Kubernetes client for ServiceImports: %w", err)
		}
	}
	return s, nil
}

// SetDynamic gives the source the client it reads ServiceImports with
// (tests use a fake one).
func (s *Source) SetDynamic(d dynamic.Interface) { s.dyn = d }

// NewForClient makes a source on an existing client (tests use a fake one).
func NewForClient(client kubernetes.Interface, host string, o Options) *Source {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{opts: o, client: client, host: host, log: log, kick: make(chan struct{}, 1)}
	s.pending.reset()
	return s
}

func (p *pendingSet) empty() bool {
	return !p.namespaces && len(p.services) == 0 && len(p.imports) == 0 && len(p.pods) == 0 && len(p.slices) == 0
}

func (p *pendingSet) reset() {
	*p = pendingSet{services: map[string]bool{}, imports: map[string]bool{}, pods: map[string]bool{}}
}

// Host is the API server address.
func (s *Source) Host() string { return s.host }

const (
	annTrigger = corev1.EndpointsLastChangeTriggerTime
)

// Run starts the informers, applies the full state once they have synced,
// then applies changes as they come, until ctx is done.
func (s *Source) Run(ctx context.Context, sink Sink) error {
	if err := s.checkMulticlusterAPI(); err != nil {
		return err
	}
	infs, err := s.informers()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, inf := range infs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inf.RunWithContext(ctx)
		}()
	}
	defer wg.Wait()

	s.log.Info("watching the Kubernetes API", "server", s.host, "pods", s.opts.Pods)
	if !s.applyFull(ctx, infs, sink) {
		return ctx.Err()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		}
		s.mu.Lock()
		p := s.pending
		s.pending.reset()
		s.mu.Unlock()
		if p.empty() {
			continue // the kick of a mark the full state took in
		}
		ch := s.change(p)
		sink.Apply(ch)
		served := time.Now()
		s.observe(p.slices, served)
	}
}

// informers makes the informers (Services, EndpointSlices, Namespaces and,
// with Options.Pods, Pods) with their transform, watch error handler and
// event handlers.
func (s *Source) informers() ([]cache.SharedIndexInformer, error) {
	factory := informers.NewSharedInformerFactoryWithOptions(s.client, 0)
	// Services without client-go's namespace index (a set entry per
	// Service): it is read only when a namespace appears, and a scan of
	// the store does that (see change).
	svcIndexers := cache.Indexers{}
	sliceIndexers := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	coreREST, discoveryREST := restClientOf(s.client.CoreV1().RESTClient()), restClientOf(s.client.DiscoveryV1().RESTClient())
	if coreREST != nil && discoveryREST != nil {
		// Listed by the source itself (see list.go); a fake client
		// (tests) has no REST client and takes client-go's list.
		s.svcInf = s.listingInformer(coreREST, "services", &corev1.Service{}, svcIndexers, decodeAs[corev1.Service],
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return s.client.CoreV1().Services(metav1.NamespaceAll).Watch(ctx, o)
			})
		s.sliceInf = s.listingInformer(discoveryREST, "endpointslices", &discoveryv1.EndpointSlice{}, sliceIndexers, decodeAs[discoveryv1.EndpointSlice],
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return s.client.DiscoveryV1().EndpointSlices(metav1.NamespaceAll).Watch(ctx, o)
			})
	} else {
		s.svcInf = factory.InformerFor(&corev1.Service{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
			return coreinformers.NewServiceInformer(c, metav1.NamespaceAll, resync, svcIndexers)
		})
		s.sliceInf = factory.Discovery().V1().EndpointSlices().Informer()
	}
	s.nsInf = factory.Core().V1().Namespaces().Informer()
	infs := []cache.SharedIndexInformer{s.svcInf, s.sliceInf, s.nsInf}
	if s.opts.Pods {
		// Terminal pods never get records: leave them on the server.
		s.podInf = informers.NewSharedInformerFactoryWithOptions(s.client, 0,
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
				lo.FieldSelector = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"
			})).Core().V1().Pods().Informer()
		infs = append(infs, s.podInf)
	}
	if s.opts.Multicluster && s.dyn != nil {
		s.importInf = dynamicinformer.NewDynamicSharedInformerFactory(s.dyn, 0).
			ForResource(kubeconv.ServiceImportResource).Informer()
		infs = append(infs, s.importInf)
	}
	for _, inf := range infs {
		if err := inf.SetTransform(transform(s.log, inf.GetIndexer(), s.opts.TargetRefs)); err != nil {
			return nil, fmt.Errorf("setting informer transform: %w", err)
		}
		if err := inf.SetWatchErrorHandlerWithContext(s.watchError); err != nil {
			return nil, fmt.Errorf("setting watch error handler: %w", err)
		}
	}
	s.handlersSynced = s.handlersSynced[:0]
	for inf, h := range s.eventHandlers() {
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			return nil, fmt.Errorf("adding event handler: %w", err)
		}
		s.handlersSynced = append(s.handlersSynced, reg.HasSynced)
	}
	return infs, nil
}

// eventHandlers are the handlers of each informer: they mark what changed.
// An update whose old and new values are the same stored value is a
// re-list of an unchanged object, and changes nothing.
func (s *Source) eventHandlers() map[cache.SharedIndexInformer]cache.ResourceEventHandlerFuncs {
	handlers := map[cache.SharedIndexInformer]cache.ResourceEventHandlerFuncs{
		s.svcInf: {
			AddFunc: func(o any) { s.serviceChanged(o) },
			UpdateFunc: func(old, o any) {
				if old != o {
					s.serviceChanged(o)
				}
			},
			DeleteFunc: func(o any) { s.serviceChanged(o) },
		},
		s.sliceInf: {
			AddFunc: func(o any) { s.sliceChanged(nil, o) },
			UpdateFunc: func(old, o any) {
				if old != o {
					s.sliceChanged(old, o)
				}
			},
			DeleteFunc: func(o any) { s.sliceChanged(nil, o) },
		},
		s.nsInf: {
			AddFunc:    func(o any) { s.namespaceChanged() },
			DeleteFunc: func(o any) { s.namespaceChanged() },
		},
	}
	if s.importInf != nil {
		handlers[s.importInf] = cache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) { s.importChanged(o) },
			UpdateFunc: func(old, o any) {
				if old != o {
					s.importChanged(o)
				}
			},
			DeleteFunc: func(o any) { s.importChanged(o) },
		}
	}
	if s.podInf != nil {
		handlers[s.podInf] = cache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) { s.podChanged(o) },
			UpdateFunc: func(old, o any) {
				if old != o {
					s.podChanged(o)
				}
			},
			DeleteFunc: func(o any) { s.podChanged(o) },
		}
	}
	return handlers
}

// applyFull waits for the informers to sync and applies the full state
// once; false if ctx ended first.
func (s *Source) applyFull(ctx context.Context, infs []cache.SharedIndexInformer, sink Sink) bool {
	// An informer has synced once its store holds the list, but its
	// handlers are told of the listed objects afterwards, from a queue of
	// their own: waiting for the handlers too means that every object
	// they mark was listed before the full state is read, so none of them
	// asks for its service to be built a second time right after it.
	synced := make([]cache.InformerSynced, 0, len(infs)+len(s.handlersSynced))
	for _, inf := range infs {
		synced = append(synced, inf.HasSynced)
	}
	synced = append(synced, s.handlersSynced...)
	start := time.Now()
	// Polled every few milliseconds rather than with WaitForCacheSync's
	// 100 ms: start-to-ready is measured in hundreds of milliseconds.
	err := wait.PollUntilContextCancel(ctx, 5*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, ok := range synced {
			if !ok() {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return false
	}
	// Everything that happened before is in the full state.
	s.mu.Lock()
	s.pending.reset()
	s.mu.Unlock()
	listed := time.Now()
	full := s.fullChange()
	sink.Apply(full)
	sink.Synced()
	s.log.Info("informers synced; serving the cluster", "after", time.Since(start).Round(time.Millisecond),
		"listed", listed.Sub(start).Round(time.Millisecond), "built", time.Since(listed).Round(time.Millisecond),
		"namespaces", len(full.Namespaces), "services", len(full.Services), "pods", len(full.Pods))
	return true
}

func (s *Source) notify() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func objectKey(o any) (string, bool) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		return d.Key, true
	}
	k, err := cache.MetaNamespaceKeyFunc(o)
	return k, err == nil
}

func (s *Source) serviceChanged(o any) {
	s.markChanged(o, func(p *pendingSet) map[string]bool { return p.services })
}

func (s *Source) importChanged(o any) {
	s.markChanged(o, func(p *pendingSet) map[string]bool { return p.imports })
}

// checkMulticlusterAPI makes sure the API server serves ServiceImports
// when multicluster zones are asked for: without the CRD the informer
// would never sync, and the server never be ready, with nothing said.
func (s *Source) checkMulticlusterAPI() error {
	if !s.opts.Multicluster || s.dyn == nil {
		return nil
	}
	gv := kubeconv.ServiceImportGroupVersion.String()
	rl, err := s.client.Discovery().ServerResourcesForGroupVersion(gv)
	if err != nil {
		return fmt.Errorf("multicluster zones need the Multi-Cluster Services API (the ServiceImport CRD, %s) on %s: %w", gv, s.host, err)
	}
	for _, r := range rl.APIResources {
		if r.Name == kubeconv.ServiceImportResource.Resource {
			return nil
		}
	}
	return fmt.Errorf("multicluster zones need the Multi-Cluster Services API: %s on %s has no %s", gv, s.host, kubeconv.ServiceImportResource.Resource)
}

func (s *Source) podChanged(o any) {
	s.markChanged(o, func(p *pendingSet) map[string]bool { return p.pods })
}

// markChanged records the object's key in one of the pending sets.
func (s *Source) markChanged(o any, set func(*pendingSet) map[string]bool) {
	k, ok := objectKey(o)
	if !ok {
		return
	}
	s.mu.Lock()
	set(&s.pending)[k] = true
	s.mu.Unlock()
	s.notify()
}

func (s *Source) sliceChanged(old, o any) {
	received := time.Now()
	var keys []string
	var trigger time.Time
	tombstone := false
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
		tombstone = true
	}
	var imports []string
	if st, ok := o.(*storedSlice); ok {
		if st.service != "" {
			keys = append(keys, st.service)
		}
		if st.imported != "" {
			imports = append(imports, st.imported)
		}
		trigger = st.trigger
	}
	if st, ok := old.(*storedSlice); ok && st.imported != "" && (len(imports) == 0 || imports[0] != st.imported) {
		imports = append(imports, st.imported)
	}
	if len(imports) > 0 && s.importInf != nil {
		s.mu.Lock()
		for _, k := range imports {
			s.pending.imports[k] = true
		}
		s.mu.Unlock()
		s.notify()
	}
	if st, ok := old.(*storedSlice); ok {
		if st.service != "" && (len(keys) == 0 || keys[0] != st.service) {
			keys = append(keys, st.service)
		}
	}
	if len(keys) == 0 {
		return
	}
	s.mu.Lock()
	for _, k := range keys {
		s.pending.services[k] = true
	}
	if !trigger.IsZero() && !tombstone && len(keys) == 1 {
		s.pending.slices = append(s.pending.slices, sliceEvent{service: keys[0], trigger: trigger, received: received})
	}
	s.mu.Unlock()
	s.notify()
}

func (s *Source) namespaceChanged() {
	s.mu.Lock()
	s.pending.namespaces = true
	s.mu.Unlock()
	s.notify()
}

// fullChange lists everything in the caches.
func (s *Source) fullChange() zone.Change {
	p := pendingSet{namespaces: true, services: map[string]bool{}, imports: map[string]bool{}, pods: map[string]bool{}}
	for _, k := range s.svcInf.GetStore().ListKeys() {
		p.services[k] = true
	}
	if s.importInf != nil {
		for _, k := range s.importInf.GetStore().ListKeys() {
			p.imports[k] = true
		}
	}
	if s.podInf != nil {
		for _, k := range s.podInf.GetStore().ListKeys() {
			p.pods[k] = true
		}
	}
	return s.change(p)
}

// change reads the current objects of what is pending into a zone.Change.
func (s *Source) change(p pendingSet) zone.Change {
	var ch zone.Change // no Serial: the sink numbers its snapshots (zone.NextSerial)
	if p.namespaces {
		ch.Namespaces = []string{}
		for _, o := range s.nsInf.GetStore().List() {
			if ns, ok := o.(*storedNamespace); ok {
				ch.Namespaces = append(ch.Namespaces, ns.name)
				if s.importInf != nil {
					objs, _ := s.importInf.GetIndexer().ByIndex(cache.NamespaceIndex, ns.name)
					for _, so := range objs {
						if k, ok := objectKey(so); ok {
							p.imports[k] = true
						}
					}
				}
			}
		}
		sort.Strings(ch.Namespaces)
		// Services of a namespace that appeared must be listed: every
		// Service of a namespace that exists is (Update keeps what did
		// not change as it is).
		exists := make(map[string]bool, len(ch.Namespaces))
		for _, ns := range ch.Namespaces {
			exists[ns] = true
		}
		for _, o := range s.svcInf.GetStore().List() {
			if st, ok := o.(*storedService); ok && exists[st.namespace] {
				if k, ok := objectKey(st); ok {
					p.services[k] = true
				}
			}
		}
	}
	keys := slices.Sorted(maps.Keys(p.services))
	slicesOf := s.slicesOf(keys)
	for _, k := range keys {
		ns, name, _ := strings.Cut(k, "/")
		u := zone.ServiceUpdate{Namespace: ns, Name: name}
		if o, ok, _ := s.svcInf.GetStore().GetByKey(k); ok {
			if st, ok := o.(*storedService); ok {
				u.Service = &st.svc
			}
		}
		if u.Service != nil {
			u.Slices = slicesOf[k]
		}
		ch.Services = append(ch.Services, u)
	}
	if s.importInf != nil && len(p.imports) > 0 {
		ikeys := slices.Sorted(maps.Keys(p.imports))
		slicesOf := s.importSlicesOf(ikeys)
		for _, k := range ikeys {
			ns, name, _ := strings.Cut(k, "/")
			u := zone.ImportUpdate{Namespace: ns, Name: name}
			if o, ok, _ := s.importInf.GetStore().GetByKey(k); ok {
				if st, ok := o.(*storedImport); ok {
					u.Import = &st.imp
					u.Slices = slicesOf[k]
				}
			}
			ch.Imports = append(ch.Imports, u)
		}
	}
	for k := range p.pods {
		ns, name, _ := strings.Cut(k, "/")
		u := zone.PodUpdate{Namespace: ns, Name: name}
		if o, ok, _ := s.podInf.GetStore().GetByKey(k); ok {
			if st, ok := o.(*storedPod); ok {
				u.Pod = &st.pod
			}
		}
		ch.Pods = append(ch.Pods, u)
	}
	return ch
}

// slicesOf returns the EndpointSlices of each service ("<ns>/<name>"),
// sorted by name, reading each namespace's slices once. (An index by
// service would cost client-go a set per service: 3 MiB at 10k services.)
func (s *Source) slicesOf(services []string) map[string][]*cluster.EndpointSlice {
	return s.slicesBy(services, func(st *storedSlice) string { return st.service })
}

// importSlicesOf is slicesOf for ServiceImports: the slices labelled with
// each import's name.
func (s *Source) importSlicesOf(imports []string) map[string][]*cluster.EndpointSlice {
	return s.slicesBy(imports, func(st *storedSlice) string { return st.imported })
}

// slicesBy groups the slices of the keys' namespaces by owner(slice), for
// the keys asked.
func (s *Source) slicesBy(keys []string, owner func(*storedSlice) string) map[string][]*cluster.EndpointSlice {
	want := make(map[string]bool, len(keys))
	namespaces := map[string]bool{}
	for _, k := range keys {
		want[k] = true
		ns, _, _ := strings.Cut(k, "/")
		namespaces[ns] = true
	}
	out := make(map[string][]*cluster.EndpointSlice, len(keys))
	for ns := range namespaces {
		objs, _ := s.sliceInf.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
		for _, o := range objs {
			if st, ok := o.(*storedSlice); ok && st.slice != nil && want[owner(st)] {
				out[owner(st)] = append(out[owner(st)], st.slice)
			}
		}
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	return out
}

// Service kinds, the label of the programming latency (CoreDNS's
// coredns_kubernetes_dns_programming_duration_seconds uses the same values).
const (
	KindClusterIP               = "cluster_ip"
	KindHeadlessWithSelector    = "headless_with_selector"
	KindHeadlessWithoutSelector = "headless_without_selector"
)

// serviceKind is the latency label of a service, "" if it is gone.
func (s *Source) serviceKind(key string) string {
	o, ok, _ := s.svcInf.GetStore().GetByKey(key)
	if !ok {
		return ""
	}
	if st, ok := o.(*storedService); ok {
		return st.kind
	}
	return ""
}

func (s *Source) observe(events []sliceEvent, served time.Time) {
	for _, e := range events {
		kind := s.serviceKind(e.service)
		if kind == "" {
			continue
		}
		total := served.Sub(e.trigger)
		internal := served.Sub(e.received)
		if rec := s.opts.Recorder; rec != nil {
			rec.ProgrammingLatency(kind, total, internal)
		}
		s.log.Info("dns programming latency", "service", e.service, "kind", kind,
			"trigger_to_served", total.Round(time.Microsecond), "event_to_swap", internal.Round(time.Microsecond))
	}
}

// ListState reads the DNS-relevant objects of the cluster once (for
// one-shot commands such as explain): namespaces, services, EndpointSlices
// and pods, converted like the informers' objects.
func ListState(ctx context.Context, o Options) (*cluster.State, error) {
	cfg, err := RestConfig(o)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	st := &cluster.State{}
	nss, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces on %s: %w", cfg.Host, err)
	}
	for _, n := range nss.Items {
		st.Namespaces = append(st.Namespaces, cluster.Namespace{Name: n.Name})
	}
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing services on %s: %w", cfg.Host, err)
	}
	for i := range svcs.Items {
		s, _ := kubeconv.Service(&svcs.Items[i])
		st.Services = append(st.Services, s)
	}
	slices, err := client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing EndpointSlices on %s: %w", cfg.Host, err)
	}
	for i := range slices.Items {
		if es, _ := kubeconv.EndpointSlice(&slices.Items[i]); es != nil {
			st.EndpointSlices = append(st.EndpointSlices, *es)
		}
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing pods on %s: %w", cfg.Host, err)
	}
	for i := range pods.Items {
		p, _ := kubeconv.Pod(&pods.Items[i])
		st.Pods = append(st.Pods, p)
	}
	if o.Multicluster {
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("creating the Kubernetes client for ServiceImports: %w", err)
		}
		list, err := dyn.Resource(kubeconv.ServiceImportResource).Namespace("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing ServiceImports (%s) on %s: %w", kubeconv.ServiceImportGroupVersion, cfg.Host, err)
		}
		for i := range list.Items {
			var si kubeconv.ServiceImport
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &si); err != nil {
				return nil, fmt.Errorf("reading ServiceImport %s/%s: %w", list.Items[i].GetNamespace(), list.Items[i].GetName(), err)
			}
			imp, _ := kubeconv.ServiceImportOf(&si)
			st.ServiceImports = append(st.ServiceImports, imp)
		}
	}
	return st, nil
}

// restClientOf returns rc when it is a working REST client, nil for the
// typed nil a fake clientset gives.
func restClientOf(rc rest.Interface) rest.Interface {
	if c, ok := rc.(*rest.RESTClient); ok && c != nil {
		return c
	}
	return nil
}

// listingInformer makes an informer whose list is the source's own
// (listStored: items decoded one at a time and stored in their compact
// form at once) and whose watch is watch.
func (s *Source) listingInformer(rc rest.Interface, resource string, example runtime.Object, indexers cache.Indexers,
	decode func([]byte) (runtime.Object, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.SharedIndexInformer {
	lw := &listWatch{watch: watchFn}
	inf := cache.NewSharedIndexInformerWithOptions(lw, example, cache.SharedIndexInformerOptions{Indexers: indexers})
	tf := transform(s.log, inf.GetIndexer(), s.opts.TargetRefs)
	lw.list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		l, err := listStored(ctx, rc, resource, o, decode, func(obj runtime.Object) (runtime.Object, error) {
			st, err := tf(obj)
			if err != nil {
				return nil, err
			}
			ro, ok := st.(runtime.Object)
			if !ok {
				return nil, fmt.Errorf("the stored form %T is no runtime.Object", st)
			}
			return ro, nil
		})
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	return inf
}
