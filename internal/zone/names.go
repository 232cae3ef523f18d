package zone

import (
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/miekg/dns"
)

// DashedIP is the label CoreDNS derives from an address for endpoints without
// a hostname: 10.244.1.5 -> "10-244-1-5", 2001:db8::1 -> "2001-db8--1", with
// "0" appended when the IPv6 form ends in a dash (2001:db8:: -> "2001-db8--0").
func DashedIP(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		return strings.ReplaceAll(a.Unmap().String(), ".", "-")
	}
	s := strings.ReplaceAll(a.String(), ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

// ParseDashedIP is the inverse of DashedIP as the pod-record rule reads it:
// exactly three dashes and no "--" is IPv4, anything else is IPv6.
func ParseDashedIP(label string) (netip.Addr, bool) {
	var s string
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		s = strings.ReplaceAll(label, "-", ".")
	} else {
		s = strings.ReplaceAll(label, "-", ":")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// maxPodNameLabel: pod names of 64 characters or more are never used as
// endpoint names (they are not DNS labels); the dashed IP is used instead.
const maxPodNameLabel = 63

// EndpointName is the label an endpoint address is published under below its
// service: the EndpointSlice hostname; else, with endpointPodNames, the name
// of the pod it targets; else the dashed IP. The second result names the
// field that decided it.
func EndpointName(ep *cluster.Endpoint, addr netip.Addr, endpointPodNames bool) (label, decidedBy string) {
	if ep.Hostname != "" {
		return strings.ToLower(ep.Hostname), "hostname"
	}
	if endpointPodNames && ep.TargetRef != nil && ep.TargetRef.Name != "" && len(ep.TargetRef.Name) <= maxPodNameLabel {
		return strings.ToLower(ep.TargetRef.Name), "targetRef.name"
	}
	return DashedIP(addr), "addresses"
}

// IsDNSLabel reports whether s can stand as one label of a name we publish:
// 1 to 63 characters of letters, digits, '-' and '_' (Kubernetes object names
// are stricter; labels may start with a digit, as the spec requires).
func IsDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// reverseName is the PTR owner name of an address (in-addr.arpa. or the
// full-nibble ip6.arpa. form), lower case.
func reverseName(a netip.Addr) string {
	r, _ := dns.ReverseAddr(a.Unmap().String())
	return strings.ToLower(r)
}

// AddrFromReverse parses an in-addr.arpa. or ip6.arpa. name that names one
// full address. It allocates nothing for a name in canonical form.
func AddrFromReverse(name string) (netip.Addr, bool) {
	name = strings.ToLower(dns.Fqdn(name))
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa."):
		rest := strings.TrimSuffix(name, ".in-addr.arpa.")
		var b [4]byte
		for i := range 4 {
			l, r, found := strings.Cut(rest, ".")
			v, ok := octet(l)
			if found == (i == 3) || !ok {
				return netip.Addr{}, false
			}
			b[3-i] = v
			rest = r
		}
		return netip.AddrFrom4(b), true
	case strings.HasSuffix(name, ".ip6.arpa."):
		rest := strings.TrimSuffix(name, ".ip6.arpa.")
		// 32 nibbles, one per label: "x.x. ... .x".
		if len(rest) != 63 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := range 32 {
			if i < 31 && rest[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			if !setNibble(&b, 31-i, rest[2*i]) {
				return netip.Addr{}, false
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// lowerASCII lower-cases A-Z only, keeping the length (DNS case folding).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// reversePrefix is the prefix of the addresses whose reverse names a
// reverse zone holds: "10.in-addr.arpa." is 10.0.0.0/8, "ip6.arpa." ::/0.
// It is invalid for a zone that is not whole octets or nibbles (RFC 2317
// classless names).
func reversePrefix(zone string) netip.Prefix {
	switch {
	case zone == "in-addr.arpa." || strings.HasSuffix(zone, ".in-addr.arpa."):
		labels := splitLabels(strings.TrimSuffix(zone, "in-addr.arpa."))
		if len(labels) > 4 {
			return netip.Prefix{}
		}
		var b [4]byte
		for i, l := range labels {
			v, ok := octet(l)
			if !ok {
				return netip.Prefix{}
			}
			b[len(labels)-1-i] = v
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(labels))
	case zone == "ip6.arpa." || strings.HasSuffix(zone, ".ip6.arpa."):
		labels := splitLabels(strings.TrimSuffix(zone, "ip6.arpa."))
		if len(labels) > 32 {
			return netip.Prefix{}
		}
		var b [16]byte
		for i, l := range labels {
			// Labels run from the last nibble to the first.
			if len(l) != 1 || !setNibble(&b, len(labels)-1-i, l[0]) {
				return netip.Prefix{}
			}
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), 4*len(labels))
	}
	return netip.Prefix{}
}

// octet parses a decimal label of 0 to 255 without leading zeros.
func octet(l string) (byte, bool) {
	if len(l) == 0 || len(l) > 3 || (len(l) > 1 && l[0] == '0') {
		return 0, false
	}
	v := 0
	for _, c := range []byte(l) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

// setNibble sets the pos-th nibble (from the left) of b to the lower-case
// hex digit c, reporting whether c is one.
func setNibble(b *[16]byte, pos int, c byte) bool {
	var v byte
	switch {
	case c >= '0' && c <= '9':
		v = c - '0'
	case c >= 'a' && c <= 'f':
		v = c - 'a' + 10
	default:
		return false
	}
	if pos%2 == 0 {
		b[pos/2] |= v << 4
	} else {
		b[pos/2] |= v
	}
	return true
}
