package outside

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// upstream is an in-process DNS server answering A 192.0.2.1 (TTL 300)
// for every name but nope.*, which is NXDOMAIN; it counts the queries.
type upstream struct {
	addr  string
	srv   *dns.Server
	mu    sync.Mutex
	asked map[string]int
	down  atomic.Bool
}

func startUpstream(t testing.TB) *upstream {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{addr: pc.LocalAddr().String(), asked: map[string]int{}}
	u.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(u.serve)}
	go u.srv.ActivateAndServe()
	t.Cleanup(func() { u.srv.Shutdown() })
	return u
}

func (u *upstream) serve(w dns.ResponseWriter, req *dns.Msg) {
	if u.down.Load() {
		return // no answer: the forwarder times out
	}
	q := req.Question[0]
	u.mu.Lock()
	u.asked[q.Name]++
	u.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(req)
	if len(q.Name) >= 5 && q.Name[:5] == "nope." {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60}, Ns: "ns.example.", Mbox: "h.example.", Minttl: 60}}
	} else {
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 1)}}
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), opt.Do())
	}
	w.WriteMsg(m)
}

func (u *upstream) total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.asked {
		n += c
	}
	return n
}

func (u *upstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.asked[name]
}

func forwarder(t testing.TB, from string, to ...string) *forward.Forwarder {
	t.Helper()
	cfg := forward.DefaultConfig(to...)
	cfg.From = from
	cfg.QueryTimeout = 500 * time.Millisecond
	cfg.ReadTimeout = 200 * time.Millisecond
	f, err := forward.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func newCache(t testing.TB, tune func(*cache.Config)) *cache.Cache {
	t.Helper()
	cfg := cache.DefaultConfig()
	cfg.SuccessMaxTTL, cfg.DenialMaxTTL = 30*time.Second, 30*time.Second
	if tune != nil {
		tune(&cfg)
	}
	c, err := cache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clusterServer serves cluster.local (one Service) with o for the rest.
func clusterServer(t testing.TB, o server.Outside) *server.Server {
	t.Helper()
	st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "default"}},
		Services: []cluster.Service{{Name: "api", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.20")}}}}
	snap, err := zone.Build(st, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{Outside: o})
	s.Swap(snap, true)
	return s
}

func ask(t *testing.T, s *server.Server, name string, qtype uint16, edns bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(1232, false)
	}
	wire, _ := m.Pack()
	out := s.Respond(wire, nil, server.UDP)
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("%s: reply does not parse: %v", name, err)
	}
	if r.Id != m.Id {
		t.Fatalf("%s: ID %d, want %d", name, r.Id, m.Id)
	}
	return r
}

// kubeadm's Corefile: cluster names are answered by the zone and never
// reach the upstream; other names are forwarded once and then answered
// from the cache, with the TTL capped at 30 and counting down.
func TestForwardedOnceThenCached(t *testing.T) {
	u := startUpstream(t)
	res, err := New([]Route{{Zone: ".", Cache: newCache(t, nil), Forward: forwarder(t, ".", u.addr)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := clusterServer(t, res)
	if r := ask(t, s, "api.default.svc.cluster.local.", dns.TypeA, false); len(r.Answer) != 1 || u.total() != 0 {
		t.Fatalf("cluster name: %v, upstream asked %d queries", r, u.total())
	}
	r1 := ask(t, s, "www.example.com.", dns.TypeA, true)
	r2 := ask(t, s, "WWW.Example.com.", dns.TypeA, true)
	if n := u.count("www.example.com."); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	for i, r := range []*dns.Msg{r1, r2} {
		if len(r.Answer) != 1 || r.Answer[0].Header().Ttl > 30 {
			t.Errorf("reply %d: %v (TTL must be capped at 30)", i, r.Answer)
		}
		if opt := r.IsEdns0(); opt == nil || len(r.Extra) != 1 {
			t.Errorf("reply %d: want exactly the server's OPT, got %v", i, r.Extra)
		}
	}
	if r2.Question[0].Name != "WWW.Example.com." {
		t.Errorf("cached reply's question %q, want the client's case", r2.Question[0].Name)
	}
	if r := ask(t, s, "nope.example.com.", dns.TypeA, false); r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN: %s", dns.RcodeToString[r.Rcode])
	}
}

// A stub domain (consul.local:53 { forward . X }) goes to its own
// upstream; other names to the default block's.
func TestStubDomainRoute(t *testing.T) {
	main, stub := startUpstream(t), startUpstream(t)
	res, err := New([]Route{
		{Zone: ".", Forward: forwarder(t, ".", main.addr)},
		{Zone: "consul.local", Forward: forwarder(t, ".", stub.addr)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := clusterServer(t, res)
	ask(t, s, "db.service.consul.local.", dns.TypeA, false)
	ask(t, s, "example.org.", dns.TypeA, false)
	if stub.count("db.service.consul.local.") != 1 || main.count("db.service.consul.local.") != 0 || main.count("example.org.") != 1 {
		t.Errorf("stub asked %d, main asked %d and %d", stub.count("db.service.consul.local."), main.count("db.service.consul.local."), main.count("example.org."))
	}
}

// A forward failure is SERVFAIL and not cached; with serve_stale an
// expired entry is served instead.
func TestFailureAndServeStale(t *testing.T) {
	u := startUpstream(t)
	u.down.Store(true)
	res, _ := New([]Route{{Zone: ".", Cache: newCache(t, nil), Forward: forwarder(t, ".", u.addr)}}, nil)
	s := clusterServer(t, res)
	if r := ask(t, s, "www.example.com.", dns.TypeA, false); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("upstream down: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	u.down.Store(false)
	if r := ask(t, s, "www.example.com.", dns.TypeA, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("SERVFAIL was cached: %v", r)
	}

	stale := newCache(t, func(c *cache.Config) {
		c.SuccessMaxTTL, c.SuccessMinTTL = time.Second, time.Second
		c.ServeStale = cache.ServeStale{Duration: time.Hour, Verify: true}
	})
	u2 := startUpstream(t)
	res2, _ := New([]Route{{Zone: ".", Cache: stale, Forward: forwarder(t, ".", u2.addr)}}, nil)
	s2 := clusterServer(t, res2)
	ask(t, s2, "old.example.com.", dns.TypeA, false)
	time.Sleep(2100 * time.Millisecond)
	u2.down.Store(true)
	if r := ask(t, s2, "old.example.com.", dns.TypeA, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("serve_stale with the upstream down: %v", r)
	}
}

// forward . X { except example.org }: an excepted name gets SERVFAIL.
func TestExceptedNameIsServfail(t *testing.T) {
	u := startUpstream(t)
	cfg := forward.DefaultConfig(u.addr)
	cfg.Except = []string{"example.org."}
	f, err := forward.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, _ := New([]Route{{Zone: ".", Forward: f}}, nil)
	s := clusterServer(t, res)
	if r := ask(t, s, "www.example.org.", dns.TypeA, false); r.Rcode != dns.RcodeServerFailure || u.count("www.example.org.") != 0 {
		t.Errorf("%s, upstream asked %d", dns.RcodeToString[r.Rcode], u.count("www.example.org."))
	}
}

// A name no route holds is REFUSED.
func TestNoRouteIsRefused(t *testing.T) {
	u := startUpstream(t)
	res, _ := New([]Route{{Zone: "consul.local", Forward: forwarder(t, ".", u.addr)}}, nil)
	s := clusterServer(t, res)
	if r := ask(t, s, "www.example.org.", dns.TypeA, false); r.Rcode != dns.RcodeRefused {
		t.Errorf("%s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}

// serve_stale: a refresh that failed gives its claim up, so once the
// upstream is back the next stale hit refreshes and fresh answers follow
// at once, as CoreDNS (which refreshes on every stale hit) answers; not
// stale for the claim's whole 5 s.
func TestServeStaleFreshAgainOnceUpstreamIsBack(t *testing.T) {
	u := startUpstream(t)
	c := newCache(t, func(c *cache.Config) {
		c.SuccessMaxTTL, c.SuccessMinTTL = time.Second, time.Second
		c.ServeStale = cache.ServeStale{Duration: time.Hour}
	})
	res, _ := New([]Route{{Zone: ".", Cache: c, Forward: forwarder(t, ".", u.addr)}}, nil)
	res.refreshTimeout = 300 * time.Millisecond
	s := clusterServer(t, res)
	ask(t, s, "back.example.com.", dns.TypeA, false)
	time.Sleep(2100 * time.Millisecond)
	u.down.Store(true)
	if r := ask(t, s, "back.example.com.", dns.TypeA, false); len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 0 {
		t.Fatalf("stale with the upstream down: %v", r)
	}
	time.Sleep(500 * time.Millisecond) // the refresh has failed
	u.down.Store(false)
	deadline := time.Now().Add(time.Second)
	for {
		r := ask(t, s, "back.example.com.", dns.TypeA, false)
		if len(r.Answer) == 1 && r.Answer[0].Header().Ttl > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still stale 1 s after the upstream came back: %v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
