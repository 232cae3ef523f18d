package corefile

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// CoreDNS 1.14.2's hosts defaults.
const (
	// DefaultHostsFile: plugin/hosts/setup.go:73; read even when only
	// inline entries are given.
	DefaultHostsFile = "/etc/hosts"
	// DefaultHostsTTL and DefaultHostsReload: plugin/hosts/hostsfile.go:44-50.
	DefaultHostsTTL    = 3600
	DefaultHostsReload = 5 * time.Second
)

// readHosts: `hosts [FILE [ZONES...]] { ENTRIES; ttl; no_reverse; reload;
// fallthrough }` (plugin/hosts/setup.go:68-157).
func readHosts(b *ServerBlock, c *cursor) string {
	h := &Hosts{Pos: c.pos(), File: DefaultHostsFile, TTL: DefaultHostsTTL, Reload: DefaultHostsReload}
	args := c.args()
	if len(args) > 0 {
		h.File, args = args[0], args[1:]
	}
	h.Zones = c.zonesOrBlock(h.Pos, "zone", args, b)
	c.options(func(o option) { hostsOption(c, h, o) })
	b.Hosts = h
	s := fmt.Sprintf("answer names under %s from %s", strings.Join(h.Zones, " "), h.File)
	if len(h.Entries) > 0 {
		s += fmt.Sprintf(" and %d inline entries", len(h.Entries))
	}
	if h.Reload > 0 {
		s += fmt.Sprintf(" (re-read every %s)", dur(h.Reload))
	}
	s += fmt.Sprintf("; ttl %d", h.TTL)
	if !h.NoReverse {
		s += "; with PTR records"
	}
	if len(h.Fallthrough) > 0 {
		s += fmt.Sprintf("; names not found in %s go on", strings.Join(h.Fallthrough, " "))
	}
	return s
}

func hostsOption(c *cursor, h *Hosts, o option) {
	switch o.name {
	case "fallthrough":
		h.Fallthrough = c.fallthroughZones(o)
	case "no_reverse":
		h.NoReverse = true
	case "ttl":
		if c.nargs(o, 1, -1) {
			// setup.go:126: 1 to 65535.
			if n, ok := c.integer(o.pos, "ttl", o.args[0], 1, math.MaxUint16); ok {
				h.TTL = uint32(n)
			}
		}
	case "reload":
		if c.nargs(o, 1, 1) {
			h.Reload, _ = c.duration(o.pos, "reload", o.args[0])
		}
	default:
		// CoreDNS takes any other line as an entry until a fallthrough
		// line has been read (setup.go:143-149).
		if len(h.Fallthrough) > 0 {
			c.unknown(o)
			return
		}
		hostsEntry(c, h, o)
	}
}

// hostsEntry reads an inline `ADDRESS NAMES...` line as hostsfile.go:155-203
// reads a hosts line, except that a line that is not one is reported
// instead of dropped: it is a typo of an option more often than not.
func hostsEntry(c *cursor, h *Hosts, o option) {
	addr, err := netip.ParseAddr(o.name)
	if err != nil || len(o.args) == 0 {
		c.errorf(o.pos, "%q is neither an option nor an ADDRESS NAMES... entry", strings.Join(append([]string{o.name}, o.args...), " "))
		return
	}
	e := HostsEntry{Pos: o.pos, Addr: addr.WithZone("")}
	for _, n := range o.args {
		if _, ok := dns.IsDomainName(n); !ok {
			c.errorf(o.pos, "entry name %q is not a domain name", n)
			continue
		}
		// hostsfile.go:183-186: names outside the plugin's zones are ignored.
		if name := canonical(n); matchesAny(h.Zones, name) {
			e.Names = append(e.Names, name)
		}
	}
	if len(e.Names) > 0 {
		h.Entries = append(h.Entries, e)
	}
}

func matchesAny(zones []string, name string) bool {
	for _, z := range zones {
		if dns.IsSubDomain(z, name) {
			return true
		}
	}
	return false
}
