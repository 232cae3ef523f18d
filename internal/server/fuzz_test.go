package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

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

// streamConn is a net.Conn that reads a fixed input in chunks and records
// what is written: serveConn over it sees a client's byte stream exactly.
type streamConn struct {
	net.Conn // nil: only the methods below are used
	in       []byte
	chunk    int
	out      bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b, c.in[:min(len(c.in), c.chunk)])
	c.in = c.in[n:]
	return n, nil
}
func (c *streamConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5} }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzTCPStream feeds an arbitrary byte stream, in reads of an arbitrary
// size, to a TCP connection's framing and query path: it must end when the
// stream does, and write only whole, framed, well-formed answers, at most
// one per complete query, in the order of the queries' IDs.
func FuzzTCPStream(f *testing.F) {
	frame := func(name string, qtype uint16) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		b, _ := m.Pack()
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
	}
	two := append(frame("api.default.svc.cluster.local.", dns.TypeA), frame("_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV)...)
	f.Add(two, uint16(1))
	f.Add(two, uint16(7))
	f.Add(two[:len(two)-3], uint16(16384))
	f.Add([]byte{0xff, 0xff, 0, 1, 2}, uint16(2))                  // a length the stream never fills
	f.Add([]byte{0, 0, 0, 0, 0, 2, 0xab, 0xcd}, uint16(3))         // an empty message, a two-byte one
	f.Add(append([]byte{0, 12}, make([]byte, 12)...), uint16(100)) // a bare header
	f.Add(bytes.Repeat(frame("big-1.big.default.svc.cluster.local.", dns.TypeA), 50), uint16(999))
	s := newTestServer(f, 60)
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint16) {
		c := &streamConn{in: stream, chunk: max(int(chunk), 1)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serveConn(&tcpConn{Conn: c})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("serveConn did not end with the stream")
		}
		// The complete queries of the stream, in order.
		var queries [][]byte
		for in := stream; len(in) >= 2 && len(in) >= 2+int(binary.BigEndian.Uint16(in)); {
			n := int(binary.BigEndian.Uint16(in))
			queries = append(queries, in[2:2+n])
			in = in[2+n:]
		}
		out := c.out.Bytes()
		answered := 0
		for len(out) > 0 {
			if len(out) < 2 || len(out) < 2+int(binary.BigEndian.Uint16(out)) {
				t.Fatalf("a partial frame was written: %x", out)
			}
			n := int(binary.BigEndian.Uint16(out))
			r := new(dns.Msg)
			if err := r.Unpack(out[2 : 2+n]); err != nil {
				t.Fatalf("answer %d does not parse: %v", answered, err)
			}
			if !r.Response {
				t.Fatalf("answer %d: QR not set", answered)
			}
			// Answers come in query order: find the next query it answers.
			for answered < len(queries) && (len(queries[answered]) < 2 || binary.BigEndian.Uint16(queries[answered]) != r.Id) {
				answered++
			}
			if answered == len(queries) {
				t.Fatalf("an answer (ID %d) to no query, or out of order", r.Id)
			}
			answered++
			out = out[2+n:]
		}
	})
}
