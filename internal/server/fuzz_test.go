package server

import (
	"encoding/binary"
	"testing"

	"github.com/miekg/dns"
)

// FuzzRespond feeds arbitrary bytes to the request path: it must never
// panic, and whatever it answers must be a well-formed DNS message with the
// query's ID and the QR bit set.
func FuzzRespond(f *testing.F) {
	seeds := []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{"api.default.svc.cluster.local.", dns.TypeA, false},
		{"_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV, true},
		{"big-1.big.default.svc.cluster.local.", dns.TypeAAAA, false},
		{"nope.default.svc.cluster.local.", dns.TypeA, true},
		{"10.0.96.10.in-addr.arpa.", dns.TypePTR, false},
		{"cluster.local.", dns.TypeSOA, false},
		{"example.com.", dns.TypeA, false},
		{"dns-version.cluster.local.", dns.TypeTXT, true},
	}
	for _, s := range seeds {
		m := new(dns.Msg)
		m.SetQuestion(s.name, s.qtype)
		if s.edns {
			m.SetEdns0(4096, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1}, false)
	f.Add([]byte{}, false)

	s := newTestServer(f, 60)
	f.Fuzz(func(t *testing.T, msg []byte, tcp bool) {
		tr := UDP
		if tcp {
			tr = TCP
		}
		out := s.Respond(msg, nil, tr)
		if out == nil {
			return
		}
		if len(msg) < 2 || len(out) < 12 {
			t.Fatalf("answered a %d-byte message with %d bytes", len(msg), len(out))
		}
		if binary.BigEndian.Uint16(out) != binary.BigEndian.Uint16(msg) {
			t.Fatal("ID not copied")
		}
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil {
			t.Fatalf("response does not parse: %v\nrequest %x\nresponse %x", err, msg, out)
		}
		if !r.Response {
			t.Fatal("QR not set")
		}
		if tr == UDP && len(out) > DefaultMaxUDPSize {
			t.Fatalf("UDP response of %d bytes", len(out))
		}
	})
}
