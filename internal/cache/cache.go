// Package cache is CoreDNS 1.14.2's cache plugin for forwarded answers,
// with a hit path that allocates nothing.
//
// A Cache holds two fixed-capacity tables, success and denial, of packed
// replies. Get writes a cached reply for a query straight into the
// caller's buffer: the stored bytes with the client's ID, flags and
// question name, and every TTL set to the remaining one. Set takes the
// upstream's packed reply, rewrites its TTLs in place as CoreDNS's cache
// writer does to every reply it passes on, and stores a copy when CoreDNS
// would. The cache never forwards: Get's Status tells the caller when to
// forward, when to refresh an entry in the background (prefetch,
// serve_stale immediate) and when to ask the upstream before serving a
// stale entry (serve_stale verify).
//
// What is stored, under which key and for how long is CoreDNS 1.14.2's
// (plugin/cache): the key is DO, CD, type (and class) and the lower-cased
// name; the TTL is the message's smallest, clamped to [min, max]; a denial
// lives as long as its SOA record's TTL says; an upstream SERVFAIL is kept
// 5 s; truncated replies, REFUSED, FORMERR and an NXDOMAIN without SOA are
// never kept.
//
// Where this differs from CoreDNS 1.14.2, on purpose:
//   - The class is part of the key (CoreDNS from v1.14.7).
//   - A cached SERVFAIL does not shadow a servable answer (v1.14.4, #8003),
//     and storing an answer removes the denial for its key (CoreDNS does
//     so only after a prefetch), so a stale denial cannot outlive it.
//   - One background refresh per entry at a time (v1.14.3's CAS), with the
//     claim given up when the refresh fails (Unclaim) and lapsing after
//     5 s in any case, so that a failed refresh is retried.
//   - Owner names that the upstream compressed against the question read
//     in the client's case, since the client's name is written over the
//     stored question; CoreDNS repacks and shows the first filler's case.
//   - A full set evicts an entry that can no longer be served before a
//     random one; sets have 8 ways where CoreDNS's shards have 39.
//   - Keys are hashed with a per-cache seed, not unseeded FNV-64.
//
// EDNS is left to the caller: stored replies have no OPT record, and the
// reply Get writes has none; the caller appends its own (and truncates to
// the client's size) as it does for every answer.
package cache

import (
	"hash/maphash"
	"time"
)

// Cache is the cache plugin's state for one server block. It is safe for
// concurrent use.
type Cache struct {
	seed    maphash.Seed
	epoch   time.Time
	success *table
	denial  *table
	rec     Recorder

	// TTL bounds in seconds.
	successMin, successMax uint32
	denialMin, denialMax   uint32
	servfail               uint32

	prefetch    int
	prefetchGap int64 // nanoseconds
	percentage  int
	verify      bool
	keepTTL     bool

	disabled [2][][]byte // by Kind: lower-cased wire zones
}

// New returns an empty cache configured by cfg (see DefaultConfig).
func New(cfg Config) (*Cache, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cache{
		seed:        maphash.MakeSeed(),
		epoch:       time.Now(),
		rec:         cfg.Recorder,
		successMin:  seconds(cfg.SuccessMinTTL),
		successMax:  seconds(cfg.SuccessMaxTTL),
		denialMin:   seconds(cfg.DenialMinTTL),
		denialMax:   seconds(cfg.DenialMaxTTL),
		servfail:    seconds(cfg.ServfailTTL),
		prefetch:    cfg.Prefetch.Amount,
		prefetchGap: int64(cfg.Prefetch.Duration),
		percentage:  cfg.Prefetch.Percentage,
		verify:      cfg.ServeStale.Verify,
		keepTTL:     cfg.KeepTTL,
	}
	if c.rec == nil {
		c.rec = nopRecorder{}
	}
	stale := int64(cfg.ServeStale.Duration / time.Second)
	c.success = newTable(Success, capacity(cfg.SuccessCapacity), stale)
	c.denial = newTable(Denial, capacity(cfg.DenialCapacity), stale)
	var err error
	if c.disabled[Success], err = wireZones(cfg.DisableSuccess); err != nil {
		return nil, err
	}
	if c.disabled[Denial], err = wireZones(cfg.DisableDenial); err != nil {
		return nil, err
	}
	return c, nil
}

func seconds(d time.Duration) uint32 { return uint32(min(d/time.Second, 1<<32-1)) }

// Status is what Get found and what the caller should do.
type Status uint8

const (
	// Miss: nothing servable. Forward the query and Set the reply.
	Miss Status = iota
	// Hit: send the reply Get wrote.
	Hit
	// HitPrefetch: send the reply, and refresh the entry in the background
	// (forward the query and Set the reply). Only one caller at a time is
	// told to.
	HitPrefetch
	// Stale: send the reply, an expired entry served with TTL 0
	// (serve_stale immediate); a refresh is already under way.
	Stale
	// StaleRefresh: as Stale, and this caller should refresh the entry in
	// the background.
	StaleRefresh
	// Verify: the entry has expired and serve_stale is in verify mode.
	// Forward first; a NOERROR or NXDOMAIN reply is Set and sent. On any
	// other reply (do not Set it: CoreDNS discards it) or a failure, send
	// what GetStale writes. Get wrote nothing.
	Verify
)

// Serve reports whether Get wrote a reply to send.
func (s Status) Serve() bool { return s >= Hit && s <= StaleRefresh }

// Refresh reports whether the caller should refresh the entry in the
// background after sending the reply.
func (s Status) Refresh() bool { return s == HitPrefetch || s == StaleRefresh }

var statusNames = [...]string{"miss", "hit", "prefetch", "stale", "stale-refresh", "verify"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status?"
}

// now is t in nanoseconds since the cache's epoch (monotonic when t has a
// monotonic reading, as time.Now's has).
func (c *Cache) now(t time.Time) int64 { return int64(t.Sub(c.epoch)) }

// Get looks q up at now and, when there is a reply to send, appends it to
// buf[:0] and returns it (allocation-free when buf has the capacity: a
// stored reply is at most 65535 bytes). now may come from a clock read per
// batch of queries: TTLs count whole seconds.
//
// The lookup is CoreDNS's: the denial cache first, then the success
// cache, an entry counting when it is unexpired or within the serve_stale
// window; a cached SERVFAIL does not shadow a servable success entry (the
// v1.14.4 fix, #8003, which stops a failed prefetch from hiding a good
// answer).
func (c *Cache) Get(q *Query, now time.Time, buf []byte) ([]byte, Status) {
	var kb keyBuf
	k, ok := makeKey(c.seed, q, &kb)
	c.rec.Request()
	t := c.now(now)
	var e *entry
	if ok {
		e = c.lookup(&k, t)
	}
	if e == nil {
		c.rec.Miss()
		return nil, Miss
	}
	c.rec.Hit(e.kind)
	ttl := e.ttl(t)
	st := Hit
	switch {
	case ttl < 0 && c.verify:
		return nil, Verify
	case ttl < 0:
		// 1.14.2 serves an entry whose TTL is exactly 0 as fresh, with
		// TTL 0, and only a negative one as stale.
		c.rec.ServedStale()
		st, ttl = Stale, 0
		if e.tryClaim(t) {
			c.rec.Prefetch()
			st = StaleRefresh
		}
	case c.prefetch > 0 && e.due(t, c.prefetchGap, c.prefetch, ttl) && e.tryClaim(t):
		c.rec.Prefetch()
		st = HitPrefetch
	}
	return e.write(q, buf, c.replyTTL(e, ttl)), st
}

// GetStale writes the reply for q from an entry that is servable at now,
// expired or not, without counting a request: the answer to send after
// Verify when the upstream did not give a fresh one. ok is false when the
// entry has gone meanwhile (evicted, or past the serve_stale window).
func (c *Cache) GetStale(q *Query, now time.Time, buf []byte) (resp []byte, ok bool) {
	var kb keyBuf
	k, ok := makeKey(c.seed, q, &kb)
	if !ok {
		return nil, false
	}
	t := c.now(now)
	e := c.lookup(&k, t)
	if e == nil {
		return nil, false
	}
	ttl := e.ttl(t)
	if ttl < 0 {
		c.rec.ServedStale()
		ttl = 0
	}
	return e.write(q, buf, c.replyTTL(e, ttl)), true
}

// Unclaim gives up the refresh claim on q's entry after a refresh failed,
// so that the next stale or prefetch hit tries again: CoreDNS refreshes on
// every stale hit, and answers fresh again as soon as the upstream is
// back, where a claim held for its whole span would keep serving stale.
// One refresh per entry is still under way at a time.
func (c *Cache) Unclaim(q *Query, now time.Time) {
	var kb keyBuf
	k, ok := makeKey(c.seed, q, &kb)
	if !ok {
		return
	}
	if e := c.lookup(&k, c.now(now)); e != nil {
		e.claim.Store(noClaim)
	}
}

// replyTTL is the TTL a reply from e carries: ttl, or with keepttl the
// stored TTL (CoreDNS then pretends the entry was stored just now, stale
// or not).
func (c *Cache) replyTTL(e *entry, ttl int64) uint32 {
	if c.keepTTL {
		return uint32(e.origTTL)
	}
	return uint32(ttl)
}

// lookup returns the entry that answers k at now, or nil.
func (c *Cache) lookup(k *key, now int64) *entry {
	if e := c.denial.find(k); e != nil && c.denial.servable(e, now) {
		if e.rcode() == 2 { // SERVFAIL
			if p := c.success.find(k); p != nil && c.success.servable(p, now) {
				return p
			}
		}
		return e
	}
	if e := c.success.find(k); e != nil && c.success.servable(e, now) {
		return e
	}
	return nil
}

// Len returns the number of entries of a kind, expired ones included.
func (c *Cache) Len(k Kind) int { return c.table(k).len() }

func (c *Cache) table(k Kind) *table {
	if k == Denial {
		return c.denial
	}
	return c.success
}
