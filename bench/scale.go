package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The scale phase (issue 17, item 2): a 5,000-node-class state, 50,000
// (-scale-services)
// Services (a fifth headless) and about 300,000 endpoints written through
// the API server, which clusterdns and CoreDNS watch in turn: start to
// ready, steady RSS, the re-list peak (the API server restarted) and the
// answers compared on a sample. A server that does not get ready in
// scaleReadyTimeout is reported failed, with its last RSS.

const (
	scaleEndpoints    = 6 // per added Service: 49,000 × 6 + the base state's
	scaleReadyTimeout = 10 * time.Minute
	// scaleReadyRounds is how many times each server is started for its
	// start-to-ready time, the order alternating from round to round.
	scaleReadyRounds = 4
)

// scaleResult is the phase's row and what it saw.
type scaleResult struct {
	row    memRow
	failed map[string]string // server -> why it is not measured
	// readyRounds are each server's start-to-ready times, in round order
	// (the order of the servers alternates; the row has their median).
	readyRounds map[string][]float64
	lastKB      map[string]int64 // RSS when it failed
	agreement   agreement
	grown       time.Duration
	reused      bool // the state was written by an earlier -state-dir run
}

// measureScale grows the state and measures both servers on it.
func measureScale(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	sr := &scaleResult{failed: map[string]string{}, lastKB: map[string]int64{}}
	r.scale = sr
	var nss []string
	for i := range 10 {
		nss = append(nss, fmt.Sprintf("huge-%d", i))
	}
	have, _ := e.st.counts()
	t0 := time.Now()
	if have >= c.scaleServices && len(e.st.filter(func(s *service) bool { return strings.HasPrefix(s.name, "huge-") })) > 0 {
		logf("scale: the state of -state-dir has %d services already; nothing written", have)
		sr.reused = true
	} else {
		if err := b.namespaces(ctx, nss...); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		var adopted map[string]bool
		if c.stateDir != "" {
			var err error
			if adopted, err = b.adopt(ctx, nss); err != nil {
				return err
			}
			if len(adopted) > 0 {
				logf("scale: %d services of an interrupted run adopted from the API server", len(adopted))
			}
		}
		if err := b.create(ctx, spec{prefix: "huge", namespaces: nss, count: max(c.scaleServices-have, 1), headlessEvery: 5, eps: scaleEndpoints, have: adopted}); err != nil {
			return err
		}
		if c.stateDir != "" {
			if err := e.st.save(e.dir); err != nil {
				return err
			}
		}
	}
	sr.grown = time.Since(t0)
	svcs, eps := e.st.counts()
	logf("scale: %d services, %d endpoints (grown in %v)", svcs, eps, sr.grown.Round(time.Second))
	sr.row = memRow{name: fmt.Sprintf("%dk services, %dk endpoints", svcs/1000, eps/1000), services: svcs, eps: eps,
		steadyKB: map[string]int64{}, peakKB: map[string]int64{}, readySeconds: map[string]float64{},
		relistSeconds: map[string]float64{}, relistObserved: map[string]bool{}}
	cips := e.st.filter(func(s *service) bool { return !s.headless && strings.HasPrefix(s.name, "huge-") })
	lastSvc := cips[len(cips)-1]
	// The API server has just restarted on the state: its watch cache
	// fills from etcd first. A cluster DNS pod that restarts in a real
	// cluster lists from a warm one, so the bench lists once before
	// measuring, and the servers start in turn, the order alternating
	// from round to round, each alone on the machine until it is ready;
	// the last round's servers stay for the steady and re-list readings.
	if err := b.warm(ctx); err != nil {
		return err
	}
	servers := map[string]*server{}
	defer func() { stopAll(servers) }()
	sr.readyRounds = map[string][]float64{}
	for round := range scaleReadyRounds {
		order := slices.Clone(memKinds)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		last := round == scaleReadyRounds-1
		for _, k := range order {
			if _, failed := sr.failed[k]; failed {
				continue
			}
			s, err := e.start(k)
			if err != nil {
				return err
			}
			at, err := s.waitAnswerEvery(lastSvc.fqdn(), dns.TypeA, lastSvc.clusterIP, scaleReadyTimeout, 5*time.Millisecond)
			if err != nil {
				sr.failed[k] = err.Error()
				sr.lastKB[k] = s.memKB("VmRSS")
				logf("scale: %s not ready after %v (RSS %s): %v", k, scaleReadyTimeout, mib(sr.lastKB[k]), err)
				s.stop()
				continue
			}
			took := at.Sub(s.started).Seconds()
			sr.readyRounds[k] = append(sr.readyRounds[k], took)
			logf("scale: round %d: %s ready in %.2fs", round+1, k, took)
			if last {
				servers[k] = s
			} else {
				s.stop()
			}
		}
	}
	for k, rs := range sr.readyRounds {
		sr.row.readySeconds[k] = median(rs)
	}
	time.Sleep(10 * time.Second)
	for k, s := range servers {
		sr.row.steadyKB[k] = s.steadyRSS()
	}
	if len(servers) == len(memKinds) {
		qs := mixQueries(e.st, mixA)
		rand.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
		sr.agreement = checkAgreement(servers, qs[:min(len(qs), 1000)])[kCoreDNS]
	}
	if err := relist(ctx, e, b, servers, &sr.row, 10); err != nil {
		return err
	}
	for k := range servers {
		logf("scale %-12s ready %.2fs steady %s peak %s", k, sr.row.readySeconds[k], mib(sr.row.steadyKB[k]), mib(sr.row.peakKB[k]))
	}
	return nil
}

// writeScale is the phase's section.
func (r *results) writeScale(w *mdWriter) {
	sr := r.scale
	if sr == nil {
		return
	}
	m := sr.row
	w.p("## Scale: %d Services, %d endpoints\n\n", m.services, m.eps)
	grown := fmt.Sprintf("in %v", sr.grown.Round(time.Second))
	if sr.reused {
		grown = "by an earlier run (-state-dir; this run restarted the control plane on its data)"
	}
	w.p("The base state grown to %d Services (a fifth headless, %d endpoints each for the added ones) through the API server %s; each server started on it in turn (start to ready: its process started to the last Service answered), "+
		"steady RSS 10 s later, the re-list peak (VmHWM) while the API server restarts, and the answers of 1,000 questions of mix a compared. "+
		"Start to ready is the median of %d starts, the servers' order alternating, each alone until ready, on an API server whose watch caches were warm (as when a DNS pod restarts).\n\n", m.services, scaleEndpoints, grown, scaleReadyRounds)
	w.p("| server | start to ready (rounds) | steady RSS | re-list peak | peak / steady | steady / CoreDNS | ready / CoreDNS |\n|---|---|---|---|---|---|---|\n")
	for _, k := range memKinds {
		if why, ok := sr.failed[k]; ok {
			w.p("| %s | not ready in %v (%s) | last RSS %s | | | | |\n", label[k], scaleReadyTimeout, firstLine(why), mib(sr.lastKB[k]))
			continue
		}
		var rounds []string
		for _, r := range sr.readyRounds[k] {
			rounds = append(rounds, fmt.Sprintf("%.2f", r))
		}
		w.p("| %s | %.2f s (%s) | %s | %s | %s | %s | %s |\n", label[k], m.readySeconds[k], strings.Join(rounds, ", "), mib(m.steadyKB[k]), mib(m.peakKB[k]),
			ratio(float64(m.peakKB[k]), float64(m.steadyKB[k])), ratio(float64(m.steadyKB[k]), float64(m.steadyKB[kCoreDNS])),
			ratio(m.readySeconds[k], m.readySeconds[kCoreDNS]))
	}
	if sr.agreement.total > 0 {
		w.p("\nAnswers compared: clusterdns and CoreDNS differ on %d of %d.%s\n", sr.agreement.diff, sr.agreement.total, examples(sr.agreement))
	}
	w.p("\n")
}

// scaleTargets are issue 17's rows at this scale.
func (r *results) scaleTargets(w *mdWriter) {
	sr := r.scale
	if sr == nil {
		return
	}
	m := sr.row
	o := float64(m.steadyKB[kClusterdns])
	if _, failed := sr.failed[kCoreDNS]; failed {
		w.p("| steady RSS, %s | %s | CoreDNS not ready (last RSS %s) | | ≤ 0.35× or CoreDNS fails | %s |\n", m.name, mib(int64(o)), mib(sr.lastKB[kCoreDNS]), yes(o > 0))
		return
	}
	t := float64(m.steadyKB[kCoreDNS])
	w.p("| steady RSS, %s | %s | %s | %s | ≤ 0.35× | %s |\n", m.name, mib(int64(o)), mib(int64(t)), ratio(o, t), yes(o > 0 && o <= 0.35*t))
	ro, rt := m.readySeconds[kClusterdns], m.readySeconds[kCoreDNS]
	w.p("| start to ready, %s | %.2f s | %.2f s | %s | ≤ 0.8× | %s |\n", m.name, ro, rt, ratio(ro, rt), yes(ro > 0 && ro <= 0.8*rt))
}
