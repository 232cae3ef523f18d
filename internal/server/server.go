package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Config configures a Server.
type Config struct {
	// MaxUDPSize caps UDP answers (and is advertised in EDNS); default
	// DefaultMaxUDPSize.
	MaxUDPSize int
	// TCPIdleTimeout closes idle TCP connections; default 10s.
	TCPIdleTimeout time.Duration
	// MaxTCPConns bounds concurrent TCP connections; default 1024.
	MaxTCPConns int
	Logger      *slog.Logger
	// Observer, if set, is told about every answered query (metrics, and
	// tests that check which questions a client sent).
	Observer Observer
}

// Observer sees every answered query. It must be fast and safe for
// concurrent use; the event and its byte slices are valid only during the
// call.
type Observer interface {
	ObserveQuery(q *QueryEvent)
}

// QueryEvent describes one answered query.
type QueryEvent struct {
	// Name is the question name in lower case presentation form with the
	// trailing dot (empty when the question could not be read).
	Name      []byte
	Qtype     uint16
	Rcode     int
	Transport Transport
	// Remote is the client's address (invalid when not known).
	Remote netip.AddrPort
	// Zone is the served zone the name fell in ("" if none).
	Zone          string
	RequestSize   int
	ResponseSize  int
	Truncated     bool
	Authoritative bool
	Start         time.Time
}

// Server answers queries from the current snapshot.
type Server struct {
	cfg     Config
	log     *slog.Logger
	snap    atomic.Pointer[zone.Snapshot]
	synced  atomic.Bool
	bufs    sync.Pool
	scratch sync.Pool
}

// New returns a server with no snapshot: until Swap, it answers SERVFAIL.
func New(cfg Config) *Server {
	if cfg.MaxUDPSize < minUDPSize || cfg.MaxUDPSize > maxTCPSize {
		cfg.MaxUDPSize = DefaultMaxUDPSize
	}
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = 10 * time.Second
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.scratch.New = func() any { return new(scratch) }
	return s
}

// Swap makes snap the snapshot every following query is answered from.
// synced false means the source has not caught up with its cluster yet:
// names that would not exist are then answered SERVFAIL rather than
// NXDOMAIN, as CoreDNS does, so that clients do not cache a wrong negative.
func (s *Server) Swap(snap *zone.Snapshot, synced bool) {
	s.snap.Store(snap)
	s.synced.Store(synced)
}

// SetSynced changes only the synced state.
func (s *Server) SetSynced(synced bool) { s.synced.Store(synced) }

// Snapshot returns the snapshot being served (nil before the first Swap).
func (s *Server) Snapshot() *zone.Snapshot { return s.snap.Load() }

// Respond answers one query message, appending the response to out[:0]. It
// returns nil when the message must be dropped.
func (s *Server) Respond(msg []byte, out []byte, t Transport) []byte {
	return s.RespondFrom(msg, out, t, netip.AddrPort{})
}

// RespondFrom is Respond for a query from a known client address.
func (s *Server) RespondFrom(msg []byte, out []byte, t Transport, remote netip.AddrPort) []byte {
	sc := s.scratch.Get().(*scratch)
	resp := s.respondWith(sc, msg, out, t, remote)
	s.scratch.Put(sc)
	return resp
}

// scratch is the per-query working memory, reused so that a query
// allocates nothing.
type scratch struct {
	r     request
	canon [1024]byte
	ev    QueryEvent
}

func (s *Server) respondWith(sc *scratch, msg []byte, out []byte, t Transport, remote netip.AddrPort) []byte {
	sc.r = request{}
	r := &sc.r
	o := s.cfg.Observer
	if o == nil {
		return s.respond(msg, out, t, r, sc.canon[:0])
	}
	start := time.Now()
	resp := s.respond(msg, out, t, r, sc.canon[:0])
	if resp != nil {
		flags := binary.BigEndian.Uint16(resp[2:])
		rcode := int(flags & 0xF)
		if r.edns && len(resp) >= 11 && binary.BigEndian.Uint16(resp[len(resp)-10:]) == dns.TypeOPT {
			rcode |= int(resp[len(resp)-6]) << 4 // extended rcode in the OPT TTL
		}
		sc.ev = QueryEvent{Name: r.canon, Qtype: r.qtype, Rcode: rcode, Transport: t, Remote: remote, Zone: r.zone,
			RequestSize: len(msg), ResponseSize: len(resp), Truncated: flags&flagTC != 0, Authoritative: flags&flagAA != 0, Start: start}
		o.ObserveQuery(&sc.ev)
	}
	return resp
}

func (s *Server) respond(msg []byte, out []byte, t Transport, rp *request, canonBuf []byte) []byte {
	r := rp
	ok, rcode := parse(msg, r, canonBuf)
	if !ok {
		return nil
	}
	maxUDP := s.cfg.MaxUDPSize
	if rcode != 0 {
		return r.errorResponse(out, rcode, false, maxUDP)
	}
	if r.opcode != dns.OpcodeQuery {
		return r.errorResponse(out, dns.RcodeNotImplemented, false, maxUDP)
	}
	if r.edns && r.ednsVer != 0 {
		return r.errorResponse(out, dns.RcodeBadVers, false, maxUDP)
	}
	switch r.qtype {
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY:
		return r.errorResponse(out, dns.RcodeFormatError, false, maxUDP)
	case dns.TypeAXFR, dns.TypeIXFR:
		return r.errorResponse(out, dns.RcodeRefused, false, maxUDP)
	}
	if r.qclass != dns.ClassINET {
		return r.errorResponse(out, dns.RcodeRefused, false, maxUDP)
	}
	snap := s.snap.Load()
	if snap == nil {
		return r.errorResponse(out, dns.RcodeServerFailure, false, maxUDP)
	}
	// The name aliases the receive buffer: LookupCanonical does not keep it.
	name := unsafe.String(unsafe.SliceData(r.canon), len(r.canon))
	ans := snap.LookupCanonical(name, r.qtype)
	r.zone = ans.Zone
	if ans.Zone == "" {
		return r.errorResponse(out, ans.Rcode, false, maxUDP)
	}
	zoneOff := headerLen + len(r.qname) - wireLen(ans.Zone)
	var resp []byte
	switch {
	case ans.Negative():
		rc := ans.Rcode
		if rc == dns.RcodeNameError && !s.synced.Load() {
			rc = dns.RcodeServerFailure
		}
		resp = append(out[:0], make([]byte, headerLen)...)
		r.header(resp, rc, true, 0, 1, 0)
		resp = append(resp, r.question...)
		resp = snap.AppendNegative(resp, ans.Zone, zoneOff)
		resp = r.appendOPT(resp, rc, maxUDP)
	default:
		w := ans.Wire(name, r.qtype)
		resp = append(out[:0], w.Buf...)
		an := binary.BigEndian.Uint16(w.Buf[6:])
		ns := binary.BigEndian.Uint16(w.Buf[8:])
		ar := binary.BigEndian.Uint16(w.Buf[10:])
		r.header(resp, ans.Rcode, true, an, ns, ar)
		copy(resp[headerLen:], r.qname)
		zl := wireLen(ans.Zone)
		for _, p := range w.Patches {
			copy(resp[p:p+zl], msgZone(r.qname, zl))
		}
		resp = r.appendOPT(resp, ans.Rcode, maxUDP)
	}
	if lim := r.limit(t, maxUDP); len(resp) > lim {
		// The answer does not fit: send the question with TC set, so the
		// client retries over TCP.
		resp = r.errorResponse(resp, ans.Rcode, true, maxUDP)
		binary.BigEndian.PutUint16(resp[2:], binary.BigEndian.Uint16(resp[2:])|flagTC)
	}
	return resp
}

// msgZone is the zone part (the last zl bytes) of a wire-form name.
func msgZone(qname []byte, zl int) []byte { return qname[len(qname)-zl:] }

func wireLen(name string) int {
	if name == "." {
		return 1
	}
	return len(name) + 1
}

// ListenAndServe serves UDP and TCP on addr until ctx is done. ready, if not
// nil, is called with the bound addresses once both sockets listen.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(udp, tcp net.Addr)) error {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("listening on udp %s: %w", addr, err)
	}
	// With port 0, take the same port for TCP as UDP got.
	tcpAddr := addr
	if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		host, _, _ := net.SplitHostPort(addr)
		tcpAddr = net.JoinHostPort(host, fmt.Sprint(ua.Port))
	}
	ln, err := lc.Listen(ctx, "tcp", tcpAddr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("listening on tcp %s: %w", tcpAddr, err)
	}
	if ready != nil {
		ready(pc.LocalAddr(), ln.Addr())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serveUDP(pc); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.serveTCP(ctx, ln); err != nil && ctx.Err() == nil {
			errc <- err
		}
	}()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	pc.Close()
	ln.Close()
	wg.Wait()
	return err
}

func (s *Server) serveUDP(pc net.PacketConn) error {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return fmt.Errorf("serving udp: %T is not a UDP socket", pc)
	}
	in := make([]byte, 65535)
	out := make([]byte, 0, 4096)
	sc := new(scratch)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("reading udp: %w", err)
		}
		resp := s.respondWith(sc, in[:n], out, UDP, from)
		if resp == nil {
			continue
		}
		if _, err := uc.WriteToUDPAddrPort(resp, from); err != nil && errors.Is(err, net.ErrClosed) {
			return nil
		}
		if cap(resp) <= 64*1024 {
			out = resp[:0]
		}
	}
}

func (s *Server) serveTCP(ctx context.Context, ln net.Listener) error {
	sem := make(chan struct{}, s.cfg.MaxTCPConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	var conns sync.Map
	go func() {
		<-ctx.Done()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accepting tcp: %w", err)
		}
		select {
		case sem <- struct{}{}:
		default:
			s.log.Warn("too many TCP connections, closing one", "remote", c.RemoteAddr(), "max", s.cfg.MaxTCPConns)
			c.Close()
			continue
		}
		conns.Store(c, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer conns.Delete(c)
			defer c.Close()
			s.serveConn(c)
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	var remote netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = ta.AddrPort()
	}
	var lenBuf [2]byte
	in := make([]byte, 0, 512)
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if cap(in) < n {
			in = make([]byte, n)
		}
		in = in[:n]
		if _, err := io.ReadFull(c, in); err != nil {
			return
		}
		resp := s.RespondFrom(in, (*bp)[:0], TCP, remote)
		if resp == nil {
			continue
		}
		frame := make([]byte, 2, 2+len(resp))
		binary.BigEndian.PutUint16(frame, uint16(len(resp)))
		frame = append(frame, resp...)
		_ = c.SetWriteDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := c.Write(frame); err != nil {
			return
		}
		*bp = resp[:0]
	}
}
