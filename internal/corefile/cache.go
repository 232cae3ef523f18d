package corefile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// CoreDNS 1.14.2's cache defaults (plugin/cache/cache.go:60-77 New, with the
// constants at cache.go:304-310 and plugin/pkg/dnsutil/ttl.go:47-51).
const (
	// DefaultCacheCapacity is asked of each cache (success and denial);
	// CoreDNS keeps 256 shards of max(n/256, 4): 9984 entries
	// (plugin/pkg/cache/cache.go:32-33).
	DefaultCacheCapacity = 10000
	DefaultSuccessMaxTTL = 3600 * time.Second // maxTTL = dnsutil.MaximumDefaultTTL
	DefaultDenialMaxTTL  = 1800 * time.Second // maxNTTL = MaximumDefaultTTL / 2
	DefaultCacheMinTTL   = 5 * time.Second    // minTTL, minNTTL = MinimalDefaultTTL
	DefaultServfailTTL   = 5 * time.Second    // failttl: minNTTL
	// DefaultPrefetchDuration and DefaultPrefetchPercentage: cache.go:73-74.
	DefaultPrefetchDuration   = time.Minute
	DefaultPrefetchPercentage = 10
	// DefaultServeStale is a bare serve_stale's DURATION (setup.go:178).
	DefaultServeStale = time.Hour
	// maxServfailTTL: setup.go:209-212 (RFC 2308).
	maxServfailTTL = 5 * time.Minute
)

// readCache: `cache [TTL] [ZONES...] { ... }` (plugin/cache/setup.go:40-261).
func readCache(b *ServerBlock, c *cursor) string {
	ca := &Cache{
		Pos:             c.pos(),
		SuccessCapacity: DefaultCacheCapacity, DenialCapacity: DefaultCacheCapacity,
		SuccessMaxTTL: DefaultSuccessMaxTTL, SuccessMinTTL: DefaultCacheMinTTL,
		DenialMaxTTL: DefaultDenialMaxTTL, DenialMinTTL: DefaultCacheMinTTL,
		ServfailTTL: DefaultServfailTTL,
		Prefetch:    Prefetch{Duration: DefaultPrefetchDuration, Percentage: DefaultPrefetchPercentage},
	}
	args := c.args()
	// setup.go:52-64: a first argument that is a number is the TTL of both
	// caches, anything else a zone.
	if len(args) > 0 {
		if ttl, err := strconv.Atoi(args[0]); err == nil {
			if ttl <= 0 {
				c.errorf(ca.Pos, "TTL %q: can not be zero or negative", args[0])
			} else {
				ca.SuccessMaxTTL = time.Duration(ttl) * time.Second
				ca.DenialMaxTTL = ca.SuccessMaxTTL
			}
			args = args[1:]
		}
	}
	ca.Zones = c.zonesOrBlock(ca.Pos, "zone", args, b)
	c.options(func(o option) { cacheOption(c, ca, o) })
	b.Cache = ca
	return describeCache(ca)
}

func cacheOption(c *cursor, ca *Cache, o option) {
	switch o.name {
	case "success":
		c.cacheClass(o, &ca.SuccessCapacity, &ca.SuccessMaxTTL, &ca.SuccessMinTTL)
	case "denial":
		c.cacheClass(o, &ca.DenialCapacity, &ca.DenialMaxTTL, &ca.DenialMinTTL)
	case "prefetch":
		c.prefetch(o, &ca.Prefetch)
	case "serve_stale":
		c.serveStale(o, &ca.ServeStale)
	case "servfail":
		if c.nargs(o, 1, 1) {
			d, ok := c.duration(o.pos, "servfail", o.args[0])
			if ok && d > maxServfailTTL {
				c.errorf(o.pos, "servfail %q: caching SERVFAIL responses over 5 minutes is not permitted", o.args[0])
			} else if ok {
				ca.ServfailTTL = d
			}
		}
	case "disable":
		c.disable(o, ca)
	case "keepttl":
		ca.KeepTTL = c.nargs(o, 0, 0)
	default:
		c.unknown(o)
	}
}

// cacheClass: `success|denial CAPACITY [TTL [MINTTL]]` (setup.go:71-134).
func (c *cursor) cacheClass(o option, size *int, maxTTL, minTTL *time.Duration) {
	if !c.nargs(o, 1, 3) {
		return
	}
	if n, ok := c.integer(o.pos, o.name+" capacity", o.args[0], 0, math.MaxInt32); ok {
		*size = int(n)
	}
	if len(o.args) > 1 {
		if n, ok := c.integer(o.pos, o.name+" TTL", o.args[1], 1, math.MaxInt32); ok {
			*maxTTL = time.Duration(n) * time.Second
		}
	}
	if len(o.args) > 2 {
		if n, ok := c.integer(o.pos, o.name+" minimum TTL", o.args[2], 0, math.MaxInt32); ok {
			*minTTL = time.Duration(n) * time.Second
		}
	}
}

// prefetch: `prefetch AMOUNT [DURATION [PERCENTAGE%]]` (setup.go:135-171).
func (c *cursor) prefetch(o option, p *Prefetch) {
	if !c.nargs(o, 1, 3) {
		return
	}
	if n, ok := c.integer(o.pos, "prefetch amount", o.args[0], 0, math.MaxInt32); ok {
		p.Amount = int(n)
	}
	if len(o.args) > 1 {
		if d, ok := c.duration(o.pos, "prefetch duration", o.args[1]); ok {
			p.Duration = d
		}
	}
	if len(o.args) > 2 {
		pct, found := strings.CutSuffix(o.args[2], "%")
		n, err := strconv.Atoi(pct)
		if !found || err != nil || n < 10 || n > 90 {
			c.errorf(o.pos, "prefetch percentage %q: want 10%% to 90%%", o.args[2])
			return
		}
		p.Percentage = n
	}
}

// serveStale: `serve_stale [DURATION [immediate|verify]]` (setup.go:173-196).
func (c *cursor) serveStale(o option, s *ServeStale) {
	if !c.nargs(o, 0, 2) {
		return
	}
	s.Duration = DefaultServeStale
	if len(o.args) > 0 {
		if d, ok := c.duration(o.pos, "serve_stale", o.args[0]); ok {
			s.Duration = d
		}
	}
	if len(o.args) > 1 {
		switch mode := strings.ToLower(o.args[1]); mode {
		case "immediate", "verify":
			s.Verify = mode == "verify"
		default:
			c.errorf(o.pos, "serve_stale refresh mode %q: want immediate or verify", o.args[1])
		}
	}
}

// disable: `disable success|denial [ZONES...]` (setup.go:214-242). The last
// line for a cache wins, as the zone list is replaced.
func (c *cursor) disable(o option, ca *Cache) {
	if !c.nargs(o, 1, -1) {
		return
	}
	zones := []string{"."}
	if len(o.args) > 1 {
		zones = nil
		for _, z := range o.args[1:] {
			if _, ok := dns.IsDomainName(z); !ok {
				c.errorf(o.pos, "invalid disabled zone %q", z)
				continue
			}
			zones = append(zones, canonical(z))
		}
	}
	switch o.args[0] {
	case "success":
		ca.DisableSuccess = zones
	case "denial":
		ca.DisableDenial = zones
	default:
		c.errorf(o.pos, "disable %q: want success or denial", o.args[0])
	}
}

func describeCache(ca *Cache) string {
	var s strings.Builder
	fmt.Fprintf(&s, "cache answers for %s: success %d entries, TTL %s-%s; denial %d entries, TTL %s-%s",
		strings.Join(ca.Zones, " "), capacity(ca.SuccessCapacity), dur(ca.SuccessMinTTL), dur(ca.SuccessMaxTTL),
		capacity(ca.DenialCapacity), dur(ca.DenialMinTTL), dur(ca.DenialMaxTTL))
	if len(ca.DisableSuccess) > 0 {
		fmt.Fprintf(&s, "; answers for %s not stored", strings.Join(ca.DisableSuccess, " "))
	}
	if len(ca.DisableDenial) > 0 {
		fmt.Fprintf(&s, "; denials for %s not stored", strings.Join(ca.DisableDenial, " "))
	}
	if ca.Prefetch.Amount > 0 {
		fmt.Fprintf(&s, "; prefetch after %d hits", ca.Prefetch.Amount)
	}
	if ca.ServeStale.Duration > 0 {
		fmt.Fprintf(&s, "; serve stale up to %s", dur(ca.ServeStale.Duration))
	}
	if ca.KeepTTL {
		s.WriteString("; TTLs kept")
	}
	return s.String()
}

// capacity is the number of entries CoreDNS keeps for a requested capacity:
// 256 shards of max(n/256, 4) (plugin/pkg/cache/cache.go:32-33).
func capacity(n int) int { return 256 * max(n/256, 4) }
