package forward

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// spinFor is how long one UDP read polls for its reply before it waits
// for the poller, and the round trip below which an upstream is polled
// for (a loopback or same-node one: NodeLocal DNSCache, a resolver on the
// node); a farther upstream is never polled for, so no CPU is spent on it.
// Parking a goroutine whose reply comes tens of microseconds later lets
// the CPU idle, and waking an idle CPU costs about as much again (on
// virtual machines, more); one reader polling instead answers a cache
// miss that much sooner. Only one read polls at a time (Forwarder.spinning),
// so under load, when the CPUs are busy anyway, nothing is spent on it.
const spinFor = 200 * time.Microsecond

// errAgain is the non-blocking read's "nothing yet".
var errAgain = errors.New("again")

// spinRead reads one datagram from c into buf, polling it for up to spinFor
// first when spin is set and no other read is polling.
func (f *Forwarder) spinRead(c *conn, buf []byte, spin bool) (int, error) {
	uc, ok := c.Conn.(*net.UDPConn)
	if !spin || !ok {
		return c.Read(buf)
	}
	if f.spinning.Add(1) > 1 {
		f.spinning.Add(-1)
		return c.Read(buf)
	}
	n, err := pollRead(uc, buf, time.Now().Add(spinFor))
	f.spinning.Add(-1)
	if err == errAgain {
		return c.Read(buf)
	}
	return n, err
}

// pollRead tries non-blocking reads of uc until one gets a datagram or
// until is passed (errAgain).
func pollRead(uc *net.UDPConn, buf []byte, until time.Time) (int, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0, errAgain
	}
	n, rerr := 0, errAgain
	cerr := rc.Read(func(fd uintptr) bool {
		for {
			m, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			switch {
			case err == nil:
				n, rerr = m, nil
				return true
			case err == syscall.EINTR:
			case err != syscall.EAGAIN:
				rerr = err
				return true
			case time.Now().After(until):
				return true // give up polling: errAgain
			}
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	return n, rerr
}
