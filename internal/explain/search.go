package explain

import (
	"strconv"

	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/miekg/dns"
)

// ResolverSearch is the short-name expansion of a ClusterFirst pod, from the
// resolver models of package resolv (glibc getaddrinfo for A and AAAA, a
// res_search-style walk for other types), so that explain and resolve
// expand names alike. New sets it.
func ResolverSearch(zone string) SearchFunc {
	return func(name string, qtype uint16, namespace string, ndots int, ask func(string, uint16) (int, int)) ([]Query, string, int) {
		cfg := resolv.ClusterFirst(namespace, zone, resolv.DefaultClusterDNS)
		cfg.Options = []string{"ndots:" + strconv.Itoa(ndots)}
		m := resolv.Model{Libc: resolv.Glibc, Call: resolv.GetAddrInfo}
		if qtype != dns.TypeA && qtype != dns.TypeAAAA {
			m = resolv.Model{Libc: resolv.Glibc, Call: resolv.Dig, Type: qtype}
		}
		res := resolv.Simulate(cfg, name, m, ask)
		var qs []Query
		for _, q := range res.Queries {
			qs = append(qs, Query{Name: q.Name, Type: dns.TypeToString[q.Type], Rcode: q.RcodeString()})
		}
		return qs, res.ResolvedBy, res.Wasted
	}
}
