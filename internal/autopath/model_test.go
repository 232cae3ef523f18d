package autopath

import (
	"testing"

	"github.com/miekg/dns"
)

// The model answers a pod's questions as the server with autopath does:
// the same rcode and number of answer records, question after question
// (the guard's marks included), with the dry run answering what the
// server asks elsewhere.
func TestModelAnswersAsTheServer(t *testing.T) {
	f := newFixture(t, nil)
	snap := f.s.Snapshot()
	outside := func(name string, qtype uint16) (int, int) {
		switch a, ok := outsideA[name]; {
		case a == "SERVFAIL":
			return dns.RcodeServerFailure, 0
		case !ok:
			return dns.RcodeNameError, 0
		case qtype == dns.TypeA:
			return dns.RcodeSuccess, 1
		}
		return dns.RcodeSuccess, 0
	}
	m, err := NewModel(Config{Zones: []string{"cluster.local."}, NodeSearch: []string{"corp.internal"}, Trust: true}, snap, func(name string, qtype uint16) (int, int) {
		if a := snap.Lookup(name, qtype); a.Zone != "" {
			return a.Rcode, len(a.Answer)
		}
		return outside(name, qtype)
	})
	if err != nil {
		t.Fatal(err)
	}
	questions := []struct {
		name  string
		qtype uint16
		why   string
	}{
		{"www.example.com.default.svc.cluster.local.", dns.TypeA, ""},
		{"www.example.com.default.svc.cluster.local.", dns.TypeAAAA, ""},
		{"web.other.default.svc.cluster.local.", dns.TypeA, ""},
		{"corp-host.default.svc.cluster.local.", dns.TypeA, ""},
		{"broken.default.svc.cluster.local.", dns.TypeA, ""},
		{"x.other.default.svc.cluster.local.", dns.TypeA, ""},
		{"x.other.svc.cluster.local.", dns.TypeA, SecondStep},
		{"web-0.peers.default.svc.cluster.local.", dns.TypeA, UnderService},
		{"a.b.c.d.e.f.default.svc.cluster.local.", dns.TypeA, TooManyDots},
		{"x.nope.svc.cluster.local.", dns.TypeA, NotNamespace},
		{"api.default.svc.cluster.local.", dns.TypeA, ""},
		{"www.example.com.", dns.TypeA, ""},
	}
	for i, q := range questions {
		live := f.ask(t, q.name, q.qtype, pod)
		rc, n := m.Answer(q.name, q.qtype)
		if rc != live.Rcode || n != len(live.Answer) {
			t.Errorf("%s %s: model %s %d, server %s %d", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[rc], n, dns.RcodeToString[live.Rcode], len(live.Answer))
		}
		if ev := m.Events[i]; ev.Why != q.why {
			t.Errorf("%s: why %q, want %q", q.name, ev.Why, q.why)
		}
	}
	if len(m.Events) != len(questions) {
		t.Errorf("%d events for %d questions", len(m.Events), len(questions))
	}
	// Which questions the server hands to autopath: the cluster zone's
	// NXDOMAINs only.
	for i, want := range []bool{true, true, true, true, true, true, true, true, true, true, false, false} {
		if m.Events[i].Considered != want {
			t.Errorf("%s: considered %v", m.Events[i].Name, m.Events[i].Considered)
		}
	}
	// The walk's end, as the server's.
	if o := m.Events[0].Walk; !o.CNAME() || o.Name != "www.example.com." || o.Saved != 4 {
		t.Errorf("www.example.com: %+v", o)
	}
	if o := m.Events[4].Walk; o.Expanded() || o.Name != "broken.corp.internal." || o.Rcode != dns.RcodeServerFailure {
		t.Errorf("broken: %+v", o)
	}
}
