package server

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serveConfig runs a server with cfg over a snapshot of pods endpoints
// and returns it with its address.
func serveConfig(t *testing.T, cfg Config, pods int) (*Server, string) {
	t.Helper()
	s := New(cfg)
	s.Swap(testSnapshot(t, pods), true)
	return s, serve(t, s)
}

func framed(t testing.TB, name string, qtype uint16) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	w, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(w))), w...)
}

// askTCP sends one query on a new connection and reads its answer.
func askTCP(t *testing.T, addr, name string) (*dns.Msg, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(framed(t, name, dns.TypeA)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	return m, m.Unpack(b)
}

// closedWithin reports whether the server closes c within d (reading and
// discarding whatever it sends).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64*1024)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// Pipelined queries for a large answer from clients that never read must
// not pin memory: the server stops reading a connection whose answers are
// not taken (RFC 7766 §6.2.3 lets it), so what a connection holds is its
// read buffer plus TCPMaxPending and one answer. Before the bound, every
// query in a 16 KiB read was answered into one buffer first: about 14 MB
// per connection for this 22 KB answer.
func TestTCPClientThatDoesNotReadIsBounded(t *testing.T) {
	s, addr := serveConfig(t, Config{TCPIdleTimeout: 30 * time.Second}, 300)
	q := framed(t, "_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV)
	if r := s.Respond(q[2:], nil, TCP); len(r) < 20000 {
		t.Fatalf("answer of %d bytes; the test needs a large one", len(r))
	}
	var stream []byte
	for len(stream) < 64*1024 {
		stream = append(stream, q...)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const conns = 20
	var wg sync.WaitGroup
	var clients []net.Conn
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Write until the server stops reading (the write stalls).
			for {
				c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				if _, err := c.Write(stream); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	perConn := int64(tcpReadBuf + DefaultTCPMaxPending + 2*maxTCPSize + 16*1024)
	if grown > conns*perConn {
		t.Errorf("%d connections that do not read hold %d KiB, want at most %d KiB", conns, grown/1024, conns*perConn/1024)
	}
	t.Logf("%d stalled connections: heap +%d KiB", conns, grown/1024)
	for _, c := range clients {
		c.Close()
	}
	// Well-behaved clients are still answered.
	if _, err := askTCP(t, addr, "api.default.svc.cluster.local."); err != nil {
		t.Fatal(err)
	}
}

// A client that does not take its answers is closed once a write has made
// no progress for the idle timeout.
func TestTCPClientThatDoesNotReadIsClosed(t *testing.T) {
	_, addr := serveConfig(t, Config{TCPIdleTimeout: 300 * time.Millisecond}, 300)
	q := framed(t, "_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	stalled := time.Now()
	for {
		c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Write(q); err != nil {
			break
		}
	}
	// The server's write is stuck now; after the idle timeout it closes,
	// which shows as an error when the client writes again.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := c.Write(q)
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			t.Logf("closed %v after the client stalled", time.Since(stalled).Round(time.Millisecond))
			return
		}
	}
	t.Fatal("a connection that takes no answers was not closed")
}

// Slowloris: a query whose bytes trickle in is cut off TCPMessageTimeout
// after its first byte, however often a byte comes. Before, the idle
// timeout restarted on every byte, so one byte a second held the
// connection (and its slot) indefinitely.
func TestTCPSlowQueryIsCutOff(t *testing.T) {
	_, addr := serveConfig(t, Config{TCPIdleTimeout: time.Second, TCPMessageTimeout: 400 * time.Millisecond}, 1)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := framed(t, "api.default.svc.cluster.local.", dns.TypeA)
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		if closedWithin(c, 10*time.Second) {
			closed <- time.Since(start)
		}
		close(closed)
	}()
	for _, b := range q {
		if _, err := c.Write([]byte{b}); err != nil {
			break
		}
		select {
		case d, ok := <-closed:
			if !ok {
				t.Fatal("not closed")
			}
			if d > 2*time.Second {
				t.Fatalf("closed after %v, want about 400ms", d)
			}
			t.Logf("closed after %v", d.Round(time.Millisecond))
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("the whole query trickled in over %v without the connection being closed", time.Since(start))
}

// A connection that sends nothing is closed after the idle timeout.
func TestTCPIdleConnectionIsClosed(t *testing.T) {
	_, addr := serveConfig(t, Config{TCPIdleTimeout: 300 * time.Millisecond}, 1)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedWithin(c, 5*time.Second) {
		t.Fatal("an idle connection was not closed")
	}
}

// With every slot held by idle or trickling connections, a new client is
// still answered: it closes the connection that made no progress for the
// longest time. Before, new clients were reset while the slots were held.
func TestTCPCapClosesTheStalest(t *testing.T) {
	const max = 8
	_, addr := serveConfig(t, Config{MaxTCPConns: max, TCPIdleTimeout: time.Minute, TCPMessageTimeout: time.Minute}, 1)
	var held []net.Conn
	for i := range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 0 {
			c.Write([]byte{0}) // the first byte of a query that never comes
		}
		held = append(held, c)
		time.Sleep(5 * time.Millisecond) // distinct ages
	}
	for i := range 3 {
		r, err := askTCP(t, addr, "api.default.svc.cluster.local.")
		if err != nil {
			t.Fatalf("new client %d at the cap: %v", i, err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("new client %d: %v", i, r)
		}
	}
	if !closedWithin(held[0], 2*time.Second) {
		t.Error("the oldest held connection was not closed")
	}
	if closedWithin(held[max-1], 100*time.Millisecond) {
		t.Error("the newest held connection was closed")
	}
}

// exhaustedListener fails its first accepts as a process out of file
// descriptors does.
type exhaustedListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (l *exhaustedListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// Running out of file descriptors is not fatal: accept backs off and the
// server goes on. Before, EMFILE ended ListenAndServe, UDP included.
func TestTCPAcceptOutOfDescriptorsBacksOff(t *testing.T) {
	s := New(Config{})
	s.Swap(testSnapshot(t, 1), true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.serveTCP(ctx, &exhaustedListener{Listener: ln, fails: 6}) }()
	defer ln.Close()
	defer cancel()
	r, err := askTCP(t, ln.Addr().String(), "api.default.svc.cluster.local.")
	select {
	case err := <-stopped:
		t.Fatalf("serveTCP stopped: %v", err)
	default:
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 {
		t.Fatalf("answer %v", r)
	}
	cancel()
	ln.Close()
	if err := <-stopped; err != nil {
		t.Errorf("serveTCP: %v", err)
	}
}
