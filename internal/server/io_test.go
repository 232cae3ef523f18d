package server

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serve runs ListenAndServe on a free port until the test ends and
// returns the address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, "127.0.0.1:0", func(u, _ net.Addr) { addrc <- u.String() }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	})
	return addr
}

// ioCases are queries whose answers over the sockets must be exactly what
// Respond gives: hits, misses, EDNS, truncation, errors.
func ioCases(t *testing.T) [][]byte {
	var out [][]byte
	add := func(name string, qtype uint16, edns uint16, mod func(*dns.Msg)) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Id = uint16(len(out) + 1)
		if edns > 0 {
			m.SetEdns0(edns, true)
		}
		if mod != nil {
			mod(m)
		}
		w, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	add("API.default.svc.cluster.local.", dns.TypeA, 0, nil)
	add("big.default.svc.cluster.local.", dns.TypeA, 0, nil)    // 60 records: TC over UDP
	add("big.default.svc.cluster.local.", dns.TypeA, 4096, nil) // still over 1232
	add("big-3.big.default.svc.cluster.local.", dns.TypeA, 1232, nil)
	add("_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV, 1232, nil)
	add("nope.default.svc.cluster.local.", dns.TypeAAAA, 0, nil)
	add("10.0.96.10.in-addr.arpa.", dns.TypePTR, 0, nil)
	add("example.com.", dns.TypeA, 0, nil)
	add("cluster.local.", dns.TypeAXFR, 0, nil)
	add("api.default.svc.cluster.local.", dns.TypeA, 0, func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus })
	add("api.default.svc.cluster.local.", dns.TypeA, 1232, func(m *dns.Msg) { m.Extra[0].(*dns.OPT).SetVersion(1) })
	out = append(out, []byte{0, 77, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0})                               // two questions claimed, none there: FORMERR
	out = append(out, []byte{0, 78, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1})       // compressed question: FORMERR
	out = append(out, []byte{0, 79, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', 'p', 'i', 0, 0, 1}) // a response: dropped
	out = append(out, []byte{1, 2, 3})                                                           // too short: dropped
	return out
}

// TestUDPAnswersAreRespondsBytes sends every case from several client
// sockets to a server with three SO_REUSEPORT sockets, many at once so
// that they are read in batches: each answer is byte for byte what
// Respond gives, and nothing is answered to what Respond drops.
func TestUDPAnswersAreRespondsBytes(t *testing.T) {
	s := New(Config{UDPSockets: 3})
	s.Swap(testSnapshot(t, 60), true)
	addr := serve(t, s)
	cases := ioCases(t)
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("udp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			for round := 0; round < 5; round++ {
				want := map[uint16][]byte{}
				for _, q := range cases {
					if r := s.Respond(q, nil, UDP); r != nil {
						want[binary.BigEndian.Uint16(r)] = r
					}
					if _, err := conn.Write(q); err != nil {
						t.Error(err)
						return
					}
				}
				buf := make([]byte, 65535)
				for len(want) > 0 {
					conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					n, err := conn.Read(buf)
					if err != nil {
						t.Errorf("%d answers missing: %v", len(want), err)
						return
					}
					id := binary.BigEndian.Uint16(buf)
					w, ok := want[id]
					if !ok {
						t.Errorf("unexpected answer %x", buf[:n])
						return
					}
					if string(w) != string(buf[:n]) {
						t.Errorf("answer to %d over UDP\n got %x\nwant %x", id, buf[:n], w)
					}
					delete(want, id)
				}
				// Nothing more comes: the dropped ones stay unanswered.
				conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if n, err := conn.Read(buf); err == nil {
					t.Errorf("answer to a dropped query: %x", buf[:n])
				}
			}
		}()
	}
	wg.Wait()
}

// TestTCPPipelined writes many queries at once, one split over writes, on
// one connection: the answers come in order, each as Respond gives it.
func TestTCPPipelined(t *testing.T) {
	s := newTestServer(t, 60)
	addr := serve(t, s)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cases := ioCases(t)
	var stream []byte
	var want [][]byte
	for i := 0; i < 50; i++ {
		for _, q := range cases {
			stream = binary.BigEndian.AppendUint16(stream, uint16(len(q)))
			stream = append(stream, q...)
			if r := s.Respond(q, nil, TCP); r != nil {
				want = append(want, r)
			}
		}
	}
	go func() {
		// Split at awkward places: inside a length, inside a message.
		for len(stream) > 0 {
			n := min(len(stream), 1+len(stream)/3)
			conn.Write(stream[:n])
			stream = stream[n:]
			time.Sleep(time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, w := range want {
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		got := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(conn, got); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if string(got) != string(w) {
			t.Fatalf("answer %d over TCP\n got %x\nwant %x", i, got, w)
		}
	}
}

// TestTCPQueryLongerThanTheBuffer sends one query larger than the read
// buffer (a big additional section): it is still read whole and answered.
func TestTCPQueryLongerThanTheBuffer(t *testing.T) {
	s := newTestServer(t, 3)
	addr := serve(t, s)
	m := new(dns.Msg)
	m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}}
	opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: 65001, Data: make([]byte, 40000)})
	m.Extra = append(m.Extra, opt)
	q, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	want := s.Respond(q, nil, TCP)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
}

// TestSecondServerOnTheSamePortFails: SO_REUSEPORT must not let a second
// server share a port the first one serves.
func TestSecondServerOnTheSamePortFails(t *testing.T) {
	s := newTestServer(t, 1)
	addr := serve(t, s)
	err := New(Config{}).ListenAndServe(context.Background(), addr, nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second server on %s: %v, want address already in use", addr, err)
	}
}

type eventLog struct {
	mu  sync.Mutex
	evs []QueryEvent
}

func (l *eventLog) ObserveQuery(q *QueryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := *q
	e.Name = append([]byte(nil), q.Name...)
	l.evs = append(l.evs, e)
}

// TestObserverOverTheSockets: the observer sees each answered UDP and TCP
// query with the client's address, a worker number and a duration.
func TestObserverOverTheSockets(t *testing.T) {
	log := &eventLog{}
	s := New(Config{UDPSockets: 2, Observer: log})
	s.Swap(testSnapshot(t, 3), true)
	addr := serve(t, s)
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 2 * time.Second}
		m := new(dns.Msg)
		m.SetQuestion("API.default.svc.cluster.local.", dns.TypeA)
		if _, _, err := c.Exchange(m, addr); err != nil {
			t.Fatal(err)
		}
	}
	// A UDP worker tells the observer after it has sent the batch, so the
	// client may have its answer (and the TCP one) before the event is in.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		log.mu.Lock()
		n := len(log.evs)
		log.mu.Unlock()
		if n >= 2 {
			break
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.evs) != 2 {
		t.Fatalf("%d events", len(log.evs))
	}
	slices.SortFunc(log.evs, func(a, b QueryEvent) int { return int(a.Transport) - int(b.Transport) })
	for i, e := range log.evs {
		if string(e.Name) != "api.default.svc.cluster.local." || e.Zone != "cluster.local." || e.Rcode != 0 {
			t.Errorf("event %d: %+v", i, e)
		}
		if !e.Remote.IsValid() || e.Remote.Addr() != netip.MustParseAddr("127.0.0.1") || e.Remote.Port() == 0 {
			t.Errorf("event %d: remote %v", i, e.Remote)
		}
		if e.Duration <= 0 || e.Start.IsZero() {
			t.Errorf("event %d: start %v duration %v", i, e.Start, e.Duration)
		}
	}
	if log.evs[0].Transport != UDP || log.evs[0].Worker >= 2 {
		t.Errorf("UDP event: transport %v worker %d", log.evs[0].Transport, log.evs[0].Worker)
	}
	if log.evs[1].Transport != TCP || log.evs[1].Worker < 2 {
		t.Errorf("TCP event: transport %v worker %d", log.evs[1].Transport, log.evs[1].Worker)
	}
}

// BenchmarkUDPServer is queries over loopback UDP from 16 client sockets,
// 8 in flight each; ns/op is per answered query, client included.
func BenchmarkUDPServer(b *testing.B) {
	s := newTestServer(b, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	go s.ListenAndServe(ctx, "127.0.0.1:0", func(u, _ net.Addr) { addrc <- u.String() })
	addr := <-addrc
	m := new(dns.Msg)
	m.SetQuestion("big.default.svc.cluster.local.", dns.TypeA)
	wire, _ := m.Pack()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("udp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		buf := make([]byte, 1500)
		for pb.Next() {
			conn.Write(wire)
			conn.SetReadDeadline(time.Now().Add(time.Second))
			conn.Read(buf)
		}
	})
}
