package server

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// aliasRewriter maps one name to another and back (as an exact rule with
// answer auto), and makes "bad." an invalid result.
type aliasRewriter struct{ from, to string }

type aliasBack struct{ from, to string }

func (a aliasRewriter) Question(name string) (string, Restorer, bool) {
	switch name {
	case a.from:
		return a.to, aliasBack(a), true
	case "bad.example.":
		return "", nil, true
	}
	return "", nil, false
}

func (b aliasBack) Restore(m *dns.Msg) {
	for _, rr := range m.Answer {
		if strings.EqualFold(rr.Header().Name, b.to) {
			rr.Header().Name = b.from
		}
	}
}

// rewrite name: a rewritten question is answered as the name it is
// rewritten to, with the client's question and the names mapped back;
// in the cluster zone and outside it; an invalid result is SERVFAIL.
func TestRewrittenQuestion(t *testing.T) {
	o := &fakeOutside{}
	s := newOutsideServer(t, o)
	s.SetRewriter(aliasRewriter{from: "api.example.", to: "api.default.svc.cluster.local."})
	m := new(dns.Msg)
	m.SetQuestion("API.example.", dns.TypeA)
	r := exchange(t, s, m, UDP)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Name != "api.example." || r.Question[0].Name != "API.example." {
		t.Fatalf("rewritten to a cluster name: %v", r)
	}
	s.SetRewriter(aliasRewriter{from: "www.example.", to: "www.example.org."})
	m.SetQuestion("www.example.", dns.TypeTXT)
	r = exchange(t, s, m, UDP)
	if got := o.askedNames(); len(got) != 1 || got[0] != "www.example.org." || r.Question[0].Name != "www.example." {
		t.Fatalf("rewritten outside: asked %v, reply %v", got, r)
	}
	m.SetQuestion("bad.example.", dns.TypeA)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeServerFailure || r.Question[0].Name != "bad.example." {
		t.Errorf("invalid rewrite: %v", r)
	}
	m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	if r := exchange(t, s, m, UDP); len(r.Answer) != 1 {
		t.Errorf("a name no rule matches: %v", r)
	}
}

// With rewrite rules set, a question no rule matches costs no allocation.
func TestRewriteMissAllocatesNothing(t *testing.T) {
	s := newTestServer(t, 3)
	s.SetRewriter(aliasRewriter{from: "api.example.", to: "api.default.svc.cluster.local."})
	assertAnswerAllocatesNothing(t, s, "big.default.svc.cluster.local.", dns.TypeA)
}
