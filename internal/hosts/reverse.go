package hosts

import (
	"net/netip"
	"slices"
	"strings"
)

const (
	ip4arpa = ".in-addr.arpa."
	ip6arpa = ".ip6.arpa."
)

// reverseAddr is the address whose names a PTR query for qname (lower
// case) gets: CoreDNS's dnsutil.ExtractAddressFromReverse
// (plugin/pkg/dnsutil/reverse.go:13-72) followed by the parse in
// LookupStaticAddr (hostsfile.go:240-244).
//
// The usual names (four decimal labels, or 32 nibbles) are read without
// allocating. Any other name that could still make an address is handed to
// a literal port of CoreDNS's code, quirks included: in ip6.arpa. labels
// are regrouped four by four whatever their length, and labels left over
// are ignored.
func reverseAddr(qname string) (netip.Addr, bool) {
	switch {
	case strings.HasSuffix(qname, ip4arpa):
		rest := qname[:len(qname)-len(ip4arpa)]
		if a, ok := fastReverse4(rest); ok {
			return a, true
		}
		if !addrChars(rest) {
			return netip.Addr{}, false
		}
		return slowReverse4(rest)
	case strings.HasSuffix(qname, ip6arpa):
		rest := qname[:len(qname)-len(ip6arpa)]
		if a, ok := fastReverse6(rest); ok {
			return a, true
		}
		if !addrChars(skipExtraLabels(rest)) {
			return netip.Addr{}, false
		}
		return slowReverse6(rest)
	}
	return netip.Addr{}, false
}

// skipExtraLabels drops the leading labels of an ip6.arpa. name that
// reverse6 ignores: those past the last whole group of four.
func skipExtraLabels(s string) string {
	for extra := (strings.Count(s, ".") + 1) % 4; extra > 0; extra-- {
		s = s[strings.IndexByte(s, '.')+1:]
	}
	return s
}

// addrChars reports whether s has only octets net.ParseIP could accept in
// an address without a zone (which LookupStaticAddr's parse rejects).
// Names with others are no address, without the slow path's allocations.
func addrChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// fastReverse4 reads "D.C.B.A" as A.B.C.D when each label is an octet in
// the form net.ParseIP takes: one to three digits, no leading zero, 255 at
// most.
func fastReverse4(s string) (netip.Addr, bool) {
	var b [4]byte
	for i := 3; i >= 0; i-- {
		end := strings.IndexByte(s, '.')
		if i == 0 {
			end = len(s)
		}
		if end < 1 || end > 3 || (end > 1 && s[0] == '0') {
			return netip.Addr{}, false
		}
		v := 0
		for _, c := range []byte(s[:end]) {
			if c < '0' || c > '9' {
				return netip.Addr{}, false
			}
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
		if i > 0 {
			s = s[end+1:]
		}
	}
	return netip.AddrFrom4(b), true
}

// fastReverse6 reads 32 one-nibble labels, least significant first.
func fastReverse6(s string) (netip.Addr, bool) {
	if len(s) != 63 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for k := 0; k < 32; k++ {
		if k < 31 && s[2*k+1] != '.' {
			return netip.Addr{}, false
		}
		v, ok := nibble(s[2*k])
		if !ok {
			return netip.Addr{}, false
		}
		j := 31 - k // nibble index in the address, most significant first
		if j%2 == 0 {
			b[j/2] |= v << 4
		} else {
			b[j/2] |= v
		}
	}
	// IPv4-mapped addresses are their IPv4 address (net.IP.String).
	return netip.AddrFrom16(b).Unmap(), true
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// slowReverse4 is dnsutil/reverse.go:43-53 then hostsfile.go:241: the labels
// reversed and joined, net.ParseIP(...).To4().
func slowReverse4(s string) (netip.Addr, bool) {
	labels := strings.Split(s, ".")
	slices.Reverse(labels)
	a, ok := parseIP(strings.Join(labels, "."))
	if !ok || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// slowReverse6 is dnsutil/reverse.go:58-72 then hostsfile.go:241: the labels
// reversed, joined four by four (a remainder dropped), the groups joined
// with ':', net.ParseIP(...).To16().
func slowReverse6(s string) (netip.Addr, bool) {
	labels := strings.Split(s, ".")
	slices.Reverse(labels)
	groups := make([]string, 0, len(labels)/4)
	for i := range len(labels) / 4 {
		groups = append(groups, strings.Join(labels[i*4:i*4+4], ""))
	}
	return parseIP(strings.Join(groups, ":"))
}

// parseIP is net.ParseIP as an unmapped netip.Addr: no zone allowed.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
