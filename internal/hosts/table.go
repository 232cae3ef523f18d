package hosts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Limits on one hosts file; the inline entries count towards MaxEntries too.
const (
	// MaxFileSize bounds what is read, and so the time and memory one
	// reload takes.
	MaxFileSize = 64 << 20
	// MaxEntries bounds the names kept (one per address and name pair),
	// and so the memory: about 200 bytes each with its PTR, twice that
	// once asked for (measured with 200,000 distinct addresses), so some
	// 200 to 400 MiB at the limit.
	MaxEntries = 1 << 20
)

// maxEntries is MaxEntries, lowered by tests.
var maxEntries = MaxEntries

var (
	errTooLarge       = fmt.Errorf("larger than %d bytes", MaxFileSize)
	errTooManyEntries = fmt.Errorf("more than %d entries", MaxEntries)
)

// table is one immutable lookup table: the file's entries, then the
// inline ones. Its record sets are built when first asked for.
type table struct {
	names map[string]*host
	addrs map[netip.Addr]*reverse
	// entries is CoreDNS's Map.Len summed over file and inline: names per
	// address plus, unless no_reverse, addresses per name.
	entries int
	// mod is the file's modification time when read; zero without one.
	mod time.Time
}

// host is a name's addresses, in table order.
type host struct {
	v4, v6  []netip.Addr
	a, aaaa atomic.Pointer[rrset]
}

// reverse is an address's names, in table order.
type reverse struct {
	names []string
	ptr   atomic.Pointer[rrset]
}

// builder fills a table as hostsfile.go's parse fills a Map, both sources
// into one so that each name's addresses come file first, inline second.
type builder struct {
	zones   []string
	reverse bool
	t       *table
	kept    int // address and name pairs, against MaxEntries
}

func newBuilder(zones []string, withPTR bool) *builder {
	return &builder{zones: zones, reverse: withPTR, t: &table{
		names: make(map[string]*host),
		addrs: make(map[netip.Addr]*reverse),
	}}
}

// add enters name (as written) for addr, which parseAddr returned.
func (b *builder) add(addr netip.Addr, name string) error {
	// plugin.Name.Normalize (plugin/normalize.go:59).
	name = strings.ToLower(dns.Fqdn(name))
	if !queryable(name) || !inAnyZone(b.zones, name) {
		return nil
	}
	if b.kept >= maxEntries {
		return errTooManyEntries
	}
	b.kept++
	h := b.t.names[name]
	if h == nil {
		h = new(host)
		b.t.names[name] = h
	}
	if addr.Is4() {
		h.v4 = append(h.v4, addr)
	} else {
		h.v6 = append(h.v6, addr)
	}
	b.t.entries++
	if !b.reverse {
		return nil
	}
	r := b.t.addrs[addr]
	if r == nil {
		r = new(reverse)
		b.t.addrs[addr] = r
	}
	r.names = append(r.names, name)
	b.t.entries++
	return nil
}

// queryable reports whether a question could ask for name: a valid domain
// name, still fully qualified after dns.Fqdn (which leaves "a\\" as "a\\.",
// an escaped dot). CoreDNS keeps other names too, where no query finds
// them.
func queryable(name string) bool {
	_, ok := dns.IsDomainName(name)
	return ok && dns.IsFqdn(name)
}

// parseAddr reads a hosts line's address as hostsfile.go:23-30 and
// :169-179 do: everything from a '%' (an IPv6 zone) dropped, then
// net.ParseIP, whose IPv4-mapped addresses are IPv4 (To4).
func parseAddr(s string) (netip.Addr, bool) {
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseHostsFile reads r into b line by line as hostsfile.go:155-203. A
// line over bufio.MaxScanTokenSize ends the reading, as in CoreDNS, with
// an error wrapping bufio.ErrTooLong; what was read before it is in b.
func parseHostsFile(r io.Reader, b *builder) error {
	lr := &io.LimitedReader{R: r, N: MaxFileSize + 1}
	sc := bufio.NewScanner(lr)
	line := 0
	for sc.Scan() {
		line++
		if err := b.line(sc.Bytes()); err != nil {
			return err
		}
	}
	if lr.N <= 0 {
		return errTooLarge
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: %w: the lines after it are ignored, as CoreDNS ignores them", line+1, err)
		}
		return err
	}
	return nil
}

// line enters one line of a hosts file.
func (b *builder) line(l []byte) error {
	if i := bytes.IndexByte(l, '#'); i >= 0 {
		l = l[:i]
	}
	f := bytes.Fields(l)
	if len(f) < 2 {
		return nil
	}
	addr, ok := parseAddr(string(f[0]))
	if !ok {
		return nil
	}
	for _, n := range f[1:] {
		if err := b.add(addr, string(n)); err != nil {
			return err
		}
	}
	return nil
}

// inAnyZone is plugin.Zones.Matches(name) != "" (plugin/normalize.go:25-36)
// for canonical names and zones.
func inAnyZone(zones []string, name string) bool {
	for _, z := range zones {
		if isSubDomain(z, name) {
			return true
		}
	}
	return false
}

// isSubDomain is dns.IsSubDomain for lower-case, fully qualified names,
// without its allocation: the query path calls it.
func isSubDomain(parent, child string) bool {
	switch {
	case parent == "." || parent == child:
		return true
	case len(child) <= len(parent) || !strings.HasSuffix(child, parent):
		return false
	}
	// The octet before parent must end a label: a dot not escaped by an
	// odd run of backslashes.
	i := len(child) - len(parent) - 1
	if child[i] != '.' {
		return false
	}
	bs := 0
	for j := i - 1; j >= 0 && child[j] == '\\'; j-- {
		bs++
	}
	return bs%2 == 0
}
