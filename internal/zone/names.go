package zone

import (
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

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
	return schema.DashedIP(addr), "addresses"
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
	p := reversePrefix(strings.ToLower(dns.Fqdn(name)))
	if !p.IsValid() || !p.IsSingleIP() {
		return netip.Addr{}, false
	}
	return p.Addr(), true
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

// reversePrefix is the prefix of the addresses whose reverse names are at
// or below a reverse name (canonical form): "10.in-addr.arpa." is
// 10.0.0.0/8, "ip6.arpa." ::/0, a full address's name that address alone.
// It is invalid for a name that is not whole octets or nibbles (RFC 2317
// classless names, malformed labels). It allocates nothing.
func reversePrefix(name string) netip.Prefix {
	switch {
	case name == "in-addr.arpa." || strings.HasSuffix(name, ".in-addr.arpa."):
		// Labels run from the last octet to the first.
		rest := strings.TrimSuffix(name, "in-addr.arpa.")
		n := strings.Count(rest, ".")
		if n > 4 {
			return netip.Prefix{}
		}
		var b [4]byte
		for i := range n {
			l, r, _ := strings.Cut(rest, ".")
			v, ok := octet(l)
			if !ok {
				return netip.Prefix{}
			}
			b[n-1-i] = v
			rest = r
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), 8*n)
	case name == "ip6.arpa." || strings.HasSuffix(name, ".ip6.arpa."):
		// One nibble a label, from the last to the first.
		rest := strings.TrimSuffix(name, "ip6.arpa.")
		n := strings.Count(rest, ".")
		if n > 32 || len(rest) != 2*n {
			return netip.Prefix{}
		}
		var b [16]byte
		for i := range n {
			if rest[2*i+1] != '.' || !setNibble(&b, n-1-i, rest[2*i]) {
				return netip.Prefix{}
			}
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), 4*n)
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
