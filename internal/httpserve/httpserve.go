// Package httpserve runs clusterdns's small HTTP endpoints (/health,
// /ready, /metrics, /debug/pprof/) with bounds a client cannot push past:
// a cap on open connections, at which a new connection closes the one idle
// longest (so a flood of idle keep-alive connections neither locks out
// kubelet's probes nor exhausts file descriptors), and timeouts on reading
// a request, writing a response and idling between requests. It does not
// route, authenticate or log requests.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Limits bound what clients can hold of an endpoint.
type Limits struct {
	// MaxConns is the most connections open at once; default
	// DefaultMaxConns.
	MaxConns int
	// ReadHeaderTimeout bounds the time to read a request's headers;
	// default 5s.
	ReadHeaderTimeout time.Duration
	// WriteTimeout bounds a response (0: default 30s; negative: none, for
	// CPU profiles that take as long as asked).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request for this
	// long; default 30s.
	IdleTimeout time.Duration
}

// DefaultMaxConns is the default cap on an endpoint's connections: health
// probes and scrapes need a few; the descriptors are better left to DNS.
const DefaultMaxConns = 16

// maxHeaderBytes bounds a request's headers; the endpoints read none.
const maxHeaderBytes = 8 << 10

func (l Limits) withDefaults() Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 5 * time.Second
	}
	switch {
	case l.WriteTimeout == 0:
		l.WriteTimeout = 30 * time.Second
	case l.WriteTimeout < 0:
		l.WriteTimeout = 0
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 30 * time.Second
	}
	return l
}

// Server is one running endpoint.
type Server struct {
	hs   *http.Server
	addr string
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.hs.Close() }

// Start listens on addr and serves h there until Close. what names the
// endpoint in errors and logs ("health checks", "/metrics").
func Start(ctx context.Context, addr, what string, h http.Handler, lim Limits, log *slog.Logger) (*Server, error) {
	lim = lim.withDefaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for %s on %s: %w", what, addr, err)
	}
	cl := &cappedListener{Listener: ln, max: lim.MaxConns, conns: map[net.Conn]connState{}, perIP: map[netip.Addr]int{}, log: log, what: what}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         cl.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := hs.Serve(cl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP endpoint stopped", "what", what, "err", err)
		}
	}()
	return &Server{hs: hs, addr: ln.Addr().String()}, nil
}

type connState struct {
	state http.ConnState
	since time.Time
	ip    netip.Addr
}

// newGrace is how long a new connection is passed over when a victim is
// chosen: long enough for a client that connects to send its request (a
// kubelet probe does at once), so that a flood of short connections does
// not close it before it is read.
const newGrace = 250 * time.Millisecond

// cappedListener keeps the connections net/http serves under a cap. The
// server tells it each connection's state (ConnState); at the cap, Accept
// closes one idle connection (or one still waiting for its first request)
// before handing out the new one. The victim comes from the remote address
// holding the most connections, so one flooding client evicts its own
// connections and not a probe from elsewhere; among those, the oldest,
// preferring connections past newGrace. When every connection is busy
// with a request, the new one is refused.
type cappedListener struct {
	net.Listener
	max  int
	log  *slog.Logger
	what string

	mu      sync.Mutex
	conns   map[net.Conn]connState
	perIP   map[netip.Addr]int
	lastLog time.Time
	refused int
}

func remoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

func (l *cappedListener) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.conns[c]
	switch {
	case st == http.StateClosed || st == http.StateHijacked:
		if ok {
			l.forget(c, cur)
		}
	case ok:
		l.conns[c] = connState{state: st, since: time.Now(), ip: cur.ip}
	case st == http.StateNew:
		ip := remoteIP(c)
		l.conns[c] = connState{state: st, since: time.Now(), ip: ip}
		l.perIP[ip]++
	}
}

func (l *cappedListener) forget(c net.Conn, s connState) {
	delete(l.conns, c)
	if l.perIP[s.ip]--; l.perIP[s.ip] <= 0 {
		delete(l.perIP, s.ip)
	}
}

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.makeRoom() {
			return c, nil
		}
		c.Close()
	}
}

// makeRoom reports whether a new connection may be served, closing a
// victim when the cap is reached.
func (l *cappedListener) makeRoom() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) < l.max {
		return true
	}
	now := time.Now()
	var victim net.Conn
	var best connState
	better := func(s connState) bool {
		if victim == nil {
			return true
		}
		if a, b := l.perIP[s.ip], l.perIP[best.ip]; a != b {
			return a > b
		}
		if a, b := s.state == http.StateNew && now.Sub(s.since) < newGrace, best.state == http.StateNew && now.Sub(best.since) < newGrace; a != b {
			return b // past the grace beats within it
		}
		return s.since.Before(best.since)
	}
	for c, s := range l.conns {
		if s.state != http.StateIdle && s.state != http.StateNew {
			continue
		}
		if better(s) {
			victim, best = c, s
		}
	}
	if victim != nil {
		l.forget(victim, best)
		victim.Close()
		return true
	}
	l.refused++
	if now.Sub(l.lastLog) >= 10*time.Second {
		l.log.Warn("HTTP connection cap reached with every connection busy; refusing new ones", "what", l.what, "max", l.max, "refused", l.refused)
		l.lastLog, l.refused = now, 0
	}
	return false
}
