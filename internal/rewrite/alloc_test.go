package rewrite

import (
	"testing"

	"github.com/miekg/dns"
)

// missRules are one rule of each match type but regex, none matching
// missName.
const missRules = `rewrite name a.example b.target
rewrite continue name prefix foo bar answer auto
rewrite name suffix .corp.example. .svc.cluster.local. answer auto
rewrite name substring old new answer auto`

const missName = "web.default.svc.cluster.local."

func TestQuestionMissDoesNotAllocate(t *testing.T) {
	rw := parseRules(t, missRules)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, ok := rw.Question(missName); ok {
			t.Fatal("matched")
		}
	}); n != 0 {
		t.Errorf("miss allocates %v times", n)
	}
}

func TestExactHitAndRestoreDoNotAllocate(t *testing.T) {
	rw := parseRules(t, "rewrite name a.example b.target")
	m := msg(t, "b.target.", dns.TypeA, "an b.target. 60 IN A 10.0.0.1")
	if n := testing.AllocsPerRun(100, func() {
		m.Question[0].Name, m.Answer[0].Header().Name = "b.target.", "b.target."
		_, rev, _ := rw.Question("a.example.")
		rev.Restore(m)
	}); n != 0 {
		t.Errorf("exact hit allocates %v times", n)
	}
	if m.Answer[0].Header().Name != "a.example." {
		t.Errorf("not restored: %v", m.Answer[0])
	}
}

func BenchmarkQuestionMiss(b *testing.B) {
	rw := parseRules(b, missRules)
	b.ReportAllocs()
	for b.Loop() {
		rw.Question(missName)
	}
}

func BenchmarkQuestionRegexMiss(b *testing.B) {
	rw := parseRules(b, `rewrite name regex (.*)-(us-west-1)\.example\. {1}.service.{2}.consul answer auto`)
	b.ReportAllocs()
	for b.Loop() {
		rw.Question(missName)
	}
}

func BenchmarkQuestionRegexHit(b *testing.B) {
	rw := parseRules(b, `rewrite name regex (.*)-(us-west-1)\.example\. {1}.service.{2}.consul answer auto`)
	b.ReportAllocs()
	for b.Loop() {
		rw.Question("ftp-us-west-1.example.")
	}
}

func BenchmarkQuestionSuffixHitRestore(b *testing.B) {
	rw := parseRules(b, "rewrite name suffix .corp.example. .svc.cluster.local. answer auto")
	m := new(dns.Msg)
	m.SetQuestion("web.default.svc.cluster.local.", dns.TypeA)
	rr := &dns.A{Hdr: dns.RR_Header{Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}}
	m.Answer = []dns.RR{rr}
	b.ReportAllocs()
	for b.Loop() {
		rr.Hdr.Name = "web.default.svc.cluster.local."
		_, rev, _ := rw.Question("web.default.corp.example.")
		rev.Restore(m)
	}
}
