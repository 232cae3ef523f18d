package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/upstream"
	"github.com/miekg/dns"
)

// The forwarding phase: clusterdns and CoreDNS run kubeadm's Corefile
// (kubernetes, forward to a real upstream, cache 30 with the cluster zone
// left out, loop, reload, loadbalance, health, ready, prometheus) and are
// measured on what that Corefile adds: answers from the cache, the cost of
// a cache miss over asking the upstream directly, and memory with a full
// cache; and clusterdns's cluster names are measured once more against the
// build from before forwarding existed (baselineRev), so that the new
// paths are seen to cost the cluster zone nothing.

// baselineRev is the last commit before forwarding and the cache (issue 13).
const baselineRev = "364379f"

const (
	// hitNames is how many upstream names the cache-hit mix asks (A and
	// AAAA each): well inside both caches' capacity.
	hitNames = 1000
	// fillNames fills both success caches (CoreDNS's default capacity is
	// 9,984 entries, clusterdns's the same).
	fillNames = 12000
	// missRate is the rate of the cache-miss latency runs: low enough that
	// no queue forms anywhere, so p50 is the path's own cost.
	missRate = 1000
)

// fwdResults is what the forwarding phase measured.
type fwdResults struct {
	baselineErr string                    // why the baseline was not built, if it was not
	cluster     map[string]*agg           // mix a, by kind
	hits        map[string]*agg           // the cache-hit mix, by kind
	miss        map[string]*latencyRes    // unique names, by kind (kUpstream: direct)
	rssBefore   map[string]int64          // KiB, before the fill
	rssFull     map[string]int64          // KiB, with a full cache
	rssFile     map[string]int64          // KiB of it mapped from files (the binary)
	entries     map[string]map[string]int // coredns_cache_entries by kind and type
	agreement   agreement                 // the hit mix's first answers, clusterdns vs CoreDNS
	hitQueries  int
	missQueries int
}

// measureForward runs the forwarding phase on servers of its own.
func measureForward(c config, e *benchEnv, r *results) error {
	f := &fwdResults{cluster: map[string]*agg{}, hits: map[string]*agg{}, miss: map[string]*latencyRes{},
		rssBefore: map[string]int64{}, rssFull: map[string]int64{}, rssFile: map[string]int64{}, entries: map[string]map[string]int{}}
	r.fwd = f
	dir := e.path("upstream")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	up, err := upstream.StartWith(dir, upstream.Options{Bulk: fillNames, Quiet: true})
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	defer up.Stop()
	e.upstream = up.Addr
	kinds := []string{kClusterdns, kClusterdnsCorefile, kCoreDNSCorefile, kCeiling}
	switch err := e.buildBaseline(c); {
	case err != nil:
		f.baselineErr = err.Error()
		logf("no baseline: %v", err)
	case e.baseline != "":
		kinds = append(kinds, kClusterdnsBaseline)
	}
	servers, err := startAll(e, kinds)
	if err != nil {
		return err
	}
	defer stopAll(servers)
	upServer := &server{kind: kUpstream, addr: up.Addr, pid: up.Pid()}
	time.Sleep(3 * time.Second) // past serve's release of its start-up pages
	for _, k := range []string{kClusterdnsCorefile, kCoreDNSCorefile} {
		logf("%s at rest: RSS %s (files %s)", k, mib(servers[k].memKB("VmRSS")), mib(servers[k].memKB("RssFile")))
	}
	steps := []func() error{
		func() error { return f.measureCluster(c, e, servers) },
		func() error { return f.measureHits(c, e, servers) },
		func() error { return f.measureMisses(c, e, servers, upServer) },
		func() error { return f.measureFull(e, servers) },
	}
	if c.quick {
		// The hits and misses only: the cluster-zone comparison and the
		// full cache are the full run's (bench-quick under 3 minutes).
		steps = steps[1:3]
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// buildBaseline builds baselineRev as the benchmark builds clusterdns;
// not in the quick variant (the build alone is half a minute).
func (e *benchEnv) buildBaseline(c config) error {
	if c.quick {
		return nil
	}
	bin, err := buildRev(e, baselineRev, "clusterdns-baseline")
	if err != nil {
		return err
	}
	e.baseline = bin
	return nil
}

// measureCluster runs mix a against clusterdns with the kubeadm Corefile,
// with flags alone, and as built before forwarding existed.
func (f *fwdResults) measureCluster(c config, e *benchEnv, servers map[string]*server) error {
	data := e.path("mix-" + mixA + ".bin")
	if _, err := os.Stat(data); err != nil {
		if err := writeBinaryQueries(data, mixQueries(e.st, mixA), 1232); err != nil {
			return err
		}
	}
	kinds := presentKinds(servers, kClusterdnsCorefile, kClusterdns, kClusterdnsBaseline)
	return runRounds(c, servers, kinds, data, "cluster mix a", f.cluster)
}

// presentKinds are the kinds among want that run.
func presentKinds(servers map[string]*server, want ...string) []string {
	return slices.DeleteFunc(want, func(k string) bool { return servers[k] == nil })
}

// runRounds is a 1 s warm-up per server, then c.rounds rounds of dnsperf
// unlimited, the order rotating, into out.
func runRounds(c config, servers map[string]*server, kinds []string, data, what string, out map[string]*agg) error {
	for _, k := range kinds {
		if _, err := dnsperf(servers[k], perfOpts{data: data, seconds: 1, clients: 64, binary: true}); err != nil {
			return err
		}
	}
	for round := range c.rounds {
		for _, k := range rotate(kinds, round) {
			res, err := dnsperf(servers[k], perfOpts{data: data, seconds: c.seconds, clients: 64, binary: true})
			if err != nil {
				return err
			}
			if out[k] == nil {
				out[k] = &agg{}
			}
			out[k].add(res)
			logf("%s round %d %-22s %8.0f QPS %8.0f q/CPU-s lost %d", what, round, k, res.qps, res.perCPU(), res.lost)
		}
	}
	return nil
}

// hitQueries are A and AAAA of the first hitNames bulk names, shuffled.
func hitQueries() []query {
	var qs []query
	for i := range hitNames {
		name := fmt.Sprintf(upstream.BulkFormat, i)
		qs = append(qs, query{name, dns.TypeA}, query{name, dns.TypeAAAA})
	}
	shuffle(qs)
	return qs
}

// shuffle puts qs in a fixed pseudo-random order.
func shuffle(qs []query) {
	sort.SliceStable(qs, func(i, j int) bool { return hash(qs[i].String()) < hash(qs[j].String()) })
}

func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := range len(s) {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// measureHits runs the cache-hit mix: the warm-up asks every name once
// (the misses), the rounds then come from the caches (an entry expires
// after the cache's 30 s cap, so a few per round are asked again).
func (f *fwdResults) measureHits(c config, e *benchEnv, servers map[string]*server) error {
	qs := hitQueries()
	f.hitQueries = len(qs)
	data := e.path("mix-hits.bin")
	if err := writeBinaryQueries(data, qs, 1232); err != nil {
		return err
	}
	f.agreement = agree(servers[kClusterdnsCorefile], servers[kCoreDNSCorefile], qs[:200])
	return runRounds(c, servers, []string{kClusterdnsCorefile, kCoreDNSCorefile, kCeiling}, data, "cache hits", f.hits)
}

// agree compares two servers' answers (rcode and records) to qs.
func agree(a, b *server, qs []query) agreement {
	var out agreement
	for _, q := range qs {
		m1, err1 := exchange(a.addr, q, false, 1232)
		m2, err2 := exchange(b.addr, q, false, 1232)
		out.total++
		s1, s2 := fmt.Sprint(err1), fmt.Sprint(err2)
		if err1 == nil && err2 == nil {
			s1, s2 = summarize(m1, q.qtype), summarize(m2, q.qtype)
		}
		if s1 != s2 {
			out.diff++
			if len(out.examples) < 3 {
				out.examples = append(out.examples, fmt.Sprintf("%s: %s %s, %s %s", q, a.kind, s1, b.kind, s2))
			}
		}
	}
	return out
}

// measureMisses sends names no cache holds (a new one each query, from
// the upstream's wildcard) at missRate to the upstream directly and to each
// server, and pools every answer's latency.
func (f *fwdResults) measureMisses(c config, e *benchEnv, servers map[string]*server, up *server) error {
	relay, err := e.start(kRelay)
	if err != nil {
		return err
	}
	defer relay.stop()
	kinds := []string{kUpstream, kRelay, kClusterdnsCorefile, kCoreDNSCorefile}
	all := map[string]*server{kUpstream: up, kRelay: relay, kClusterdnsCorefile: servers[kClusterdnsCorefile], kCoreDNSCorefile: servers[kCoreDNSCorefile]}
	per := int(float64(missRate) * c.seconds * 1.2) // more names than one run sends: none is asked twice
	f.missQueries = per
	next := 0
	for round := range c.rounds {
		for _, k := range rotate(kinds, round) {
			qs := make([]query, per)
			for i := range qs {
				qs[i] = query{fmt.Sprintf(upstream.MissFormat, next), dns.TypeA}
				next++
			}
			data := e.path(fmt.Sprintf("mix-miss-%d-%s.bin", round, k))
			if err := writeBinaryQueries(data, qs, 1232); err != nil {
				return err
			}
			res, err := dnsperf(all[k], perfOpts{data: data, seconds: c.seconds, clients: 16, qps: missRate, verbose: true, binary: true})
			if err != nil {
				return err
			}
			if f.miss[k] == nil {
				f.miss[k] = &latencyRes{}
			}
			f.miss[k].add(res)
			logf("cache misses %-22s at %d QPS: %d samples, lost %d", k, missRate, len(res.latencies), res.lost)
		}
	}
	for _, l := range f.miss {
		l.summarize()
	}
	return nil
}

// measureFull reads each Corefile server's RSS, fills its cache with
// fillNames names (more than its capacity), and reads it again once the
// cache says it is full.
func (f *fwdResults) measureFull(e *benchEnv, servers map[string]*server) error {
	qs := make([]query, fillNames)
	for i := range qs {
		qs[i] = query{fmt.Sprintf(upstream.BulkFormat, i), dns.TypeA}
	}
	data := e.path("mix-fill.bin")
	if err := writeBinaryQueries(data, qs, 1232); err != nil {
		return err
	}
	for _, k := range []string{kClusterdnsCorefile, kCoreDNSCorefile} {
		s := servers[k]
		f.rssBefore[k] = s.memKB("VmRSS")
		// Twice through: what one pass lost or evicted early is asked again.
		for range 2 {
			if _, err := dnsperf(s, perfOpts{data: data, seconds: 60, clients: 16, qps: 20000, runs: 1, binary: true}); err != nil {
				return err
			}
		}
		time.Sleep(2 * time.Second)
		f.rssFull[k] = s.memKB("VmRSS")
		f.rssFile[k] = s.memKB("RssFile")
		entries, err := cacheEntries(s.metrics)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		f.entries[k] = entries
		logf("full cache %-22s RSS %s -> %s (files %s), entries %v", k, mib(f.rssBefore[k]), mib(f.rssFull[k]), mib(f.rssFile[k]), entries)
		if s.pprof != "" {
			if err := saveHeapProfile(s.pprof, e.path(k+".heap.pprof")); err != nil {
				logf("heap profile of %s: %v", k, err)
			}
		}
	}
	return nil
}

// saveHeapProfile writes the heap profile of a --pprof-addr to path.
func saveHeapProfile(addr, path string) error {
	body, err := httpGet(addr + "/debug/pprof/heap")
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

// cacheEntries reads coredns_cache_entries by type from a /metrics URL.
func cacheEntries(url string) (map[string]int, error) {
	out := map[string]int{}
	body, err := httpGet(url + "/metrics")
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, "coredns_cache_entries{") {
			continue
		}
		i := strings.Index(l, `type="`)
		j := strings.LastIndexByte(l, ' ')
		if i < 0 || j < 0 {
			continue
		}
		typ, _, _ := strings.Cut(l[i+6:], `"`)
		var v float64
		fmt.Sscan(l[j+1:], &v)
		out[typ] += int(v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no coredns_cache_entries at %s/metrics", url)
	}
	return out, nil
}

// writeForward is the forwarding section of RESULTS.md.
func (r *results) writeForward(w *mdWriter) {
	f := r.fwd
	if f == nil {
		return
	}
	w.p("## Forwarding and cache (kubeadm's Corefile, same run)\n\n")
	w.p("clusterdns (`serve --corefile`) and CoreDNS run the same Corefile: kubeadm's (`errors`, `health { lameduck }`, `ready`, "+
		"`kubernetes %s in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa; ttl 5 }`, `prometheus`, "+
		"`forward . UPSTREAM { max_concurrent 1000 }`, `cache 30 { disable success %s; disable denial %s }`, `loop`, `reload`, `loadbalance`), "+
		"forwarding to unbound on loopback, which serves the names asked with authority (`test/e2e/upstream`, query log off).\n\n", zone, zone, zone)
	w.p("### Cache hits\n\n%d queries (A and AAAA of %d external names, EDNS0 1,232), looped; the warm-up asks each once, the rounds are answered from the caches "+
		"(an entry lives 30 s, the cache's cap, so a few per round are asked again).\n\n", f.hitQueries, hitNames)
	writeThroughputTable(w, f.hits, []string{kClusterdnsCorefile, kCoreDNSCorefile, kCeiling})
	w.p("\nAnswers compared before the run (first 200 queries): clusterdns and CoreDNS differ on %d of %d.%s\n\n", f.agreement.diff, f.agreement.total, examples(f.agreement))
	w.p("### Cache misses\n\nA new name every query (%d names per run, from the upstream's wildcard), %d QPS, `dnsperf -c 16`, sent to the upstream directly and through each server; "+
		"every answer's latency pooled over the rounds.\n\n", f.missQueries, missRate)
	w.p("| path | answers | p50 | p99 | p50 over the upstream's | lost |\n|---|---|---|---|---|---|\n")
	direct := f.miss[kUpstream]
	for _, k := range []string{kUpstream, kRelay, kClusterdnsCorefile, kCoreDNSCorefile} {
		l := f.miss[k]
		if l == nil {
			continue
		}
		over := "–"
		if direct != nil && k != kUpstream {
			over = fmt.Sprintf("+%s", ms(l.p50-direct.p50))
		}
		w.p("| %s | %d | %s | %s | %s | %d of %d |\n", label[k], l.n, ms(l.p50), ms(l.p99), over, l.lost, l.sent)
	}
	w.p("\n### Memory with a full cache\n\nVmRSS before, and after asking %d distinct names twice (A; more than either cache holds), then 2 s to settle; the entries are each server's own `coredns_cache_entries`.\n\n", fillNames)
	w.p("| server | RSS before | RSS with a full cache | added | entries (success / denial) | full / CoreDNS |\n|---|---|---|---|---|---|\n")
	for _, k := range []string{kClusterdnsCorefile, kCoreDNSCorefile} {
		w.p("| %s | %s | %s | %s | %d / %d | %s |\n", label[k], mib(f.rssBefore[k]), mib(f.rssFull[k]), mib(f.rssFull[k]-f.rssBefore[k]),
			f.entries[k]["success"], f.entries[k]["denial"], ratio(float64(f.rssFull[k]), float64(f.rssFull[kCoreDNSCorefile])))
	}
	w.p("\n### Cluster names with the Corefile\n\nMix (a) against clusterdns with kubeadm's Corefile, with flags alone (`serve --kubeconfig … --ttl 5`, no forwarding), and built from %s, the last commit before forwarding and the cache.\n\n", baselineRev)
	if f.baselineErr != "" {
		w.p("The baseline was not built: %s\n\n", firstLine(f.baselineErr))
	}
	writeThroughputTable(w, f.cluster, []string{kClusterdnsCorefile, kClusterdns, kClusterdnsBaseline})
	w.p("\n")
}

// examples lists an agreement's first differences.
func examples(a agreement) string {
	if len(a.examples) == 0 {
		return ""
	}
	return " For example: " + strings.Join(a.examples, "; ") + "."
}

// forwardTargets are the forwarding rows of the targets table.
func (r *results) forwardTargets(w *mdWriter) {
	f := r.fwd
	if f == nil || f.hits[kClusterdnsCorefile] == nil {
		return
	}
	ours, theirs, ceil := f.hits[kClusterdnsCorefile], f.hits[kCoreDNSCorefile], ceilingQPS(f.hits)
	if theirs != nil {
		w.p("| throughput, cache hits (same Corefile) | %s QPS | %s QPS | %s | ≥ 4.0× | %s |\n", kqps(ours.medQPS()), kqps(theirs.medQPS()), ratio(ours.medQPS(), theirs.medQPS()), yes(ours.medQPS() >= 4*theirs.medQPS()))
		w.p("| queries per CPU-second, cache hits | %s | %s | %s | ≥ 4.0× | %s |\n", kqps(ours.medPerCPU()), kqps(theirs.medPerCPU()), ratio(ours.medPerCPU(), theirs.medPerCPU()), yes(ours.medPerCPU() >= 4*theirs.medPerCPU()))
	}
	w.p("| throughput vs ceiling, cache hits | %s QPS | ceiling %s QPS | %s | ≥ 0.80× | %s |\n", kqps(ours.medQPS()), kqps(ceil), ratio(ours.medQPS(), ceil), yes(ours.medQPS() >= 0.8*ceil))
	if d, o, t := f.miss[kUpstream], f.miss[kClusterdnsCorefile], f.miss[kCoreDNSCorefile]; d != nil && o != nil && t != nil {
		w.p("| cache miss, p50 over asking the upstream directly | +%s | +%s | | ≤ +0.100 ms | %s |\n", ms(o.p50-d.p50), ms(t.p50-d.p50), yes(o.p50-d.p50 <= 0.0001))
	}
	if o, t := f.rssFull[kClusterdnsCorefile], f.rssFull[kCoreDNSCorefile]; o > 0 && t > 0 {
		w.p("| RSS with a full cache (%d entries) | %s | %s | %s | ≤ 0.5× | %s |\n", f.entries[kClusterdnsCorefile]["success"], mib(o), mib(t), ratio(float64(o), float64(t)), yes(float64(o) <= 0.5*float64(t)))
	}
	if o, b := f.cluster[kClusterdnsCorefile], f.cluster[kClusterdnsBaseline]; o != nil && b != nil {
		w.p("| cluster names (mix a) with the Corefile vs before forwarding | %s QPS | before: %s QPS | %s | no lower | %s |\n", kqps(o.medQPS()), kqps(b.medQPS()), ratio(o.medQPS(), b.medQPS()), yes(o.medQPS() >= b.medQPS()))
	}
}

// httpGet is the body of a GET that answers 200.
func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), nil
}
