package corefile

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// CoreDNS 1.14.2's forward defaults.
const (
	// DefaultMaxFails: plugin/forward/forward.go:71 (New, maxfails: 2).
	DefaultMaxFails = 2
	// DefaultExpire: forward.go:30.
	DefaultExpire = 10 * time.Second
	// DefaultHealthCheck: forward.go:31 (hcInterval).
	DefaultHealthCheck = 500 * time.Millisecond
	// MaxUpstreams: plugin/forward/setup.go:412 (max = 15).
	MaxUpstreams = 15
)

// forwardUnsupported are forward options of CoreDNS (1.14.2's
// plugin/forward/setup.go:222-407, and later 1.14 releases' read_timeout,
// max_age, next_on_nodata, resolver, source_address) that clusterdns does
// not implement: TLS upstreams and the rcode-driven chaining.
var forwardUnsupported = map[string]bool{
	"tls": true, "tls_servername": true, "next": true, "failover": true,
	"failfast_all_unhealthy_upstreams": true, "read_timeout": true,
	"max_age": true, "next_on_nodata": true, "resolver": true, "source_address": true,
}

// readForward: `forward FROM TO... { ... }` (plugin/forward/setup.go:127-220).
func readForward(b *ServerBlock, c *cursor) string {
	f := Forward{
		Pos: c.pos(), Policy: PolicyRandom, MaxFails: DefaultMaxFails,
		Expire: DefaultExpire, HealthCheck: DefaultHealthCheck, HealthCheckDomain: ".",
	}
	args := c.args()
	if len(args) < 2 {
		c.errorf(f.Pos, "want FROM and at least one TO, got %d argument(s)", len(args))
	}
	if len(args) > 0 {
		// setup.go:134-141: a CIDR FROM that expands to several zones uses
		// the first.
		if zs := c.zones(f.Pos, "FROM", args[:1]); len(zs) > 0 {
			f.From = zs[0]
		}
	}
	for _, t := range args[min(1, len(args)):] {
		u, err := parseUpstream(t)
		if err != nil {
			c.errorf(f.Pos, "TO %q: %v", t, err)
			continue
		}
		f.To = append(f.To, u)
	}
	if n := countAddrs(f.To); n > MaxUpstreams {
		c.errorf(f.Pos, "more than %d TOs configured: %d", MaxUpstreams, n)
	}
	c.options(func(o option) { forwardOption(c, &f, o) })
	b.Forwards = append(b.Forwards, f)
	return describeForward(&f)
}

func countAddrs(us []Upstream) int {
	n := 0
	for _, u := range us {
		if u.File == "" {
			n++
		}
	}
	return n
}

// parseUpstream reads a TO as plugin/pkg/parse/host.go:32-90 does: an
// address, [dns://]IP[:PORT], or else a resolv.conf file. Only plain DNS
// is supported. Something that looks like an address but is not one is an
// error here rather than a file that is not found later.
func parseUpstream(s string) (Upstream, error) {
	host := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme != "dns" {
			return Upstream{}, fmt.Errorf("transport %s:// is not supported by clusterdns", scheme)
		}
		host = rest
	}
	if host == "" {
		return Upstream{}, fmt.Errorf("invalid address")
	}
	if ap, err := netip.ParseAddrPort(host); err == nil {
		if ap.Port() == 0 {
			return Upstream{}, fmt.Errorf("port 0")
		}
		return Upstream{Addr: ap}, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return Upstream{Addr: netip.AddrPortFrom(a, defaultPort)}, nil
	}
	if host != s || looksLikeAddr(host) {
		return Upstream{}, fmt.Errorf("not an IP address or IP:PORT")
	}
	return Upstream{File: s}, nil
}

// looksLikeAddr: only the characters of an IP address and port.
func looksLikeAddr(s string) bool {
	return strings.Trim(s, "0123456789abcdefABCDEF.:[]%") == ""
}

func forwardOption(c *cursor, f *Forward, o option) {
	switch o.name {
	case "except":
		if c.nargs(o, 1, -1) {
			f.Except = append(f.Except, c.zones(o.pos, "except zone", o.args)...)
		}
	case "force_tcp", "prefer_udp":
		if c.nargs(o, 0, 0) {
			f.ForceTCP = f.ForceTCP || o.name == "force_tcp"
			f.PreferUDP = f.PreferUDP || o.name == "prefer_udp"
		}
	case "policy":
		if c.nargs(o, 1, 1) {
			f.Policy = c.policy(o)
		}
	case "max_fails", "max_connect_attempts":
		if c.nargs(o, 1, 1) {
			n, _ := c.integer(o.pos, o.name, o.args[0], 0, math.MaxUint32)
			if o.name == "max_fails" {
				f.MaxFails = uint32(n)
			} else {
				f.MaxConnectAttempts = uint32(n)
			}
		}
	case "max_concurrent", "max_idle_conns":
		if c.nargs(o, 1, 1) {
			n, _ := c.integer(o.pos, o.name, o.args[0], 0, math.MaxInt32)
			if o.name == "max_concurrent" {
				f.MaxConcurrent = int(n)
			} else {
				f.MaxIdleConns = int(n)
			}
		}
	case "expire":
		if c.nargs(o, 1, 1) {
			f.Expire, _ = c.duration(o.pos, "expire", o.args[0])
		}
	case "health_check":
		healthCheck(c, f, o)
	default:
		if forwardUnsupported[o.name] {
			c.unsupported(o)
			return
		}
		c.unknown(o)
	}
}

func (c *cursor) policy(o option) Policy {
	for _, p := range []Policy{PolicyRandom, PolicyRoundRobin, PolicySequential} {
		if o.args[0] == p.String() {
			return p
		}
	}
	c.errorf(o.pos, "unknown policy %q: want random, round_robin or sequential", o.args[0])
	return PolicyRandom
}

// healthCheck: `health_check D [no_rec] [domain NAME]` (setup.go:251-281).
func healthCheck(c *cursor, f *Forward, o option) {
	if !c.nargs(o, 1, -1) {
		return
	}
	f.HealthCheck, _ = c.duration(o.pos, "health_check", o.args[0])
	f.HealthCheckDomain = "."
	for i := 1; i < len(o.args); i++ {
		switch o.args[i] {
		case "no_rec":
			f.HealthCheckNoRec = true
		case "domain":
			i++
			if i == len(o.args) {
				c.errorf(o.pos, "health_check domain needs a name")
				return
			}
			if _, ok := dns.IsDomainName(o.args[i]); !ok {
				c.errorf(o.pos, "health_check domain %q is not a domain name", o.args[i])
				continue
			}
			f.HealthCheckDomain = canonical(o.args[i])
		default:
			c.errorf(o.pos, "health_check: unknown option %q", o.args[i])
		}
	}
}

func describeForward(f *Forward) string {
	var s strings.Builder
	to := make([]string, len(f.To))
	for i, u := range f.To {
		to[i] = u.String()
		if u.File != "" {
			to[i] = "the nameservers of " + u.File
		}
	}
	fmt.Fprintf(&s, "forward names under %s to %s; policy %v", f.From, strings.Join(to, ", "), f.Policy)
	if len(f.Except) > 0 {
		fmt.Fprintf(&s, "; except %s", strings.Join(f.Except, " "))
	}
	switch {
	case f.ForceTCP:
		s.WriteString("; always TCP")
	case f.PreferUDP:
		s.WriteString("; always UDP, TCP on truncation")
	}
	if f.MaxConcurrent > 0 {
		fmt.Fprintf(&s, "; at most %d in flight (REFUSED beyond)", f.MaxConcurrent)
	}
	if f.MaxFails == 0 {
		s.WriteString("; upstreams never marked down")
	} else {
		fmt.Fprintf(&s, "; upstream down after %d failed checks every %s", f.MaxFails+1, dur(f.HealthCheck))
	}
	return s.String()
}
