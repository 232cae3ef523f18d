package kube

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// recordingSink keeps the latest snapshot, as the server would.
type recordingSink struct {
	mu     sync.Mutex
	snap   *zone.Snapshot
	synced bool
	serial uint32
	// applied is the number of services of each change applied.
	applied []int
}

func (r *recordingSink) Apply(ch zone.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, len(ch.Services))
	r.serial++
	ch.Serial = r.serial
	r.snap = r.snap.Update(ch)
}

func (r *recordingSink) Synced() {
	r.mu.Lock()
	r.synced = true
	r.mu.Unlock()
}

func (r *recordingSink) answer(name string, qt uint16) string {
	r.mu.Lock()
	s := r.snap
	r.mu.Unlock()
	a := s.Lookup(name, qt)
	var rrs []string
	for _, rec := range a.Answer {
		f := strings.Split(rec.RR.String(), "\t")
		rrs = append(rrs, f[3]+" "+f[4])
	}
	sort.Strings(rrs)
	return dns.RcodeToString[a.Rcode] + " " + strings.Join(rrs, ", ")
}

func waitAnswer(t *testing.T, sink *recordingSink, name string, qt uint16, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if got = sink.answer(name, qt); got == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s %s = %q, want %q", name, dns.TypeToString[qt], got, want)
}

func headless(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			Annotations: map[string]string{"big": strings.Repeat("x", 1000)}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, ClusterIPs: []string{corev1.ClusterIPNone}, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
}

func slice(svc, name string, trigger time.Time, addrs ...string) *discoveryv1.EndpointSlice {
	port, proto, ready := int32(8080), corev1.ProtocolTCP, true
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels:      map[string]string{discoveryv1.LabelServiceName: svc},
			Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: trigger.UTC().Format(time.RFC3339Nano)}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: &port, Protocol: &proto}},
	}
	for i, a := range addrs {
		h := svc + "-" + string(rune('0'+i))
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Hostname: &h,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return es
}

func ptr[T any](v T) *T { return &v }

func run(t *testing.T, client *fake.Clientset, opts Options) (*Source, *recordingSink, *syncWriter) {
	t.Helper()
	logBuf := &syncWriter{}
	opts.Logger = slog.New(slog.NewTextHandler(logBuf, nil))
	// The fake API server sends a watch only what happens after the watch
	// starts: the test's changes must wait for every informer's watch.
	var watchMu sync.Mutex
	watching := map[string]bool{}
	client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		watchMu.Lock()
		watching[a.GetResource().Resource] = true
		watchMu.Unlock()
		return false, nil, nil
	})
	want := []string{"namespaces", "services", "endpointslices"}
	if opts.Pods {
		want = append(want, "pods")
	}
	src := NewForClient(client, "fake", opts)
	z := zone.DefaultOptions()
	if opts.Pods {
		z.PodRecords = zone.PodsVerified
	}
	z.EndpointPodNames = opts.TargetRefs
	empty, err := zone.Empty(z)
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{snap: empty}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		sink.mu.Lock()
		ok := sink.synced
		sink.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never synced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		watchMu.Lock()
		n := 0
		for _, r := range want {
			if watching[r] {
				n++
			}
		}
		watchMu.Unlock()
		if n == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watches started: %v, want %v", watching, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return src, sink, logBuf
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// latencyRecorder counts the programming latencies the source reports.
type latencyRecorder struct {
	mu     sync.Mutex
	byKind map[string]int
}

func (r *latencyRecorder) WatchError()     {}
func (r *latencyRecorder) WatchRecovered() {}
func (r *latencyRecorder) ProgrammingLatency(kind string, _, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKind == nil {
		r.byKind = map[string]int{}
	}
	r.byKind[kind]++
}

func (r *latencyRecorder) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byKind[kind]
}

func TestLiveChangesFollowTheAPI(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		headless("web"),
		slice("web", "web-abc", time.Now(), "10.244.0.1"),
	)
	rec := &latencyRecorder{}
	_, sink, logs := run(t, client, Options{Recorder: rec})
	waitAnswer(t, sink, "web.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.244.0.1")
	waitAnswer(t, sink, "web-0.web.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.244.0.1")

	// A slice update: the new address is served, and the latency observed.
	if _, err := client.DiscoveryV1().EndpointSlices("default").Update(ctx, slice("web", "web-abc", time.Now(), "10.244.0.1", "10.244.0.2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, sink, "web.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.244.0.1, A 10.244.0.2")
	waitAnswer(t, sink, "_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV,
		"NOERROR SRV 0 50 8080 web-0.web.default.svc.cluster.local., SRV 0 50 8080 web-1.web.default.svc.cluster.local.")
	if n := rec.count(KindHeadlessWithSelector); n == 0 {
		t.Errorf("no programming latency recorded for %s", KindHeadlessWithSelector)
	}
	if !strings.Contains(logs.String(), "dns programming latency") {
		t.Errorf("latency not logged:\n%s", logs.String())
	}

	// A second service, then the first one deleted.
	if _, err := client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "default"},
		Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, sink, "api.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.96.0.10")
	if err := client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, sink, "web.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN ")
	waitAnswer(t, sink, "1.0.244.10.in-addr.arpa.", dns.TypePTR, "NXDOMAIN ")

	// A namespace that appears brings its services.
	if _, err := client.CoreV1().Services("late").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "late"},
		Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.11", ClusterIPs: []string{"10.96.0.11"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, sink, "x.late.svc.cluster.local.", dns.TypeA, "NXDOMAIN ")
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, sink, "x.late.svc.cluster.local.", dns.TypeA, "NOERROR A 10.96.0.11")
}

func TestCachesHoldTheModel(t *testing.T) {
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, headless("web"),
		slice("web", "web-abc", time.Now(), "10.244.0.1"))
	src, sink, _ := run(t, client, Options{})
	o, ok, _ := src.svcInf.GetStore().GetByKey("default/web")
	if !ok {
		t.Fatal("service not cached")
	}
	svc, ok := o.(*storedService)
	if !ok {
		t.Fatalf("cached service is a %T", o)
	}
	if !svc.svc.Headless || len(svc.svc.Ports) != 1 || svc.kind != KindHeadlessWithSelector {
		t.Errorf("cached service lost DNS fields: %+v", svc)
	}
	o, ok, _ = src.sliceInf.GetStore().GetByKey("default/web-abc")
	if !ok {
		t.Fatal("EndpointSlice not cached")
	}
	es, ok := o.(*storedSlice)
	if !ok || es.service != "default/web" || es.slice == nil || len(es.slice.Endpoints) != 1 {
		t.Fatalf("cached EndpointSlice = %#v", o)
	}
	// The zone is handed the cached objects, not copies.
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var served *cluster.Service
	for _, x := range sink.snap.Services() {
		if x.Namespace == "default" && x.Name == "web" {
			served = x
		}
	}
	if served != &svc.svc {
		t.Errorf("the snapshot holds %p, not the cached service %p", served, &svc.svc)
	}
}

func TestCompactKeepsTheValues(t *testing.T) {
	ready, notReady := true, false
	port := int32(80)
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "x"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: &port}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}, Hostname: ptr("web-0"), NodeName: ptr("n1"), Zone: ptr("z"),
				Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &ready, Terminating: &notReady},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}},
			{Addresses: []string{"10.0.0.2"}, NodeName: ptr("n1"),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "other", Name: "p"}},
			{Addresses: []string{"10.0.0.3", "10.0.0.4"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
		},
	}
	want, err := kubeconv.EndpointSlice(es)
	if err != nil {
		t.Fatal(err)
	}
	var pk stringPacker
	got := compact(want, true, &pk)
	pk.pack()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("compact changed the slice:\n got %+v\nwant %+v", got, want)
	}
	eps := got.Endpoints
	if unsafe.StringData(eps[0].TargetRef.Name) != unsafe.StringData(eps[0].Hostname) {
		t.Errorf("targetRef name not shared with the hostname")
	}
	// Without --endpoint-pod-names nothing reads targetRefs: they go, and
	// everything else stays.
	bare := compact(want, false, &pk)
	pk.pack()
	for i := range want.Endpoints {
		w := want.Endpoints[i]
		w.TargetRef = nil
		if !reflect.DeepEqual(bare.Endpoints[i], w) {
			t.Errorf("endpoint %d without targetRefs = %+v, want %+v", i, bare.Endpoints[i], w)
		}
	}
}

func TestVerifiedPodRecordsWatchPods(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.3.4", PodIPs: []corev1.PodIP{{IP: "10.244.3.4"}}}})
	_, sink, _ := run(t, client, Options{Pods: true})
	waitAnswer(t, sink, "10-244-3-4.default.pod.cluster.local.", dns.TypeA, "NOERROR A 10.244.3.4")
	if err := client.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, sink, "10-244-3-4.default.pod.cluster.local.", dns.TypeA, "NXDOMAIN ")
}

// TestRelistKeepsUnchangedObjects: an object that comes again with the
// resourceVersion already stored (a re-list) is the stored value, so it is
// neither converted again nor held twice, and the zone is not touched;
// a new resourceVersion is converted.
func TestRelistKeepsUnchangedObjects(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	tf := transform(slog.New(slog.DiscardHandler), idx, false)
	es := slice("web", "web-abc", time.Now(), "10.244.0.1")
	es.ResourceVersion = "5"
	first, err := tf(es)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(first); err != nil {
		t.Fatal(err)
	}
	again, _ := tf(es.DeepCopy())
	if again != first {
		t.Error("the same resourceVersion was converted again")
	}
	changed := es.DeepCopy()
	changed.ResourceVersion = "6"
	changed.Endpoints[0].Addresses = []string{"10.244.0.2"}
	next, _ := tf(changed)
	if next == first {
		t.Fatal("a new resourceVersion kept the stored value")
	}
	if got := next.(*storedSlice).slice.Endpoints[0].Addresses.At(0).String(); got != "10.244.0.2" {
		t.Errorf("converted address = %s", got)
	}
}

// TestSyncedStateIsBuiltOnce: the full state is read when every handler,
// not only every store, has the initial list, so the services listed are
// built once, not again by a change of all of them right after the sync
// (which costs a second build and leaves the heap fragmented).
func TestSyncedStateIsBuiltOnce(t *testing.T) {
	objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}
	const n = 3000
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		objs = append(objs, headless(name), slice(name, name+"-abc", time.Now(), fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)))
	}
	_, sink, _ := run(t, fake.NewClientset(objs...), Options{})
	time.Sleep(300 * time.Millisecond)
	sink.mu.Lock()
	applied := slices.Clone(sink.applied)
	sink.mu.Unlock()
	if len(applied) != 1 || applied[0] != n {
		t.Errorf("changes applied (services in each) = %v, want one of all %d", applied, n)
	}
	waitAnswer(t, sink, "svc-2999-0.svc-2999.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.1.11.250")
}

// TestEndpointPodNamesKeepTargetRefs: with --endpoint-pod-names the source
// keeps the targetRefs, and an endpoint without hostname is named after its
// pod; without it the targetRefs are dropped and the dashed IP names it.
func TestEndpointPodNamesKeepTargetRefs(t *testing.T) {
	for _, keep := range []bool{true, false} {
		es := slice("api", "api-x", time.Now(), "10.244.0.7")
		es.Endpoints[0].Hostname = nil
		es.Endpoints[0].TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "api-7d9f-x2"}
		client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, headless("api"), es)
		_, sink, _ := run(t, client, Options{TargetRefs: keep})
		name := "10-244-0-7.api.default.svc.cluster.local."
		if keep {
			name = "api-7d9f-x2.api.default.svc.cluster.local."
		}
		waitAnswer(t, sink, name, dns.TypeA, "NOERROR A 10.244.0.7")
	}
}

// TestStringPackerMakesOneAllocation: the strings an object keeps end up in
// one string, equal ones sharing their bytes, empty ones untouched.
func TestStringPackerMakesOneAllocation(t *testing.T) {
	a, b, c, d, e := "default", strings.Clone("web-0"), "", strings.Clone("web-0"), "zone-a"
	var pk stringPacker
	pk.add(&a, &b, &c, &d, &e)
	pk.pack()
	if a != "default" || b != "web-0" || c != "" || d != "web-0" || e != "zone-a" {
		t.Fatalf("values changed: %q %q %q %q %q", a, b, c, d, e)
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(a)))
	for _, s := range []string{b, d, e} {
		if off := uintptr(unsafe.Pointer(unsafe.StringData(s))) - base; off >= uintptr(len("defaultweb-0zone-a")) {
			t.Errorf("%q is not in the packed string (offset %d)", s, off)
		}
	}
	if unsafe.StringData(b) != unsafe.StringData(d) {
		t.Error("equal strings do not share their bytes")
	}
}

// TestStoredServiceKeepsNoSelector: what is served never reads a Service's
// selector, so the cache does not keep the map; its latency kind, which
// depends on it, is kept.
func TestStoredServiceKeepsNoSelector(t *testing.T) {
	tf := transform(slog.New(slog.DiscardHandler), nil, false)
	for _, tc := range []struct {
		selector map[string]string
		kind     string
	}{
		{map[string]string{"app": "db"}, KindHeadlessWithSelector},
		{nil, KindHeadlessWithoutSelector},
	} {
		o, err := tf(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", ResourceVersion: "1"},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: tc.selector},
		})
		if err != nil {
			t.Fatal(err)
		}
		st := o.(*storedService)
		if st.svc.Selector != nil || st.kind != tc.kind || !st.svc.Headless {
			t.Errorf("selector %v: stored selector %v, kind %q, headless %v; want none, %q, true", tc.selector, st.svc.Selector, st.kind, st.svc.Headless, tc.kind)
		}
	}
}

// TestListSignalSeesListsOnly: the requests of a list (paged or streamed)
// are signalled; watches, discovery and writes are not.
func TestListSignalSeesListsOnly(t *testing.T) {
	for url, want := range map[string]bool{
		"https://h/api/v1/services?limit=500&resourceVersion=0":                                                   true,
		"https://h/apis/discovery.k8s.io/v1/endpointslices?limit=500":                                             true,
		"https://h/api/v1/namespaces?allowWatchBookmarks=true&resourceVersion=&sendInitialEvents=true&watch=true": true,
		"https://h/api/v1/services?allowWatchBookmarks=true&resourceVersion=123&watch=true":                       false,
		"https://h/version":                             false,
		"https://h/apis/multicluster.x-k8s.io/v1alpha1": false,
	} {
		r, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := isList(r); got != want {
			t.Errorf("isList(%s) = %v, want %v", url, got, want)
		}
	}
	post, _ := http.NewRequest(http.MethodPost, "https://h/api/v1/services?limit=1", nil)
	if isList(post) {
		t.Error("a POST is taken for a list")
	}
}
