package zone

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Lookup answers a question from the snapshot. qname may have any case and
// may lack the trailing dot. A name outside every served zone gets
// Rcode REFUSED and an empty Zone.
//
// The rules, in order: a name that exists answers its records of the type,
// or NODATA (an ExternalName follows its CNAME inside the zone for A and
// AAAA, and answers NODATA for the other types but CNAME, as CoreDNS does); SOA below an apex is NODATA even for a name that does not exist
// (CoreDNS); the few names that cannot be listed ahead (pod records in
// insecure mode, port labels without their underscore or empty) are worked
// out now; everything else is NXDOMAIN.
func (s *Snapshot) Lookup(qname string, qtype uint16) *Answer {
	return s.LookupCanonical(lowerASCII(dns.Fqdn(qname)), qtype)
}

// LookupCanonical is Lookup for a name already in canonical form (lower
// case, fully qualified). It does not retain name, so a server may pass a
// string that aliases its receive buffer.
func (s *Snapshot) LookupCanonical(name string, qtype uint16) *Answer {
	z := s.zoneOf(name)
	if z == nil {
		return &Answer{Rcode: dns.RcodeRefused}
	}
	if n := s.find(name, z); n != nil {
		if a := n.answers.get(qtype); a != nil {
			return a
		}
		if n.kind == KindService && n.service.Type == "ExternalName" && (qtype == dns.TypeA || qtype == dns.TypeAAAA) {
			return s.chase(n, qtype)
		}
		return z.nodata
	}
	if qtype == dns.TypeSOA {
		return z.nodata
	}
	if !z.reverse {
		if a := s.dynamic(strings.Clone(name), qtype, z); a != nil {
			return a
		}
	}
	return z.nxdomain
}

// find returns the listed name, or nil. It allocates nothing.
func (s *Snapshot) find(name string, z *servedZone) *node {
	if n := s.static[name]; n != nil {
		return n
	}
	if z.reverse {
		ip, ok := AddrFromReverse(name)
		if !ok {
			return nil
		}
		if set := s.ptrs.get(ip); set != nil {
			return set.node
		}
		return nil
	}
	rel := name[:len(name)-len(z.name)] // "a.b.svc." or "x.ns.pod."
	switch {
	case strings.HasSuffix(rel, ".svc."):
		r := rel[:len(rel)-len("svc.")] // "...<svc>.<ns>."
		nsStart := strings.LastIndexByte(r[:len(r)-1], '.') + 1
		if nsStart == 0 {
			return nil
		}
		svcStart := strings.LastIndexByte(r[:nsStart-1], '.') + 1
		if f := s.services.get(r[svcStart : len(r)-1]); f != nil {
			return f.nodes[name]
		}
	case strings.HasSuffix(rel, ".pod."):
		r := rel[:len(rel)-len("pod.")]
		if strings.Count(r, ".") != 2 {
			return nil
		}
		if set := s.pods.get(r[:len(r)-1]); set != nil {
			return set.nodes[z.name]
		}
	}
	return nil
}

// Exists reports whether the name exists in a served zone (NODATA rather than
// NXDOMAIN for the types it has no records of).
func (s *Snapshot) Exists(qname string) bool {
	a := s.Lookup(qname, dns.TypeA)
	return a.Zone != "" && a.Rcode == dns.RcodeSuccess
}

// Kind returns what kind of name qname is, 0 if it is not a listed name.
func (s *Snapshot) Kind(qname string) NodeKind {
	name := lowerASCII(dns.Fqdn(qname))
	z := s.zoneOf(name)
	if z == nil {
		return 0
	}
	if n := s.find(name, z); n != nil {
		return n.kind
	}
	return 0
}

// maxChase bounds CNAME chains inside the zone, as CoreDNS.
const maxChase = 10

// chase is the answer of an ExternalName service for an address query: the CNAME, followed inside the served zones as far as it leads. A
// target outside the zones is left to the client's resolver. It is worked
// out per query because the target is another service, which changes on
// its own.
func (s *Snapshot) chase(n *node, qtype uint16) *Answer {
	a := &Answer{Zone: n.zone.name}
	seen := map[string]bool{}
	cur := n
	for range maxChase {
		cn := cur.answers.get(dns.TypeCNAME)
		if cn == nil {
			break
		}
		a.Answer = append(a.Answer, cn.Answer...)
		seen[cur.name] = true
		target := lowerASCII(cn.Answer[0].RR.(*dns.CNAME).Target)
		tz := s.zoneOf(target)
		if seen[target] || tz == nil || tz.reverse {
			break
		}
		next := s.find(target, tz)
		if next == nil {
			break
		}
		if next.answers.get(dns.TypeCNAME) != nil {
			cur = next
			continue
		}
		if t := next.answers.get(qtype); t != nil {
			a.Answer = append(a.Answer, t.Answer...)
		}
		break
	}
	return a
}

// dynamic answers the in-zone names that are not listed in the snapshot: pod
// records in insecure mode and the non-canonical port/protocol forms
// (CoreDNS strips at most one leading underscore from each, and an empty
// label matches every port or protocol). nil means NXDOMAIN.
func (s *Snapshot) dynamic(name string, qtype uint16, z *servedZone) *Answer {
	labels := splitLabels(strings.TrimSuffix(name, z.name))
	switch {
	case len(labels) == 3 && labels[2] == "pod":
		if s.opts.PodRecords != PodsInsecure || !s.namespaces[labels[1]] {
			return nil
		}
		ip, ok := ParseDashedIP(labels[0])
		if !ok {
			return nil
		}
		if addrFamilyType(ip) != qtype {
			return z.nodata
		}
		return &Answer{Zone: z.name, Answer: []Record{{
			RR:   addrRR(name, ip.Unmap(), s.opts.TTL),
			From: textSource("pod records insecure: the address is read from the name, unchecked"),
		}}}
	case len(labels) == 5 && labels[4] == "svc":
		f := s.services.get(labels[2] + "." + labels[3])
		if f == nil || !f.data.exists || f.data.external() {
			return nil
		}
		port := strings.TrimPrefix(labels[0], "_")
		proto := strings.TrimPrefix(labels[1], "_")
		a := f.data.srv(name, z.name, port, proto, false, s.opts.TTL)
		if len(a.Answer) == 0 {
			return nil
		}
		if qtype != dns.TypeSRV {
			return z.nodata
		}
		a.Zone = z.name
		return a
	}
	return nil
}

// eachNode calls f for every listed name.
func (s *Snapshot) eachNode(f func(*node)) {
	for _, n := range s.static {
		f(n)
	}
	s.services.each(func(_ string, fr *fragment) {
		for _, n := range fr.nodes {
			f(n)
		}
	})
	s.ptrs.each(func(_ netip.Addr, p *ptrSet) { f(p.node) })
	s.pods.each(func(_ string, p *podSet) {
		for _, n := range p.nodes {
			f(n)
		}
	})
}
