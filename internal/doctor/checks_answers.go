package doctor

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/probe"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// maxProbeQuestions bounds the questions asked of each DNS server: a
// sample spread over every headless Service's names.
const maxProbeQuestions = 400

// probeTimeout is how long one question waits for its answer.
const probeTimeout = 2 * time.Second

// dnsTarget is a server the answers check asks: a DNS pod (by its pod IP)
// or a --server.
type dnsTarget struct {
	name, addr string
	object     string
	// pod, for a DNS pod, and its DNS port: when its IP does not answer,
	// it is asked through a port-forward (TCP).
	pod  *corev1.Pod
	port int
}

// dnsPort is the DNS container's port for UDP 53 (the one named dns).
func (d *ClusterDNS) dnsPort() int {
	if d.Container != nil {
		for _, p := range d.Container.Ports {
			if p.Name == "dns" || (p.Protocol == corev1.ProtocolUDP && p.ContainerPort == 53) {
				return int(p.ContainerPort)
			}
		}
	}
	return 53
}

// targets are the servers to ask: --server's, else every Running DNS pod
// at its pod IP (reachable when the doctor runs in the cluster, or where
// pod IPs are routed).
func (in *Input) targets(d *ClusterDNS) []dnsTarget {
	if len(in.Servers) > 0 {
		var out []dnsTarget
		for _, s := range in.Servers {
			out = append(out, dnsTarget{name: s, addr: s, object: "Server/" + s})
		}
		return out
	}
	var out []dnsTarget
	for _, p := range d.Pods {
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			continue
		}
		addr := net.JoinHostPort(p.Status.PodIP, strconv.Itoa(d.dnsPort()))
		if in.PodDNSAddr != nil {
			addr = in.PodDNSAddr(p)
		}
		out = append(out, dnsTarget{name: p.Name, addr: addr, object: podObj(p), pod: p, port: d.dnsPort()})
	}
	return out
}

// sample keeps at most n questions, spread evenly, in order.
func sample(qs []zone.Question, n int) []zone.Question {
	if len(qs) <= n {
		return qs
	}
	out := make([]zone.Question, 0, n)
	for i := range n {
		out = append(out, qs[i*len(qs)/n])
	}
	return out
}

// serverAnswers is what one server answered.
type serverAnswers struct {
	t           dnsTarget
	unreachable string
	drifts      []probe.Check
	// forwarded: asked through a port-forward.
	forwarded bool
}

func checkAnswers(ctx context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResServices, ResEndpointSlices, ResPods, ResNamespaces)
	if d == nil {
		return
	}
	snap, err := in.snapshot()
	if err != nil {
		c.notRun("the record engine refused the options: " + err.Error())
		return
	}
	var services []string
	for _, s := range in.Services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone && in.inScope(s.Namespace) {
			services = append(services, s.Namespace+"/"+s.Name)
		}
	}
	if len(services) == 0 {
		c.notRun("no headless Service to ask about")
		return
	}
	all, err := probe.Questions(snap, probe.Target{Services: services})
	if err != nil {
		c.notRun(err.Error())
		return
	}
	qs := sample(all, maxProbeQuestions)
	targets := in.targets(d)
	if len(targets) == 0 {
		c.notRun("no Running cluster DNS pod with an IP, and no --server")
		return
	}
	results := make([]serverAnswers, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = in.askServer(ctx, t, snap, qs)
		}()
	}
	wg.Wait()
	reachable, clean, forwarded := 0, 0, 0
	var unreachable []string
	for _, r := range results {
		if r.forwarded {
			forwarded++
		}
		switch {
		case r.unreachable != "":
			unreachable = append(unreachable, r.t.name+": "+r.unreachable)
		case len(r.drifts) == 0:
			reachable++
			clean++
		default:
			reachable++
		}
	}
	c.Summary = fmt.Sprintf("%d of %d question(s) on %d headless Service(s) asked of %d server(s): %d answered as the cluster state says, %d did not, %d unreachable",
		len(qs), len(all), len(services), len(targets), clean, reachable-clean, len(unreachable))
	if forwarded > 0 {
		c.Summary += fmt.Sprintf(" (%d through a port-forward)", forwarded)
	}
	if reachable == 0 {
		c.notRun("no DNS server could be reached from here (" + strings.Join(unreachable, "; ") + "); run the doctor in a pod, or give --server")
		return
	}
	// A question every reachable server gets wrong is the state moving
	// (or every replica stale); a server alone in its drifts is stale.
	driftsOn := map[string]int{}
	for _, r := range results {
		for _, dr := range r.drifts {
			driftsOn[dr.Name+" "+dr.Type]++
		}
	}
	for _, r := range results {
		if r.unreachable != "" {
			if len(targets) > 1 {
				c.add(Finding{Code: "dns-server-unreachable", Severity: SeverityError, Objects: []string{r.t.object},
					Message:  fmt.Sprintf("%s (%s) does not answer while other cluster DNS servers do: %s", r.t.name, r.t.addr, r.unreachable),
					Explains: []string{SymptomIntermittent}})
			}
			continue
		}
		if len(r.drifts) == 0 {
			continue
		}
		alone := 0
		for _, dr := range r.drifts {
			if driftsOn[dr.Name+" "+dr.Type] < reachable {
				alone++
			}
		}
		ev := driftEvidence(r.drifts)
		switch {
		case alone > 0 && reachable > 1:
			c.add(Finding{Code: "dns-replica-stale", Severity: SeverityError, Objects: []string{r.t.object},
				Message:  fmt.Sprintf("%s answers %d name(s) otherwise than the cluster state, where the other replicas agree with it: a replica that stopped following the API server (one client in N gets old records)", r.t.name, alone),
				Evidence: ev, Fix: fmt.Sprintf("kubectl -n %s delete pod %s (and read its logs first: watch errors, RBAC, API server reachability)", SystemNamespace, r.t.name),
				Explains: []string{SymptomIntermittent, SymptomStaleIP}})
		default:
			c.add(Finding{Code: "dns-answers-differ", Severity: SeverityWarning, Objects: []string{r.t.object},
				Message:  fmt.Sprintf("%s answers %d name(s) otherwise than the cluster state (every server alike: the state may have changed during the run, or every replica is stale)", r.t.name, len(r.drifts)),
				Evidence: ev, Fix: "run the doctor again; if it persists, `clusterdns probe --watch` against the servers",
				Explains: []string{SymptomStaleIP}})
		}
	}
	sort.SliceStable(c.Findings, func(i, j int) bool { return c.Findings[i].Objects[0] < c.Findings[j].Objects[0] })
}

// askServer asks t every question; a drift is asked again a second
// later, and only a lasting one is kept (the cluster may have moved while
// the doctor read it).
func (in *Input) askServer(ctx context.Context, t dnsTarget, snap *zone.Snapshot, qs []zone.Question) serverAnswers {
	r := serverAnswers{t: t}
	if len(qs) == 0 {
		return r
	}
	p := &probe.Prober{Server: t.addr, Timeout: probeTimeout}
	first := probe.Check{Kind: probe.KindError, Error: "not asked (--dns-via port-forward)"}
	if !in.ForwardOnly || t.pod == nil {
		first = probe.Ask(t.addr, time.Second, qs[0].Name, qs[0].Type, snap.Lookup(qs[0].Name, qs[0].Type))
	}
	if first.Kind == probe.KindError && t.pod != nil && in.PortForward != nil {
		// The pod IP is not routed here (a laptop): through the API
		// server's port-forward, over TCP.
		addr, stop, err := in.PortForward(ctx, t.pod, t.port)
		if err != nil {
			r.unreachable = fmt.Sprintf("at %s: %s; through a port-forward: %s", t.addr, first.Error, shortErr(err))
			return r
		}
		defer stop()
		r.t.addr, r.forwarded = addr+" (port-forward to "+t.addr+")", true
		p = &probe.Prober{Server: addr, Timeout: probeTimeout, TCP: true}
		first = probe.AskTCP(addr, 5*time.Second, qs[0].Name, qs[0].Type, snap.Lookup(qs[0].Name, qs[0].Type))
	}
	if first.Kind == probe.KindError {
		r.unreachable = first.Error
		return r
	}
	rep := p.Run(ctx, snap, qs)
	var again []zone.Question
	for _, ch := range rep.Checks {
		if ch.Drifting() {
			again = append(again, zone.Question{Name: ch.Name, Type: typeOf(ch.Type)})
		}
	}
	if len(again) == 0 {
		return r
	}
	select {
	case <-ctx.Done():
		return r
	case <-time.After(time.Second):
	}
	for _, ch := range p.Run(ctx, snap, again).Checks {
		if ch.Drifting() {
			r.drifts = append(r.drifts, ch)
		}
	}
	return r
}

func typeOf(s string) uint16 { return dns.StringToType[s] }

func driftEvidence(drifts []probe.Check) []string {
	var out []string
	for i, dr := range drifts {
		if i == 10 {
			out = append(out, fmt.Sprintf("... and %d more", len(drifts)-10))
			break
		}
		got := dr.GotRcode + " " + strings.Join(dr.Got, ", ")
		if dr.Error != "" {
			got = dr.Error
		}
		out = append(out, fmt.Sprintf("%s %s (%s): state %s %s; server %s", dr.Name, dr.Type, dr.Kind, dr.Rcode, strings.Join(dr.Expected, ", "), got))
	}
	return slices.Clip(out)
}
