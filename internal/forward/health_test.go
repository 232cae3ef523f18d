package forward

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// TestHealthCheckQuery pins what a health check sends and what counts as
// healthy: `. NS` with RD (no_rec clears it, domain changes the name), over
// TCP with force_tcp (CoreDNS #3938), any rcode healthy.
func TestHealthCheckQuery(t *testing.T) {
	tests := []struct {
		name      string
		cfg       func(*Config)
		tcpOnly   bool
		rcode     int
		wantName  string
		wantRD    bool
		wantAlive bool
	}{
		{"default . NS with RD", func(*Config) {}, false, dns.RcodeSuccess, ".", true, true},
		{"no_rec clears RD", func(c *Config) { c.HealthCheckNoRec = true }, false, dns.RcodeSuccess, ".", false, true},
		{"domain", func(c *Config) { c.HealthCheckDomain = "Health.Example" }, false, dns.RcodeSuccess, "health.example.", true, true},
		{"SERVFAIL is healthy", func(*Config) {}, false, dns.RcodeServerFailure, ".", true, true},
		{"REFUSED is healthy", func(*Config) {}, false, dns.RcodeRefused, ".", true, true},
		{"udp check of a tcp-only upstream fails", func(*Config) {}, true, dns.RcodeSuccess, "", false, false},
		{"force_tcp checks over tcp", func(c *Config) { c.ForceTCP = true }, true, dns.RcodeSuccess, ".", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got atomic.Pointer[dns.Msg]
			h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
				got.Store(r)
				m := new(dns.Msg)
				m.SetRcode(r, tt.rcode)
				w.WriteMsg(m)
			})
			addr := startHealthUpstream(t, h, tt.tcpOnly)
			cfg := fastConfig(addr)
			tt.cfg(&cfg)
			f := newForwarder(t, cfg)
			f.ups[0].fails.Store(2)
			if alive := f.check(context.Background(), f.ups[0]); alive != tt.wantAlive {
				t.Fatalf("check = %v, want %v", alive, tt.wantAlive)
			}
			if wantFails := map[bool]uint32{true: 0, false: 3}[tt.wantAlive]; f.ups[0].fails.Load() != wantFails {
				t.Errorf("fails %d, want %d", f.ups[0].fails.Load(), wantFails)
			}
			if !tt.wantAlive {
				return
			}
			r := got.Load()
			if q := r.Question[0]; q.Name != tt.wantName || q.Qtype != dns.TypeNS || r.RecursionDesired != tt.wantRD {
				t.Errorf("check asked %s %s RD=%v, want %s NS RD=%v", q.Name, dns.TypeToString[q.Qtype],
					r.RecursionDesired, tt.wantName, tt.wantRD)
			}
		})
	}
}

// startHealthUpstream serves h over UDP and TCP, or over TCP only (the
// UDP port then refuses).
func startHealthUpstream(t *testing.T, h dns.Handler, tcpOnly bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, &dns.Server{Listener: l, Handler: h})
	if !tcpOnly {
		pc, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			t.Skipf("UDP port of %s taken: %v", l.Addr(), err)
		}
		serve(t, &dns.Server{PacketConn: pc, Handler: h})
	}
	return l.Addr().String()
}

func TestPoolIsFIFOAndReusesItsArray(t *testing.T) {
	var pl pool
	conns := make([]*conn, 6)
	for i := range conns {
		conns[i] = &conn{}
	}
	for _, c := range conns[:4] {
		pl.push(c)
	}
	if pl.pop() != conns[0] || pl.pop() != conns[1] {
		t.Fatal("not oldest first")
	}
	pl.push(conns[4])
	pl.push(conns[5])
	for i, want := range []*conn{conns[2], conns[3], conns[4], conns[5]} {
		if got := pl.pop(); got != want {
			t.Fatalf("pop %d: wrong connection", i)
		}
	}
	if pl.len() != 0 || pl.head != 0 {
		t.Errorf("empty pool has len %d head %d", pl.len(), pl.head)
	}
	allocs := testing.AllocsPerRun(100, func() {
		pl.push(conns[0])
		pl.pop()
	})
	if allocs != 0 {
		t.Errorf("push+pop allocates %v times", allocs)
	}
}
