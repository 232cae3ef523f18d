package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/miekg/dns"
)

// agg collects one figure over rounds.
type agg struct {
	qps, perCPU []float64
	lost, sent  int64
}

func (a *agg) add(r perfResult) {
	a.qps = append(a.qps, r.qps)
	a.perCPU = append(a.perCPU, r.perCPU())
	a.lost += r.lost
	a.sent += r.sent
}

func (a *agg) medQPS() float64    { return median(a.qps) }
func (a *agg) medPerCPU() float64 { return median(a.perCPU) }

// trim leaves out of the quick variant the servers that are references
// only (Knot DNS, CoreDNS's multisocket variant): bench-quick stays under
// 3 minutes, and clusterdns, CoreDNS and the ceiling remain.
func (c config) trim(kinds []string) []string {
	if !c.quick {
		return kinds
	}
	return slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return k == kKnot || k == kCoreDNSMulti })
}

// throughputKinds are the servers of the throughput table.
var throughputKinds = []string{kClusterdns, kClusterdnsNoMetrics, kCoreDNS, kCoreDNSMulti, kCeiling, kKnot}

// startAll starts servers of the kinds and waits until each answers.
func startAll(e *benchEnv, kinds []string) (map[string]*server, error) {
	out := map[string]*server{}
	probe := e.st.get("bench-9", "svc-999")
	for _, k := range kinds {
		s, err := e.start(k)
		if err != nil {
			stopAll(out)
			return nil, err
		}
		out[k] = s
		want := probe.clusterIP
		if k == kCeiling {
			want = ""
		}
		if _, err := s.waitAnswer(probe.fqdn(), dns.TypeA, want, 120*time.Second); err != nil {
			stopAll(out)
			return nil, err
		}
	}
	return out, nil
}

func stopAll(m map[string]*server) {
	for _, s := range m {
		s.stop()
	}
}

// rotate returns kinds starting at offset r, so that no server always runs
// first or last in a round.
func rotate(kinds []string, r int) []string {
	n := len(kinds)
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, kinds[(i+r)%n])
	}
	return out
}

// measure runs the phases that share one set of running servers
// (throughput, latency, large answers, pipelined TCP), stops them, then
// the phases that start their own.
func measure(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	if !(c.want("throughput") || c.want("latency") || c.want("large") || c.want("tcp")) {
		return measureLater(ctx, c, e, b, r)
	}
	servers, err := startAll(e, throughputKinds)
	if err != nil {
		return err
	}
	defer func() { stopAll(servers) }()
	files, err := prepareMixes(e, servers, r)
	if err != nil {
		return err
	}
	if c.want("throughput") {
		if err := measureThroughput(c, servers, files, r); err != nil {
			return err
		}
	}
	if c.want("latency") {
		if err := measureLatency(c, servers, files[mixA], r); err != nil {
			return err
		}
	}
	if c.want("large") {
		if err := measureLarge(c, e, servers, r); err != nil {
			return err
		}
	}
	if c.want("tcp") {
		if err := measurePipelinedTCP(c, servers, files[mixA], r); err != nil {
			return err
		}
	}
	stopAll(servers)
	servers = nil
	return measureLater(ctx, c, e, b, r)
}

// prepareMixes writes the query file of each mix, returned by mix, and
// compares the servers' answers to the mix's first queries.
func prepareMixes(e *benchEnv, servers map[string]*server, r *results) (map[string]string, error) {
	files := map[string]string{}
	for _, mix := range []string{mixA, mixB, mixC} {
		qs := mixQueries(e.st, mix)
		// Every query offers EDNS0 with 1,232 bytes, as Go's resolver,
		// systemd-resolved and NodeLocal DNSCache do, so that headless
		// SRV answers fit and every server does the whole work.
		files[mix] = e.path("mix-" + mix + ".bin")
		if err := writeBinaryQueries(files[mix], qs, 1232); err != nil {
			return nil, err
		}
		r.mixSize[mix] = len(qs)
		// Correctness first: the servers must agree on what they answer.
		r.agreement[mix] = checkAgreement(servers, qs[:min(len(qs), 600)])
	}
	return files, nil
}

// measureThroughput runs dnsperf unlimited against each server, mix by
// mix: a short warm-up each, then c.rounds rounds, the order rotating.
func measureThroughput(c config, servers map[string]*server, files map[string]string, r *results) error {
	for _, mix := range []string{mixA, mixB, mixC} {
		kinds := c.trim(throughputKinds)
		if mix != mixA {
			// clusterdns without metrics is there for the metrics
			// cost, which is judged on mix a.
			kinds = slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return k == kClusterdnsNoMetrics })
		}
		for _, k := range kinds {
			if _, err := dnsperf(servers[k], perfOpts{data: files[mix], seconds: 1, clients: 64, binary: true}); err != nil {
				return err
			}
		}
		for round := 0; round < c.rounds; round++ {
			for _, k := range rotate(kinds, round) {
				res, err := dnsperf(servers[k], perfOpts{data: files[mix], seconds: c.seconds, clients: 64, binary: true})
				if err != nil {
					return err
				}
				r.throughput(mix, k).add(res)
				logf("throughput mix %s round %d %-22s %8.0f QPS %8.0f q/CPU-s lost %d", mix, round, k, res.qps, res.perCPU(), res.lost)
			}
		}
	}
	return nil
}

// measureLatency runs mix a at half the better CoreDNS's maximum (20,000
// QPS when throughput was not measured) and pools every answer's latency.
func measureLatency(c config, servers map[string]*server, data string, r *results) error {
	rate := 0.5 * max(r.throughput(mixA, kCoreDNS).medQPS(), r.throughput(mixA, kCoreDNSMulti).medQPS())
	if rate == 0 {
		rate = 20000
	}
	r.latencyRate = int(rate)
	kinds := c.trim([]string{kClusterdns, kCoreDNS, kCoreDNSMulti, kCeiling, kKnot})
	secs := 2 * c.seconds
	for round := 0; round < max(1, c.rounds-1); round++ {
		for _, k := range rotate(kinds, round) {
			res, err := dnsperf(servers[k], perfOpts{data: data, seconds: secs / float64(max(1, c.rounds-1)), clients: 64, qps: r.latencyRate, verbose: true, binary: true})
			if err != nil {
				return err
			}
			r.latencyOf(k).add(res)
			logf("latency %-22s at %d QPS: %d samples", k, r.latencyRate, len(res.latencies))
		}
	}
	for _, l := range r.latency {
		l.summarize()
	}
	return nil
}

// measurePipelinedTCP runs mix a over 4 TCP connections with 256 queries
// outstanding, as NodeLocal DNSCache does.
func measurePipelinedTCP(c config, servers map[string]*server, data string, r *results) error {
	kinds := c.trim([]string{kClusterdns, kCoreDNS, kCoreDNSMulti, kKnot})
	for round := 0; round < c.rounds; round++ {
		for _, k := range rotate(kinds, round) {
			res, err := dnsperf(servers[k], perfOpts{data: data, seconds: c.seconds, clients: 4, outst: 256, tcp: true, binary: true})
			if err != nil {
				return err
			}
			a := r.tcp[k]
			if a == nil {
				a = &agg{}
				r.tcp[k] = a
			}
			a.add(res)
			logf("tcp pipelined %-22s %8.0f QPS %8.0f q/CPU-s", k, res.qps, res.perCPU())
		}
	}
	return nil
}

// measureLater runs the phases that start their own servers.
func measureLater(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	if c.want("forward") {
		if err := measureForward(c, e, r); err != nil {
			return err
		}
	}
	// The quick variant leaves it out unless asked (it builds a second
	// clusterdns): bench-quick stays under 3 minutes.
	if c.want("hotpath") && (!c.quick || c.only["hotpath"]) {
		if err := measureHotPath(c, e, r); err != nil {
			return err
		}
	}
	if c.want("autopath") {
		if err := measureAutopath(ctx, c, e, b, r); err != nil {
			return err
		}
	}
	if c.want("prog") {
		if err := measureProgramming(ctx, c, e, b, r); err != nil {
			return err
		}
	}
	if c.want("memory") {
		if err := measureMemory(ctx, c, e, b, r); err != nil {
			return err
		}
	}
	// Only when asked for (-only scale, make bench-scale): it grows the
	// state to 50,000 Services.
	if c.only["scale"] {
		if err := measureScale(ctx, c, e, b, r); err != nil {
			return err
		}
	}
	// Only when asked for (-only churn, make bench-churn): it rolls the
	// base state's endpoints, which the other phases measure as built.
	if c.only["churn"] {
		if err := measureChurn(ctx, c, e, b, r); err != nil {
			return err
		}
	}
	// Only when asked for (-only doctor, make bench-doctor): it grows the
	// state, and the full run's other phases measure the state they built.
	if c.only["doctor"] {
		if err := measureDoctor(ctx, e, b, r); err != nil {
			return err
		}
	}
	return nil
}

// latencyRes is latency at a fixed rate.
type latencyRes struct {
	samples        []float64
	n              int
	lost, sent     int64
	p50, p99, p999 float64
}

func (r *results) latencyOf(kind string) *latencyRes {
	l := r.latency[kind]
	if l == nil {
		l = &latencyRes{}
		r.latency[kind] = l
	}
	return l
}

func (l *latencyRes) add(res perfResult) {
	l.samples = append(l.samples, res.latencies...)
	l.lost += res.lost
	l.sent += res.sent
}

// summarize keeps the percentiles and the count, and drops the samples.
func (l *latencyRes) summarize() {
	sort.Float64s(l.samples)
	l.p50, l.p99, l.p999 = percentile(l.samples, 0.5), percentile(l.samples, 0.99), percentile(l.samples, 0.999)
	l.n = len(l.samples)
	l.samples = nil
}

// checkAgreement asks every server each query and compares the answers of
// clusterdns with CoreDNS's and Knot's: rcode and the records of the
// question's type. It returns a summary per other server.
func checkAgreement(servers map[string]*server, qs []query) map[string]agreement {
	out := map[string]agreement{}
	ref := servers[kClusterdns]
	for _, k := range []string{kCoreDNS, kKnot} {
		other := servers[k]
		if other == nil {
			continue
		}
		var a agreement
		for _, q := range qs {
			m1, err1 := exchange(ref.addr, q, false, 1232)
			m2, err2 := exchange(other.addr, q, false, 1232)
			a.total++
			if err1 != nil || err2 != nil {
				a.diff++
				if len(a.examples) < 3 {
					a.examples = append(a.examples, fmt.Sprintf("%s: %v / %v", q, err1, err2))
				}
				continue
			}
			s1, s2 := summarize(m1, q.qtype), summarize(m2, q.qtype)
			if s1 != s2 {
				a.diff++
				if len(a.examples) < 3 {
					a.examples = append(a.examples, fmt.Sprintf("%s: clusterdns %s, %s %s", q, s1, k, s2))
				}
			}
		}
		out[k] = a
	}
	return out
}

type agreement struct {
	total, diff int
	examples    []string
}

// summarize is the rcode and the sorted records of the type (owner names
// lower case), which servers must agree on.
func summarize(m *dns.Msg, qtype uint16) string {
	var rrs []string
	for _, rr := range m.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		s := rr.String()
		// TTL and SRV weights are not compared.
		if srv, ok := rr.(*dns.SRV); ok {
			s = fmt.Sprintf("SRV %d %s", srv.Port, dns.CanonicalName(srv.Target))
		} else {
			h := rr.Header()
			s = dns.CanonicalName(h.Name) + " " + s[len(rr.Header().String()):]
		}
		rrs = append(rrs, s)
	}
	sort.Strings(rrs)
	return fmt.Sprintf("%s %v", dns.RcodeToString[m.Rcode], rrs)
}

// exchange sends one query (EDNS with bufsize when non-zero).
func exchange(addr string, q query, tcp bool, bufsize uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	if bufsize > 0 {
		m.SetEdns0(bufsize, false)
	}
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, UDPSize: 65535}
	if tcp {
		c.Net = "tcp"
	}
	var err error
	for range 3 {
		var r *dns.Msg
		r, _, err = c.Exchange(m, addr)
		if err == nil && r.Truncated && !tcp {
			// As a client does: the whole answer over TCP.
			return exchange(addr, q, true, bufsize)
		}
		if err == nil {
			return r, nil
		}
	}
	return nil, err
}
