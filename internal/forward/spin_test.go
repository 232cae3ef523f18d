package forward

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// pollRead gets a datagram that arrives while it polls, and gives up with
// errAgain once its time is over.
func TestPollReadGetsADatagramOrGivesUp(t *testing.T) {
	a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.DialUDP("udp", nil, a.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	buf := make([]byte, 64)
	start := time.Now()
	if _, err := pollRead(a, buf, time.Now().Add(2*time.Millisecond)); err != errAgain {
		t.Fatalf("nothing sent: %v, want errAgain", err)
	}
	if d := time.Since(start); d < 2*time.Millisecond || d > time.Second {
		t.Errorf("gave up after %v, want about 2ms", d)
	}
	go func() {
		time.Sleep(100 * time.Microsecond)
		b.Write([]byte("reply"))
	}()
	n, err := pollRead(a, buf, time.Now().Add(time.Second))
	if err != nil || string(buf[:n]) != "reply" {
		t.Errorf("polled %q, %v", buf[:n], err)
	}
}

// Only an upstream that answers within spinFor is polled for; one far
// away is read as any other connection.
func TestSpinOnlyForNearUpstreams(t *testing.T) {
	u := newUpstream(netip.MustParseAddrPort("127.0.0.1:53"))
	if time.Duration(u.avgRTT.Load()) >= spinFor {
		t.Fatal("a new upstream is not polled for")
	}
	for range 50 {
		u.observeRTT(20 * time.Millisecond)
	}
	if time.Duration(u.avgRTT.Load()) < spinFor {
		t.Errorf("an upstream 20 ms away is polled for (average %v)", time.Duration(u.avgRTT.Load()))
	}
	for range 50 {
		u.observeRTT(50 * time.Microsecond)
	}
	if time.Duration(u.avgRTT.Load()) >= spinFor {
		t.Errorf("an upstream back at 50µs is not polled for (average %v)", time.Duration(u.avgRTT.Load()))
	}
}
