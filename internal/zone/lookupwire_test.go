package zone

import (
	"testing"

	"github.com/miekg/dns"
)

// wireQuestions are one question of each way a server's answer is made:
// stored answers (service names, SRV names), names answered from the
// label index and PTR sets, negative answers.
var wireQuestions = []struct {
	name  string
	qname string
	qtype uint16
}{
	{"stored service A", "h.ns.svc.cluster.local.", dns.TypeA},
	{"stored port SRV", "_http._tcp.h.ns.svc.cluster.local.", dns.TypeSRV},
	{"endpoint A", "p0.h.ns.svc.cluster.local.", dns.TypeA},
	{"endpoint SRV", "p0.h.ns.svc.cluster.local.", dns.TypeSRV},
	{"endpoint PTR", "1.0.244.10.in-addr.arpa.", dns.TypePTR},
	{"ClusterIP PTR", "20.0.96.10.in-addr.arpa.", dns.TypePTR},
	{"NODATA", "p0.h.ns.svc.cluster.local.", dns.TypeTXT},
	{"NXDOMAIN", "nope.ns.svc.cluster.local.", dns.TypeA},
}

// TestLookupWireAllocatesNothing: the server's lookup allocates nothing,
// whichever way the answer is made.
func TestLookupWireAllocatesNothing(t *testing.T) {
	s := build(t, testState(), nil)
	var sc Scratch
	for _, q := range wireQuestions {
		s.LookupWire(q.qname, q.qtype, &sc) // grow the scratch buffers
		if n := testing.AllocsPerRun(100, func() { s.LookupWire(q.qname, q.qtype, &sc) }); n != 0 {
			t.Errorf("%s: %v allocations per lookup", q.name, n)
		}
	}
}

func BenchmarkLookupWire(b *testing.B) {
	s, err := Build(testState(), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range wireQuestions {
		b.Run(q.name, func(b *testing.B) {
			var sc Scratch
			b.ReportAllocs()
			for b.Loop() {
				a := s.LookupWire(q.qname, q.qtype, &sc)
				if !a.Negative() {
					_ = a.Wire(q.qname, q.qtype)
				}
			}
		})
	}
}

// TestStoredAnswersPackOnFirstUse: a stored answer is packed when first
// asked for, by whichever goroutine comes first, and every goroutine gets
// the same bytes (run with -race).
func TestStoredAnswersPackOnFirstUse(t *testing.T) {
	s := build(t, testState(), nil)
	const name = "_http._tcp.h.ns.svc.cluster.local."
	got := make([]string, 8)
	done := make(chan int)
	for g := range got {
		go func() {
			var sc Scratch
			a := s.LookupWire(name, dns.TypeSRV, &sc)
			got[g] = string(a.Wire(name, dns.TypeSRV).Buf)
			done <- g
		}()
	}
	for range got {
		<-done
	}
	for g := range got {
		if got[g] != got[0] || got[g] == "" {
			t.Fatalf("goroutine %d packed differently", g)
		}
	}
	a := s.LookupWire(name, dns.TypeSRV, new(Scratch))
	if n := testing.AllocsPerRun(100, func() { _ = a.Wire(name, dns.TypeSRV) }); n != 0 {
		t.Errorf("a packed answer allocates %v per use", n)
	}
}
