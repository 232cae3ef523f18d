package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/test/e2e/upstream"
)

// The churn phase (issue 17, item 3): each server, on kubeadm's Corefile,
// answers mix a at half its own maximum, quiet and then while a load
// generator rolls the base state's Services through the API at a steady
// rate: every change gives one endpoint of one Service a new address, as
// a rolling update of a Deployment (a new pod) or a StatefulSet (the same
// hostname, a new pod IP) does, written as the EndpointSlice controller
// writes it (one slice update, the trigger-time annotation set). Reported:
// each server's QPS loss against its quiet run, p99 latency, programming
// latency (CoreDNS's own histogram; clusterdns's too, and its event-to-swap
// from its log) and GC pauses (go_gc_duration_seconds).

// churnRates are the endpoint changes per second asked of the generator.
var churnRates = []int{100, 500}

// churnKinds are the servers measured. The minimal responder is the
// control: it does nothing per change, so its loss is what the control
// plane and the load generator take from the machine (2 cores here).
var churnKinds = []string{kCoreDNSCorefile, kClusterdnsCorefile, kCeiling}

// churnAtCoreDNSRate labels clusterdns's runs at CoreDNS's rate: the same
// load for both, since half of clusterdns's maximum is many times more
// queries than half of CoreDNS's, on cores the control plane shares.
const churnAtCoreDNSRate = "clusterdns-at-coredns-rate"

// churnRun is one measured run of one server.
type churnRun struct {
	rate     int     // endpoint changes per second asked (0: quiet)
	achieved float64 // changes per second written
	qps      float64
	lost     int64
	sent     int64
	p50, p99 float64 // seconds
	// cpu is the server's CPU time per second of the run (cores busy).
	cpu float64
	// prog99 is the p99 of coredns_kubernetes_dns_programming_duration_seconds
	// over the run; internal99 clusterdns's event-to-swap p99 (its log).
	prog99, internal99 float64
	gcCount            float64
	gcTotal, gcMax     float64 // seconds
}

// churnResults are the phase's runs by server, quiet first.
type churnResults struct {
	rate map[string]float64 // the dnsperf rate used, by server
	max  map[string]float64 // the server's maximum measured first
	runs map[string][]churnRun
}

// measureChurn runs the phase on servers of its own.
func measureChurn(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	dir := e.path("churn-upstream")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	up, err := upstream.StartWith(dir, upstream.Options{Quiet: true})
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	defer up.Stop()
	e.upstream = up.Addr
	data := e.path("mix-" + mixA + ".bin")
	if _, err := os.Stat(data); err != nil {
		if err := writeBinaryQueries(data, mixQueries(e.st, mixA), 1232); err != nil {
			return err
		}
	}
	gen, err := newChurner(ctx, b, e.st)
	if err != nil {
		return err
	}
	seconds := c.seconds * 2
	cr := &churnResults{rate: map[string]float64{}, max: map[string]float64{}, runs: map[string][]churnRun{}}
	r.churn = cr
	for _, k := range churnKinds {
		servers, err := startAll(e, []string{k})
		if err != nil {
			return err
		}
		s := servers[k]
		err = func() error {
			defer s.stop()
			res, err := dnsperf(s, perfOpts{data: data, seconds: 3, clients: 64, binary: true})
			if err != nil {
				return err
			}
			cr.max[k] = res.qps
			cr.rate[k] = math.Round(res.qps / 2)
			logf("churn %s: maximum %.0f QPS, measuring at %.0f", k, res.qps, cr.rate[k])
			rates := map[string]float64{k: cr.rate[k]}
			if k == kClusterdnsCorefile && cr.rate[kCoreDNSCorefile] > 0 {
				rates[churnAtCoreDNSRate] = cr.rate[kCoreDNSCorefile]
			}
			for _, as := range []string{k, churnAtCoreDNSRate} {
				qps, ok := rates[as]
				if !ok {
					continue
				}
				for _, rate := range append([]int{0}, churnRates...) {
					run, err := churnOnce(ctx, s, gen, data, int(qps), rate, seconds)
					if err != nil {
						return err
					}
					cr.runs[as] = append(cr.runs[as], run)
					logf("churn %s at %.0f QPS, %d changes/s (%.0f written): %.0f QPS, lost %d, p99 %s, CPU %.2f, programming p99 %s, internal p99 %s, GC %0.f pauses %s total %s max",
						as, qps, rate, run.achieved, run.qps, run.lost, ms(run.p99), run.cpu, ms(run.prog99), ms(run.internal99), run.gcCount, ms(run.gcTotal), ms(run.gcMax))
				}
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// churnOnce runs dnsperf at qps for seconds against s while gen writes
// rate changes a second (none for 0).
func churnOnce(ctx context.Context, s *server, gen *churner, data string, qps, rate int, seconds float64) (churnRun, error) {
	run := churnRun{rate: rate}
	before, err := scrapeChurnMetrics(s)
	if err != nil {
		return run, err
	}
	logsBefore := len(logLines(s))
	cctx, cancel := context.WithCancel(ctx)
	var written atomic.Int64
	var genErr error
	var wg sync.WaitGroup
	start := time.Now()
	if rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			genErr = gen.run(cctx, rate, &written)
		}()
	}
	res, err := dnsperf(s, perfOpts{data: data, seconds: seconds, clients: 64, qps: qps, verbose: true, binary: true})
	cancel()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return run, err
	}
	if genErr != nil {
		return run, genErr
	}
	after, err := scrapeChurnMetrics(s)
	if err != nil {
		return run, err
	}
	run.achieved = float64(written.Load()) / elapsed
	run.qps, run.lost, run.sent = res.qps, res.lost, res.sent
	run.cpu = res.cpuSeconds / max(res.wall, 0.001)
	lat := append([]float64(nil), res.latencies...)
	sort.Float64s(lat)
	run.p50, run.p99 = percentile(lat, 0.5), percentile(lat, 0.99)
	run.prog99 = histogramQuantile(before.prog, after.prog, 0.99)
	run.gcCount = after.gcCount - before.gcCount
	run.gcTotal = after.gcSum - before.gcSum
	run.gcMax = after.gcMax
	if s.logs != nil {
		var internal []float64
		for _, line := range logLines(s)[logsBefore:] {
			if v, ok := eventToSwap(line); ok {
				internal = append(internal, v)
			}
		}
		sort.Float64s(internal)
		run.internal99 = percentile(internal, 0.99)
	}
	return run, nil
}

// churner rolls endpoints of the base state's services: each change gives
// one endpoint a new address and writes its slice, keeping the slice's
// resourceVersion from the last write (no read per write, as a controller
// working from its informer).
type churner struct {
	b    *builder
	st   *state
	svcs []*service
	mu   sync.Mutex
	rv   map[string]string // "<ns>/<slice>" -> resourceVersion
	next atomic.Int64
}

func newChurner(ctx context.Context, b *builder, st *state) (*churner, error) {
	g := &churner{b: b, st: st, rv: map[string]string{}}
	for i := range 10 {
		ns := fmt.Sprintf("bench-%d", i)
		list, err := b.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the slices of %s: %w", ns, err)
		}
		for _, es := range list.Items {
			g.rv[ns+"/"+es.Name] = es.ResourceVersion
		}
		for j := range 1000 {
			if s := st.get(ns, "svc-"+strconv.Itoa(j)); s != nil && len(s.eps) > 0 && len(s.eps) <= 1000 {
				g.svcs = append(g.svcs, s)
			}
		}
	}
	if len(g.svcs) == 0 {
		return nil, fmt.Errorf("churn: the base state has no services to roll")
	}
	return g, nil
}

// churnWriters is how many writes are in flight at once: enough for 500 a
// second at the API server's latency on this machine.
const churnWriters = 16

// run writes rate changes a second until ctx is done. A service is
// changed by one writer at a time (services are taken in turn, more of
// them than writers).
func (g *churner) run(ctx context.Context, rate int, written *atomic.Int64) error {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	jobs := make(chan *service, churnWriters)
	errs := make(chan error, churnWriters)
	var wg sync.WaitGroup
	for range churnWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				if err := g.change(ctx, s); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
				written.Add(1)
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			return err
		case <-tick.C:
		}
		s := g.svcs[int(g.next.Add(1)-1)%len(g.svcs)]
		select {
		case jobs <- s:
		default: // the writers are behind: the achieved rate says so
		}
	}
}

// change gives one endpoint of s a new address and writes its slice.
func (g *churner) change(ctx context.Context, s *service) error {
	i := int(g.next.Load()) % len(s.eps)
	s.eps[i].ip = g.st.allocIP()
	for _, es := range sliceObjects(s, time.Now()) {
		key := s.ns + "/" + es.Name
		g.mu.Lock()
		es.ResourceVersion = g.rv[key]
		g.mu.Unlock()
		api := g.b.cs.DiscoveryV1().EndpointSlices(s.ns)
		out, err := api.Update(ctx, es, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			cur, gerr := api.Get(ctx, es.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			es.ResourceVersion = cur.ResourceVersion
			out, err = api.Update(ctx, es, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("churn: writing EndpointSlice %s: %w", key, err)
		}
		g.mu.Lock()
		g.rv[key] = out.ResourceVersion
		g.mu.Unlock()
	}
	return nil
}

// churnMetrics is what a run reads from a server's /metrics.
type churnMetrics struct {
	prog                  map[float64]float64 // le -> cumulative count, every service kind summed
	gcCount, gcSum, gcMax float64
}

func scrapeChurnMetrics(s *server) (churnMetrics, error) {
	m := churnMetrics{prog: map[float64]float64{}}
	if s.metrics == "" {
		return m, nil // the minimal responder has none
	}
	body, err := httpGet(s.metrics + "/metrics")
	if err != nil {
		return m, fmt.Errorf("%s metrics: %w", s.kind, err)
	}
	for _, l := range strings.Split(body, "\n") {
		name, val, ok := strings.Cut(l, " ")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "coredns_kubernetes_dns_programming_duration_seconds_bucket{"):
			i := strings.Index(name, `le="`)
			if i < 0 {
				continue
			}
			le := name[i+4:]
			le = le[:strings.IndexByte(le, '"')]
			b, err := strconv.ParseFloat(le, 64)
			if err != nil {
				b = math.Inf(1)
			}
			m.prog[b] += v
		case name == "go_gc_duration_seconds_count":
			m.gcCount = v
		case name == "go_gc_duration_seconds_sum":
			m.gcSum = v
		case name == `go_gc_duration_seconds{quantile="1"}`:
			m.gcMax = v
		}
	}
	return m, nil
}

// histogramQuantile is the q quantile of the observations between two
// scrapes of a histogram: the upper bound of the bucket it falls in.
func histogramQuantile(before, after map[float64]float64, q float64) float64 {
	var bounds []float64
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	for _, b := range bounds {
		if after[b]-before[b] >= q*total {
			return b
		}
	}
	return bounds[len(bounds)-1]
}

// writeChurn is the phase's section of RESULTS.md.
func (r *results) writeChurn(w *mdWriter) {
	cr := r.churn
	if cr == nil {
		return
	}
	w.p("## Churn while serving\n\n")
	w.p("Each server on kubeadm's Corefile answers mix a at half its own maximum (dnsperf `-Q`, %.0f s a run), quiet and while the base state's Services are rolled through the API "+
		"(each change: one endpoint of one Service gets a new address, one EndpointSlice update with the trigger-time annotation, as a rolling update's new pod; %d writers). "+
		"QPS loss is against the quiet run; programming p99 is each server's `coredns_kubernetes_dns_programming_duration_seconds` (trigger to handled, bucket bound), internal p99 clusterdns's event to snapshot swap (its log); GC from `go_gc_duration_seconds`.\n\n", r.cfg.seconds*2, churnWriters)
	w.p("| server | changes/s asked (written) | QPS | QPS loss | p50 | p99 | lost | server CPU | programming p99 | internal p99 | GC pauses | GC total | GC max |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range []string{kClusterdnsCorefile, churnAtCoreDNSRate, kCoreDNSCorefile, kCeiling} {
		runs := cr.runs[k]
		if len(runs) == 0 {
			continue
		}
		quiet := runs[0].qps
		for _, run := range runs {
			asked, loss := "quiet", "–"
			if run.rate > 0 {
				asked = fmt.Sprintf("%d (%.0f)", run.rate, run.achieved)
				loss = fmt.Sprintf("%.1f%%", 100*(1-run.qps/quiet))
			}
			internal := "–"
			if (k == kClusterdnsCorefile || k == churnAtCoreDNSRate) && run.rate > 0 {
				internal = ms(run.internal99)
			}
			prog := "–"
			if run.rate > 0 {
				prog = ms(run.prog99)
			}
			w.p("| %s | %s | %s | %s | %s | %s | %d of %d | %.2f cores | %s | %s | %.0f | %s | %s |\n", label[k], asked, kqps(run.qps), loss, ms(run.p50), ms(run.p99), run.lost, run.sent,
				run.cpu, prog, internal, run.gcCount, ms(run.gcTotal), ms(run.gcMax))
		}
	}
	w.p("\n")
}

// churnTargets are issue 17's churn rows of the targets table (at 500
// changes a second).
func (r *results) churnTargets(w *mdWriter) {
	cr := r.churn
	if cr == nil {
		return
	}
	at := func(k string, rate int) (churnRun, churnRun, bool) {
		runs := cr.runs[k]
		for _, run := range runs {
			if run.rate == rate && len(runs) > 0 {
				return runs[0], run, true
			}
		}
		return churnRun{}, churnRun{}, false
	}
	q, ours, ok := at(kClusterdnsCorefile, 500)
	if !ok {
		return
	}
	tq, theirs, _ := at(kCoreDNSCorefile, 500)
	loss := 1 - ours.qps/q.qps
	theirLoss := "–"
	if tq.qps > 0 {
		theirLoss = fmt.Sprintf("%.1f%%", 100*(1-theirs.qps/tq.qps))
	}
	w.p("| QPS loss under 500 endpoint changes/s | %.1f%% | %s | | ≤ 5%% | %s |\n", 100*loss, theirLoss, yes(loss <= 0.05))
	w.p("| p99 latency under 500 endpoint changes/s | %s | %s | | ≤ 1 ms | %s |\n", ms(ours.p99), ms(theirs.p99), yes(ours.p99 <= 0.001))
	w.p("| internal programming latency p99 under 500 changes/s | %s | | | < 20 ms | %s |\n", ms(ours.internal99), yes(ours.internal99 < 0.020))
}

// logLines are the server's log lines so far (none for a server whose log
// is not kept).
func logLines(s *server) []string {
	if s.logs == nil {
		return nil
	}
	return s.logs.all()
}
