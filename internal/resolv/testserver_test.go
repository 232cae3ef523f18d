package resolv

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

// seen is one question the test server received.
type seen struct {
	Name  string `json:"name"`
	Type  uint16 `json:"type"`
	Rcode int    `json:"rcode"`
	// Port is the client's source port; TCP marks a question over TCP.
	Port int  `json:"port"`
	TCP  bool `json:"tcp,omitempty"`
	// Start is when the server read it (QueryEvent.Start).
	Start time.Time `json:"start"`
}

type nsResult struct {
	Queries []seen `json:"queries"`
	// Output is what the client printed, Exit its exit status.
	Output string `json:"output"`
	Exit   int    `json:"exit"`
	// Upstream are the questions that reached the real upstream ("name
	// TYPE"), Expanded what each autopath answer saved (serveReal only).
	Upstream []string `json:"upstream,omitempty"`
	Expanded []int    `json:"expanded,omitempty"`
}

// recorder is the server.Observer of the test server, plus the questions
// the faults answered (or dropped).
type recorder struct {
	mu sync.Mutex
	qs []seen
}

func (r *recorder) add(s seen) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Name = strings.ToLower(s.Name)
	r.qs = append(r.qs, s)
}

// ObserveQuery is the server.Observer.
func (r *recorder) ObserveQuery(q *server.QueryEvent) {
	r.add(seen{Name: string(q.Name), Type: q.Qtype, Rcode: q.Rcode, Port: int(q.Remote.Port()), TCP: q.Transport == server.TCP, Start: q.Start})
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.qs = nil
	r.mu.Unlock()
}

func (r *recorder) list() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.qs...)
}

// answerFault answers one query message from the faults, else from srv.
// nil means no reply (dropped, or unreadable).
func answerFault(msg []byte, srv *server.Server, f faults, rec *recorder, remote netip.AddrPort, t server.Transport) []byte {
	req := new(dns.Msg)
	if req.Unpack(msg) != nil || len(req.Question) != 1 {
		return nil
	}
	q := req.Question[0]
	s := seen{Name: q.Name, Type: q.Qtype, Port: int(remote.Port()), TCP: t == server.TCP}
	if t == server.UDP && f.lookup(q.Name, q.Qtype) == "tc" {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Truncated = true
		m.Authoritative = true // else glibc takes the empty reply for a lame one before it looks at TC
		s.Rcode = 0
		rec.add(s)
		b, _ := m.Pack()
		return b
	}
	resp, drop := faultReply(req, f, srv.Snapshot())
	switch {
	case drop:
		s.Rcode = Timeout
		rec.add(s)
		return nil
	case resp != nil:
		s.Rcode = resp.Rcode
		rec.add(s)
		b, _ := resp.Pack()
		return b
	}
	return srv.RespondFrom(msg, nil, t, remote)
}

// serveFaults answers UDP from srv (its Observer records), except where the
// faults say otherwise (recorded here).
func serveFaults(pc net.PacketConn, srv *server.Server, f faults, rec *recorder) {
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var remote netip.AddrPort
		if ua, ok := from.(*net.UDPAddr); ok {
			remote = ua.AddrPort()
		}
		if b := answerFault(buf[:n], srv, f, rec, remote, server.UDP); b != nil {
			_, _ = pc.WriteTo(b, from)
		}
	}
}

// serveFaultsTCP is serveFaults over TCP.
func serveFaultsTCP(ln net.Listener, srv *server.Server, f faults, rec *recorder) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var remote netip.AddrPort
			if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
				remote = ta.AddrPort()
			}
			for {
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				msg := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, msg); err != nil {
					return
				}
				b := answerFault(msg, srv, f, rec, remote, server.TCP)
				if b == nil {
					continue
				}
				out := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
				if _, err := c.Write(append(out, b...)); err != nil {
					return
				}
			}
		}()
	}
}

// testServer is the fixture served on 127.0.0.1 (UDP and TCP, one port).
type testServer struct {
	addr string
	rec  *recorder
}

func startTestServer(t *testing.T, f faults) *testServer {
	t.Helper()
	rec := &recorder{}
	srv := server.New(server.Config{Observer: rec})
	srv.Swap(fixture(t), true)
	var pc net.PacketConn
	var ln net.Listener
	for range 10 {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		ln = nil
	}
	if ln == nil {
		t.Fatal("no free port for UDP and TCP")
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go serveFaults(pc, srv, f, rec)
	go serveFaultsTCP(ln, srv, f, rec)
	return &testServer{addr: pc.LocalAddr().String(), rec: rec}
}

func realSeq(qs []seen) []string {
	var out []string
	for _, q := range qs {
		s := fmt.Sprintf("%s %s %s", q.Name, dns.TypeToString[q.Type], rcodeWord(q.Rcode))
		if q.TCP {
			s += " tcp"
		}
		out = append(out, s)
	}
	return out
}

// modelSeq renders the model's packets like realSeq. A truncated reply
// (fault tc) adds the question again over TCP: for glibc, which sent the
// pair together, the whole pair.
func modelSeq(qs []Query, f faults, pairTCP bool) []string {
	line := func(q Query, rc string, tcp bool) string {
		s := fmt.Sprintf("%s %s %s", strings.ToLower(q.Name), dns.TypeToString[q.Type], rc)
		if tcp {
			s += " tcp"
		}
		return s
	}
	var out []string
	for i := 0; i < len(qs); {
		// One batch: the questions of one candidate sent in one try.
		j := i + 1
		for j < len(qs) && qs[j].Name == qs[i].Name && qs[j].Try == qs[i].Try && qs[j].Type != qs[i].Type {
			j++
		}
		batch := qs[i:j]
		tc := false
		for _, q := range batch {
			tc = tc || f.lookup(q.Name, q.Type) == "tc"
		}
		for _, q := range batch {
			rc := rcodeWord(q.Rcode)
			if f.lookup(q.Name, q.Type) == "tc" {
				rc = "NOERROR"
			}
			out = append(out, line(q, rc, false))
			if !pairTCP && f.lookup(q.Name, q.Type) == "tc" {
				out = append(out, line(q, rcodeWord(q.Rcode), true))
			}
		}
		if tc && pairTCP {
			for _, q := range batch {
				out = append(out, line(q, rcodeWord(q.Rcode), true))
			}
		}
		i = j
	}
	return out
}

func rcodeWord(rc int) string {
	if rc == Timeout {
		return "(no reply)"
	}
	return dns.RcodeToString[rc]
}

// byName orders the packets of each run of one name (Go sends A and
// AAAA from two goroutines; which one the server reads first is chance).
func byName(seq []string) []string {
	out := append([]string(nil), seq...)
	for i := 0; i < len(out); {
		j := i
		name := strings.Fields(out[i])[0]
		for j < len(out) && strings.Fields(out[j])[0] == name {
			j++
		}
		sort.Strings(out[i:j])
		i = j
	}
	return out
}
