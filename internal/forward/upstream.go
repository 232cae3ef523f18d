package forward

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// errCachedClosed: the peer had closed a pooled connection; the attempt is
// repeated at once on another (CoreDNS ErrCachedClosed).
var errCachedClosed = errors.New("cached connection was closed by peer")

// upstream is one TO: its health and its idle connections.
type upstream struct {
	addr netip.AddrPort
	to   string // metric label and dial address

	fails   atomic.Uint32
	probing atomic.Bool
	// avgDial is a moving average of dial times (ns), from which the dial
	// timeout adapts as in CoreDNS; it starts at half the maximum.
	avgDial atomic.Int64
	// avgRTT is a moving average of UDP round trips (ns): spinRead polls
	// only for an upstream that answers within spinFor.
	avgRTT atomic.Int64

	pools [2]pool // by proto
}

// pool holds idle connections, oldest first: idle[head:] is the queue.
// Taking advances head instead of reslicing, so the backing array is
// reused and giving a connection back does not allocate.
type pool struct {
	mu   sync.Mutex
	idle []*conn
	head int
}

func (pl *pool) len() int { return len(pl.idle) - pl.head }

// pop removes and returns the oldest connection; the pool is not empty.
func (pl *pool) pop() *conn {
	c := pl.idle[pl.head]
	pl.idle[pl.head] = nil
	pl.head++
	if pl.head == len(pl.idle) {
		pl.idle, pl.head = pl.idle[:0], 0
	}
	return c
}

// push appends c as the newest, compacting first when the array is full.
func (pl *pool) push(c *conn) {
	if len(pl.idle) == cap(pl.idle) && pl.head > 0 {
		n := copy(pl.idle, pl.idle[pl.head:])
		clear(pl.idle[n:])
		pl.idle, pl.head = pl.idle[:n], 0
	}
	pl.idle = append(pl.idle, c)
}

type conn struct {
	net.Conn
	used time.Time // when it was last given back
}

func newUpstream(a netip.AddrPort) *upstream {
	u := &upstream{addr: a, to: label(a)}
	u.avgDial.Store(int64(maxDialTimeout / 2))
	return u
}

// down reports whether u has failed more than maxFails health checks in a
// row; never with maxFails 0.
func (u *upstream) down(maxFails int) bool {
	return maxFails != 0 && u.fails.Load() > uint32(maxFails)
}

// dialTimeout is twice the average dial time, within [1 s, 30 s]
// (CoreDNS connect.go limitTimeout).
func (u *upstream) dialTimeout() time.Duration {
	avg := time.Duration(u.avgDial.Load())
	switch {
	case avg < minDialTimeout:
		return minDialTimeout
	case avg < maxDialTimeout/2:
		return 2 * avg
	}
	return maxDialTimeout
}

// observeRTT folds a UDP round trip into avgRTT (weight 1/8; the first
// sets it).
func (u *upstream) observeRTT(d time.Duration) {
	old := u.avgRTT.Load()
	if old == 0 {
		u.avgRTT.Store(int64(d))
		return
	}
	u.avgRTT.Store(old + (int64(d)-old)/8)
}

// observeDial moves the average a quarter of the way to d.
func (u *upstream) observeDial(d time.Duration) {
	avg := u.avgDial.Load()
	u.avgDial.Add((int64(d) - avg) / 4)
}

// take returns the oldest idle connection not older than expire, or a new
// one; cached says which.
func (f *Forwarder) take(ctx context.Context, u *upstream, p proto, deadline time.Time) (c *conn, cached bool, err error) {
	pl := &u.pools[p]
	now := time.Now()
	pl.mu.Lock()
	for pl.len() > 0 {
		c = pl.pop()
		if now.Sub(c.used) > f.cfg.Expire {
			c.Close()
			continue
		}
		pl.mu.Unlock()
		f.cfg.Recorder.ConnCache(u.to, p.String(), true)
		return c, true, nil
	}
	pl.mu.Unlock()
	f.cfg.Recorder.ConnCache(u.to, p.String(), false)

	timeout := min(u.dialTimeout(), time.Until(deadline))
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, p.String(), u.to)
	u.observeDial(time.Since(now))
	if err != nil {
		return nil, false, err
	}
	return &conn{Conn: nc}, false, nil
}

// yield gives c back to u's pool, unless the forwarder is closed or the
// pool is full.
func (f *Forwarder) yield(u *upstream, p proto, c *conn) {
	pl := &u.pools[p]
	pl.mu.Lock()
	full := f.cfg.MaxIdleConns > 0 && pl.len() >= f.cfg.MaxIdleConns
	if full || f.closed.Load() {
		pl.mu.Unlock()
		c.Close()
		return
	}
	c.used = time.Now() // under the lock, so the pool stays sorted by use
	pl.push(c)
	pl.mu.Unlock()
}

// closeIdle closes the idle connections last used before stale, or all.
func (u *upstream) closeIdle(stale time.Time, all bool) {
	for i := range u.pools {
		pl := &u.pools[i]
		var old []*conn
		pl.mu.Lock()
		for pl.len() > 0 && (all || pl.idle[pl.head].used.Before(stale)) {
			old = append(old, pl.pop())
		}
		pl.mu.Unlock()
		for _, c := range old {
			c.Close()
		}
	}
}

// sweep closes expired idle connections every Expire (within [100 ms,
// 10 s]), so an idle forwarder holds no sockets for long.
func (f *Forwarder) sweep(ctx context.Context) {
	defer f.wg.Done()
	t := time.NewTicker(min(max(f.cfg.Expire, 100*time.Millisecond), DefaultExpire))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, u := range f.ups {
				u.closeIdle(now.Add(-f.cfg.Expire), false)
			}
		}
	}
}

// connect is one attempt (CoreDNS proxy.Connect): send q to u over p with
// a fresh ID and read until a reply answers it or the read deadline.
func (f *Forwarder) connect(ctx context.Context, q *query, u *upstream, p proto) (*dns.Msg, error) {
	start := time.Now()
	f.cfg.Recorder.Request(u.to)
	c, cached, err := f.take(ctx, u, p, q.deadline)
	if err != nil {
		return nil, err
	}
	// A context that can end cuts the blocking read short through the
	// deadline; the connection is then not reused.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	}
	id := uint16(rand.Uint32()) // runtime ChaCha8, unpredictable off the wire
	ret, err := f.roundTrip(ctx, c, q, p, id, u)
	if stopped := stop(); err != nil || !stopped {
		c.Close()
		if err == nil {
			err = ctx.Err()
		}
		if cached && isClosedByPeer(err) {
			return nil, errCachedClosed
		}
		return nil, err
	}
	f.yield(u, p, c)
	f.cfg.Recorder.Response(u.to, ret.Rcode, time.Since(start))
	return ret, nil
}

// roundTrip writes the query and reads replies until one answers it.
func (f *Forwarder) roundTrip(ctx context.Context, c *conn, q *query, p proto, id uint16, u *upstream) (*dns.Msg, error) {
	wire, err := q.pack(id, p)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	c.SetWriteDeadline(earlier(now.Add(writeTimeout), q.deadline))
	if _, err := c.Write(wire); err != nil {
		return nil, err
	}
	c.SetReadDeadline(earlier(now.Add(f.cfg.ReadTimeout), q.deadline))
	// A cancellation that poked the deadline before it was set above
	// would be lost: look at the context once more.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == protoUDP {
		m, err := f.readUDP(c, q, id, u)
		if err == nil {
			u.observeRTT(time.Since(now))
		}
		return m, err
	}
	return readTCP(c, q, id)
}

// readUDP reads datagrams into q.size+1 bytes: a datagram that fills them
// was larger than the client can take.
func (f *Forwarder) readUDP(c *conn, q *query, id uint16, u *upstream) (*dns.Msg, error) {
	buf := q.readBuf(q.size + 1)
	spin := time.Duration(u.avgRTT.Load()) < spinFor
	for {
		n, err := f.spinRead(c, buf, spin)
		if err != nil {
			return nil, err
		}
		if m, ok := q.accept(buf[:n], id, n > q.size); ok {
			return m, nil
		}
	}
}

// readTCP reads length-prefixed messages until one answers q.
func readTCP(c *conn, q *query, id uint16) (*dns.Msg, error) {
	var l [2]byte
	for {
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, err
		}
		buf := q.readBuf(int(binary.BigEndian.Uint16(l[:])))
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		if m, ok := q.accept(buf, id, false); ok {
			return m, nil
		}
	}
}

// isClosedByPeer reports whether err says the peer closed a connection:
// EOF on read (CoreDNS's test), or a reset or broken pipe on write.
func isClosedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
