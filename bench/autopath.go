package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/test/e2e/corefiles"
	"github.com/clusterdns/clusterdns/test/e2e/upstream"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The autopath phase (issue 14): lookups of short external names as a
// glibc pod sends them (resolv's glibc model, live: A and AAAA together,
// one search domain after the other), from pods of clientNS, against
// clusterdns and CoreDNS on kubeadm's Corefile, each with and without
// `autopath @kubernetes`. CoreDNS's autopath needs `pods verified` and
// the pod's address as the query's source: the benchmark creates the
// client pods through the API with loopback addresses as their pod IPs
// and sends each pod's questions from its own address.

// autopathPods is how many client pods send lookups at once.
const autopathPods = 8

// podAddr is the address of client pod i (also its pod IP).
func podAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)}) }

// apResult is one server's lookups.
type apResult struct {
	lookups, questions, failed int64
	seconds, cpuSeconds        float64
}

func (a apResult) perSecond() float64 { return float64(a.lookups) / a.seconds }
func (a apResult) perLookup() float64 { return float64(a.questions) / max(1, float64(a.lookups)) }

// apKinds are the servers of the phase.
var apKinds = []string{kClusterdnsCorefile, kClusterdnsAutopath, kCoreDNSCorefile, kCoreDNSAutopath}

// measureAutopath runs the phase on servers of its own.
func measureAutopath(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	dir := e.path("upstream-autopath")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	up, err := upstream.StartWith(dir, upstream.Options{Bulk: hitNames, Quiet: true})
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	defer up.Stop()
	e.upstream = up.Addr
	if err := b.clientPods(ctx); err != nil {
		return fmt.Errorf("client pods: %w", err)
	}
	kinds := apKinds
	servers, err := startAll(e, kinds)
	if err != nil {
		return err
	}
	defer stopAll(servers)
	r.autopath = map[string]apResult{}
	for round := range c.rounds {
		for _, k := range rotate(kinds, round) {
			res, err := glibcLookups(servers[k], time.Duration(c.seconds*float64(time.Second)))
			if err != nil {
				return err
			}
			a := r.autopath[k]
			a.lookups, a.questions, a.failed = a.lookups+res.lookups, a.questions+res.questions, a.failed+res.failed
			a.seconds, a.cpuSeconds = a.seconds+res.seconds, a.cpuSeconds+res.cpuSeconds
			r.autopath[k] = a
			logf("autopath round %d %-22s %8.0f lookups/s, %.1f questions each, %d failed", round, k, res.perSecond(), res.perLookup(), res.failed)
		}
	}
	return nil
}

// clientPods creates the client pods of clientNS with their addresses as
// pod IPs, Running (there is no kubelet: the status is written directly).
func (b *builder) clientPods(ctx context.Context) error {
	return parallel(autopathPods, autopathPods, func(i int) error {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("client-%d", i), Namespace: clientNS},
			Spec: corev1.PodSpec{NodeName: "bench-node", Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}
		created, err := b.cs.CoreV1().Pods(clientNS).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		ip := podAddr(i).String()
		created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
		_, err = b.cs.CoreV1().Pods(clientNS).UpdateStatus(ctx, created, metav1.UpdateOptions{})
		return err
	})
}

// glibcLookups has every client pod look up external names one after the
// other for d, as glibc's getaddrinfo does (the resolv model, sent live
// from the pod's address), and counts the lookups that ended with
// addresses and the questions they took.
func glibcLookups(s *server, d time.Duration) (apResult, error) {
	model, err := resolv.ParseModel("glibc", "getaddrinfo")
	if err != nil {
		return apResult{}, err
	}
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return apResult{}, err
	}
	hostConf, err := resolv.ParseString(string(host))
	if err != nil {
		return apResult{}, err
	}
	conf := resolv.ClusterFirst(clientNS, zone, s.addr, hostConf.Search...)
	view := conf.View(model)
	view.Nameservers = []string{s.addr}
	view.Timeout = time.Second
	var lookups, questions, failed atomic.Int64
	deadline := time.Now().Add(d)
	c0, t0 := s.cpuTicks(), time.Now()
	var wg sync.WaitGroup
	for i := range autopathPods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ex := &resolv.Live{Server: s.addr, Local: podAddr(i), TCPBatch: true}
			for n := i; time.Now().Before(deadline); n += autopathPods {
				name := strings.TrimSuffix(fmt.Sprintf(upstream.BulkFormat, n%hitNames), ".")
				res := resolv.RunView(view, name, model, ex)
				if !res.Resolved {
					failed.Add(1)
					continue
				}
				lookups.Add(1)
				questions.Add(int64(len(res.Queries)))
			}
		}()
	}
	wg.Wait()
	return apResult{lookups: lookups.Load(), questions: questions.Load(), failed: failed.Load(),
		seconds: time.Since(t0).Seconds(), cpuSeconds: float64(s.cpuTicks()-c0) / ticksPerSecond}, nil
}

// kubeadmCorefile is kubeadm's Corefile for a server kind of the
// forwarding and autopath phases, with its own ports, watching the
// benchmark's API server and forwarding to the phase's upstream. The
// kubernetes ttl is the benchmark's 5 s, as the other phases serve, so
// that the cluster-zone figures compare.
func (e *benchEnv) kubeadmCorefile(kind string, port, health, ready, metrics int) string {
	k := corefiles.Kubeadm{Port: port, Bind: "127.0.0.1", Kubeconfig: e.cp.AdminKubeconfig, Zone: zone, TTL: 5,
		Upstream: e.upstream, Health: health, Ready: ready, Metrics: metrics, Lameduck: time.Second}
	switch kind {
	case kClusterdnsAutopath:
		k.Extra = []string{"autopath @kubernetes"}
	case kCoreDNSAutopath:
		k.Extra, k.Pods = []string{"autopath @kubernetes"}, "verified"
	}
	return k.String()
}

// writeAutopath is the autopath section of RESULTS.md.
func (r *results) writeAutopath(w *mdWriter) {
	if len(r.autopath) == 0 {
		return
	}
	w.p("## Autopath: short external names as glibc looks them up\n\n")
	w.p("%d client pods of `%s` (created through the API, Running, with loopback pod IPs) each look up external names (`nN.bulk.example.test`, 3 dots: the whole search walk without autopath) one after the other "+
		"with glibc's getaddrinfo as resolv models it (A and AAAA together, one search domain after the other), sent live from the pod's own address; %d round(s) of %.0f s per server. "+
		"CoreDNS's autopath needs `pods verified` (a watch on every pod) and finds the pod by the query's source; clusterdns's reads the namespace from the question, and expands a pod's walks once it has seen the pod walk on its own (its first lookup is not expanded).\n\n", autopathPods, clientNS, r.cfg.rounds, r.cfg.seconds)
	w.p("| server | lookups/s | questions per lookup | lookups per CPU-second | failed |\n|---|---|---|---|---|\n")
	for _, k := range apKinds {
		a, ok := r.autopath[k]
		if !ok {
			continue
		}
		w.p("| %s | %.0f | %.1f | %.0f | %d |\n", label[k], a.perSecond(), a.perLookup(), float64(a.lookups)/max(a.cpuSeconds, 0.01), a.failed)
	}
	w.p("\n")
}

// apMemory is steady memory with autopath on, at the largest state with a
// pod behind every endpoint.
type apMemory struct {
	pods          int
	services, eps int
	steadyKB      map[string]int64
	readySeconds  map[string]float64
	podsCreated   time.Duration
}

// measureAutopathMemory gives every endpoint of the state its pod (pod IP
// the endpoint's address, Running), then starts clusterdns and CoreDNS
// with autopath on (CoreDNS's with pods verified, which watches them all)
// and takes their steady RSS.
func measureAutopathMemory(ctx context.Context, e *benchEnv, b *builder, r *results, settle time.Duration) error {
	t0 := time.Now()
	n, err := b.endpointPods(ctx)
	if err != nil {
		return fmt.Errorf("endpoint pods: %w", err)
	}
	svcs, eps := e.st.counts()
	m := &apMemory{pods: n, services: svcs, eps: eps, steadyKB: map[string]int64{}, readySeconds: map[string]float64{}, podsCreated: time.Since(t0)}
	logf("autopath memory: %d pods created in %v", n, m.podsCreated.Round(time.Second))
	if e.upstream == "" {
		e.upstream = "127.0.0.1:9" // nothing is forwarded here
	}
	cips := e.st.filter(func(s *service) bool { return !s.headless && !strings.HasPrefix(s.name, "marker-") })
	last := cips[len(cips)-1]
	servers := map[string]*server{}
	defer func() { stopAll(servers) }()
	for _, k := range []string{kClusterdnsAutopath, kCoreDNSAutopath} {
		s, err := e.start(k)
		if err != nil {
			return err
		}
		servers[k] = s
		at, err := s.waitAnswerEvery(last.fqdn(), dns.TypeA, last.clusterIP, 600*time.Second, 5*time.Millisecond)
		if err != nil {
			return err
		}
		m.readySeconds[k] = at.Sub(s.started).Seconds()
	}
	time.Sleep(settle)
	for k, s := range servers {
		m.steadyKB[k] = s.steadyRSS()
		logf("autopath memory %-20s ready %.2fs steady %d MiB", k, m.readySeconds[k], m.steadyKB[k]/1024)
	}
	r.autopathMem = m
	return nil
}

// endpointPods creates a Running pod for every endpoint of the state, in
// its service's namespace, with the endpoint's address as its pod IP.
func (b *builder) endpointPods(ctx context.Context) (int, error) {
	type podSpec struct{ ns, name, ip string }
	var pods []podSpec
	for _, s := range b.st.filter(func(*service) bool { return true }) {
		for j, ep := range s.eps {
			pods = append(pods, podSpec{s.ns, fmt.Sprintf("%s-pod-%d", s.name, j), ep.ip})
		}
	}
	err := parallel(len(pods), 48, func(i int) error {
		p := pods[i]
		return retry(func() error {
			obj := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.ns},
				Spec: corev1.PodSpec{NodeName: "bench-node", Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}
			created, err := b.cs.CoreV1().Pods(p.ns).Create(ctx, obj, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.ip, PodIPs: []corev1.PodIP{{IP: p.ip}}}
			_, err = b.cs.CoreV1().Pods(p.ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
			return err
		})
	})
	return len(pods), err
}

// autopathMemoryTarget is its row in the targets table.
func (r *results) autopathMemoryTarget(w *mdWriter) {
	m := r.autopathMem
	if m == nil {
		return
	}
	o, t := float64(m.steadyKB[kClusterdnsAutopath]), float64(m.steadyKB[kCoreDNSAutopath])
	w.p("| steady RSS with autopath on, %d services, %d endpoints, %d pods | %s | %s (pods verified) | %s | ≤ 0.3× | %s |\n",
		m.services, m.eps, m.pods, mib(int64(o)), mib(int64(t)), ratio(o, t), yes(o <= 0.3*t))
}
