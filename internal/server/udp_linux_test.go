package server

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A datagram longer than udpMaxQuery is dropped unanswered, as the README's
// limits say; one of exactly that length is answered.
func TestUDPQueryLongerThanTheLimitIsDropped(t *testing.T) {
	s := New(Config{})
	s.Swap(testSnapshot(t, 3), true)
	conn, err := net.Dial("udp", serve(t, s))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	query := func(id uint16, size int) []byte {
		m := new(dns.Msg)
		m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
		m.Id = id
		m.SetEdns0(1232, false)
		w, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		// EDNS padding (RFC 7830) brings it to size.
		pad := &dns.EDNS0_PADDING{Padding: make([]byte, size-len(w)-4)}
		m.Extra[0].(*dns.OPT).Option = append(m.Extra[0].(*dns.OPT).Option, pad)
		if w, err = m.Pack(); err != nil || len(w) != size {
			t.Fatalf("padded query: %d bytes, %v", len(w), err)
		}
		return w
	}
	buf := make([]byte, 65535)
	for _, c := range []struct {
		id     uint16
		size   int
		answer bool
	}{{1, udpMaxQuery + 1, false}, {2, udpMaxQuery, true}, {3, 9000, false}} {
		if _, err := conn.Write(query(c.id, c.size)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := conn.Read(buf)
		switch {
		case c.answer && err != nil:
			t.Errorf("query of %d bytes: no answer: %v", c.size, err)
		case !c.answer && err == nil:
			t.Errorf("query of %d bytes (over %d): answered %x", c.size, udpMaxQuery, buf[:n])
		case c.answer && binary.BigEndian.Uint16(buf) != c.id:
			t.Errorf("query of %d bytes: answer to id %d", c.size, binary.BigEndian.Uint16(buf))
		}
	}
}
