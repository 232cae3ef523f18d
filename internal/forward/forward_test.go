package forward

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestPolicyOrdersUpstreams(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		check  func(t *testing.T, firsts []int)
	}{
		{"random spreads over every upstream", Random, func(t *testing.T, firsts []int) {
			count := map[int]int{}
			for _, i := range firsts {
				count[i]++
			}
			for i := range 3 {
				if count[i] < 20 { // expected 100 each of 300
					t.Errorf("upstream %d first %d times of 300: %v", i, count[i], count)
				}
			}
		}},
		{"round_robin rotates the first", RoundRobin, func(t *testing.T, firsts []int) {
			for i, got := range firsts[:9] {
				if want := (i + 1) % 3; got != want {
					t.Fatalf("query %d went first to %d, want %d (%v)", i, got, want, firsts[:9])
				}
			}
		}},
		{"sequential prefers the first", Sequential, func(t *testing.T, firsts []int) {
			for i, got := range firsts {
				if got != 0 {
					t.Fatalf("query %d went first to %d", i, got)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ups []*testUpstream
			var to []string
			for range 3 {
				u := startUpstream(t, answerA("192.0.2.1"))
				ups = append(ups, u)
				to = append(to, u.addr)
			}
			cfg := fastConfig(to...)
			cfg.Policy = tt.policy
			f := newForwarder(t, cfg)
			var firsts []int
			for range 300 {
				before := counts(ups)
				if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err != nil {
					t.Fatal(err)
				}
				after := counts(ups)
				for i := range after {
					if after[i] != before[i] {
						firsts = append(firsts, i)
					}
				}
			}
			tt.check(t, firsts)
		})
	}
}

func counts(ups []*testUpstream) []int64 {
	out := make([]int64, len(ups))
	for i, u := range ups {
		out[i] = u.queries.Load()
	}
	return out
}

func TestRoundRobinKeepsConfiguredOrderAfterFirst(t *testing.T) {
	f := &Forwarder{cfg: Config{Policy: RoundRobin}, ups: make([]*upstream, 4)}
	var want = [][]uint8{{1, 0, 2, 3}, {2, 0, 1, 3}, {3, 0, 1, 2}, {0, 1, 2, 3}}
	for i, w := range want {
		var buf [MaxUpstreams]uint8
		if got := f.order(buf[:0]); !slices.Equal(got, w) {
			t.Errorf("query %d: order %v, want %v (CoreDNS policy.go)", i, got, w)
		}
	}
}

// TestMaxFailsMarksDownHealthCheckMarksUp: a failing upstream is skipped
// after MaxFails+1 failed checks and used again after one good check.
func TestMaxFailsMarksDownHealthCheckMarksUp(t *testing.T) {
	var alive atomic.Bool
	a := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		if alive.Load() {
			answerA("192.0.2.1")(w, r)
		}
	})
	b := startUpstream(t, answerA("192.0.2.2"))
	rec := newCountingRecorder()
	cfg := fastConfig(a.addr, b.addr)
	cfg.Policy = Sequential
	cfg.Recorder = rec
	f := newForwarder(t, cfg)

	ret, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp")
	if err != nil || ret.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
		t.Fatalf("first query: %v %v, want the second upstream's answer", ret, err)
	}
	waitFor(t, "first upstream down", func() bool { return f.ups[0].down(cfg.MaxFails) })
	if n := rec.get(func(r *countingRecorder) int { return r.hcFail[a.addr] }); n < 3 {
		t.Errorf("%d health check failures recorded before down, want >= 3", n)
	}

	before := a.queries.Load()
	start := time.Now()
	if _, err := f.Exchange(context.Background(), question("b.example.", dns.TypeA), "udp"); err != nil {
		t.Fatal(err)
	}
	if a.queries.Load() != before {
		t.Error("a down upstream was sent a query")
	}
	if d := time.Since(start); d > cfg.ReadTimeout {
		t.Errorf("query took %v with the first upstream down: it was waited for", d)
	}

	alive.Store(true)
	waitFor(t, "first upstream up", func() bool { return !f.ups[0].down(cfg.MaxFails) })
	ret, err = f.Exchange(context.Background(), question("c.example.", dns.TypeA), "udp")
	if err != nil || ret.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Fatalf("after recovery: %v %v, want the first upstream's answer", ret, err)
	}
	waitFor(t, "probe loop to end", func() bool { return !f.ups[0].probing.Load() })
}

func TestMaxFailsZeroNeverHealthChecks(t *testing.T) {
	dead := deadAddr(t)
	b := startUpstream(t, answerA("192.0.2.2"))
	cfg := fastConfig(dead, b.addr)
	cfg.Policy = Sequential
	cfg.MaxFails = 0
	f := newForwarder(t, cfg)
	for range 5 {
		if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if f.ups[0].fails.Load() != 0 || f.ups[0].probing.Load() {
		t.Error("max_fails 0 health-checked the upstream")
	}
}

func TestAllUpstreamsDownStillTriesOne(t *testing.T) {
	a := startUpstream(t, answerA("192.0.2.1"))
	b := startUpstream(t, answerA("192.0.2.2"))
	rec := newCountingRecorder()
	cfg := fastConfig(a.addr, b.addr)
	cfg.Recorder = rec
	f, err := New(cfg) // not started: nothing resets the fail counts
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, u := range f.ups {
		u.fails.Store(uint32(cfg.MaxFails) + 1)
	}
	for range 20 {
		if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err != nil {
			t.Fatalf("all down: %v, want an answer from a random upstream", err)
		}
	}
	if a.queries.Load() == 0 || b.queries.Load() == 0 {
		t.Errorf("queries %d and %d: the pick is not random", a.queries.Load(), b.queries.Load())
	}
	if n := rec.get(func(r *countingRecorder) int { return r.broken }); n != 20 {
		t.Errorf("healthcheck_broken counted %d, want 20", n)
	}
}

// TestDeadUpstreamFailsFastOnceDown mirrors the observation on CoreDNS
// 1.14.2 (one upstream, closed port): the first query retries until the
// upstream is down, the next fails at once.
func TestDeadUpstreamFailsFastOnceDown(t *testing.T) {
	cfg := fastConfig(deadAddr(t))
	f := newForwarder(t, cfg)
	start := time.Now()
	_, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp")
	first := time.Since(start)
	var ue *UpstreamError
	if !errors.As(err, &ue) || Rcode(err) != dns.RcodeServerFailure {
		t.Fatalf("error %v, want an UpstreamError (SERVFAIL)", err)
	}
	if first > cfg.QueryTimeout/2 {
		t.Errorf("first query took %v: it should end once the upstream is down", first)
	}
	start = time.Now()
	if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err == nil {
		t.Fatal("answer from a closed port")
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("second query took %v, want one attempt", d)
	}
}

func TestMaxConcurrentRejectsAtOnce(t *testing.T) {
	release := make(chan struct{})
	got := make(chan struct{}, 1)
	u := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		got <- struct{}{}
		<-release
		answerA("192.0.2.1")(w, r)
	})
	rec := newCountingRecorder()
	cfg := fastConfig(u.addr)
	cfg.MaxConcurrent = 1
	cfg.Recorder = rec
	f := newForwarder(t, cfg)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := f.Exchange(context.Background(), question("slow.example.", dns.TypeA), "udp"); err != nil {
			t.Error(err)
		}
	})
	<-got
	start := time.Now()
	_, err := f.Exchange(context.Background(), question("q2.example.", dns.TypeA), "udp")
	if !errors.Is(err, ErrMaxConcurrent) || Rcode(err) != dns.RcodeRefused {
		t.Fatalf("error %v, want ErrMaxConcurrent (REFUSED)", err)
	}
	if err.Error() != "concurrent queries exceeded maximum 1" {
		t.Errorf("error text %q, want CoreDNS's", err)
	}
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Errorf("rejection took %v", d)
	}
	close(release)
	wg.Wait()
	if n := rec.get(func(r *countingRecorder) int { return r.rejects }); n != 1 {
		t.Errorf("rejects %d, want 1", n)
	}
	if f.ups[0].fails.Load() != 0 {
		t.Error("a rejection counted as a health failure")
	}
}

// TestTruncatedReply: TC=1 over UDP goes back unchanged, except with
// prefer_udp, which retries over TCP.
func TestTruncatedReply(t *testing.T) {
	u := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if w.RemoteAddr().Network() == "udp" {
			m.Truncated = true
		} else {
			m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeTXT,
				Class: dns.ClassINET, Ttl: 60}, Txt: []string{"full"}}}
		}
		w.WriteMsg(m)
	})
	tests := []struct {
		name                string
		client              string
		forceTCP, preferUDP bool
		wantTC              bool
		wantUDP, wantTCP    int
	}{
		{"udp client gets TC unchanged", "udp", false, false, true, 1, 0},
		{"tcp client goes over tcp", "tcp", false, false, false, 0, 1},
		{"prefer_udp retries TC over tcp", "udp", false, true, false, 1, 1},
		{"prefer_udp sends a tcp client over udp first", "tcp", false, true, false, 1, 1},
		{"force_tcp never uses udp", "udp", true, false, false, 0, 1},
		{"force_tcp wins over prefer_udp", "udp", true, true, false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig(u.addr)
			cfg.ForceTCP, cfg.PreferUDP = tt.forceTCP, tt.preferUDP
			f := newForwarder(t, cfg)
			udp0, tcp0 := u.byNet("udp"), u.byNet("tcp")
			ret, err := f.Exchange(context.Background(), question("big.example.", dns.TypeTXT), tt.client)
			if err != nil {
				t.Fatal(err)
			}
			if ret.Truncated != tt.wantTC || (!tt.wantTC && len(ret.Answer) != 1) {
				t.Errorf("TC=%v with %d answers, want TC=%v", ret.Truncated, len(ret.Answer), tt.wantTC)
			}
			if udp, tcp := u.byNet("udp")-udp0, u.byNet("tcp")-tcp0; udp != tt.wantUDP || tcp != tt.wantTCP {
				t.Errorf("upstream saw %d udp and %d tcp queries, want %d and %d", udp, tcp, tt.wantUDP, tt.wantTCP)
			}
		})
	}
}

// byNet is the number of queries received over network n.
func (u *testUpstream) byNet(n string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	total := 0
	for k, v := range u.sources {
		if strings.HasPrefix(k, n+" ") {
			total += v
		}
	}
	return total
}

// TestOversizedUDPReplyBecomesTC: a datagram larger than the client's
// buffer comes back as header and question with TC=1 (CoreDNS connect.go).
func TestOversizedUDPReplyBecomesTC(t *testing.T) {
	u := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for i := range 40 {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA,
				Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, byte(i))})
		}
		w.WriteMsg(m) // about 700 bytes, no truncation by the server
	})
	f := newForwarder(t, fastConfig(u.addr))
	tests := []struct {
		name    string
		edns    uint16
		wantTC  bool
		answers int
	}{
		{"no EDNS: 512 bytes", 0, true, 0},
		{"EDNS 1232 fits", 1232, false, 40},
		{"EDNS 600 does not fit", 600, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := question("big.example.", dns.TypeA)
			if tt.edns != 0 {
				req.SetEdns0(tt.edns, false)
			}
			ret, err := f.Exchange(context.Background(), req, "udp")
			if err != nil {
				t.Fatal(err)
			}
			if ret.Truncated != tt.wantTC || len(ret.Answer) != tt.answers || ret.Id != req.Id {
				t.Errorf("TC=%v answers=%d id=%d, want TC=%v answers=%d id=%d", ret.Truncated, len(ret.Answer),
					ret.Id, tt.wantTC, tt.answers, req.Id)
			}
		})
	}
}

// TestClientOPTPassesUnchanged: the client's OPT (size, DO) reaches the
// upstream as sent, none is added, and the reply carries the client's ID.
func TestClientOPTPassesUnchanged(t *testing.T) {
	type seen struct {
		id   uint16
		opt  bool
		size uint16
		do   bool
	}
	ch := make(chan seen, 1)
	u := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		s := seen{id: r.Id}
		if o := r.IsEdns0(); o != nil {
			s.opt, s.size, s.do = true, o.UDPSize(), o.Do()
		}
		ch <- s
		answerA("192.0.2.1")(w, r)
	})
	f := newForwarder(t, fastConfig(u.addr))
	tests := []struct {
		name string
		size uint16
		do   bool
	}{
		{"no OPT", 0, false},
		{"1232 without DO", 1232, false},
		{"4096 with DO", 4096, true},
		{"below 512", 300, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := question("a.example.", dns.TypeA)
			req.Id = 4242
			if tt.size != 0 {
				req.SetEdns0(tt.size, tt.do)
			}
			ret, err := f.Exchange(context.Background(), req, "udp")
			if err != nil {
				t.Fatal(err)
			}
			s := <-ch
			want := seen{opt: tt.size != 0, size: tt.size, do: tt.do, id: s.id}
			if s != want {
				t.Errorf("upstream saw %+v, want %+v", s, want)
			}
			if s.id == req.Id && s.id == 4242 {
				t.Log("upstream ID equals the client's (1 in 65536)")
			}
			if ret.Id != 4242 || req.Id != 4242 {
				t.Errorf("reply ID %d, request ID now %d, want 4242 for both", ret.Id, req.Id)
			}
		})
	}
}

func TestTimeoutReturnsWithinDeadline(t *testing.T) {
	hole := blackHole(t)
	tests := []struct {
		name     string
		cfg      func(*Config)
		ctx      func() (context.Context, context.CancelFunc)
		min, max time.Duration
	}{
		{"query deadline cuts the last read", func(c *Config) { c.ReadTimeout, c.QueryTimeout = 200*time.Millisecond, 300*time.Millisecond },
			func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			290 * time.Millisecond, 400 * time.Millisecond},
		{"context deadline wins", func(c *Config) {},
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 150*time.Millisecond)
			},
			140 * time.Millisecond, 250 * time.Millisecond},
		{"context cancel interrupts the read", func(c *Config) { c.ReadTimeout = time.Second },
			func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			},
			90 * time.Millisecond, 200 * time.Millisecond},
		{"max_connect_attempts 1 stops after one read", func(c *Config) { c.MaxConnectAttempts = 1; c.ReadTimeout = 100 * time.Millisecond },
			func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			90 * time.Millisecond, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig(hole)
			tt.cfg(&cfg)
			f := newForwarder(t, cfg)
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := f.Exchange(ctx, question("a.example.", dns.TypeA), "udp")
			d := time.Since(start)
			if err == nil || Rcode(err) != dns.RcodeServerFailure {
				t.Fatalf("error %v, want a SERVFAIL error", err)
			}
			if d < tt.min || d > tt.max {
				t.Errorf("returned after %v, want within [%v, %v] (%v)", d, tt.min, tt.max, err)
			}
		})
	}
}

func TestMatchFromAndExcept(t *testing.T) {
	tests := []struct {
		from   string
		except []string
		qname  string
		want   bool
	}{
		{".", nil, "anything.example.", true},
		{".", nil, ".", true},
		{"example.org", nil, "www.example.org.", true},
		{"example.org", nil, "WWW.Example.ORG.", true},
		{"example.org.", nil, "example.org.", true},
		{"example.org", nil, "example.com.", false},
		{"example.org", nil, "badexample.org.", false},
		{".", []string{"cluster.local"}, "a.svc.cluster.local.", false},
		{".", []string{"cluster.local"}, "cluster.local.", false},
		{".", []string{"Cluster.Local."}, "A.SVC.CLUSTER.LOCAL.", false},
		{".", []string{"cluster.local"}, "notcluster.local.", true},
		{"example.org", []string{"a.example.org"}, "x.a.example.org.", false},
		{"example.org", []string{"a.example.org"}, "b.example.org.", true},
		{"example.org", []string{"example.org"}, "example.org.", true}, // FROM itself always (CoreDNS isAllowedDomain)
		{"example.org", []string{"example.org"}, "www.example.org.", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+" except "+strings.Join(tt.except, ",")+" "+tt.qname, func(t *testing.T) {
			cfg := DefaultConfig("127.0.0.1")
			cfg.From, cfg.Except = tt.from, tt.except
			f, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(tt.qname); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.qname, got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostname := write("hostname.conf", "nameserver dns.example.com\n")
	empty := write("empty.conf", "search example.com\n")
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"no upstream", func(c *Config) { c.To = nil }, "no upstream"},
		{"not an address or file", func(c *Config) { c.To = []string{"dns.example.com"} }, `"dns.example.com" is neither an address`},
		{"tls upstream", func(c *Config) { c.To = []string{"tls://1.1.1.1"} }, "tls:// is not supported"},
		{"port 0", func(c *Config) { c.To = []string{"1.1.1.1:0"} }, "port 0"},
		{"hostname nameserver in file", func(c *Config) { c.To = []string{hostname} }, `nameserver "dns.example.com" is not an IP address`},
		{"file without nameservers", func(c *Config) { c.To = []string{empty} }, "no nameservers found"},
		{"16 upstreams", func(c *Config) { c.To = slices.Repeat([]string{"1.1.1.1"}, 16) }, "more than 15 upstreams configured: 16"},
		{"bad from", func(c *Config) { c.From = "exa mple..org" }, `From "exa mple..org" is not a domain name`},
		{"bad except", func(c *Config) { c.Except = []string{"a..b"} }, `Except "a..b" is not a domain name`},
		{"negative expire", func(c *Config) { c.Expire = -time.Second }, "Expire can't be negative: -1s"},
		{"negative max_concurrent", func(c *Config) { c.MaxConcurrent = -1 }, "MaxConcurrent can't be negative: -1"},
		{"unknown policy", func(c *Config) { c.Policy = 7 }, "unknown policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig("127.0.0.1")
			tt.cfg(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestToAcceptsAddressesAndResolvConf(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	text := "# node resolv.conf\nsearch example.com\nnameserver 10.0.0.1\n; comment\nnameserver fd00::53\noptions ndots:x rotate\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig("192.0.2.1", "192.0.2.2:5353", "[2001:db8::1]:5353", "2001:db8::2", "dns://192.0.2.3", conf)
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.1:53", "192.0.2.2:5353", "[2001:db8::1]:5353", "[2001:db8::2]:53", "192.0.2.3:53",
		"10.0.0.1:53", "[fd00::53]:53", "10.0.0.2:53", "10.0.0.3:53"}
	if got := f.Upstreams(); !slices.Equal(got, want) {
		t.Errorf("Upstreams() = %v,\nwant %v (every nameserver line, no limit of three, options ignored)", got, want)
	}
}

// TestResolvConfAsToForwards sends through a resolv.conf's nameserver,
// which is always on port 53: it needs to bind 127.0.0.x:53.
func TestResolvConfAsToForwards(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.53:53")
	if err != nil {
		t.Skipf("cannot bind port 53: %v", err)
	}
	s := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(answerA("192.0.2.53"))}
	serve(t, s)
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newForwarder(t, fastConfig(conf))
	ret, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp")
	if err != nil || ret.Answer[0].(*dns.A).A.String() != "192.0.2.53" {
		t.Fatalf("%v %v", ret, err)
	}
}

// TestPooledConnectionsExpire: a connection is reused within Expire (one
// source port) and not after it; the sweep closes idle ones.
func TestPooledConnectionsExpire(t *testing.T) {
	u := startUpstream(t, answerA("192.0.2.1"))
	rec := newCountingRecorder()
	cfg := fastConfig(u.addr)
	cfg.Expire = 150 * time.Millisecond
	cfg.Recorder = rec
	f := newForwarder(t, cfg)
	ask := func() {
		t.Helper()
		if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		ask()
	}
	if n := u.distinctSources(); n != 1 {
		t.Errorf("5 sequential queries came from %d sockets, want 1 (reused)", n)
	}
	if hits := rec.get(func(r *countingRecorder) int { return r.hits }); hits != 4 {
		t.Errorf("conn cache hits %d, want 4", hits)
	}
	waitFor(t, "sweep to close the idle connection", func() bool {
		f.ups[0].pools[protoUDP].mu.Lock()
		defer f.ups[0].pools[protoUDP].mu.Unlock()
		return f.ups[0].pools[protoUDP].len() == 0
	})
	ask()
	if n := u.distinctSources(); n != 2 {
		t.Errorf("after expiry the query came from a known socket (%d sockets)", n)
	}
}

func TestExpiredConnectionNotReusedBeforeSweep(t *testing.T) {
	u := startUpstream(t, answerA("192.0.2.1"))
	cfg := fastConfig(u.addr)
	cfg.Expire = 30 * time.Millisecond
	f, err := New(cfg) // not started: no sweep, only the check on reuse
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 2 {
		if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	if n := u.distinctSources(); n != 2 {
		t.Errorf("%d sockets, want 2: an expired connection was reused", n)
	}
}

func TestConcurrentQueriesUseDistinctConnections(t *testing.T) {
	release := make(chan struct{})
	u := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		<-release
		answerA("192.0.2.1")(w, r)
	})
	cfg := fastConfig(u.addr)
	cfg.MaxIdleConns = 2
	f := newForwarder(t, cfg)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "4 queries in flight", func() bool { return u.queries.Load() == 4 })
	close(release)
	wg.Wait()
	if n := u.distinctSources(); n != 4 {
		t.Errorf("4 concurrent queries from %d sockets, want 4", n)
	}
	if n := f.ups[0].pools[protoUDP].len(); n != 2 {
		t.Errorf("%d idle connections, want MaxIdleConns 2", n)
	}
}

func TestExchangeAfterClose(t *testing.T) {
	u := startUpstream(t, answerA("192.0.2.1"))
	f := newForwarder(t, fastConfig(u.addr))
	f.Close()
	if _, err := f.Exchange(context.Background(), question("a.example.", dns.TypeA), "udp"); !errors.Is(err, ErrClosed) {
		t.Errorf("error %v, want ErrClosed", err)
	}
}

func TestInvalidRequestIsFormErr(t *testing.T) {
	u := startUpstream(t, answerA("192.0.2.1"))
	f := newForwarder(t, fastConfig(u.addr))
	_, err := f.Exchange(context.Background(), new(dns.Msg), "udp")
	if Rcode(err) != dns.RcodeFormatError || u.queries.Load() != 0 {
		t.Errorf("error %v (rcode %d), want FORMERR without sending", err, Rcode(err))
	}
}
