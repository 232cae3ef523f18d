package cli

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeUpstream answers A 192.0.2.<n> for every name, n its own number, and
// counts what it was asked.
type fakeUpstream struct {
	addr  string
	mu    sync.Mutex
	asked map[string]int
}

func startFakeUpstream(t *testing.T, n byte) *fakeUpstream {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeUpstream{addr: pc.LocalAddr().String(), asked: map[string]int{}}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		u.mu.Lock()
		u.asked[strings.ToLower(req.Question[0].Name)]++
		u.mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypePTR {
			rr, _ := dns.NewRR(q.Name + " 300 IN A 192.0.2." + string('0'+n))
			if q.Qtype == dns.TypePTR {
				rr, _ = dns.NewRR(q.Name + " 300 IN PTR outside.example.")
			}
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return u
}

func (u *fakeUpstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.asked[name]
}

// serve --upstream --cache --stub-domain --fallthrough: the flags alone,
// no Corefile, make clusterdns the whole cluster DNS.
func TestServeForwardsWithFlags(t *testing.T) {
	main, stub := startFakeUpstream(t, 1), startFakeUpstream(t, 2)
	addr, _, _ := startServe(t, "--upstream", main.addr, "--cache", "30s", "--stub-domain", "consul.local="+stub.addr,
		"--fallthrough", "in-addr.arpa", "--loadbalance")
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("cluster name: %v", r)
	}
	for range 2 {
		if r := query(t, addr, "www.example.com.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" || r.Answer[0].Header().Ttl > 30 {
			t.Fatalf("forwarded name: %v", r)
		}
	}
	if n := main.count("www.example.com."); n != 1 {
		t.Errorf("upstream asked %d times for a name asked twice within its TTL, want 1", n)
	}
	if r := query(t, addr, "db.service.consul.local.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
		t.Errorf("stub domain: %v", r)
	}
	if r := query(t, addr, "4.3.2.1.in-addr.arpa.", dns.TypePTR); len(r.Answer) != 1 || main.count("4.3.2.1.in-addr.arpa.") != 1 {
		t.Errorf("reverse name outside the cluster: %v", r)
	}
	if main.count("web.default.svc.cluster.local.") != 0 {
		t.Error("a cluster name reached the upstream")
	}
}

// Without --upstream, names outside the zones stay REFUSED; bad forwarding
// flags are usage errors naming the flag.
func TestServeUpstreamFlagErrors(t *testing.T) {
	addr, _, _ := startServe(t)
	if r := query(t, addr, "www.example.com.", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Errorf("without --upstream: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--upstream", "not an address"}, "--upstream"},
		{[]string{"--upstream", "127.0.0.1:53", "--upstream-policy", "fastest"}, "--upstream-policy"},
		{[]string{"--stub-domain", "consul.local"}, "--stub-domain"},
		{[]string{"--fallthrough", "in-addr.arpa"}, "--fallthrough needs --upstream"},
		{[]string{"--upstream", "127.0.0.1:53", "--fallthrough", "cluster.local"}, "not a served reverse zone"},
		{[]string{"--upstream", "127.0.0.1:53", "--upstream-max-concurrent", "-1"}, "--upstream-max-concurrent"},
	} {
		var out, errb strings.Builder
		code := Main(t.Context(), append([]string{"serve", "--listen", "127.0.0.1:0", "--health-addr", "", "--metrics-addr", ""}, tc.args...), strings.NewReader(""), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// loop: a server whose upstream is itself stops at start with the reason,
// as CoreDNS's loop plugin makes CoreDNS exit, instead of answering
// SERVFAIL after 5 s to every outside name.
func TestServeForwardingToItselfStops(t *testing.T) {
	// The port is free when chosen but another test may take it before
	// serve binds it: try again then, on another port.
	for attempt := 0; ; attempt++ {
		self := freeUDPAndTCP(t)
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- Main(t.Context(), []string{"serve", "--listen", self, "--health-addr", "", "--metrics-addr", "", "--upstream", self}, strings.NewReader(""), &out, &errb)
		}()
		select {
		case code := <-done:
			if strings.Contains(errb.String(), "address already in use") && attempt < 3 {
				continue
			}
			if code != 1 || !strings.Contains(errb.String(), "forwarding loop detected") {
				t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
			}
			return
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop on a forwarding loop")
		}
	}
}

// freeUDPAndTCP is a loopback address whose port was free for both UDP and
// TCP when asked.
func freeUDPAndTCP(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
}
