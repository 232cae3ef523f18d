// Command kubeprof measures, in process, what the live-cluster source
// (package source/kube) and the zone it feeds hold at the benchmark's
// largest state. It starts a real control plane (etcd and kube-apiserver
// from test/e2e/tools/build.sh; no kubelet, and a controller manager
// running only the namespace controller), creates through the API
// 10 namespaces and 10,000 selectorless Services (one in five headless,
// port "http"), 1,000 of them with one EndpointSlice of 100 ready
// endpoints and the rest with 5 (145,000 endpoints), then runs kube.Source
// with a sink that applies each change to a zone snapshot as `serve` does,
// until it has synced.
//
// It reports the heap after a forced GC with the source and the snapshot
// alive; the part only the snapshot holds (the heap it frees when the
// snapshot is dropped); the part the source holds (what is left over the
// heap before the source started, freed when it stops), per endpoint; the
// resident set once freed pages are returned to the OS, and its peak (the
// initial list, or creating the state on a first run); and the time to
// synced. With -heap it writes the in-use heap profile taken with both
// alive (inspect with `go tool pprof -sample_index=inuse_space`).
//
// It does not measure serving: no DNS server runs. With -dir the control
// plane's data are kept there, so a second run skips creating the state:
//
//	go run ./bench/kubeprof -dir /tmp/kubeprof -heap /tmp/kube.heap
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// shape is the state to create; its String is stored next to the data so a
// kept directory is reused only for the same shape.
type shape struct {
	namespaces, services, big, bigEps, eps, headlessEvery int
}

func (s shape) String() string {
	return fmt.Sprintf("namespaces=%d services=%d big=%d big-eps=%d eps=%d headless-every=%d",
		s.namespaces, s.services, s.big, s.bigEps, s.eps, s.headlessEvery)
}

func (s shape) endpoints() int { return s.big*s.bigEps + (s.services-s.big)*s.eps }

const managedBy = "kubeprof.clusterdns.io"

func main() {
	var sh shape
	flag.IntVar(&sh.namespaces, "namespaces", 10, "namespaces")
	flag.IntVar(&sh.services, "services", 10000, "services")
	flag.IntVar(&sh.big, "big", 1000, "services with -big-eps endpoints")
	flag.IntVar(&sh.bigEps, "big-eps", 100, "endpoints of the big services")
	flag.IntVar(&sh.eps, "eps", 5, "endpoints of the other services")
	flag.IntVar(&sh.headlessEvery, "headless-every", 5, "every n-th service is headless")
	dir := flag.String("dir", "", "keep the control plane's data here and reuse them (default: a temporary directory, removed)")
	workers := flag.Int("workers", 64, "concurrent creators")
	heap := flag.String("heap", "", "write the heap profile (in use, source and snapshot alive) here")
	verbose := flag.Bool("v", false, "log the source and client-go")
	cpu := flag.String("cpu", "", "write the CPU profile from the source's start to its sync here")
	hold := flag.Bool("hold", false, "once the state is there, print the kubeconfig and keep the control plane up until interrupted (to run clusterdns serve against it)")
	flag.Parse()
	if err := run(sh, *dir, *workers, *heap, *cpu, *verbose, *hold); err != nil {
		fmt.Fprintln(os.Stderr, "kubeprof:", err)
		os.Exit(1)
	}
}

// run starts the control plane, makes sure the state of the shape is
// there, then measures the source (or, with hold, keeps the control plane
// up).
func run(sh shape, dir string, workers int, heapFile, cpuFile string, verbose, hold bool) error {
	log := newLogger(verbose)
	bins, missing := controlplane.FindBinaries()
	if bins.APIServer == "" || bins.Etcd == "" || bins.ControllerManager == "" {
		return fmt.Errorf("missing %s (run test/e2e/tools/build.sh)", strings.Join(missing, ", "))
	}
	dir, cleanup, err := dataDir(dir)
	if err != nil {
		return err
	}
	defer cleanup()
	cp, err := startControlPlane(dir, bins)
	if err != nil {
		return err
	}
	defer cp.Stop()
	if err := ensureState(cp, dir, sh, workers); err != nil {
		return err
	}
	if hold {
		holdControlPlane(cp)
		return nil
	}
	return measureSource(cp, sh, log, heapFile, cpuFile)
}

// newLogger is the source's and client-go's logger: silent unless
// verbose.
func newLogger(verbose bool) *slog.Logger {
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	klog.SetSlogLogger(log.With("component", "client-go"))
	return log
}

// dataDir is dir, created if need be, or a temporary directory that
// cleanup removes.
func dataDir(dir string) (_ string, cleanup func(), _ error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kubeprof-")
		if err != nil {
			return "", nil, fmt.Errorf("creating the data directory: %w", err)
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating the data directory: %w", err)
	}
	return dir, func() {}, nil
}

func startControlPlane(dir string, bins controlplane.Binaries) (*controlplane.ControlPlane, error) {
	t0 := time.Now()
	cp, err := controlplane.Start(dir, bins, controlplane.Options{
		// Selectorless services need no controller; the namespace controller
		// is the cheapest one to run, since the package always starts one.
		Controllers:    []string{"namespace-controller"},
		NoKubelet:      true,
		ClientQPS:      5000,
		ClientBurst:    10000,
		EtcdQuotaBytes: 8 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the control plane in %s: %w", dir, err)
	}
	fmt.Printf("control plane up in %v (%s)\n", time.Since(t0).Round(time.Millisecond), dir)
	return cp, nil
}

// ensureState creates the state of the shape unless the marker in dir
// says an earlier run created it.
func ensureState(cp *controlplane.ControlPlane, dir string, sh shape, workers int) error {
	marker := filepath.Join(dir, "kubeprof-state")
	if b, err := os.ReadFile(marker); err == nil && string(bytes.TrimSpace(b)) == sh.String() {
		fmt.Printf("state kept from an earlier run: %s\n", sh)
		return nil
	}
	t := time.Now()
	if err := create(context.Background(), cp.CS, sh, workers); err != nil {
		return err
	}
	if err := os.WriteFile(marker, []byte(sh.String()+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", marker, err)
	}
	fmt.Printf("created %s in %v\n", sh, time.Since(t).Round(time.Millisecond))
	return nil
}

// holdControlPlane waits for an interrupt.
func holdControlPlane(cp *controlplane.ControlPlane) {
	fmt.Printf("kubeconfig: %s\nholding the control plane; interrupt to stop\n", cp.AdminKubeconfig)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

// measureSource runs the source until it has synced and measures the heap
// with the source and the snapshot alive, without the snapshot, and
// without either. The source and the snapshot stay local variables here
// so that dropping them makes them garbage.
func measureSource(cp *controlplane.ControlPlane, sh shape, log *slog.Logger, heapFile, cpuFile string) error {
	before := heapAfterGC()
	src, err := kube.New(kube.Options{Kubeconfig: cp.AdminKubeconfig, UserAgent: "kubeprof", Logger: log})
	if err != nil {
		return err
	}
	empty, err := zone.Empty(zone.DefaultOptions())
	if err != nil {
		return err
	}
	sink := &sink{cur: empty, synced: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	closeCPU, err := startCPUProfile(cpuFile)
	if err != nil {
		return err
	}
	defer closeCPU()
	start := time.Now()
	go func() { done <- src.Run(ctx, sink) }()
	if err := waitSynced(sink, done); err != nil {
		return err
	}
	syncTime := time.Since(start)
	stats := sink.snapshot().Stats

	all := heapAfterGC()
	// Freed pages go back to the OS, as they would over a few minutes
	// in a steady process.
	debug.FreeOSMemory()
	rss, peak := procStatus("VmRSS:"), procStatus("VmHWM:")
	if heapFile != "" {
		if err := writeHeap(heapFile); err != nil {
			return err
		}
	}
	// Drop the snapshot (the sink keeps an empty one): what is freed is
	// what only the zone holds.
	sink.set(empty)
	withoutSnap := heapAfterGC()
	cancel()
	if err := <-done; err != nil {
		return fmt.Errorf("running the source: %w", err)
	}
	src = nil
	after := heapAfterGC()

	footprint{sh: sh, stats: stats, syncTime: syncTime, before: before, all: all, withoutSnap: withoutSnap, after: after, rss: rss, peak: peak}.print()
	return nil
}

// startCPUProfile starts the CPU profile into path, when there is one;
// closeFile closes the file.
func startCPUProfile(path string) (closeFile func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// waitSynced waits for the source to sync, then stops the CPU profile.
func waitSynced(s *sink, done <-chan error) error {
	select {
	case <-s.synced:
		pprof.StopCPUProfile()
		return nil
	case err := <-done:
		return fmt.Errorf("the source stopped before it synced: %w", err)
	case <-time.After(10 * time.Minute):
		return errors.New("the source did not sync in 10 minutes")
	}
}

// footprint is what measureSource found; the heap figures are after a
// forced GC.
type footprint struct {
	sh       shape
	stats    zone.Stats
	syncTime time.Duration
	// The heap before the source started, with the source and the
	// snapshot, with the source only, and after both.
	before, all, withoutSnap, after runtime.MemStats
	rss, peak                       int64 // bytes
}

func (f footprint) print() {
	eps := float64(f.sh.endpoints())
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	per := func(b int64) string { return fmt.Sprintf("%.0f B/endpoint", float64(b)/eps) }
	fmt.Printf("synced %d services, %d endpoints in %v (snapshot: %d names, %d records)\n",
		f.stats.Services, f.sh.endpoints(), f.syncTime.Round(time.Millisecond), f.stats.Names, f.stats.Records)
	fmt.Printf("heap in use %s, heap alloc %s (before the source: heap alloc %s)\n",
		mib(int64(f.all.HeapInuse)), mib(int64(f.all.HeapAlloc)), mib(int64(f.before.HeapAlloc)))
	fmt.Printf("RSS %s once freed memory is returned to the OS, peak %s\n", mib(f.rss), mib(f.peak))
	snapPart := int64(f.all.HeapAlloc) - int64(f.withoutSnap.HeapAlloc)
	srcPart := int64(f.withoutSnap.HeapAlloc) - int64(f.after.HeapAlloc)
	fmt.Printf("held only by the zone snapshot: %s (%s)\n", mib(snapPart), per(snapPart))
	fmt.Printf("held by the source (informer caches, client): %s (%s)\n", mib(srcPart), per(srcPart))
	fmt.Printf("source and snapshot: %s (%s)\n", mib(snapPart+srcPart), per(snapPart+srcPart))
}

// sink applies changes to a snapshot as serve does (kube.Sink).
type sink struct {
	mu     sync.Mutex
	cur    *zone.Snapshot
	serial uint32
	once   sync.Once
	synced chan struct{}
}

func (s *sink) Apply(ch zone.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The serial only moves forward, as serve keeps it.
	if ch.Serial <= s.serial {
		ch.Serial = s.serial + 1
	}
	s.serial = ch.Serial
	s.cur = s.cur.Update(ch)
}

func (s *sink) Synced() { s.once.Do(func() { close(s.synced) }) }

func (s *sink) snapshot() *zone.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *sink) set(snap *zone.Snapshot) {
	s.mu.Lock()
	s.cur = snap
	s.mu.Unlock()
}

func heapAfterGC() runtime.MemStats {
	// Twice: finalizers queued by the first collection free more.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// procStatus is a size field of /proc/self/status (Linux), -1 if unknown.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return -1
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	return f.Close()
}

// create makes the namespaces, services and EndpointSlices of the shape.
// Existing objects are left as they are, so an interrupted run can be
// resumed.
func create(ctx context.Context, cs kubernetes.Interface, sh shape, workers int) error {
	nsName := func(i int) string { return "kp-" + strconv.Itoa(i) }
	if err := parallel(sh.namespaces, workers, func(i int) error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}}, metav1.CreateOptions{})
		return existsOK(err, "creating namespace "+nsName(i))
	}); err != nil {
		return err
	}
	var made atomic.Int64
	stop := progress(&made, sh.services)
	defer stop()
	return parallel(sh.services, workers, func(i int) error {
		ns, name := nsName(i%sh.namespaces), "svc-"+strconv.Itoa(i)
		headless := sh.headlessEvery > 0 && i%sh.headlessEvery == 0
		n := sh.eps
		if i < sh.big {
			n = sh.bigEps
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8080)}}},
		}
		if headless {
			svc.Spec.ClusterIP = corev1.ClusterIPNone
		}
		if err := do(func() error {
			_, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
			return err
		}, "creating service "+ns+"/"+name); err != nil {
			return err
		}
		es := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Namespace: ns,
				Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: managedBy}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}},
		}
		for j := range n {
			// Endpoint addresses are a function of (service, index), so a
			// resumed run writes the same ones: 10.128.0.0/9 holds 8M.
			ep := discoveryv1.Endpoint{
				Addresses:  []string{endpointIP(i, j, sh.bigEps).String()},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
				NodeName:   ptr(controlplane.NodeName),
			}
			if headless {
				pod := name + "-" + strconv.Itoa(j)
				ep.Hostname = ptr(pod)
				ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod, UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i*1000+j))}
			}
			es.Endpoints = append(es.Endpoints, ep)
		}
		if err := do(func() error {
			_, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{})
			return err
		}, "creating EndpointSlice "+ns+"/"+es.Name); err != nil {
			return err
		}
		made.Add(1)
		return nil
	})
}

func endpointIP(svc, ep, perService int) netip.Addr {
	n := uint32(svc*perService + ep)
	return netip.AddrFrom4([4]byte{10, byte(128 + n>>16&0x7f), byte(n >> 8), byte(n)})
}

// progress prints how many services are done every ten seconds.
func progress(n *atomic.Int64, total int) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Printf("  %d/%d services\n", n.Load(), total)
			}
		}
	}()
	return func() { close(done) }
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the
// first error; the others stop at their next item.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// do runs f until it succeeds, the object already exists or it fails with
// an error that does not go away by retrying.
func do(f func() error, what string) error {
	var err error
	for attempt := range 10 {
		if err = existsOK(f(), what); err == nil || !transient(err) {
			return err
		}
		time.Sleep(time.Duration(100*(attempt+1)) * time.Millisecond)
	}
	return err
}

// existsOK maps "already exists" to success and wraps other errors.
func existsOK(err error, what string) error {
	if err == nil || apierrors.IsAlreadyExists(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func transient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err)
}

func ptr[T any](v T) *T { return &v }
