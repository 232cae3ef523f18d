// Package outside answers what the served zones do not hold, as the rest of
// a kubeadm Corefile does: per server block (a zone, "." for the default
// one), the cache plugin (package cache) in front of the forward plugin
// (package forward). It is the server's Outside.
//
// A name goes to the route of the longest zone holding it (a stub domain
// such as consul.local before "."), as CoreDNS picks a server block. Within
// the route, a cache hit is answered on the query path; anything else is
// forwarded, stored and answered from a goroutine. A forward error is
// answered with the rcode CoreDNS writes (SERVFAIL, REFUSED for
// max_concurrent) and never cached; with serve_stale, an expired entry is
// served instead when the upstream fails.
//
// It does not decide which names are outside the served zones (the server
// does), and it does not fit a reply to the client's UDP size or add the
// client's OPT record (the server does, for every answer).
package outside

import (
	"context"
	"encoding/binary"
	"errors"
	"github.com/clusterdns/clusterdns/internal/dnswire"
	"log/slog"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

// Route is what one server block does with the names of its zone.
type Route struct {
	// Zone is the block's zone, "." for every name.
	Zone string
	// Cache, if set, answers repeated questions (the block's cache plugin).
	Cache *cache.Cache
	// Forward, if set, asks upstreams (the block's forward plugin). A name
	// it does not Match (except) gets SERVFAIL, as CoreDNS answers when no
	// plugin handles a name.
	Forward *forward.Forwarder
}

// Resolver is the server's Outside over a set of routes.
type Resolver struct {
	routes []Route // longest zone first
	log    *slog.Logger
	// refreshTimeout bounds a background refresh (prefetch).
	refreshTimeout time.Duration
}

// New returns a resolver over routes (one per zone; their order does not
// matter).
func New(routes []Route, log *slog.Logger) (*Resolver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Resolver{log: log, refreshTimeout: 10 * time.Second}
	seen := map[string]bool{}
	for _, rt := range routes {
		rt.Zone = strings.ToLower(dns.Fqdn(rt.Zone))
		if seen[rt.Zone] {
			return nil, errors.New("two routes for zone " + rt.Zone)
		}
		seen[rt.Zone] = true
		r.routes = append(r.routes, rt)
	}
	// Longest zone first: the first route holding a name is its block.
	for i := 1; i < len(r.routes); i++ {
		for j := i; j > 0 && len(r.routes[j].Zone) > len(r.routes[j-1].Zone); j-- {
			r.routes[j], r.routes[j-1] = r.routes[j-1], r.routes[j]
		}
	}
	return r, nil
}

var _ server.Outside = (*Resolver)(nil)

// route is the route of the longest zone holding the canonical name.
func (r *Resolver) route(name string) *Route {
	for i := range r.routes {
		z := r.routes[i].Zone
		if z == "." || name == z || (len(name) > len(z) && name[len(name)-len(z)-1] == '.' && name[len(name)-len(z):] == z) {
			return &r.routes[i]
		}
	}
	return nil
}

// cacheQuery is the cache's view of a question; the name aliases q.Msg.
func cacheQuery(q *server.Question, cq *cache.Query) bool {
	end, ok := nameEnd(q.Msg)
	if !ok {
		return false
	}
	*cq = cache.Query{ID: q.ID, Flags: binary.BigEndian.Uint16(q.Msg[2:]), Name: q.Msg[12:end], Type: q.Qtype, Class: q.Qclass, DO: q.DO}
	return true
}

// nameEnd is the end of the question name of a query the server parsed
// (it refuses compression pointers in a question).
func nameEnd(m []byte) (int, bool) { return dnswire.SkipName(m, 12) }

// Cached answers from the route's cache. A prefetch or stale-refresh hit
// is answered and refreshed in the background.
func (r *Resolver) Cached(q *server.Question, out []byte) ([]byte, bool) {
	rt := r.route(q.Name)
	if rt == nil || rt.Cache == nil {
		return out, false
	}
	var cq cache.Query
	if !cacheQuery(q, &cq) {
		return out, false
	}
	resp, st := rt.Cache.Get(&cq, time.Now(), out)
	if !st.Serve() {
		return out, false
	}
	if st.Refresh() && rt.Forward != nil {
		go r.refresh(rt, clone(q))
	}
	return resp, true
}

// clone copies a question the server lends only for the call.
func clone(q *server.Question) *server.Question {
	c := *q
	c.Msg = append([]byte(nil), q.Msg...)
	c.Name = strings.Clone(q.Name)
	return &c
}

// refresh forwards q again and stores the reply (prefetch, serve_stale).
func (r *Resolver) refresh(rt *Route, q *server.Question) {
	ctx, cancel := context.WithTimeout(context.Background(), r.refreshTimeout)
	defer cancel()
	if _, err := r.forward(ctx, rt, q); err != nil {
		r.log.Debug("refreshing a cached answer failed", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
		var cq cache.Query
		if rt.Cache != nil && cacheQuery(q, &cq) {
			rt.Cache.Unclaim(&cq, time.Now())
		}
	}
}

// Resolve forwards q from a goroutine and replies with the upstream's
// answer (stored in the cache on the way), a stale entry when the
// upstream fails under serve_stale, or the error's rcode.
func (r *Resolver) Resolve(q *server.Question, reply func([]byte)) {
	go func() {
		rt := r.route(q.Name)
		if rt == nil {
			reply(errorReply(q, dns.RcodeRefused))
			return
		}
		if rt.Forward == nil || !rt.Forward.Match(q.Name) {
			reply(errorReply(q, dns.RcodeServerFailure))
			return
		}
		resp, err := r.forward(context.Background(), rt, q)
		if err == nil {
			reply(resp)
			return
		}
		if stale, ok := r.stale(rt, q); ok {
			reply(stale)
			return
		}
		r.log.Debug("forwarding failed", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
		reply(errorReply(q, forward.Rcode(err)))
	}()
}

// forward asks the route's upstreams and stores the reply: the packed
// answer without OPT, TTLs as the cache rewrote them.
func (r *Resolver) forward(ctx context.Context, rt *Route, q *server.Question) ([]byte, error) {
	req := new(dns.Msg)
	if err := req.Unpack(q.Msg); err != nil {
		return nil, forward.ErrInvalidRequest
	}
	proto := "udp"
	if q.Transport == server.TCP {
		proto = "tcp"
	}
	resp, err := rt.Forward.Exchange(ctx, req, proto)
	if err != nil {
		return nil, err
	}
	resp.Id = q.ID
	resp.Extra = server.WithoutOPT(resp.Extra) // the server adds the client's
	packed, err := resp.Pack()
	if err != nil {
		return nil, err
	}
	if rt.Cache != nil {
		var cq cache.Query
		if cacheQuery(q, &cq) {
			rt.Cache.Set(&cq, packed, time.Now())
		}
	}
	return packed, nil
}

// stale is the route cache's expired entry for q, when serve_stale keeps
// one.
func (r *Resolver) stale(rt *Route, q *server.Question) ([]byte, bool) {
	if rt.Cache == nil {
		return nil, false
	}
	var cq cache.Query
	if !cacheQuery(q, &cq) {
		return nil, false
	}
	return rt.Cache.GetStale(&cq, time.Now(), nil)
}

// errorReply is the header and question of q with rcode, as CoreDNS's
// server writes a failure a plugin returned (never cached).
func errorReply(q *server.Question, rcode int) []byte {
	end, ok := nameEnd(q.Msg)
	if !ok || end+4 > len(q.Msg) {
		end = 12
	} else {
		end += 4
	}
	out := append([]byte(nil), q.Msg[:end]...)
	flags := binary.BigEndian.Uint16(q.Msg[2:])
	flags = 1<<15 | flags&(0xF<<11|1<<8|1<<4) | 1<<7 | uint16(rcode&0xF) // QR, opcode, RD, CD kept; RA
	binary.BigEndian.PutUint16(out[2:], flags)
	qd := uint16(0)
	if end > 12 {
		qd = 1
	}
	binary.BigEndian.PutUint16(out[4:], qd)
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	return out
}
