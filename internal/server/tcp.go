package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// tcpReadBuf is the read buffer of a TCP connection: queries a client
// pipelines arrive together and are answered from one read.
const tcpReadBuf = 16 * 1024

// Accept back-off while the process is out of file descriptors (or kernel
// memory): as net/http's accept loop, doubling from the minimum to the
// maximum, so that the loop neither spins nor stops.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// tcpConn is one served TCP connection, as the accept loop sees it.
type tcpConn struct {
	net.Conn
	// active is when the connection last made progress (accepted, a whole
	// query read, answers written), in Unix nanoseconds. At the connection
	// cap, and when descriptors run out, the connection whose progress is
	// oldest is closed: an idle client, a slow one, or one that does not
	// read its answers, never one that is being answered.
	active atomic.Int64
	// wmu orders writes: the connection's own batches and the answers
	// Outside sends later, from other goroutines.
	wmu sync.Mutex
}

func (c *tcpConn) touch(now time.Time) { c.active.Store(now.UnixNano()) }

// write writes b whole, within timeout, after any write under way.
func (c *tcpConn) write(b []byte, timeout time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(b)
	return err
}

// writeMsg writes one DNS message, framed with its length, within timeout
// (after any write under way), and marks the connection as making
// progress.
func (c *tcpConn) writeMsg(m []byte, timeout time.Duration) error {
	framed := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(m)), uint16(len(m)))
	if err := c.write(append(framed, m...), timeout); err != nil {
		return err
	}
	c.touch(time.Now())
	return nil
}

// outsideReply sends an Outside answer on the connection, framed. A
// connection closed meanwhile drops it.
func (s *Server) outsideReply(c *tcpConn) func([]byte) {
	return func(b []byte) { _ = c.writeMsg(b, s.cfg.TCPIdleTimeout) }
}

// tcpConns is the set of open TCP connections.
type tcpConns struct {
	mu  sync.Mutex
	set map[*tcpConn]struct{}
}

func (cs *tcpConns) add(c *tcpConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.set == nil {
		cs.set = map[*tcpConn]struct{}{}
	}
	cs.set[c] = struct{}{}
}

func (cs *tcpConns) remove(c *tcpConn) {
	cs.mu.Lock()
	delete(cs.set, c)
	cs.mu.Unlock()
}

func (cs *tcpConns) len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.set)
}

// evictStalest closes and forgets the connection that has made no progress
// for the longest time, and returns it (nil when there is none). Its
// goroutine sees the close at its next read or write and ends.
func (cs *tcpConns) evictStalest() *tcpConn {
	cs.mu.Lock()
	var victim *tcpConn
	oldest := int64(0)
	for c := range cs.set {
		if a := c.active.Load(); victim == nil || a < oldest {
			victim, oldest = c, a
		}
	}
	if victim != nil {
		delete(cs.set, victim)
	}
	cs.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
	return victim
}

func (cs *tcpConns) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for c := range cs.set {
		c.Close()
	}
}

// resourceExhausted reports whether an accept error means the process or
// the system ran out of something that frees up again (descriptors,
// buffers): the loop backs off and goes on.
func resourceExhausted(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// serveTCP accepts connections until ln is closed. It never stops on a
// shortage: with the cap reached, a new client closes the stalest
// connection (so a flood of idle or slow connections cannot lock clients
// out), and when accept fails for want of descriptors, it closes the
// stalest connection to free one and backs off.
func (s *Server) serveTCP(ctx context.Context, ln net.Listener) error {
	conns := &s.tcpConns
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, conns.closeAll)
	defer stop()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !resourceExhausted(err) {
				return fmt.Errorf("accepting tcp: %w", err)
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			evicted := conns.evictStalest()
			s.acceptLog.warn(s.log, "accepting TCP connections failed; closed the stalest connection and backing off",
				"err", err, "backoff", backoff, "evicted", evicted != nil)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		if conns.len() >= s.cfg.MaxTCPConns {
			conns.evictStalest()
			s.capLog.warn(s.log, "TCP connection cap reached; closed the connection idle longest", "max", s.cfg.MaxTCPConns)
		}
		tc := &tcpConn{Conn: c}
		tc.touch(time.Now())
		conns.add(tc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns.remove(tc)
			defer tc.Close()
			s.serveConn(tc)
		}()
	}
}

// serveConn answers the queries of one TCP connection in order. It reads
// as much as the client sent, answers every complete query in the buffer,
// and writes those answers in as few writes as it can, so a client that
// pipelines queries (RFC 7766) gets them answered at the cost of one read
// and a write per batch rather than per query.
//
// What one connection may hold or take is bounded:
//   - answers waiting to be written: at most Config.TCPMaxPending bytes
//     plus one answer. Beyond that they are written before the next query
//     is read, so a client that does not read its answers stops being read
//     (the kernel's buffers fill, the write waits) and is closed when a
//     write makes no progress for TCPIdleTimeout;
//   - time: TCPIdleTimeout with no query under way, and TCPMessageTimeout
//     from a query's first byte to its last, however the bytes trickle in;
//   - memory while idle: the read buffer only; the working memory of a
//     batch comes from a pool and goes back before the connection waits.
func (s *Server) serveConn(c *tcpConn) {
	var remote netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = ta.AddrPort()
	}
	worker := int(s.cfg.UDPSockets) + int(s.tcpWorker.Add(1)-1)
	o := s.cfg.Observer
	buf := make([]byte, tcpReadBuf) // buf[r:w] is read and not yet answered
	r, w := 0, 0
	// partialSince is when the first byte of the query in buf[r:w] came;
	// zero when buf holds no part of a query.
	var partialSince time.Time
	lastRead := time.Now()
	for {
		if w-r >= 2 && w-r >= 2+int(binary.BigEndian.Uint16(buf[r:])) {
			var ok bool
			if r, ok = s.answerBatch(c, buf[:w], r, remote, worker, o); !ok {
				return
			}
			partialSince = time.Time{}
		}
		// Keep the unanswered part at the front, and make room for a
		// query longer than the buffer.
		if r > 0 {
			w = copy(buf, buf[r:w])
			r = 0
		}
		if w >= 2 {
			if need := 2 + int(binary.BigEndian.Uint16(buf)); need > len(buf) {
				nb := make([]byte, need)
				copy(nb, buf[:w])
				buf = nb
			}
		} else if len(buf) > tcpReadBuf {
			buf = make([]byte, tcpReadBuf)
		}
		var deadline time.Time
		if w > 0 {
			if partialSince.IsZero() {
				partialSince = lastRead
			}
			deadline = partialSince.Add(s.cfg.TCPMessageTimeout)
		} else {
			deadline = time.Now().Add(s.cfg.TCPIdleTimeout)
		}
		_ = c.SetReadDeadline(deadline)
		n, err := c.Read(buf[w:])
		if n == 0 && err != nil {
			return
		}
		lastRead = time.Now()
		w += n
	}
}

// answerBatch answers the complete queries in buf[r:] and writes their
// answers, flushing whenever TCPMaxPending bytes are waiting. It returns
// where the unanswered part of buf starts, and false when the connection
// is to be closed.
func (s *Server) answerBatch(c *tcpConn, buf []byte, r int, remote netip.AddrPort, worker int, o Observer) (int, bool) {
	b := s.tcpBatches.Get().(*tcpBatch)
	defer s.putBatch(b)
	w := len(buf)
	for w-r >= 2 {
		n := int(binary.BigEndian.Uint16(buf[r:]))
		if w-r < 2+n {
			break
		}
		if len(b.pending) >= s.cfg.TCPMaxPending && !s.flush(c, b) {
			return r, false
		}
		msg := buf[r+2 : r+2+n]
		r += 2 + n
		if tb := s.transferer.Load(); tb != nil && isTransfer(msg) {
			if !s.flush(c, b) || !s.serveTransfer(c, tb.t, msg, remote) {
				return r, false
			}
			continue
		}
		var start time.Time
		if o != nil {
			start = time.Now()
		}
		out := s.answer(&b.sc, msg, b.resp, TCP, remote)
		if out == nil {
			if b.sc.r.deferred {
				s.resolveOutside(&b.sc, msg, TCP, remote, worker, s.outsideReply(c))
			}
			continue
		}
		b.pending = binary.BigEndian.AppendUint16(b.pending, uint16(len(out)))
		b.pending = append(b.pending, out...)
		if o != nil {
			s.observe(&b.sc, n, out, TCP, remote, start, time.Since(start), worker)
		}
		b.resp = out[:0]
	}
	c.touch(time.Now())
	return r, s.flush(c, b)
}

// flush writes the pending answers. The write must make progress within
// TCPIdleTimeout: a client that does not read is closed.
func (s *Server) flush(c *tcpConn, b *tcpBatch) bool {
	if len(b.pending) == 0 {
		return true
	}
	if err := c.write(b.pending, s.cfg.TCPIdleTimeout); err != nil {
		return false
	}
	b.pending = b.pending[:0]
	c.touch(time.Now())
	return true
}

// tcpBatch is the working memory of answering one read of a TCP
// connection, pooled across connections.
type tcpBatch struct {
	sc      scratch
	resp    []byte
	pending []byte // framed answers not yet written
}

// putBatch returns b to the pool unless a large answer grew its buffers
// beyond what most batches need.
func (s *Server) putBatch(b *tcpBatch) {
	const keep = 64 * 1024
	if cap(b.resp) > keep+headerLen || cap(b.pending) > s.cfg.TCPMaxPending+keep+2 {
		return
	}
	b.pending = b.pending[:0]
	s.tcpBatches.Put(b)
}
