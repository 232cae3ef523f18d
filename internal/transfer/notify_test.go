package transfer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// secondary is a DNS server on 127.0.0.1 UDP that records the NOTIFYs it
// gets and answers them with rcode.
type secondary struct {
	addr  netip.AddrPort
	rcode int

	mu  sync.Mutex
	got []*dns.Msg
}

func startSecondary(t *testing.T, rcode int) *secondary {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &secondary{addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), rcode: rcode}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		// miekg/dns refuses NOTIFY by default; take every opcode.
		MsgAcceptFunc: func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			s.mu.Lock()
			s.got = append(s.got, r.Copy())
			s.mu.Unlock()
			m := new(dns.Msg)
			m.SetRcode(r, s.rcode)
			w.WriteMsg(m)
		})}
	go srv.ActivateAndServe()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("test secondary did not start")
	}
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

func (s *secondary) messages() []*dns.Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// checkNotify checks m is a NOTIFY for zone as RFC 1996 has it: opcode
// NOTIFY, one question SOA IN of the zone, AA set, not a response.
func checkNotify(t *testing.T, m *dns.Msg, zone string) {
	t.Helper()
	if m.Opcode != dns.OpcodeNotify || m.Response || !m.Authoritative {
		t.Errorf("opcode %s response %v AA %v, want NOTIFY, a query, AA", dns.OpcodeToString[m.Opcode], m.Response, m.Authoritative)
	}
	want := dns.Question{Name: zone, Qtype: dns.TypeSOA, Qclass: dns.ClassINET}
	if len(m.Question) != 1 || m.Question[0] != want {
		t.Errorf("question %v, want %v", m.Question, want)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestNotify(t *testing.T) {
	tests := []struct {
		name   string
		rcode  int
		zone   string
		tries  int    // messages the secondary sees
		errHas string // non-empty: Notify fails so
		wantQ  string // the question's name
	}{
		{name: "NOERROR answer is success at once", rcode: dns.RcodeSuccess, zone: "cluster.local.", tries: 1, wantQ: "cluster.local."},
		{name: "zone without the trailing dot", rcode: dns.RcodeSuccess, zone: "cluster.local", tries: 1, wantQ: "cluster.local."},
		{name: "REFUSED is tried three times, then an error", rcode: dns.RcodeRefused, zone: "cluster.local.", tries: 3, errHas: "REFUSED", wantQ: "cluster.local."},
		{name: "NOTAUTH is tried three times, then an error", rcode: dns.RcodeNotAuth, zone: "example.org.", tries: 3, errHas: "NOTAUTH", wantQ: "example.org."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startSecondary(t, tc.rcode)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Notify(ctx, tc.zone, s.addr)
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("Notify: %v", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("Notify = %v, want an error mentioning %q", err, tc.errHas)
			case tc.errHas != "" && !strings.Contains(err.Error(), s.addr.String()):
				t.Errorf("Notify error %q does not name the secondary %s", err, s.addr)
			}
			got := s.messages()
			if len(got) != tc.tries {
				t.Errorf("the secondary got %d NOTIFYs, want %d", len(got), tc.tries)
			}
			for _, m := range got {
				checkNotify(t, m, tc.wantQ)
			}
		})
	}
}

func TestNotifyStopsWithContext(t *testing.T) {
	s := startSecondary(t, dns.RcodeSuccess)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Notify(ctx, "cluster.local.", s.addr); !errors.Is(err, context.Canceled) {
		t.Errorf("Notify with a cancelled context = %v, want context.Canceled", err)
	}
	if n := len(s.messages()); n != 0 {
		t.Errorf("%d NOTIFYs sent with a cancelled context", n)
	}
}

func TestNotifyNobodyListening(t *testing.T) {
	// A port with nothing behind it: the try fails fast (ICMP port
	// unreachable) or times out; either way an error, not a hang.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Notify(ctx, "cluster.local.", to); err == nil {
		t.Error("Notify to a closed port succeeded")
	}
}

// silentPeer is a UDP socket on 127.0.0.1 that reads and never answers:
// a NOTIFY to it waits for its whole timeout.
func silentPeer(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(b); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// round is one round of NOTIFYs the Notifier reported.
type round struct {
	serial uint32
	err    error
}

// runNotifier starts n.Run and returns the rounds it reports and a
// function that cancels it and waits for Run to return.
func runNotifier(t *testing.T, n *Notifier) (<-chan round, func()) {
	t.Helper()
	rounds := make(chan round, 100)
	n.sent = func(serial uint32, err error) { rounds <- round{serial, err} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context was cancelled")
		}
	}
	t.Cleanup(stop)
	return rounds, stop
}

// waitSerial waits for a round with the serial, and returns every round
// seen until then.
func waitSerial(t *testing.T, rounds <-chan round, serial uint32) []round {
	t.Helper()
	var seen []round
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-rounds:
			seen = append(seen, r)
			if r.serial == serial {
				return seen
			}
		case <-timeout:
			t.Fatalf("no round of NOTIFYs for serial %d within 10s; rounds: %v", serial, seen)
		}
	}
}

func TestNotifierSendsTheLastSerial(t *testing.T) {
	tests := []struct {
		name    string
		serials []uint32 // Changed calls in a row
		zones   []string
	}{
		{"one change", []uint32{7}, []string{"cluster.local."}},
		{"changes in a row fold", []uint32{7, 8, 9, 10}, []string{"cluster.local."}},
		{"every zone is notified", []uint32{3, 4}, []string{"cluster.local.", "example.org."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startSecondary(t, dns.RcodeSuccess), startSecondary(t, dns.RcodeSuccess)
			tr := New([]Target{{Any: true}, mustTargets(t, a.addr.String())[0], mustTargets(t, b.addr.String())[0], mustTargets(t, "10.0.0.0/8")[0]}, tc.zones)
			n := NewNotifier(tr, tc.zones, quietLog())
			rounds, stop := runNotifier(t, n)
			for _, s := range tc.serials {
				n.Changed(s)
			}
			last := tc.serials[len(tc.serials)-1]
			seen := waitSerial(t, rounds, last)
			stop()
			// A change can kick one more round with the last serial just
			// after it was read; stopped, Run has reported every round.
			for more := true; more; {
				select {
				case r := <-rounds:
					if !errors.Is(r.err, context.Canceled) {
						seen = append(seen, r)
					}
				default:
					more = false
				}
			}
			for _, r := range seen {
				if r.err != nil {
					t.Errorf("round for serial %d: %v", r.serial, r.err)
				}
				if !slices.Contains(tc.serials, r.serial) {
					t.Errorf("a round for serial %d, never given (%v)", r.serial, tc.serials)
				}
			}
			if len(seen) > len(tc.serials)+1 {
				t.Errorf("%d rounds for %d changes: %v", len(seen), len(tc.serials), seen)
			}
			for _, s := range []*secondary{a, b} {
				got := s.messages()
				if len(got) < len(seen)*len(tc.zones) || len(got) > (len(seen)+1)*len(tc.zones) {
					t.Errorf("secondary %s got %d NOTIFYs, want one per zone (%d) per round (%d)", s.addr, len(got), len(tc.zones), len(seen))
				}
				var zones []string
				for _, m := range got {
					if len(m.Question) == 1 {
						zones = append(zones, m.Question[0].Name)
					}
					checkNotifyZoneIn(t, m, tc.zones)
				}
				for _, z := range tc.zones {
					if !slices.Contains(zones, z) {
						t.Errorf("secondary %s got no NOTIFY for %s (got %v)", s.addr, z, zones)
					}
				}
			}
		})
	}
}

func checkNotifyZoneIn(t *testing.T, m *dns.Msg, zones []string) {
	t.Helper()
	if len(m.Question) != 1 || !slices.Contains(zones, m.Question[0].Name) {
		t.Errorf("NOTIFY question %v, want one of %v", m.Question, zones)
		return
	}
	checkNotify(t, m, m.Question[0].Name)
}

func TestNotifierChangeDuringARoundMakesAnother(t *testing.T) {
	s := startSecondary(t, dns.RcodeSuccess)
	tr := New(mustTargets(t, s.addr.String()), nil)
	n := NewNotifier(tr, []string{"cluster.local."}, quietLog())
	rounds, _ := runNotifier(t, n)
	n.Changed(1)
	waitSerial(t, rounds, 1)
	n.Changed(2)
	waitSerial(t, rounds, 2)
	if got := len(s.messages()); got != 2 {
		t.Errorf("two changes apart gave %d NOTIFYs, want 2", got)
	}
}

func TestNotifierReportsRefusal(t *testing.T) {
	s := startSecondary(t, dns.RcodeRefused)
	tr := New(mustTargets(t, s.addr.String()), nil)
	n := NewNotifier(tr, []string{"cluster.local."}, quietLog())
	rounds, _ := runNotifier(t, n)
	n.Changed(5)
	seen := waitSerial(t, rounds, 5)
	if err := seen[len(seen)-1].err; err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("round against a refusing secondary: err %v, want REFUSED", err)
	}
}

func TestNotifierChangedNeverBlocks(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
	}{
		{"with a secondary, Run not started", []string{"127.0.0.1:9"}},
		{"without a secondary", []string{"*", "10.0.0.0/8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNotifier(New(mustTargets(t, tc.targets...), nil), []string{"cluster.local."}, quietLog())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 1000 {
					n.Changed(uint32(i))
				}
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Changed blocked")
			}
		})
	}
}

func TestNotifierRunReturns(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		change  bool // a change first, so that a round is under way
		cancel  bool // cancel the context; else Run must return by itself
	}{
		{"on cancel", []string{"127.0.0.1:9"}, false, true},
		{"on cancel during a round", []string{"silent"}, true, true},
		{"at once without an address to notify", []string{"*", "10.0.0.0/8"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			targets := slices.Clone(tc.targets)
			for i, x := range targets {
				if x == "silent" {
					targets[i] = silentPeer(t).String()
				}
			}
			n := NewNotifier(New(mustTargets(t, targets...), nil), []string{"cluster.local."}, quietLog())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				n.Run(ctx)
			}()
			if tc.change {
				n.Changed(1)
				time.Sleep(50 * time.Millisecond)
			}
			if tc.cancel {
				cancel()
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return")
			}
		})
	}
}
