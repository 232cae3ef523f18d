package hosts

import (
	"encoding/binary"
	"testing"

	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/miekg/dns"
)

// packQuestion is a response's header and question, as a server has them
// before the answer.
func packQuestion(t testing.TB, qname string, qtype uint16) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response = true
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unpackAnswer sets ANCOUNT to n and unpacks msg.
func unpackAnswer(t testing.TB, msg []byte, n int) *dns.Msg {
	t.Helper()
	binary.BigEndian.PutUint16(msg[6:], uint16(n))
	m := new(dns.Msg)
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	return m
}

func TestAppendAnswer(t *testing.T) {
	h := newTestHosts(t, "10.0.0.1 web.example.org\n10.0.0.2 web.example.org\nfdfc::1 web.example.org\n"+
		"10.0.0.1 www.example.org a-much-longer-name.sub.example.org .\n", corefile.Hosts{Zones: []string{"."}})
	cases := []struct {
		rule, asked, qname string
		qtype              uint16
	}{
		{"A records", "WEB.example.org.", "web.example.org.", dns.TypeA},
		{"AAAA record", "web.example.org.", "web.example.org.", dns.TypeAAAA},
		{"PTR records, root target included", "1.0.0.10.In-Addr.Arpa.", "1.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"NODATA appends nothing", "web.example.org.", "web.example.org.", dns.TypeMX},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			r := h.Lookup(c.asked, c.qtype)
			if r.Action != ActionAnswer {
				t.Fatalf("action %v", r.Action)
			}
			q := packQuestion(t, c.asked, c.qtype)
			out, n := r.AppendAnswer(q, 65535)
			if n != len(r.Records) {
				t.Fatalf("appended %d of %d", n, len(r.Records))
			}
			m := unpackAnswer(t, out, n)
			for i, rr := range m.Answer {
				// The owner is the question as asked; the rest is Records'.
				rr.Header().Name = c.qname
				if !dns.IsDuplicate(rr, r.Records[i]) || rr.Header().Ttl != r.Records[i].Header().Ttl {
					t.Errorf("record %d: packed %v, want %v", i, rr, r.Records[i])
				}
			}
		})
	}
}

func TestAppendAnswerLimit(t *testing.T) {
	h := newTestHosts(t, "10.0.0.1 web.example.org\n10.0.0.2 web.example.org\n10.0.0.3 web.example.org\n", corefile.Hosts{})
	r := h.Lookup("web.example.org.", dns.TypeA)
	q := packQuestion(t, "web.example.org.", dns.TypeA)
	const rrLen = 2 + 10 + 4 // pointer, type/class/ttl/rdlength, address
	for _, c := range []struct {
		max, want int
	}{
		{len(q) + 3*rrLen, 3},
		{len(q) + 3*rrLen - 1, 2},
		{len(q) + 2*rrLen, 2},
		{len(q) + rrLen - 1, 0},
		{len(q), 0},
		{0, 0},
	} {
		out, n := r.AppendAnswer(q, c.max)
		if n != c.want || len(out) != len(q)+n*rrLen {
			t.Errorf("max %d: appended %d records (%d octets), want %d", c.max, n, len(out), c.want)
		}
	}
}

func TestLookupAllocations(t *testing.T) {
	h := newTestHosts(t, "10.0.0.1 web.example.org\nfdfc::1 web.example.org\n", corefile.Hosts{Fallthrough: []string{"sub.example.org."}})
	v6 := "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.d.f.ip6.arpa."
	buf := make([]byte, 0, 512)
	q := packQuestion(t, "web.example.org.", dns.TypeA)
	for _, c := range []struct {
		rule, qname string
		qtype       uint16
	}{
		{"A", "web.example.org.", dns.TypeA},
		{"AAAA", "web.example.org.", dns.TypeAAAA},
		{"PTR in-addr.arpa.", "1.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"PTR ip6.arpa.", v6, dns.TypePTR},
		{"NODATA", "web.example.org.", dns.TypeMX},
		{"SERVFAIL", "nope.example.org.", dns.TypeA},
		{"fallthrough", "nope.sub.example.org.", dns.TypeA},
		{"outside the zones", "example.com.", dns.TypeA},
		{"unknown PTR", "2.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"junk PTR", "x.y.in-addr.arpa.", dns.TypePTR},
	} {
		h.Lookup(c.qname, c.qtype) // builds the record set
		allocs := testing.AllocsPerRun(100, func() {
			r := h.Lookup(c.qname, c.qtype)
			buf, _ = r.AppendAnswer(append(buf[:0], q...), 512)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per lookup", c.rule, allocs)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	h := newTestHosts(b, "10.0.0.1 web.example.org\n", corefile.Hosts{})
	q := packQuestion(b, "web.example.org.", dns.TypeA)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		r := h.Lookup("web.example.org.", dns.TypeA)
		buf, _ = r.AppendAnswer(append(buf[:0], q...), 512)
	}
}
