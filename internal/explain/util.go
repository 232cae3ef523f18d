package explain

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// nearest returns the candidates within a small edit distance of s, closest
// first: the near misses a typo leaves.
func nearest(s string, candidates []string) []string {
	s = strings.ToLower(s)
	type scored struct {
		c string
		d int
	}
	var out []scored
	limit := 2
	if len(s) > 8 {
		limit = 3
	}
	seen := map[string]bool{}
	for _, c := range candidates {
		c = strings.ToLower(c)
		if c == s || seen[c] {
			continue
		}
		seen[c] = true
		d := editDistance(s, c)
		if d <= limit || (len(s) >= 3 && (strings.HasPrefix(c, s) || strings.HasPrefix(s, c))) {
			out = append(out, scored{c, d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].c < out[j].c
	})
	var names []string
	for i, x := range out {
		if i == 3 {
			break
		}
		names = append(names, x.c)
	}
	return names
}

// editDistance is the Levenshtein distance.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func addrs(as []netip.Addr) string {
	if len(as) == 0 {
		return "(none)"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func hasFamily(as []netip.Addr, qt uint16) bool {
	for _, a := range as {
		if zone.AddrType(a) == qt {
			return true
		}
	}
	return false
}

func familyName(qt uint16) string {
	if qt == dns.TypeAAAA {
		return "IPv6"
	}
	return "IPv4"
}

func names(ports []cluster.ServicePort) []string {
	var out []string
	for _, p := range ports {
		if p.Name != "" {
			out = append(out, p.Name)
		}
	}
	return out
}

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
