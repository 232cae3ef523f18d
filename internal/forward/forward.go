package forward

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

var (
	// ErrMaxConcurrent: MaxConcurrent queries were already in flight. The
	// error returned wraps it and reads as CoreDNS's, "concurrent queries
	// exceeded maximum N". CoreDNS answers REFUSED, never cached, and does
	// not count it as a health failure.
	ErrMaxConcurrent = errors.New("concurrent queries exceeded maximum")
	// ErrNoHealthy: the query ended before any attempt failed (the
	// deadline or the context ended first). CoreDNS answers SERVFAIL.
	ErrNoHealthy = errors.New("no healthy proxies")
	// ErrInvalidRequest: the request has no single question or cannot be
	// packed; CoreDNS (since 1.14.5) answers FORMERR.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrClosed: Exchange after Close.
	ErrClosed = errors.New("forwarder closed")
)

// UpstreamError is returned when the query gave up after attempts failed:
// Err is the last attempt's error. It reads as that error, as CoreDNS's
// errors plugin logs it. CoreDNS answers SERVFAIL, never cached.
type UpstreamError struct {
	// Upstream is the last upstream tried, as Upstreams writes it.
	Upstream string
	Err      error
}

func (e *UpstreamError) Error() string { return e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// Rcode is the rcode CoreDNS's server writes for an error Exchange
// returned: REFUSED for ErrMaxConcurrent, FORMERR for ErrInvalidRequest,
// SERVFAIL otherwise. Such an answer must not be cached.
func Rcode(err error) int {
	switch {
	case errors.Is(err, ErrMaxConcurrent):
		return dns.RcodeRefused
	case errors.Is(err, ErrInvalidRequest):
		return dns.RcodeFormatError
	}
	return dns.RcodeServerFailure
}

// Forwarder is one forward stanza: its upstreams, their health and their
// pooled connections. Safe for concurrent use.
type Forwarder struct {
	cfg      Config
	ups      []*upstream
	errLimit error // ErrMaxConcurrent with the limit, built once

	concurrent atomic.Int64
	robin      atomic.Uint32
	// spinning counts the UDP reads polling for their reply (spinRead).
	spinning atomic.Int32

	// mu guards the lifecycle: health-check goroutines are added to wg
	// only while started and not closed, so Close can wait for them.
	mu      sync.Mutex
	started bool
	closed  atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New checks cfg and returns a Forwarder ready for Exchange. Health
// checking and the sweeping of idle connections start with Start.
func New(cfg Config) (*Forwarder, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	addrs, err := upstreamAddrs(cfg.To)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	f := &Forwarder{cfg: cfg}
	for _, a := range addrs {
		f.ups = append(f.ups, newUpstream(a))
	}
	if cfg.MaxConcurrent > 0 {
		f.errLimit = fmt.Errorf("%w %d", ErrMaxConcurrent, cfg.MaxConcurrent)
	}
	return f, nil
}

// Upstreams returns the upstreams in configured order, as the metrics'
// `to` label writes them.
func (f *Forwarder) Upstreams() []string {
	out := make([]string, len(f.ups))
	for i, u := range f.ups {
		out[i] = u.to
	}
	return out
}

// Start starts health checking and the sweep of idle connections; both
// stop when ctx ends or at Close. Calling it again does nothing.
func (f *Forwarder) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started || f.closed.Load() {
		return
	}
	f.started = true
	f.ctx, f.cancel = context.WithCancel(ctx)
	f.wg.Add(1)
	go f.sweep(f.ctx)
}

// Close stops health checking, waits for the checks to end and closes the
// idle connections. Queries in flight finish; later ones get ErrClosed.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	if f.closed.Swap(true) {
		f.mu.Unlock()
		return nil
	}
	if f.cancel != nil {
		f.cancel()
	}
	f.mu.Unlock()
	f.wg.Wait()
	for _, u := range f.ups {
		u.closeIdle(time.Time{}, true)
	}
	return nil
}

// Match reports whether qname is forwarded: at or under From and not at
// or under an Except zone (From itself always is, as in CoreDNS).
func (f *Forwarder) Match(qname string) bool {
	if f.cfg.From == "." && len(f.cfg.Except) == 0 {
		return true
	}
	if !dns.IsSubDomain(f.cfg.From, qname) {
		return false
	}
	if strings.EqualFold(dns.Fqdn(qname), f.cfg.From) {
		return true
	}
	for _, e := range f.cfg.Except {
		if dns.IsSubDomain(e, qname) {
			return false
		}
	}
	return true
}

// Exchange forwards req, which came from a client over clientProto ("udp"
// or "tcp"), and returns the upstream's reply with req's ID. The caller
// checks Match first. req is not modified and may be shared. Errors: see
// Rcode for the answer each one stands for.
func (f *Forwarder) Exchange(ctx context.Context, req *dns.Msg, clientProto string) (*dns.Msg, error) {
	if f.closed.Load() {
		return nil, ErrClosed
	}
	q, err := f.newQuery(ctx, req, clientProto)
	if err != nil {
		return nil, err
	}
	if f.cfg.MaxConcurrent > 0 {
		n := f.concurrent.Add(1)
		defer f.concurrent.Add(-1)
		if n > int64(f.cfg.MaxConcurrent) {
			f.cfg.Recorder.MaxConcurrentReject()
			return nil, f.errLimit
		}
	}
	q.buf = bufPool.Get().(*[]byte)
	defer bufPool.Put(q.buf)
	var order [MaxUpstreams]uint8
	return f.try(ctx, &q, f.order(order[:0]))
}

// try is CoreDNS's retry loop (forward.go ServeDNS): walk the ordered
// upstreams, wrapping around, skipping the down ones, until a reply, the
// deadline, the context's end or the attempt cap.
func (f *Forwarder) try(ctx context.Context, q *query, order []uint8) (*dns.Msg, error) {
	var lastErr error
	var last *upstream
	fails, i, attempts := 0, 0, 0
	maxAttempts := f.cfg.MaxConnectAttempts
	for time.Now().Before(q.deadline) && ctx.Err() == nil && (maxAttempts == 0 || attempts < maxAttempts) {
		if i >= len(order) {
			i, fails = 0, 0
		}
		u := f.ups[order[i]]
		i++
		if u.down(f.cfg.MaxFails) {
			fails++
			if fails < len(f.ups) {
				continue
			}
			// All down: health checking is assumed broken, any will do.
			f.cfg.Recorder.HealthcheckBroken()
			u = f.ups[rand.IntN(len(f.ups))]
		}
		ret, err := f.attempt(ctx, q, u)
		if err == nil {
			return ret, nil
		}
		if errors.Is(err, ErrInvalidRequest) {
			return nil, err
		}
		lastErr, last = err, u
		if f.cfg.MaxFails != 0 {
			f.healthcheck(u)
		}
		if maxAttempts > 0 {
			if attempts++; attempts >= maxAttempts {
				break
			}
		}
		if fails >= len(f.ups) {
			break
		}
	}
	if lastErr != nil {
		return nil, &UpstreamError{Upstream: last.to, Err: lastErr}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoHealthy, err)
	}
	return nil, ErrNoHealthy
}

// attempt sends q to u, over TCP again when PreferUDP met a truncated UDP
// reply, and again at once when a pooled connection turned out closed.
func (f *Forwarder) attempt(ctx context.Context, q *query, u *upstream) (*dns.Msg, error) {
	p := q.proto(f.cfg.ForceTCP, f.cfg.PreferUDP)
	for {
		ret, err := f.connect(ctx, q, u, p)
		if errors.Is(err, errCachedClosed) && time.Now().Before(q.deadline) {
			continue
		}
		if err == nil && ret.Truncated && p == protoUDP && f.cfg.PreferUDP {
			p = protoTCP
			continue
		}
		return ret, err
	}
}

// order returns the indexes of the upstreams in the order the policy
// tries them, appended to buf (which has room for MaxUpstreams).
func (f *Forwarder) order(buf []uint8) []uint8 {
	n := len(f.ups)
	for i := range n {
		buf = append(buf, uint8(i))
	}
	switch f.cfg.Policy {
	case Random:
		// CoreDNS: a coin flip for two, a random permutation for more.
		if n == 2 {
			if rand.IntN(2) == 0 {
				buf[0], buf[1] = 1, 0
			}
			break
		}
		for i := n - 1; i > 0; i-- { // Fisher-Yates, no closure to escape buf
			j := rand.IntN(i + 1)
			buf[i], buf[j] = buf[j], buf[i]
		}
	case RoundRobin:
		// The counter's pick first, the others in configured order.
		first := uint8(f.robin.Add(1) % uint32(n))
		copy(buf[1:first+1], buf[:first])
		buf[0] = first
	}
	return buf
}
