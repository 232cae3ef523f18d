// Package probe compares what a live DNS server answers with what the
// cluster state says it should: the smoke test the seed document asks for
// after CoreDNS or API server rollouts, and, repeated, a measure of how long
// a drift lasts after a change (the "rapid failover after rescheduling"
// check).
//
// The expected answers come from the record engine (zone.Snapshot); this
// package only asks questions and compares. It does not load cluster state
// (the caller brings snapshots) and keeps no state between rounds except
// for the drift timers of Watch.
package probe

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Drift kinds.
const (
	KindMatch   = "match"
	KindMissing = "missing" // the server lacks records the state has
	KindExtra   = "extra"   // the server has records the state does not
	KindStale   = "stale"   // both have records, different ones (e.g. an old pod IP)
	KindRcode   = "rcode"   // same records, different rcode (NXDOMAIN vs NODATA, SERVFAIL)
	KindError   = "error"   // the server did not answer
)

// Check is one question with both answers.
type Check struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Kind     string   `json:"kind"`
	Rcode    string   `json:"rcode"`
	Expected []string `json:"expected"`
	GotRcode string   `json:"got_rcode,omitempty"`
	Got      []string `json:"got"`
	Error    string   `json:"error,omitempty"`
}

// Drifting reports whether the server disagrees with the state.
func (c *Check) Drifting() bool { return c.Kind != KindMatch }

// Report is one round of checks.
type Report struct {
	Server string    `json:"server"`
	Time   time.Time `json:"time"`
	Checks []Check   `json:"checks"`
	Drifts int       `json:"drifts"`
}

// OK reports whether every check matched.
func (r *Report) OK() bool { return r.Drifts == 0 }

// Target selects what to probe: the services given, or every headless
// service of the state and every ServiceImport of its multicluster zones.
type Target struct {
	Services []string // "ns/name" of Services or ServiceImports; empty means every headless service and import
}

// Questions lists what to ask for the targets: for each service, its name
// (A and AAAA: also when it has no records, to catch a server still
// answering them), its SRV names and every per-pod name the engine says
// exists.
func Questions(snap *zone.Snapshot, t Target) ([]zone.Question, error) {
	var keys, importKeys [][2]string
	services := snap.Services()
	imports := snap.Imports()
	if len(t.Services) > 0 {
		for _, s := range t.Services {
			ns, name, ok := strings.Cut(s, "/")
			if !ok || ns == "" || name == "" {
				return nil, fmt.Errorf("service %q: want NAMESPACE/NAME", s)
			}
			found := false
			for _, svc := range services {
				if strings.EqualFold(svc.Namespace, ns) && strings.EqualFold(svc.Name, name) {
					found = true
					keys = append(keys, [2]string{ns, name})
				}
			}
			for _, k := range imports {
				if strings.EqualFold(k, s) {
					found = true
					importKeys = append(importKeys, [2]string{ns, name})
				}
			}
			if !found {
				return nil, fmt.Errorf("no Service or ServiceImport %s in the served cluster state", s)
			}
		}
	} else {
		for _, s := range services {
			if s.Headless {
				keys = append(keys, [2]string{s.Namespace, s.Name})
			}
		}
		for _, k := range imports {
			ns, name, _ := strings.Cut(k, "/")
			importKeys = append(importKeys, [2]string{ns, name})
		}
	}
	zones := snap.Options().Zones
	var qs []zone.Question
	seen := map[zone.Question]bool{}
	add := func(q zone.Question) {
		if !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	for _, k := range keys {
		for _, z := range zones {
			if strings.HasSuffix(z, "in-addr.arpa.") || strings.HasSuffix(z, "ip6.arpa.") {
				continue // a reverse zone holds no service names
			}
			base := schema.Service(k[1], k[0], z)
			add(zone.Question{Name: base, Type: dns.TypeA})
			add(zone.Question{Name: base, Type: dns.TypeAAAA})
		}
		for _, q := range snap.ServiceQuestions(k[0], k[1]) {
			if q.Type == dns.TypeA || q.Type == dns.TypeAAAA || q.Type == dns.TypeSRV {
				add(q)
			}
		}
	}
	for _, k := range importKeys {
		for _, z := range snap.Options().MulticlusterZones {
			base := schema.Service(k[1], k[0], z)
			add(zone.Question{Name: base, Type: dns.TypeA})
			add(zone.Question{Name: base, Type: dns.TypeAAAA})
		}
		for _, q := range snap.ImportQuestions(k[0], k[1]) {
			if q.Type == dns.TypeA || q.Type == dns.TypeAAAA || q.Type == dns.TypeSRV {
				add(q)
			}
		}
	}
	return qs, nil
}

// Prober asks a server.
type Prober struct {
	Server  string
	Timeout time.Duration
	// TCP asks over TCP only (a server reached through a port-forward,
	// which carries no UDP).
	TCP bool
}

// Run asks every question and compares it with the snapshot's answer.
func (p *Prober) Run(ctx context.Context, snap *zone.Snapshot, qs []zone.Question) *Report {
	r := &Report{Server: p.Server, Time: time.Now(), Checks: []Check{}}
	for _, q := range qs {
		if ctx.Err() != nil {
			break
		}
		c := p.check(snap, q)
		if c.Drifting() {
			r.Drifts++
		}
		r.Checks = append(r.Checks, c)
	}
	return r
}

func (p *Prober) check(snap *zone.Snapshot, q zone.Question) Check {
	if p.TCP {
		return AskTCP(p.Server, p.Timeout, q.Name, q.Type, snap.Lookup(q.Name, q.Type))
	}
	return Ask(p.Server, p.Timeout, q.Name, q.Type, snap.Lookup(q.Name, q.Type))
}

// Ask puts one question to a DNS server (over UDP with an EDNS buffer of
// 1232 bytes, again over TCP when the answer is truncated) and compares its
// answer with the engine's, without TTLs. A zero timeout is 2 s.
func Ask(server string, timeout time.Duration, name string, qtype uint16, want *zone.Answer) Check {
	return ask(server, "udp", timeout, name, qtype, want)
}

// AskTCP is Ask over TCP only.
func AskTCP(server string, timeout time.Duration, name string, qtype uint16, want *zone.Answer) Check {
	return ask(server, "tcp", timeout, name, qtype, want)
}

func ask(server, network string, timeout time.Duration, name string, qtype uint16, want *zone.Answer) Check {
	c := Check{Name: name, Type: dns.TypeToString[qtype], Rcode: dns.RcodeToString[want.Rcode], Expected: []string{}, Got: []string{}}
	for _, rec := range want.Answer {
		c.Expected = append(c.Expected, rdata(rec.RR))
	}
	sort.Strings(c.Expected)
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	cl := &dns.Client{Net: network, Timeout: timeout}
	resp, _, err := cl.Exchange(m, server)
	if err == nil && resp.Truncated && network == "udp" {
		cl.Net = "tcp"
		resp, _, err = cl.Exchange(m, server)
	}
	if err != nil {
		c.Kind, c.Error = KindError, err.Error()
		return c
	}
	c.GotRcode = dns.RcodeToString[resp.Rcode]
	for _, rr := range resp.Answer {
		c.Got = append(c.Got, rdata(rr))
	}
	sort.Strings(c.Got)
	c.Kind = classify(c.Expected, c.Got, c.Rcode == c.GotRcode)
	return c
}

// Meaning says what a drift usually means, for people.
func (c *Check) Meaning() string {
	switch {
	case c.Kind == KindMatch:
		return "the server agrees with the cluster state"
	case c.Kind == KindError:
		return "the server did not answer"
	case c.GotRcode == dns.RcodeToString[dns.RcodeServerFailure]:
		return "the server failed (SERVFAIL): it may not have synced with the API server, or be degraded"
	case c.Kind == KindMissing:
		return "the cluster state has the records but the server does not answer them: a stale negative cache, a DNS-layer delay, or a server not watching this cluster"
	case c.Kind == KindExtra:
		return "the server still answers records the cluster state no longer has: a stale cache (positive TTL) or a server not watching this cluster"
	case c.Kind == KindRcode:
		return "the server answers the same records with another rcode (NXDOMAIN against NODATA): a server that reads the names differently"
	}
	return "the server answers different records than the cluster state gives: a stale cache or a server not watching this cluster"
}

// rdata is what is compared of a record: owner (lower case), type and
// data; the TTL is left out, since a cache counts it down.
func rdata(rr dns.RR) string {
	f := strings.SplitN(rr.String(), "\t", 5)
	if len(f) < 5 {
		return rr.String()
	}
	return strings.ToLower(f[0]) + " " + f[3] + " " + f[4]
}

func classify(want, got []string, sameRcode bool) string {
	switch {
	case slices.Equal(want, got) && sameRcode:
		return KindMatch
	case slices.Equal(want, got):
		return KindRcode
	case len(got) == 0:
		return KindMissing
	case len(want) == 0:
		return KindExtra
	}
	return KindStale
}
