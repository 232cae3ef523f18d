package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// group is one kind of misbehaving client and what happened to it.
type group struct {
	name string
	what string // what it does, for the report

	held       atomic.Int64 // connections open now
	maxHeld    atomic.Int64
	connects   atomic.Int64
	dialErrs   atomic.Int64
	clientErrs atomic.Int64 // the soak's own limits
	closed     atomic.Int64 // closed by the server
	rejected   atomic.Int64 // of those, within rejectWindow of connecting
	sent       atomic.Int64 // what the group sends: queries, requests, bytes or packets
	answers    atomic.Int64 // answers or responses read
	stalls     atomic.Int64 // writes that timed out: the server stopped reading
	non200     atomic.Int64 // HTTP responses other than 200
	dialFail   failures
	from       *net.TCPAddr // source address (nil: the system's choice)
}

// rejectWindow: a connection the server closes this soon after accepting
// it was turned away (over a cap), not served and later dropped.
const rejectWindow = 200 * time.Millisecond

// dial connects to addr, counting the outcome.
func (g *group) dial(ctx context.Context, addr string, t0 time.Time) (net.Conn, time.Time, bool) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: g.from}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() == nil {
			if clientSide(err) {
				g.clientErrs.Add(1)
			} else {
				g.dialErrs.Add(1)
			}
			g.dialFail.add(time.Since(t0), reason(&opErr{"connect", err}))
		}
		return nil, time.Time{}, false
	}
	g.connects.Add(1)
	n := g.held.Add(1)
	for m := g.maxHeld.Load(); n > m && !g.maxHeld.CompareAndSwap(m, n); m = g.maxHeld.Load() {
	}
	return c, time.Now(), true
}

// release counts a connection's end; byServer when the soak did not close
// it itself.
func (g *group) release(opened time.Time, byServer bool) {
	g.held.Add(-1)
	if byServer {
		g.closed.Add(1)
		if time.Since(opened) < rejectWindow {
			g.rejected.Add(1)
		}
	}
}

// hostile runs the misbehaving clients.
type hostile struct {
	c                         config
	dns, health, metrics      string
	t0                        time.Time
	idle, http, pipe, slow    *group
	garbage, malformed        *group
	httpMu                    sync.Mutex
	httpLive                  []*httpConn
	pipelineBatch, slowFrame  []byte
	httpHealthReq, httpMetReq []byte
}

func newHostile(c config, s *serverProc, t0 time.Time) *hostile {
	h := &hostile{c: c, dns: s.dns, health: s.health, metrics: s.metrics, t0: t0,
		idle:      &group{name: "idle TCP", what: "DNS TCP connections opened and held without a query"},
		http:      &group{name: "HTTP keep-alive", what: "connections to /health and /metrics (half each), one request at connect (so every reconnection is a request too), then held idle between the requests spread over them"},
		pipe:      &group{name: "pipeliners", what: "DNS TCP connections writing queries for the large SRV as fast as the socket takes them, up to -pipeline-max a connection and then one every 2 s, never reading (sent: queries)"},
		slow:      &group{name: "slowloris", what: "DNS TCP connections sending a query one byte at a time (sent: bytes)"},
		garbage:   &group{name: "garbage TCP", what: "short DNS TCP connections sending random or malformed bytes in framing, then reading for 2 s"},
		malformed: &group{name: "malformed UDP", what: "malformed DNS messages and random bytes over UDP (sent: packets, answers: replies)"},
	}
	q := new(dns.Msg)
	q.SetQuestion(bigSRV, dns.TypeSRV)
	for i := range c.pipelineBatch {
		q.Id = uint16(i)
		w, _ := q.Pack()
		h.pipelineBatch = binary.BigEndian.AppendUint16(h.pipelineBatch, uint16(len(w)))
		h.pipelineBatch = append(h.pipelineBatch, w...)
	}
	w, _ := probeQuery().Pack()
	h.slowFrame = append(binary.BigEndian.AppendUint16(nil, uint16(len(w))), w...)
	h.httpHealthReq = []byte("GET /health HTTP/1.1\r\nHost: " + s.health + "\r\nUser-Agent: clusterdns-soak\r\n\r\n")
	h.httpMetReq = []byte("GET /metrics HTTP/1.1\r\nHost: " + s.metrics + "\r\nUser-Agent: clusterdns-soak\r\n\r\n")
	if c.hostileFrom != "" {
		for _, g := range h.groups() {
			g.from = &net.TCPAddr{IP: h.fromIP()}
		}
	}
	return h
}

// fromIP is the misbehaving clients' source address (-hostile-from).
func (h *hostile) fromIP() net.IP {
	if ip := net.ParseIP(h.c.hostileFrom); ip != nil {
		return ip
	}
	return net.IPv4(127, 0, 0, 1)
}

func (h *hostile) groups() []*group {
	return []*group{h.idle, h.http, h.pipe, h.slow, h.garbage, h.malformed}
}

// start starts every misbehaving client; they stop when ctx is done.
func (h *hostile) start(ctx context.Context, wg *sync.WaitGroup) {
	each := func(n int, f func(ctx context.Context, i int)) {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Open the connections at -ramp-rate, not all in the
				// same millisecond: the listen backlog would drop SYNs
				// and the soak would measure the kernel.
				if sleepCtx(ctx, time.Duration(float64(i)/h.c.rampRate*float64(time.Second))) {
					f(ctx, i)
				}
			}()
		}
	}
	each(h.c.idleTCP, h.idleConn)
	each(h.c.httpConns, h.httpConnLoop)
	each(h.c.pipeliners, h.pipeliner)
	each(h.c.slowloris, h.slowConn)
	if h.c.httpConns > 0 && h.c.httpRPS > 0 {
		wg.Add(1)
		go h.httpFlood(ctx, wg)
	}
	if h.c.malformedUDP > 0 {
		wg.Add(1)
		go h.malformedLoop(ctx, wg)
	}
	if h.c.garbageTCP > 0 {
		wg.Add(1)
		go h.garbageLoop(ctx, wg)
	}
}

// again waits the reconnect delay, with jitter so that the clients a
// server drops together do not come back together.
func (h *hostile) again(ctx context.Context) bool {
	return sleepCtx(ctx, h.c.reconnect+rand.N(h.c.reconnect))
}

// closeOnDone closes c when ctx ends, so that blocked reads and writes
// return; the returned function stops that.
func closeOnDone(ctx context.Context, c net.Conn) func() bool {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// idleConn holds a DNS TCP connection without ever sending, connecting
// again when the server closes it.
func (h *hostile) idleConn(ctx context.Context, _ int) {
	g := h.idle
	var b [512]byte
	for {
		if c, opened, ok := g.dial(ctx, h.dns, h.t0); ok {
			stop := closeOnDone(ctx, c)
			for {
				// Nothing is asked, so nothing should come; a read
				// returns when the server closes.
				n, err := c.Read(b[:])
				if n > 0 {
					g.answers.Add(1)
				}
				if err != nil {
					break
				}
			}
			stop()
			c.Close()
			g.release(opened, ctx.Err() == nil)
		}
		if !h.again(ctx) {
			return
		}
	}
}

// httpConn is one held HTTP keep-alive connection.
type httpConn struct {
	c   net.Conn
	req []byte
	mu  sync.Mutex // serializes writes
	idx int        // in hostile.httpLive
}

func (hc *httpConn) send() error {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.c.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := hc.c.Write(hc.req)
	return err
}

// httpConnLoop holds an HTTP/1.1 connection to /health (even i) or
// /metrics (odd i): one request at connect, then whatever httpFlood sends
// on it; the responses are read and thrown away, so the server is never
// blocked writing.
func (h *hostile) httpConnLoop(ctx context.Context, i int) {
	g := h.http
	addr, req := h.health, h.httpHealthReq
	if i%2 == 1 {
		addr, req = h.metrics, h.httpMetReq
	}
	for {
		if c, opened, ok := g.dial(ctx, addr, h.t0); ok {
			stop := closeOnDone(ctx, c)
			hc := &httpConn{c: c, req: req}
			if hc.send() == nil {
				g.sent.Add(1)
				h.httpAdd(hc)
				br := bufio.NewReaderSize(c, 4096)
				for {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						break
					}
					// Bounded, so that a runaway body cannot grow the
					// soak; what is left unread ends the connection.
					_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<20))
					resp.Body.Close()
					g.answers.Add(1)
					if resp.StatusCode != http.StatusOK {
						g.non200.Add(1)
					}
					if err != nil || resp.Close {
						break
					}
				}
				h.httpRemove(hc)
			}
			stop()
			c.Close()
			g.release(opened, ctx.Err() == nil)
		}
		if !h.again(ctx) {
			return
		}
	}
}

func (h *hostile) httpAdd(hc *httpConn) {
	h.httpMu.Lock()
	hc.idx = len(h.httpLive)
	h.httpLive = append(h.httpLive, hc)
	h.httpMu.Unlock()
}

func (h *hostile) httpRemove(hc *httpConn) {
	h.httpMu.Lock()
	defer h.httpMu.Unlock()
	last := len(h.httpLive) - 1
	h.httpLive[hc.idx] = h.httpLive[last]
	h.httpLive[hc.idx].idx = hc.idx
	h.httpLive = h.httpLive[:last]
}

func (h *hostile) httpPick() *httpConn {
	h.httpMu.Lock()
	defer h.httpMu.Unlock()
	if len(h.httpLive) == 0 {
		return nil
	}
	return h.httpLive[rand.IntN(len(h.httpLive))]
}

// httpFlood sends -http-rps requests a second, each on a held connection
// picked at random: every connection stays open and mostly idle.
func (h *hostile) httpFlood(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	paced(ctx, h.c.httpRPS, func() {
		if hc := h.httpPick(); hc != nil && hc.send() == nil {
			h.http.sent.Add(1)
		}
	})
}

// pipeliner writes queries for the large answer as fast as the socket
// takes them and never reads: the answers pile up in the kernel's buffers
// and, if the server keeps answering, in the server. After -pipeline-max
// queries on a connection (about 1 GB of answers asked for) it sends one
// query every 2 s, which keeps the connection a non-reader and notices
// the server closing it, without filling the kernel's buffers on both
// sides with queries no server will get to.
func (h *hostile) pipeliner(ctx context.Context, _ int) {
	g := h.pipe
	frame := len(h.pipelineBatch) / h.c.pipelineBatch
	for {
		if c, opened, ok := g.dial(ctx, h.dns, h.t0); ok {
			stop := closeOnDone(ctx, c)
			off, sent := 0, 0
			for {
				chunk := h.pipelineBatch[off:]
				if h.c.pipelineMax > 0 && sent >= h.c.pipelineMax {
					if !sleepCtx(ctx, 2*time.Second) {
						break
					}
					chunk = chunk[:frame-off%frame] // the rest of one query
				}
				c.SetWriteDeadline(time.Now().Add(2 * time.Second))
				n, err := c.Write(chunk)
				// Keep the framing: a write cut short by the deadline
				// goes on where it stopped.
				done := (off+n)/frame - off/frame
				sent += done
				g.sent.Add(int64(done))
				off = (off + n) % len(h.pipelineBatch)
				if err == nil {
					continue
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					g.stalls.Add(1)
					if sleepCtx(ctx, time.Second) {
						continue
					}
				}
				break
			}
			stop()
			c.Close()
			g.release(opened, ctx.Err() == nil)
		}
		if !h.again(ctx) {
			return
		}
	}
}

// slowConn sends a small query one byte every -slowloris-every, reading
// between bytes so that the server closing the connection is seen at once.
func (h *hostile) slowConn(ctx context.Context, _ int) {
	g := h.slow
	var b [512]byte
	for {
		if c, opened, ok := g.dial(ctx, h.dns, h.t0); ok {
			stop := closeOnDone(ctx, c)
			// Spread the connections' bytes over the interval.
			wait := rand.N(h.c.slowlorisEvery)
			for pos := 0; ; pos = (pos + 1) % len(h.slowFrame) {
				c.SetReadDeadline(time.Now().Add(wait))
				var err error
				for err == nil {
					var n int
					n, err = c.Read(b[:])
					if n > 0 {
						g.answers.Add(1)
					}
				}
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					break // closed, by the server or by the soak ending
				}
				c.SetWriteDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write(h.slowFrame[pos : pos+1]); err != nil {
					break
				}
				g.sent.Add(1)
				wait = h.c.slowlorisEvery
			}
			stop()
			c.Close()
			g.release(opened, ctx.Err() == nil)
		}
		if !h.again(ctx) {
			return
		}
	}
}

// junk returns a malformed DNS message or random bytes.
func junk(rng *rand.Rand) []byte {
	header := func(qd, an, ns, ar uint16, flags uint16) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(rng.Uint32()))
		for _, v := range []uint16{flags, qd, an, ns, ar} {
			b = binary.BigEndian.AppendUint16(b, v)
		}
		return b
	}
	valid := func() []byte {
		m := probeQuery()
		m.Id = uint16(rng.Uint32())
		w, _ := m.Pack()
		return w
	}
	switch rng.IntN(7) {
	case 0: // random bytes
		b := make([]byte, rng.IntN(600))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	case 1: // a question name that is a compression pointer to itself
		return append(header(1, 0, 0, 0, 0x0100), 0xc0, 0x0c, 0, 1, 0, 1)
	case 2: // a response (QR set) sent to the server
		w := valid()
		w[2] |= 0x80
		return w
	case 3: // a query cut short
		w := valid()
		return w[:rng.IntN(len(w))]
	case 4: // counts of 65535 and nothing after the header
		return header(0xffff, 0xffff, 0xffff, 0xffff, 0)
	case 5: // a name of ten 63-byte labels: over 255 bytes
		b := header(1, 0, 0, 0, 0x0100)
		for range 10 {
			b = append(b, 63)
			for range 63 {
				b = append(b, 'a'+byte(rng.IntN(26)))
			}
		}
		return append(b, 0, 0, 1, 0, 1)
	default: // an EDNS option whose length runs past the end
		m := probeQuery()
		m.Id = uint16(rng.Uint32())
		o := m.SetEdns0(1232, false).IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
		w, _ := m.Pack()
		// The OPT record ends with the option: code, length, 8 bytes.
		binary.BigEndian.PutUint16(w[len(w)-10:], 0xffff)
		return w
	}
}

// malformedLoop sends -malformed-udp junk packets a second from one
// socket and counts the replies.
func (h *hostile) malformedLoop(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	g := h.malformed
	raddr, err := net.ResolveUDPAddr("udp", h.dns)
	if err != nil {
		g.dialFail.add(0, err.Error())
		return
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: h.fromIP()})
	if err != nil {
		g.clientErrs.Add(1)
		g.dialFail.add(0, reason(err))
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		buf := make([]byte, 65535)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // ICMP errors when the server is gone
			}
			g.answers.Add(1)
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	paced(ctx, h.c.malformedUDP, func() {
		if _, err := conn.WriteToUDP(junk(rng), raddr); err == nil {
			g.sent.Add(1)
		}
	})
}

// garbageLoop opens -garbage-tcp connections a second, each sending bytes
// that are not a well-formed DNS stream, reading for 2 s and closing.
func (h *hostile) garbageLoop(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	g := h.garbage
	rng := rand.New(rand.NewPCG(3, 4))
	// At most this many at once, so that a server that never answers
	// does not make the soak hold descriptors without bound.
	inflight := make(chan struct{}, 256)
	paced(ctx, h.c.garbageTCP, func() {
		select {
		case inflight <- struct{}{}:
		default:
			return
		}
		payload := garbageStream(rng)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			c, opened, ok := g.dial(ctx, h.dns, h.t0)
			if !ok {
				return
			}
			stop := closeOnDone(ctx, c)
			defer stop()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			byServer := false
			if _, err := c.Write(payload); err == nil {
				g.sent.Add(1)
				var b [4096]byte
				for {
					n, err := c.Read(b[:])
					if n > 0 {
						g.answers.Add(1)
					}
					if err != nil {
						var ne net.Error
						byServer = !errors.As(err, &ne) || !ne.Timeout()
						break
					}
				}
			} else {
				byServer = true
			}
			c.Close()
			g.release(opened, byServer && ctx.Err() == nil)
		}()
	})
}

// paced calls f rate times a second, evenly over 10 ms ticks, until ctx
// is done.
func paced(ctx context.Context, rate float64, f func()) {
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	due := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for due += rate * tick.Seconds(); due >= 1; due-- {
			f()
		}
	}
}

// garbageStream is what one garbage connection sends.
func garbageStream(rng *rand.Rand) []byte {
	j := junk(rng)
	switch rng.IntN(4) {
	case 0: // junk, framed
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(j))), j...)
	case 1: // a length longer than what follows
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(j)+1+rng.IntN(60000))), j...)
	case 2: // an empty frame, then junk framed
		return append(binary.BigEndian.AppendUint16([]byte{0, 0}, uint16(len(j))), j...)
	default: // no framing at all
		return j
	}
}
