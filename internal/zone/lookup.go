package zone

import (
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
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
	n, lf := s.find(name, z)
	if lf.ok() {
		items := lf.items(nil, qtype)
		if answerCount(items) == 0 {
			return z.nodata
		}
		s.resolvePTR(items)
		return records(name, z, s.opts, items)
	}
	if n != nil && n.storedIndex(qtype) >= 0 {
		return records(name, z, s.opts, n.items(nil, qtype))
	}
	return s.answer(name, qtype, z, n)
}

// Scratch is the working memory LookupWire needs to answer the names the
// snapshot does not store without allocating. The zero value is ready; a
// Scratch is for one goroutine at a time.
type Scratch struct {
	ans    Answer
	tmpl   template
	items  []item
	packer itemPacker
}

// LookupWire is LookupCanonical for a server: the answer's records are not
// filled in (only Rcode, Zone and the wire form are), and the answer may
// live in sc, valid until sc is used again. It allocates nothing.
func (s *Snapshot) LookupWire(name string, qtype uint16, sc *Scratch) *Answer {
	z := s.zoneOf(name)
	if z == nil {
		return s.refused
	}
	n, lf := s.find(name, z)
	if n != nil {
		if i := n.storedIndex(qtype); i >= 0 {
			sc.ans = Answer{Zone: z.name, wire: n.wire(i, &s.opts)}
			return &sc.ans
		}
	}
	if !lf.ok() {
		return s.answer(name, qtype, z, n)
	}
	sc.items = lf.items(sc.items[:0], qtype)
	if answerCount(sc.items) == 0 {
		return z.nodata
	}
	sc.ans = Answer{Zone: z.name, wire: &sc.tmpl}
	sc.packItems(name, qtype, z, s.opts)
	return &sc.ans
}

// answer is the answer at a stored name n (nil: the name is not stored).
func (s *Snapshot) answer(name string, qtype uint16, z *servedZone, n *node) *Answer {
	if n != nil {
		if a := n.answers.get(qtype); a != nil {
			return a
		}
		if n.kind == KindService && n.service().Type == "ExternalName" && (qtype == dns.TypeA || qtype == dns.TypeAAAA) {
			return s.chase(n, qtype)
		}
		return z.nodata
	}
	if qtype == dns.TypeSOA {
		return z.nodata
	}
	if !z.reverse && s.mayBeDynamic(name, z) {
		if a := s.dynamic(strings.Clone(name), qtype, z); a != nil {
			return a
		}
	}
	return z.nxdomain
}

// leaf is a name the snapshot answers without storing it: a per-endpoint
// name (d's label range lo:hi) or the PTR name of an address.
type leaf struct {
	d      *serviceData
	lo, hi int32
	ptr    []ptrEntry
}

func (l leaf) ok() bool { return l.d != nil || l.ptr != nil }

// leafTypes are the types a per-endpoint name can have records of.
var leafTypes = [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV}

// items appends the leaf's records of the type.
func (l leaf) items(dst []item, qtype uint16) []item {
	if l.ptr != nil {
		if qtype != dns.TypePTR {
			return dst
		}
		return ptrItems(dst, l.ptr)
	}
	return l.d.endpointItems(dst, l.lo, l.hi, qtype)
}

// answerCount is the number of answer-section records among items.
func answerCount(items []item) int {
	n := 0
	for i := range items {
		if !items[i].extra {
			n++
		}
	}
	return n
}

// resolvePTR finds the service and the ready address behind PTR items, for
// their provenance (the server's packer needs neither).
func (s *Snapshot) resolvePTR(items []item) {
	for i := range items {
		it := &items[i]
		if it.ptr == nil {
			continue
		}
		f := s.services.get(it.ptr.key)
		if f == nil {
			continue
		}
		d := f.data
		if it.ptr.clusterIP() {
			for k, cip := range d.svc.ClusterIPs {
				if it.ptr.is(cip.Unmap()) {
					it.d, it.ready = d, -1-int32(k)
					break
				}
			}
			continue
		}
		lo, hi := d.labelRange(it.ptr.label)
		for _, k := range d.order[lo:hi] {
			if it.ptr.is(d.ready[k].addr()) {
				it.d, it.ready = d, k
				break
			}
		}
	}
}

// find returns the stored name, or the leaf that answers it, or neither.
// It allocates nothing.
func (s *Snapshot) find(name string, z *servedZone) (*node, leaf) {
	if n := s.static[name]; n != nil {
		return n, leaf{}
	}
	if z.reverse {
		ip, ok := AddrFromReverse(name)
		if !ok {
			return nil, leaf{}
		}
		if entries := s.ptrs.lookup(ip); entries != nil {
			return nil, leaf{ptr: entries}
		}
		return nil, leaf{}
	}
	rel := name[:len(name)-len(z.name)] // "a.b.svc." or "x.ns.pod."
	switch {
	case strings.HasSuffix(rel, schema.SvcInfix):
		r := rel[:len(rel)-len(schema.SvcInfix)+1] // "...<svc>.<ns>."
		nsStart := strings.LastIndexByte(r[:len(r)-1], '.') + 1
		if nsStart == 0 {
			return nil, leaf{}
		}
		svcStart := strings.LastIndexByte(r[:nsStart-1], '.') + 1
		f := s.table(z).get(r[svcStart : len(r)-1])
		if f == nil {
			return nil, leaf{}
		}
		if n := f.node(name); n != nil {
			return n, leaf{}
		}
		// One label below the service (two in a multicluster zone, the
		// endpoint's and its cluster's): a per-endpoint name.
		if svcStart > 1 && f.data.exists && !f.data.external() && endpointShape(r[:svcStart-1], z.multicluster) {
			if lo, hi := f.data.labelRange(r[:svcStart-1]); lo < hi {
				return nil, leaf{d: f.data, lo: lo, hi: hi}
			}
		}
	case strings.HasSuffix(rel, schema.PodInfix) && !z.multicluster:
		r := rel[:len(rel)-len(schema.PodInfix)+1]
		if strings.Count(r, ".") != 2 {
			return nil, leaf{}
		}
		if set := s.pods.get(r[:len(r)-1]); set != nil {
			return set.nodes[z.name], leaf{}
		}
	}
	return nil, leaf{}
}

// endpointShape reports whether the labels below a service name are an
// endpoint's: one label, or in a multicluster zone the endpoint's and the
// cluster's, neither starting with an underscore (that is a port name, as
// CoreDNS reads it).
func endpointShape(below string, multicluster bool) bool {
	dot := strings.IndexByte(below, '.')
	if !multicluster {
		return dot < 0
	}
	return dot > 0 && strings.IndexByte(below[dot+1:], '.') < 0 && below[0] != '_' && dot+1 < len(below) && below[dot+1] != '_'
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
	n, lf := s.find(name, z)
	switch {
	case n != nil:
		return n.kind
	case lf.ptr != nil:
		return KindReverse
	case lf.d != nil:
		return KindEndpoint
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
		if tz == nil {
			a.External = target
		}
		if seen[target] || tz == nil || tz.reverse {
			break
		}
		next, lf := s.find(target, tz)
		if lf.ok() {
			// A per-endpoint name: its addresses.
			a.Answer = append(a.Answer, records(target, tz, s.opts, lf.items(nil, qtype)).Answer...)
			break
		}
		if next == nil {
			break
		}
		if next.answers.get(dns.TypeCNAME) != nil {
			cur = next
			continue
		}
		if next.storedIndex(qtype) >= 0 {
			a.Answer = append(a.Answer, records(target, tz, s.opts, next.items(nil, qtype)).Answer...)
		} else if t := next.answers.get(qtype); t != nil {
			a.Answer = append(a.Answer, t.Answer...)
		}
		break
	}
	return a
}

// mayBeDynamic reports whether a name not stored has the shape of one that
// dynamic answers, so that other names are NXDOMAIN without allocating.
func (s *Snapshot) mayBeDynamic(name string, z *servedZone) bool {
	rel := name[:len(name)-len(z.name)]
	switch n := strings.Count(rel, "."); {
	case n == 3:
		return strings.HasSuffix(rel, schema.PodInfix)
	case n == 5:
		return strings.HasSuffix(rel, schema.SvcInfix)
	case n > 5:
		return s.opts.Zonal && strings.HasSuffix(rel, schema.SvcInfix) && strings.Contains(rel, "."+schema.ZoneLabel+".")
	}
	return false
}

// dynamic answers the in-zone names that are not listed in the snapshot: pod
// records in insecure mode, the non-canonical port/protocol forms
// (CoreDNS strips at most one leading underscore from each, and an empty
// label matches every port or protocol) and zonal names. nil means
// NXDOMAIN.
func (s *Snapshot) dynamic(name string, qtype uint16, z *servedZone) *Answer {
	labels := splitLabels(strings.TrimSuffix(name, z.name))
	switch {
	case len(labels) == 3 && labels[2] == "pod":
		if s.opts.PodRecords != PodsInsecure || !s.namespaces[labels[1]] || z.multicluster {
			return nil
		}
		ip, ok := schema.ParseDashedIP(labels[0])
		if !ok {
			return nil
		}
		if AddrType(ip) != qtype {
			return z.nodata
		}
		return &Answer{Zone: z.name, Answer: []Record{{
			RR:   addrRR(name, ip.Unmap(), s.opts.TTL),
			From: textSource("pod records insecure: the address is read from the name, unchecked"),
		}}}
	case len(labels) == 5 && labels[4] == "svc":
		if z.multicluster && !strings.HasPrefix(labels[0], "_") && !strings.HasPrefix(labels[1], "_") {
			return nil // an endpoint and its cluster there, not a port
		}
		f := s.table(z).get(labels[2] + "." + labels[3])
		if f == nil || !f.data.exists || f.data.external() {
			return nil
		}
		port := strings.TrimPrefix(labels[0], "_")
		proto := strings.TrimPrefix(labels[1], "_")
		items := f.data.srvItems(nil, port, proto, false)
		if answerCount(items) == 0 {
			return nil
		}
		if qtype != dns.TypeSRV {
			return z.nodata
		}
		return records(name, z, s.opts, items)
	case s.opts.Zonal && len(labels) > 5 && labels[len(labels)-1] == schema.SvcLabel:
		return s.zonal(name, qtype, z, schema.Parse(labels))
	}
	return nil
}

// zonal answers a zonal name: the A, AAAA or SRV records of a headless
// service's ready endpoints in the topology zone the name gives (under
// prefer, of all of them when none is there). The name exists for every
// headless service, so a zone without endpoints is NODATA, for every type,
// as CoreDNS answers it; any other service, or none, is NXDOMAIN.
func (s *Snapshot) zonal(name string, qtype uint16, z *servedZone, n schema.Name) *Answer {
	if n.Kind != schema.ZonalName || z.multicluster {
		return nil
	}
	f := s.services.get(schema.ServiceKey(n.Namespace, n.Service))
	if f == nil || !f.data.headless() || f.data.external() {
		return nil
	}
	d, _ := f.data.inTopology(n.Topology, n.Prefer)
	var items []item
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		items = d.addressItems(nil, qtype)
	case dns.TypeSRV:
		items = d.srvItems(nil, "", "", true)
	}
	if answerCount(items) == 0 {
		return z.nodata
	}
	return records(name, z, s.opts, items)
}

// nameInfo is one name of the zone, stored or not, with the types it has
// records of.
type nameInfo struct {
	name    string
	kind    NodeKind
	service *cluster.Service
	types   []uint16
}

// eachName calls f for every name of the zone that has a node or a leaf
// (not the insecure pod names, which are every address). It is for tests
// and examples: it makes the names of the leaves.
func (s *Snapshot) eachName(f func(nameInfo)) {
	node := func(n *node) {
		ni := nameInfo{name: n.name, kind: n.kind, service: n.service()}
		for _, x := range n.answers {
			ni.types = append(ni.types, x.qtype)
		}
		for _, x := range n.stored {
			ni.types = append(ni.types, x.qtype)
		}
		f(ni)
	}
	for _, n := range s.static {
		node(n)
	}
	for _, t := range []*shards[string, *fragment]{&s.services, &s.imports} {
		t.each(func(_ string, fr *fragment) {
			for _, n := range fr.nodes {
				node(n)
			}
			s.eachEndpointName(fr, func(name string, types []uint16) {
				f(nameInfo{name: name, kind: KindEndpoint, service: fr.data.svc, types: types})
			})
		})
	}
	s.ptrs.each(func(ip netip.Addr, _ []ptrEntry) {
		f(nameInfo{name: reverseName(ip), kind: KindReverse, types: []uint16{dns.TypePTR}})
	})
	s.pods.each(func(_ string, p *podSet) {
		for _, n := range p.nodes {
			node(n)
		}
	})
}

// eachEndpointName calls f with every per-endpoint name of the fragment in
// every forward zone, and the types it has records of.
func (s *Snapshot) eachEndpointName(fr *fragment, f func(name string, types []uint16)) {
	d := fr.data
	if !d.exists || d.external() {
		return
	}
	for _, z := range s.zones {
		if z.reverse || z.multicluster != d.imported {
			continue
		}
		d.eachEndpoint(func(label string, counts [len(leafTypes)]int) {
			var types []uint16
			for i, n := range counts {
				if n > 0 {
					types = append(types, leafTypes[i])
				}
			}
			f(schema.Endpoint(label, schema.ServiceFromKey(d.key, z.name)), types)
		})
	}
}
