package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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
	// TCPIdleTimeout closes a TCP connection with no query under way for
	// this long, and one whose client takes none of its answers for this
	// long; default DefaultTCPIdleTimeout.
	TCPIdleTimeout time.Duration
	// TCPMessageTimeout bounds the time one query may take to arrive over
	// TCP, from its first byte to its last; default
	// DefaultTCPMessageTimeout. The idle timeout does not restart on every
	// byte, so a client that trickles bytes cannot hold a connection.
	TCPMessageTimeout time.Duration
	// MaxTCPConns bounds concurrent TCP connections; default
	// DefaultMaxTCPConns. At the cap a new connection closes the one that
	// has made no progress for the longest time.
	MaxTCPConns int
	// TCPMaxPending bounds the bytes of answers a TCP connection buffers
	// before writing them (one more answer may exceed it); default
	// DefaultTCPMaxPending.
	TCPMaxPending int
	// UDPSockets is the number of SO_REUSEPORT UDP sockets, each served by
	// one goroutine; default GOMAXPROCS.
	UDPSockets int
	Logger     *slog.Logger
	// Observer, if set, is told about every answered query (metrics, and
	// tests that check which questions a client sent).
	Observer Observer
	// Outside, if set, answers the names outside the served zones (and
	// the Fallthrough zones' NXDOMAINs); without it they are REFUSED.
	Outside Outside
	// Fallthrough lists served reverse zones whose NXDOMAIN answers go to
	// Outside instead (kubernetes `fallthrough in-addr.arpa ip6.arpa`).
	Fallthrough []string
	// LoadBalance shuffles the A and AAAA records of every NOERROR answer
	// (CoreDNS's loadbalance plugin), so clients that use the first
	// address spread over them. Off, answers keep the engine's order.
	LoadBalance bool
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
	// Start is when the query was read (for a batch of UDP queries read
	// at once, when the batch was read).
	Start time.Time
	// Duration is the time from Start to the answer being sent, when the
	// server measured it (0: the observer measures from Start itself).
	Duration time.Duration
	// Worker identifies the goroutine that answered: each UDP socket's
	// reader has its own number below the number of sockets; TCP
	// connections take numbers from a counter. Observers may use it to
	// keep uncontended per-worker state.
	Worker int
}

// Server answers queries from the current snapshot.
type Server struct {
	cfg     Config
	log     *slog.Logger
	snap    atomic.Pointer[zone.Snapshot]
	synced  atomic.Bool
	scratch sync.Pool
	// tcpWorker numbers TCP connections for QueryEvent.Worker.
	tcpWorker  atomic.Int64
	tcpBatches sync.Pool
	// tcpConns are the open TCP connections (of the one ListenAndServe).
	tcpConns tcpConns
	// acceptLog and capLog keep a flood of connections from flooding the
	// log.
	acceptLog, capLog rateLog
	// outside is Config.Outside and Config.Fallthrough, replaced whole by
	// SetOutside (a reloaded Corefile).
	outside atomic.Pointer[outsideState]
	// loadBalance is Config.LoadBalance, changed by SetLoadBalance.
	loadBalance atomic.Bool
	// rewriter, if set, rewrites question names (SetRewriter).
	rewriter atomic.Pointer[Rewriter]
	// hosts, if set, answers names before the zones (SetHosts).
	hosts atomic.Pointer[HostsTable]
	// expander, when set, expands first steps of search walks.
	expander atomic.Pointer[expanderBox]
	// transferer serves AXFR/IXFR over TCP; nil: they are REFUSED.
	transferer atomic.Pointer[transfererBox]
}

// Defaults of the TCP limits (Config).
const (
	DefaultTCPIdleTimeout    = 10 * time.Second
	DefaultTCPMessageTimeout = 3 * time.Second
	DefaultMaxTCPConns       = 1024
	DefaultTCPMaxPending     = 16 * 1024
)

// New returns a server with no snapshot: until Swap, it answers SERVFAIL.
func New(cfg Config) *Server {
	if cfg.MaxUDPSize <= 0 {
		cfg.MaxUDPSize = DefaultMaxUDPSize
	}
	cfg.MaxUDPSize = min(max(cfg.MaxUDPSize, minUDPSize), maxTCPSize)
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.TCPMessageTimeout <= 0 {
		cfg.TCPMessageTimeout = DefaultTCPMessageTimeout
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	if cfg.TCPMaxPending <= 0 {
		cfg.TCPMaxPending = DefaultTCPMaxPending
	}
	if cfg.UDPSockets <= 0 {
		cfg.UDPSockets = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.SetOutside(cfg.Outside, cfg.Fallthrough)
	s.loadBalance.Store(cfg.LoadBalance)
	s.scratch.New = func() any { return new(scratch) }
	s.tcpBatches.New = func() any { return &tcpBatch{resp: make([]byte, 0, 4096)} }
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
	s.scratch.Put(s.waitDeferred(sc, msg, t, remote, out, &resp))
	return resp
}

// waitDeferred waits for the reply of a deferred request into *resp and
// returns sc, for the caller to put back.
func (s *Server) waitDeferred(sc *scratch, msg []byte, t Transport, remote netip.AddrPort, out []byte, resp *[]byte) *scratch {
	if *resp == nil && sc.r.deferred {
		// Asked of Outside: wait for its reply, which calls back once.
		done := make(chan []byte, 1)
		s.resolveOutside(sc, msg, t, remote, 0, func(b []byte) { done <- append(out[:0], b...) })
		*resp = <-done
	}
	return sc
}

// Ask answers msg as a query from remote is answered, without counting it
// as a query and without expanding it (SetExpander): the steps of an
// expansion, which go through hosts, rewrite, the zones and Outside as the
// client's own question would.
func (s *Server) Ask(msg []byte, t Transport, remote netip.AddrPort) []byte {
	sc := s.scratch.Get().(*scratch)
	sc.sub = true
	resp := s.answer(sc, msg, nil, t, remote)
	s.waitDeferred(sc, msg, t, remote, nil, &resp)
	sc.sub = false
	s.scratch.Put(sc)
	return resp
}

// scratch is the per-query working memory, reused so that a query
// allocates nothing.
type scratch struct {
	r     request
	canon [1024]byte
	ev    QueryEvent
	// zone is where the names the snapshot does not store (per-endpoint
	// and PTR names) are packed.
	zone zone.Scratch
	// shuf shuffles address records (Config.LoadBalance).
	shuf *shuffler
	// rw is the rewritten query of a deferred question (SetRewriter).
	rw *rewritten
	// sub: the query is a step of an expansion (Ask).
	sub bool
}

func (s *Server) respondWith(sc *scratch, msg []byte, out []byte, t Transport, remote netip.AddrPort) []byte {
	o := s.cfg.Observer
	if o == nil {
		return s.answer(sc, msg, out, t, remote)
	}
	start := time.Now()
	resp := s.answer(sc, msg, out, t, remote)
	if resp != nil {
		s.observe(sc, len(msg), resp, t, remote, start, 0, 0)
	}
	return resp
}

// answer is respond with the scratch's request and name buffer.
func (s *Server) answer(sc *scratch, msg []byte, out []byte, t Transport, remote netip.AddrPort) []byte {
	sc.r = request{remote: remote, sub: sc.sub}
	sc.rw = nil
	resp := s.respond(msg, out, t, &sc.r, sc.canon[:0], &sc.zone)
	if rw := s.rewriter.Load(); rw != nil && (resp != nil || sc.r.deferred) && len(sc.r.canon) > 0 {
		if rq, ok := s.rewrite(*rw, &sc.r, msg); ok {
			resp = s.answerRewritten(sc, rq, msg, out, t)
		}
	}
	if resp != nil && s.loadBalance.Load() {
		if sc.shuf == nil {
			sc.shuf = newShuffler(uint64(time.Now().UnixNano()) ^ uint64(uintptr(unsafe.Pointer(sc))))
		}
		sc.shuf.shuffle(resp)
	}
	return resp
}

// observe tells the observer about an answered query whose request is in
// sc (as answer left it).
func (s *Server) observe(sc *scratch, msgLen int, resp []byte, t Transport, remote netip.AddrPort, start time.Time, d time.Duration, worker int) {
	r := &sc.r
	flags := binary.BigEndian.Uint16(resp[2:])
	rcode := int(flags & 0xF)
	if r.edns && len(resp) >= 11 && binary.BigEndian.Uint16(resp[len(resp)-10:]) == dns.TypeOPT {
		rcode |= int(resp[len(resp)-6]) << 4 // extended rcode in the OPT TTL
	}
	sc.ev = QueryEvent{Name: r.canon, Qtype: r.qtype, Rcode: rcode, Transport: t, Remote: remote, Zone: r.zone,
		RequestSize: msgLen, ResponseSize: len(resp), Truncated: flags&flagTC != 0, Authoritative: flags&flagAA != 0,
		Start: start, Duration: d, Worker: worker}
	s.cfg.Observer.ObserveQuery(&sc.ev)
}

func (s *Server) respond(msg []byte, out []byte, t Transport, rp *request, canonBuf []byte, zs *zone.Scratch) []byte {
	r := rp
	ok, rcode := parse(msg, r, canonBuf)
	if !ok {
		return nil
	}
	maxUDP := s.cfg.MaxUDPSize
	if rcode = r.refusal(rcode); rcode != 0 {
		return r.errorResponse(out, rcode, false, maxUDP)
	}
	snap := s.snap.Load()
	if snap == nil {
		return r.errorResponse(out, dns.RcodeServerFailure, false, maxUDP)
	}
	// The name aliases the receive buffer: nothing below keeps it.
	name := unsafe.String(unsafe.SliceData(r.canon), len(r.canon))
	x := s.expander.Load()
	if x != nil && !r.sub {
		x.x.Observe(r.remote.Addr(), name)
	}
	if h := s.hosts.Load(); h != nil {
		if resp, done := s.answerHosts(*h, r, out, t); done {
			return resp
		}
	}
	ans := snap.LookupWire(name, r.qtype, zs)
	r.zone = ans.Zone
	if Expandable(ans) && !r.sub {
		if x != nil && s.synced.Load() {
			var q Question
			r.outsideQuestion(msg, t, &q)
			q.Remote = r.remote
			if x.x.Expands(&q, snap) {
				return s.goOutside(x.x, r, msg, out, t)
			}
		}
	}
	if ans.Zone == "" {
		if ost := s.outside.Load(); ost != nil {
			return s.goOutside(ost.o, r, msg, out, t)
		}
		return r.errorResponse(out, ans.Rcode, false, maxUDP)
	}
	if ans.External != "" {
		if ost := s.outside.Load(); ost != nil {
			return s.goOutside(&externalChain{o: ost.o, chain: ans.Answer, target: ans.External}, r, msg, out, t)
		}
	}
	zoneOff := headerLen + len(r.qname) - wireLen(ans.Zone)
	var resp []byte
	switch {
	case ans.Negative() && ans.Rcode == dns.RcodeNameError && s.fallsThrough(ans.Zone):
		return s.goOutside(s.outside.Load().o, r, msg, out, t)
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

// refusal is the rcode a parsed query is answered with before any lookup
// (parse's own first): an opcode other than QUERY, an EDNS version, a
// meta type, a transfer, a class other than IN. 0: look it up.
func (r *request) refusal(parsed int) int {
	switch {
	case parsed != 0:
		return parsed
	case r.opcode != dns.OpcodeQuery:
		return dns.RcodeNotImplemented
	case r.edns && r.ednsVer != 0:
		return dns.RcodeBadVers
	case r.qtype == dns.TypeOPT || r.qtype == dns.TypeTSIG || r.qtype == dns.TypeTKEY:
		return dns.RcodeFormatError
	case r.qtype == dns.TypeAXFR || r.qtype == dns.TypeIXFR || r.qclass != dns.ClassINET:
		return dns.RcodeRefused
	}
	return 0
}

// msgZone is the zone part (the last zl bytes) of a wire-form name.
func msgZone(qname []byte, zl int) []byte { return qname[len(qname)-zl:] }

func wireLen(name string) int {
	if name == "." {
		return 1
	}
	return len(name) + 1
}

// listen opens the UDP sockets and the TCP listener on addr. With port 0
// the TCP listener takes the port UDP got; if another process holds that
// TCP port, it tries again with a new one.
func (s *Server) listen(ctx context.Context, addr string) ([]*net.UDPConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		pcs, err := listenUDP(ctx, addr, s.cfg.UDPSockets)
		if err != nil {
			return nil, nil, fmt.Errorf("listening on udp %s: %w", addr, err)
		}
		tcpAddr := addr
		if ua, ok := pcs[0].LocalAddr().(*net.UDPAddr); ok {
			host, _, _ := net.SplitHostPort(addr)
			tcpAddr = net.JoinHostPort(host, fmt.Sprint(ua.Port))
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", tcpAddr)
		if err == nil {
			return pcs, ln, nil
		}
		for _, pc := range pcs {
			pc.Close()
		}
		if port != "0" || try == 20 {
			return nil, nil, fmt.Errorf("listening on tcp %s: %w", tcpAddr, err)
		}
	}
}

// ListenAndServe serves UDP and TCP on addr until ctx is done. ready, if not
// nil, is called with the bound addresses once both sockets listen.
//
// UDP is served from Config.UDPSockets sockets bound to the same address
// with SO_REUSEPORT (the kernel spreads client flows over them), each read
// by one goroutine that answers in place: no goroutine per packet, and on
// Linux queries are read and answers written in batches (recvmmsg,
// sendmmsg). TCP connections each get a goroutine that answers pipelined
// queries in order, batching their answers into few writes; the limits on
// what one connection may hold are those of Config (see serveConn).
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(udp, tcp net.Addr)) error {
	pcs, ln, err := s.listen(ctx, addr)
	if err != nil {
		return err
	}
	closeUDP := func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}
	if ready != nil {
		ready(pcs[0].LocalAddr(), ln.Addr())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(pcs)+1)
	for i, pc := range pcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serveUDP(pc, i); err != nil && ctx.Err() == nil {
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
	closeUDP()
	ln.Close()
	wg.Wait()
	return err
}

// listenUDP binds n sockets to addr with SO_REUSEPORT (one without it where
// the option does not exist). So that a second server on the same address
// still fails as "address in use" rather than sharing the port, the address
// is first bound once without SO_REUSEPORT and released.
func listenUDP(ctx context.Context, addr string, n int) ([]*net.UDPConn, error) {
	if !reusePortSupported || n <= 1 {
		var lc net.ListenConfig
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, err
		}
		return []*net.UDPConn{pc.(*net.UDPConn)}, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var plain net.ListenConfig
	if port != "0" {
		probe, err := plain.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, err
		}
		probe.Close()
	}
	lc := net.ListenConfig{Control: setReusePort}
	var out []*net.UDPConn
	for i := 0; i < n; i++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			for _, c := range out {
				c.Close()
			}
			return nil, err
		}
		uc := pc.(*net.UDPConn)
		out = append(out, uc)
		if i == 0 && port == "0" {
			// The rest join the port the kernel chose.
			addr = net.JoinHostPort(host, fmt.Sprint(uc.LocalAddr().(*net.UDPAddr).Port))
		}
	}
	return out, nil
}

// udpReply sends an Outside reply to a UDP client.
func udpReply(uc *net.UDPConn, to netip.AddrPort) func([]byte) {
	return func(b []byte) { _, _ = uc.WriteToUDPAddrPort(b, to) }
}

// serveUDPSimple answers one query per read: the loop for systems without
// recvmmsg.
func (s *Server) serveUDPSimple(uc *net.UDPConn, worker int) error {
	in := make([]byte, 65535)
	out := make([]byte, 0, 4096)
	sc := new(scratch)
	o := s.cfg.Observer
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
		var start time.Time
		if o != nil {
			start = time.Now()
		}
		resp := s.answer(sc, in[:n], out, UDP, from)
		if resp == nil {
			if sc.r.deferred {
				s.resolveOutside(sc, in[:n], UDP, from, worker, udpReply(uc, from))
			}
			continue
		}
		if _, err := uc.WriteToUDPAddrPort(resp, from); err != nil && errors.Is(err, net.ErrClosed) {
			return nil
		}
		if o != nil {
			s.observe(sc, n, resp, UDP, from, start, time.Since(start), worker)
		}
		if cap(resp) <= 64*1024 {
			out = resp[:0]
		}
	}
}
