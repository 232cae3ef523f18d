package zone

import (
	"strings"

	"github.com/miekg/dns"
)

// Lookup answers a question from the snapshot. qname may have any case and
// may lack the trailing dot. A name outside every served zone gets
// Rcode REFUSED and an empty Zone.
//
// The rules, in order: a name that exists answers its records of the type,
// or NODATA; SOA below an apex is NODATA even for a name that does not exist
// (CoreDNS); the few names that cannot be listed ahead (pod records in
// insecure mode, port labels without their underscore or empty) are worked
// out now; everything else is NXDOMAIN.
func (s *Snapshot) Lookup(qname string, qtype uint16) *Answer {
	name := lowerASCII(dns.Fqdn(qname))
	z := s.zoneOf(name)
	if z == nil {
		return &Answer{Rcode: dns.RcodeRefused}
	}
	if n := s.nodes[name]; n != nil {
		if a := n.answers[qtype]; a != nil {
			return a
		}
		return z.nodata
	}
	if qtype == dns.TypeSOA {
		return z.nodata
	}
	if !z.reverse {
		if a := s.dynamic(name, qtype, z); a != nil {
			return a
		}
	}
	return z.nxdomain
}

// Exists reports whether the name exists in a served zone (NODATA rather than
// NXDOMAIN for the types it has no records of).
func (s *Snapshot) Exists(qname string) bool {
	a := s.Lookup(qname, dns.TypeA)
	return a.Zone != "" && a.Rcode == dns.RcodeSuccess
}

// Kind returns what kind of name qname is, 0 if it is not a listed name.
func (s *Snapshot) Kind(qname string) NodeKind {
	if n := s.nodes[lowerASCII(dns.Fqdn(qname))]; n != nil {
		return n.kind
	}
	return 0
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
			From: Source{Field: "pod records insecure: the address is read from the name, unchecked"},
		}}}
	case len(labels) == 5 && labels[4] == "svc":
		d := s.services[labels[2]+"."+labels[3]]
		if d == nil || !d.exists || d.external() {
			return nil
		}
		port := strings.TrimPrefix(labels[0], "_")
		proto := strings.TrimPrefix(labels[1], "_")
		a := d.srv(name, z.name, port, proto, false, s.opts.TTL)
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
