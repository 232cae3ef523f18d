package server

import (
	"net/netip"
	"slices"
	"sort"
	"testing"

	"github.com/miekg/dns"
)

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

// loadbalance round_robin: the A records of a NOERROR answer come in a
// different order from answer to answer, always the same set; the SRV
// records keep their order and their glue stays valid.
func TestLoadBalanceShufflesAddressRecords(t *testing.T) {
	s := New(Config{LoadBalance: true})
	s.Swap(testSnapshot(t, 10), true)
	m := new(dns.Msg)
	m.SetQuestion("big.default.svc.cluster.local.", dns.TypeA)
	firsts := map[string]bool{}
	var want []string
	for range 50 {
		r := exchange(t, s, m, UDP)
		got := rrStrings(r.Answer)
		firsts[got[0]] = true
		sort.Strings(got)
		if want == nil {
			want = got
		}
		if !slices.Equal(got, want) {
			t.Fatalf("the set of records changed: %v, want %v", got, want)
		}
	}
	if len(firsts) < 3 {
		t.Errorf("over 50 answers only %d different first records", len(firsts))
	}
	m.SetQuestion("_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV)
	m.SetEdns0(4096, false)
	plain := newTestServer(t, 10)
	pr := exchange(t, plain, m, UDP)
	srvWant := rrStrings(pr.Answer)
	for range 10 {
		r := exchange(t, s, m, UDP)
		if !slices.Equal(rrStrings(r.Answer), srvWant) {
			t.Fatalf("SRV order changed: %v", rrStrings(r.Answer))
		}
		if len(r.Extra) != len(pr.Extra) || len(r.Extra) < 2 {
			t.Fatalf("glue: %d records, want %d", len(r.Extra), len(pr.Extra))
		}
	}
}

// Without the option the engine's order is kept; negative answers are
// never touched.
func TestNoLoadBalanceKeepsOrder(t *testing.T) {
	s := newTestServer(t, 10)
	m := new(dns.Msg)
	m.SetQuestion("big.default.svc.cluster.local.", dns.TypeA)
	first := rrStrings(exchange(t, s, m, UDP).Answer)
	for range 10 {
		if got := rrStrings(exchange(t, s, m, UDP).Answer); !slices.Equal(got, first) {
			t.Fatalf("order changed without loadbalance")
		}
	}
}

// The shuffle costs no allocation on the query path.
func TestLoadBalanceAllocatesNothing(t *testing.T) {
	s := New(Config{LoadBalance: true})
	s.Swap(testSnapshot(t, 10), true)
	assertAnswerAllocatesNothing(t, s, "big.default.svc.cluster.local.", dns.TypeA)
}

// assertAnswerAllocatesNothing checks that answering name/qtype allocates
// nothing, with one scratch as a UDP worker keeps its own (Respond's pool
// may drop it, as it does under the race detector).
func assertAnswerAllocatesNothing(t *testing.T, s *Server, name string, qtype uint16) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	wire, _ := m.Pack()
	out := make([]byte, 0, 4096)
	sc := new(scratch)
	s.answer(sc, wire, out, UDP, netip.AddrPort{})
	if n := testing.AllocsPerRun(200, func() { s.answer(sc, wire, out, UDP, netip.AddrPort{}) }); n != 0 {
		t.Errorf("%s %s: %v allocations per answer", name, dns.TypeToString[qtype], n)
	}
}

// FuzzShuffle: any bytes, never a panic; a message that parses keeps its
// records.
func FuzzShuffle(f *testing.F) {
	m := new(dns.Msg)
	m.SetQuestion("a.example.", dns.TypeA)
	m.Response = true
	for i := range 5 {
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "a.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: []byte{10, 0, 0, byte(i)}})
	}
	m.Extra = append(m.Extra, &dns.CNAME{Hdr: dns.RR_Header{Name: "b.example.", Rrtype: dns.TypeCNAME, Class: dns.ClassINET}, Target: "a.example."})
	seed, _ := m.Pack()
	f.Add(seed, uint64(1))
	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		before := new(dns.Msg)
		parsed := before.Unpack(b) == nil
		c := slices.Clone(b)
		newShuffler(seed).shuffle(c)
		if !parsed {
			return
		}
		after := new(dns.Msg)
		if err := after.Unpack(c); err != nil {
			t.Fatalf("a message that parsed no longer does: %v", err)
		}
		for _, sec := range [][2][]dns.RR{{before.Answer, after.Answer}, {before.Ns, after.Ns}, {before.Extra, after.Extra}} {
			x, y := rrStrings(sec[0]), rrStrings(sec[1])
			sort.Strings(x)
			sort.Strings(y)
			if !slices.Equal(x, y) {
				t.Fatalf("records changed: %v -> %v", x, y)
			}
		}
	})
}
