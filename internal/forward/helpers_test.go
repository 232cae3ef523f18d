package forward

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testUpstream is an in-process DNS server on 127.0.0.1:0, UDP and TCP on
// one port, answering through handle.
type testUpstream struct {
	addr    string
	queries atomic.Int64 // queries other than health checks
	checks  atomic.Int64 // health checks (. NS)
	handle  func(w dns.ResponseWriter, r *dns.Msg)
	mu      sync.Mutex
	sources map[string]int // remote "proto addr" -> queries
}

// answerA is the default handler: an A record with a fixed address.
func answerA(ip string) func(w dns.ResponseWriter, r *dns.Msg) {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA,
				Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
		}
		w.WriteMsg(m)
	}
}

func startUpstream(t testing.TB, handle func(w dns.ResponseWriter, r *dns.Msg)) *testUpstream {
	t.Helper()
	u := &testUpstream{handle: handle, sources: map[string]int{}}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		if len(r.Question) == 1 && r.Question[0].Name == "." && r.Question[0].Qtype == dns.TypeNS {
			u.checks.Add(1)
		} else {
			u.queries.Add(1)
			u.mu.Lock()
			u.sources[w.RemoteAddr().Network()+" "+w.RemoteAddr().String()]++
			u.mu.Unlock()
		}
		u.handle(w, r)
	})
	for range 20 { // the TCP port can be taken; try another
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue
		}
		u.addr = pc.LocalAddr().String()
		serve(t, &dns.Server{PacketConn: pc, Handler: h})
		serve(t, &dns.Server{Listener: l, Handler: h})
		return u
	}
	t.Fatal("no free UDP+TCP port")
	return nil
}

func serve(t testing.TB, s *dns.Server) {
	started := make(chan struct{})
	s.NotifyStartedFunc = func() { close(started) }
	go s.ActivateAndServe()
	<-started
	t.Cleanup(func() { s.Shutdown() })
}

// distinctSources is the number of client sockets that sent queries.
func (u *testUpstream) distinctSources() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.sources)
}

// deadAddr is a UDP address where nothing listens: queries get ICMP
// port unreachable, so they fail at once. The port is below the ephemeral
// range: with a free ephemeral port, one of the thousands of sockets a
// fast-failing retry loop dials can get that very port as its own and
// talk to itself (CoreDNS then answers FORMERR).
func deadAddr(t testing.TB) string {
	for port := 1023; port > 900; port-- {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue // in use, or not allowed to bind
		}
		pc.Close()
		return addr
	}
	t.Skip("no bindable UDP port below 1024 to use as a closed port")
	return ""
}

// blackHole is a UDP socket that reads and never answers.
func blackHole(t testing.TB) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

// fastConfig is DefaultConfig with timings a test can wait for.
func fastConfig(to ...string) Config {
	c := DefaultConfig(to...)
	c.HealthCheck = 10 * time.Millisecond
	c.HealthCheckTimeout = 50 * time.Millisecond
	c.ReadTimeout = 200 * time.Millisecond
	c.QueryTimeout = time.Second
	return c
}

func newForwarder(t testing.TB, cfg Config) *Forwarder {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Start(context.Background())
	t.Cleanup(func() { f.Close() })
	return f
}

func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// countingRecorder counts Recorder events.
type countingRecorder struct {
	mu        sync.Mutex
	requests  map[string]int
	responses map[string]int // "to rcode"
	hcFail    map[string]int
	broken    int
	rejects   int
	hits      int
	misses    int
}

func newCountingRecorder() *countingRecorder {
	return &countingRecorder{requests: map[string]int{}, responses: map[string]int{}, hcFail: map[string]int{}}
}

func (r *countingRecorder) Request(to string) { r.mu.Lock(); r.requests[to]++; r.mu.Unlock() }
func (r *countingRecorder) Response(to string, rcode int, _ time.Duration) {
	r.mu.Lock()
	r.responses[to+" "+dns.RcodeToString[rcode]]++
	r.mu.Unlock()
}
func (r *countingRecorder) HealthcheckFailure(to string) { r.mu.Lock(); r.hcFail[to]++; r.mu.Unlock() }
func (r *countingRecorder) HealthcheckBroken()           { r.mu.Lock(); r.broken++; r.mu.Unlock() }
func (r *countingRecorder) MaxConcurrentReject()         { r.mu.Lock(); r.rejects++; r.mu.Unlock() }
func (r *countingRecorder) ConnCache(_, _ string, hit bool) {
	r.mu.Lock()
	if hit {
		r.hits++
	} else {
		r.misses++
	}
	r.mu.Unlock()
}

func (r *countingRecorder) get(f func(r *countingRecorder) int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f(r)
}
