package corefile

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/coredns/caddy/caddyfile"
	"github.com/miekg/dns"
)

// defaultPort is CoreDNS's port for dns:// keys without one
// (plugin/pkg/transport/transport.go:17, core/dnsserver/register.go:79-82).
const defaultPort = 53

// parseKey reads a server block key: [dns://]ZONE[:PORT], ZONE possibly a
// reverse CIDR.
func parseKey(k string) ([]ZoneAddr, error) {
	if scheme, _, ok := strings.Cut(k, "://"); ok {
		if scheme != "dns" {
			return nil, fmt.Errorf("transport %s:// is not supported by clusterdns", scheme)
		}
		k = strings.TrimPrefix(k, "dns://")
	}
	hosts, port, err := splitHostPort(k)
	if err != nil {
		return nil, err
	}
	p := uint64(defaultPort)
	if port != "" {
		if p, err = strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("port %s: want 0 to 65535", port)
		}
	}
	out := make([]ZoneAddr, 0, len(hosts))
	for _, h := range hosts {
		// register.go:69-74 checks the fully qualified form too.
		if _, _, err := splitHostPort(dns.Fqdn(h)); err != nil {
			return nil, err
		}
		out = append(out, ZoneAddr{Zone: canonical(h), Port: uint16(p)})
	}
	return out, nil
}

// splitHostPort is CoreDNS's plugin.SplitHostPort (plugin/normalize.go:135-173):
// a trailing :NUMBER is the port, the rest a domain name or a reverse CIDR,
// which becomes its reverse zones.
func splitHostPort(s string) (hosts []string, port string, err error) {
	if colon := strings.LastIndex(s, ":"); colon >= 0 {
		if colon == len(s)-1 {
			return nil, "", fmt.Errorf("expecting data after last colon: %q", s)
		}
		if p, err := strconv.Atoi(s[colon+1:]); err == nil {
			port, s = strconv.Itoa(p), s[:colon]
		}
	}
	if len(s) > 255 {
		return nil, "", fmt.Errorf("zone is too long: %d > 255", len(s))
	}
	if _, ok := dns.IsDomainName(s); !ok || s == "" {
		return nil, "", fmt.Errorf("zone is not a valid domain name: %q", s)
	}
	if !strings.Contains(s, "/") {
		return []string{s}, port, nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return []string{s}, port, nil // a name with a slash, as CoreDNS keeps it
	}
	if s[0] == ':' || (s[0] == '0' && strings.Contains(s, ":")) {
		return nil, "", fmt.Errorf("invalid CIDR %s", s)
	}
	return reverseZones(pfx.Masked()), port, nil
}

// hostZones is plugin.Host(s).NormalizeExact (plugin/normalize.go:117-130),
// with its error kept.
func hostZones(s string) ([]string, error) {
	if scheme, rest, ok := strings.Cut(s, "://"); ok && knownTransport(scheme) {
		s = rest
	}
	hosts, _, err := splitHostPort(s)
	if err != nil {
		return nil, err
	}
	for i, h := range hosts {
		hosts[i] = canonical(h)
	}
	return hosts, nil
}

// knownTransport: the schemes plugin/pkg/parse/transport.go strips.
func knownTransport(s string) bool {
	switch s {
	case "dns", "tls", "quic", "grpc", "https", "https3", "unix":
		return true
	}
	return false
}

// canonical is plugin.Name.Normalize: lower case, fully qualified.
func canonical(s string) string { return strings.ToLower(dns.Fqdn(s)) }

// reverseZones are the reverse zones covering p, split on label
// boundaries (8 bits for IPv4, 4 for IPv6) as plugin/pkg/cidr splits them:
// 10.0.0.0/15 is 10.in-addr.arpa. and 11.in-addr.arpa..
func reverseZones(p netip.Prefix) []string {
	digit := 8
	if p.Addr().Is6() {
		digit = 4
	}
	bits := p.Bits()
	up := (bits + digit - 1) / digit * digit
	b := p.Addr().AsSlice()
	n := 1 << (up - bits) // at most 128 (IPv4) or 8 (IPv6)
	out := make([]string, 0, n)
	for range n {
		out = append(out, reverseZone(b, up, digit))
		if up > 0 {
			increment(b, up-1)
		}
	}
	return out
}

// increment adds one at bit position bit (0 the most significant) of b.
func increment(b []byte, bit int) {
	i := bit / 8
	add := 1 << (7 - bit%8)
	for ; i >= 0 && add > 0; i-- {
		sum := int(b[i]) + add
		b[i] = byte(sum)
		add = sum >> 8
	}
}

// reverseZone is the reverse name of the first bits of address b.
func reverseZone(b []byte, bits, digit int) string {
	var labels []string
	if digit == 8 {
		for i := bits/8 - 1; i >= 0; i-- {
			labels = append(labels, strconv.Itoa(int(b[i])))
		}
		return strings.Join(append(labels, "in-addr.arpa."), ".")
	}
	for i := bits/4 - 1; i >= 0; i-- {
		nib := b[i/2] >> 4
		if i%2 == 1 {
			nib = b[i/2] & 0xf
		}
		labels = append(labels, strconv.FormatUint(uint64(nib), 16))
	}
	return strings.Join(append(labels, "ip6.arpa."), ".")
}

// keyLines finds the line of each server block key in the Corefile: caddy
// keeps keys without positions. Keys are matched in order against the
// top-level tokens of the file; a key from an imported file is not found
// and gets a fallback position.
type keyLines struct {
	file   string
	tokens []caddyfile.Token
	next   int
}

func newKeyLines(name string, src []byte) *keyLines {
	d := caddyfile.NewDispenser(name, bytes.NewReader(src))
	k := &keyLines{file: name}
	depth := 0
	for d.Next() {
		switch v := d.Val(); {
		case v == "{":
			depth++
		case v == "}":
			depth = max(depth-1, 0)
		case depth == 0:
			text := strings.TrimSuffix(expandEnv(v), ",")
			k.tokens = append(k.tokens, caddyfile.Token{Line: d.Line(), Text: text})
		}
	}
	return k
}

func (k *keyLines) find(key string, fallback Pos) Pos {
	for i := k.next; i < len(k.tokens); i++ {
		if k.tokens[i].Text == key {
			k.next = i + 1
			return Pos{File: k.file, Line: k.tokens[i].Line}
		}
	}
	return fallback
}

// expandEnv replaces {$NAME} and {%NAME%} as caddy does in keys, only to
// find the keys' lines.
func expandEnv(s string) string {
	for _, delim := range [][2]string{{"{%", "%}"}, {"{$", "}"}} {
		for range 100 { // bounded: a value may contain another placeholder
			i := strings.Index(s, delim[0])
			if i < 0 {
				break
			}
			j := strings.Index(s[i:], delim[1])
			if j <= len(delim[0]) {
				break
			}
			ref := s[i : i+j+len(delim[1])]
			s = strings.ReplaceAll(s, ref, os.Getenv(ref[len(delim[0]):len(ref)-len(delim[1])]))
		}
	}
	return s
}
