package zone

import (
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

// readyAddr is one ready address of a service's EndpointSlices, with the
// label it is published under. The address itself is read from the slice
// (addr): a zone holds one of these per endpoint, and the model holds the
// address already.
type readyAddr struct {
	label   string
	slice   *readySlice
	epIdx   int32
	addrIdx int32
}

// addr is the address, IPv4 as IPv4 (an IPv4-mapped IPv6 address of an
// IPv4 slice is published as A).
func (r *readyAddr) addr() netip.Addr {
	return r.slice.es.Endpoints[r.epIdx].Addresses.At(int(r.addrIdx)).Unmap()
}

// readySlice is what the ready addresses of one EndpointSlice share.
type readySlice struct {
	es    *cluster.EndpointSlice
	src   sourceObject
	ports []slicePort
}

func (r *readyAddr) ports() []slicePort { return r.slice.ports }

// topology is the endpoint's zone field, lower case as zonal names
// compare it ("" when unset).
func (r *readyAddr) topology() string {
	return strings.ToLower(r.slice.es.Endpoints[r.epIdx].Zone)
}

func (r *readyAddr) source() Source {
	return objSource(r.slice.src, "endpoints[%d].addresses[%d]", int(r.epIdx), int(r.addrIdx))
}

// slicePort is an EndpointSlice port that has a number.
type slicePort struct {
	name  string // lower case
	proto string // lower case
	port  uint16
	idx   int
}

// serviceData is what Build knows about one served Service.
type serviceData struct {
	svc   *cluster.Service
	ready []readyAddr
	// exists is false for a service that has no names at all: a headless
	// service without ready endpoints, an ExternalName that is no name,
	// an empty ClusterIP service under IgnoreEmptyService.
	exists bool
	// externalName is the canonical CNAME target of an ExternalName service.
	externalName string
	// order indexes ready by endpoint label (see indexLabels).
	order []int32
	// key is the service's fragment key, ServiceKey(namespace, name).
	key string
	// src is the service as the source of its records.
	src sourceObject
	// imported: a ServiceImport's data, answered in the multicluster
	// zones; its endpoint labels are "<endpoint>.<cluster>".
	imported bool
}

func (d *serviceData) headless() bool { return d.svc.Headless }

func (d *serviceData) external() bool { return d.svc.Type == cluster.ServiceTypeExternalName }

// externalTarget returns the CNAME target of spec.externalName, or "" when it
// is not a domain name (an IP literal, empty): CoreDNS publishes nothing then.
func externalTarget(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(v, ".")); err == nil {
		return ""
	}
	f := dns.Fqdn(v)
	for _, l := range splitLabels(f) {
		if !IsDNSLabel(l) {
			return ""
		}
	}
	return f
}

// srvPort is the slice port as SRV records use it: only a port with a number
// from 1 to 65535 counts (a nil port means "all ports" in the API and has
// nothing to publish); the protocol defaults to TCP.
func srvPort(p cluster.EndpointPort, idx int) (slicePort, bool) {
	if p.Port == nil || *p.Port <= 0 || *p.Port > 65535 {
		return slicePort{}, false
	}
	proto := strings.ToLower(string(p.Protocol))
	if proto == "" {
		proto = "tcp"
	}
	return slicePort{name: strings.ToLower(p.Name), proto: proto, port: uint16(*p.Port), idx: idx}, true
}

// Unpublished says why an address of an attached EndpointSlice has no
// record (zero: it is published).
type Unpublished int

// Reasons an endpoint address is not published.
const (
	Published Unpublished = iota
	// NotReady: conditions.ready is false.
	NotReady
	// InvalidAddress: the address does not parse.
	InvalidAddress
	// WrongFamily: the address is not of the slice's addressType.
	WrongFamily
	// LabelNotDNS: the label it would be named by is not a DNS label.
	LabelNotDNS
)

var unpublishedText = [...]string{"published", "conditions.ready is false", "not a valid address", "not of the slice's addressType", "its label is not a DNS label"}

func (u Unpublished) String() string { return unpublishedText[u] }

// endpointAddr decides whether one address of an endpoint is published and
// under which label (set whenever the address is valid and of the slice's
// family, so that a not-ready endpoint can be named too). An endpoint is
// ready when conditions.ready is true or unset (the EndpointSlice API's
// "unknown").
func endpointAddr(es *cluster.EndpointSlice, ep *cluster.Endpoint, a netip.Addr, endpointPodNames bool) (label, labelFrom string, why Unpublished) {
	if !a.IsValid() {
		return "", "", InvalidAddress
	}
	if cluster.FamilyOf(a) != es.AddressType {
		return "", "", WrongFamily
	}
	label, labelFrom = EndpointName(ep, a, endpointPodNames)
	switch {
	case !IsDNSLabel(label):
		return label, labelFrom, LabelNotDNS
	case ep.Conditions.Ready.IsFalse():
		return label, labelFrom, NotReady
	}
	return label, labelFrom, Published
}

// appendReady appends the published addresses of one slice.
func appendReady(out []readyAddr, es *cluster.EndpointSlice, endpointPodNames bool) []readyAddr {
	rs := &readySlice{es: es, src: (*sliceSource)(es)}
	for i, p := range es.Ports {
		if sp, ok := srvPort(p, i); ok {
			rs.ports = append(rs.ports, sp)
		}
	}
	for ei := range es.Endpoints {
		ep := &es.Endpoints[ei]
		for ai, a := range ep.Addresses.All() {
			if label, _, why := endpointAddr(es, ep, a, endpointPodNames); why == Published {
				out = append(out, readyAddr{label: label, slice: rs, epIdx: int32(ei), addrIdx: int32(ai)})
			}
		}
	}
	return out
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

func addrRR(owner string, a netip.Addr, ttl uint32) dns.RR {
	if a.Is4() {
		return &dns.A{Hdr: hdr(owner, dns.TypeA, ttl), A: a.AsSlice()}
	}
	return &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA, ttl), AAAA: a.AsSlice()}
}

func appendUniqueAddr(rs []Record, owner string, a netip.Addr, ttl uint32, src Source) []Record {
	rr := addrRR(owner, a, ttl)
	for _, r := range rs {
		if dns.IsDuplicate(r.RR, rr) {
			return rs
		}
	}
	return append(rs, Record{RR: rr, From: src})
}

func appendUnique(rs []Record, r Record) []Record {
	for _, x := range rs {
		if dns.IsDuplicate(x.RR, r.RR) {
			return rs
		}
	}
	return append(rs, r)
}

// srvWeight is CoreDNS's weight for n items: floor(100/n) computed as it
// does, over the items before duplicates are removed.
func srvWeight(n int) uint16 {
	if n == 0 {
		return 0
	}
	return uint16(math.Floor((100.0 / float64(100*n)) * 100))
}

func (d *serviceData) cname(owner string, ttl uint32) Record {
	return Record{
		RR:   &dns.CNAME{Hdr: hdr(owner, dns.TypeCNAME, ttl), Target: d.externalName},
		From: objSource(d.src, "spec.externalName"),
	}
}

// addressItems appends the A or AAAA RRset at the service name: the
// ClusterIPs, or the ready endpoint addresses of a headless service.
func (d *serviceData) addressItems(dst []item, qt uint16) []item {
	seen := map[netip.Addr]bool{}
	if d.headless() {
		for i := range d.ready {
			if a := d.ready[i].addr(); AddrType(a) == qt && !seen[a] {
				seen[a] = true
				dst = append(dst, item{qtype: qt, d: d, ready: int32(i)})
			}
		}
		return dst
	}
	for i, ip := range d.svc.ClusterIPs {
		if a := ip.Unmap(); AddrType(a) == qt && !seen[a] {
			seen[a] = true
			dst = append(dst, item{qtype: qt, d: d, ready: int32(-1 - i)})
		}
	}
	return dst
}

// matchPort is the CoreDNS port/protocol match: an empty query label matches
// anything, otherwise the comparison is case-insensitive.
func matchPort(queryPort, queryProto, name, proto string, any bool) bool {
	if any {
		return true
	}
	return (queryPort == "" || queryPort == name) && (queryProto == "" || queryProto == proto)
}

// srvItems appends the SRV answer at the service name (any=true: every
// port, named or not) or at _port._proto below it, with the targets'
// addresses as glue. ClusterIP services point at the service name with the
// service port; headless services point at each ready endpoint's name with
// the EndpointSlice port (the resolved targetPort). The weight is CoreDNS's,
// over the records before duplicates are dropped.
func (d *serviceData) srvItems(dst []item, port, proto string, any bool) []item {
	start := len(dst)
	n := 0
	seen := srvSeen{srv: map[srvKey]bool{}, glue: map[srvKey]bool{}}
	if d.headless() {
		for i := range d.ready {
			for _, p := range d.ready[i].ports() {
				if !matchPort(port, proto, p.name, p.proto, any) {
					continue
				}
				n++
				dst = seen.appendSRV(dst, item{qtype: dns.TypeSRV, port: p.port, d: d, ready: int32(i), portIdx: int32(p.idx)})
			}
		}
	} else {
		for i := range d.svc.ClusterIPs {
			for j, p := range d.svc.Ports {
				pname, pproto := strings.ToLower(p.Name), strings.ToLower(string(p.Protocol))
				if pproto == "" {
					pproto = "tcp"
				}
				if !matchPort(port, proto, pname, pproto, any) || p.Port <= 0 || p.Port > 65535 {
					continue
				}
				n++
				dst = seen.appendSRV(dst, item{qtype: dns.TypeSRV, port: uint16(p.Port), d: d, ready: int32(-1 - i), portIdx: int32(j)})
			}
		}
	}
	w := srvWeight(n)
	glue := len(dst)
	for i := start; i < glue; i++ {
		dst[i].weight = w
	}
	// Glue: each target's address, once per target and address, in the
	// order of the records before duplicates were dropped.
	if d.headless() {
		for i := range d.ready {
			for _, p := range d.ready[i].ports() {
				if matchPort(port, proto, p.name, p.proto, any) {
					dst = seen.appendGlue(dst, item{qtype: AddrType(d.ready[i].addr()), extra: true, d: d, ready: int32(i)})
				}
			}
		}
		return dst
	}
	for i, ip := range d.svc.ClusterIPs {
		for _, p := range d.svc.Ports {
			pname, pproto := strings.ToLower(p.Name), strings.ToLower(string(p.Protocol))
			if pproto == "" {
				pproto = "tcp"
			}
			if matchPort(port, proto, pname, pproto, any) && p.Port > 0 && p.Port <= 65535 {
				dst = seen.appendGlue(dst, item{qtype: AddrType(ip), extra: true, d: d, ready: int32(-1 - i)})
			}
		}
	}
	return dst
}

// srvSeen drops duplicate SRV records and glue as srvItems builds them.
type srvSeen struct {
	srv  map[srvKey]bool
	glue map[srvKey]bool
}

// srvKey is a target (its endpoint label, "" for the service name) with a
// port or an address.
type srvKey struct {
	label string
	port  uint16
	addr  netip.Addr
}

// targetLabel is the endpoint label of the item's target ("" for the
// service name).
func (it *item) targetLabel() string {
	_, label := it.keyLabel()
	return label
}

func (s *srvSeen) appendSRV(dst []item, it item) []item {
	k := srvKey{label: it.targetLabel(), port: it.port}
	if s.srv[k] {
		return dst
	}
	s.srv[k] = true
	return append(dst, it)
}

func (s *srvSeen) appendGlue(dst []item, it item) []item {
	k := srvKey{label: it.targetLabel(), addr: it.addr()}
	if s.glue[k] {
		return dst
	}
	s.glue[k] = true
	return append(dst, it)
}

// inTopology is the service as a zonal name sees it: only its ready
// addresses whose endpoint is in the topology zone (lower case); under
// prefer, when none is, all of them (fellBack). The copy shares the
// addresses' slices and is for one answer.
func (d *serviceData) inTopology(topology string, prefer bool) (in *serviceData, fellBack bool) {
	var ready []readyAddr
	for i := range d.ready {
		if d.ready[i].topology() == topology {
			ready = append(ready, d.ready[i])
		}
	}
	if len(ready) == 0 && prefer {
		return d, true
	}
	c := *d
	c.ready, c.order = ready, nil
	return &c, false
}

// namedPorts lists the distinct (name, protocol) pairs, lower case, that have
// a _name._proto SRV name.
func (d *serviceData) namedPorts() [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	add := func(name, proto string) {
		if name == "" || !IsDNSLabel(name) {
			return
		}
		k := [2]string{name, proto}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if d.headless() {
		for i := range d.ready {
			for _, p := range d.ready[i].ports() {
				add(p.name, p.proto)
			}
		}
		return out
	}
	if len(d.svc.ClusterIPs) == 0 {
		return nil
	}
	for _, p := range d.svc.Ports {
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		add(strings.ToLower(p.Name), proto)
	}
	return out
}

// indexLabels orders the ready addresses by endpoint label (stable, so
// ready order within a label), for the per-endpoint names, which are not
// stored but answered from this index (see leaf).
func (d *serviceData) indexLabels() {
	d.order = make([]int32, len(d.ready))
	for i := range d.order {
		d.order[i] = int32(i)
	}
	slices.SortStableFunc(d.order, func(a, b int32) int { return strings.Compare(d.ready[a].label, d.ready[b].label) })
}

// labelRange returns the range of d.order holding the label; empty if the
// service has no endpoint of that name.
func (d *serviceData) labelRange(label string) (lo, hi int32) {
	n := len(d.order)
	i := sort.Search(n, func(k int) bool { return d.ready[d.order[k]].label >= label })
	j := i
	for j < n && d.ready[d.order[j]].label == label {
		j++
	}
	return int32(i), int32(j)
}

// eachLabel calls f with every distinct endpoint label and its range in
// d.order, in label order.
func (d *serviceData) eachLabel(f func(label string, lo, hi int32)) {
	for i := 0; i < len(d.order); {
		l := d.ready[d.order[i]].label
		j := i + 1
		for j < len(d.order) && d.ready[d.order[j]].label == l {
			j++
		}
		f(l, int32(i), int32(j))
		i = j
	}
}

// eachEndpoint calls f with every per-endpoint label and the number of
// answer records it has of each of leafTypes.
func (d *serviceData) eachEndpoint(f func(label string, counts [len(leafTypes)]int)) {
	var scratch []item
	d.eachLabel(func(label string, lo, hi int32) {
		var counts [len(leafTypes)]int
		for i, qt := range leafTypes {
			scratch = d.endpointItems(scratch[:0], lo, hi, qt)
			counts[i] = answerCount(scratch)
		}
		f(label, counts)
	})
}

// item is one record of a name the snapshot does not store (a per-endpoint
// name or a PTR name), in the compact form both the server's packer and
// Lookup's records are made from, so the two cannot disagree.
type item struct {
	qtype uint16
	// extra marks glue in the additional section.
	extra bool
	port  uint16
	// weight of an SRV record.
	weight uint16
	d      *serviceData
	// ready is the index in d.ready; for a PTR of a ClusterIP, -1-i for
	// spec.clusterIPs[i].
	ready int32
	// portIdx is the EndpointSlice port of an SRV record.
	portIdx int32
	// ptr is the entry of a PTR record; d and ready are then set only
	// when its provenance is asked for (see Snapshot.resolvePTR).
	ptr *ptrEntry
}

func (it *item) addr() netip.Addr {
	if it.ready < 0 {
		return it.d.svc.ClusterIPs[-1-it.ready].Unmap()
	}
	return it.d.ready[it.ready].addr()
}

// endpointItems appends the records of an endpoint name (the label's range
// lo:hi of d.order) for the type: its addresses of that family, or for SRV
// one record per port of its slices pointing at the name itself, with the
// addresses as glue. Duplicates (the same address in two slices) appear
// once.
func (d *serviceData) endpointItems(dst []item, lo, hi int32, qtype uint16) []item {
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		start := len(dst)
	addrs:
		for _, i := range d.order[lo:hi] {
			a := d.ready[i].addr()
			if AddrType(a) != qtype {
				continue
			}
			for _, x := range dst[start:] {
				if x.d.ready[x.ready].addr() == a {
					continue addrs
				}
			}
			dst = append(dst, item{qtype: qtype, d: d, ready: i})
		}
	case dns.TypeSRV:
		n := 0
		for _, i := range d.order[lo:hi] {
			n += len(d.ready[i].ports())
		}
		w := srvWeight(n)
		start := len(dst)
	ports:
		for _, i := range d.order[lo:hi] {
			for _, p := range d.ready[i].ports() {
				for _, x := range dst[start:] {
					if x.port == p.port {
						continue ports
					}
				}
				dst = append(dst, item{qtype: dns.TypeSRV, port: p.port, weight: w, d: d, ready: i, portIdx: int32(p.idx)})
			}
		}
		glue := len(dst)
	glues:
		for _, i := range d.order[lo:hi] {
			if len(d.ready[i].ports()) == 0 {
				continue
			}
			a := d.ready[i].addr()
			for _, x := range dst[glue:] {
				if x.addr() == a {
					continue glues
				}
			}
			dst = append(dst, item{qtype: AddrType(a), extra: true, d: d, ready: i})
		}
	}
	return dst
}

// ptrItems appends the PTR records of an address: a ClusterIP names its
// service only (the first by namespace/name); otherwise every endpoint name
// the address is published under. entries are sorted by service key.
func ptrItems(dst []item, entries []ptrEntry) []item {
	start := len(dst)
	for i := range entries {
		if entries[i].clusterIP() {
			return append(dst[:start], item{qtype: dns.TypePTR, ptr: &entries[i]})
		}
	}
entries:
	for i := range entries {
		e := &entries[i]
		for _, x := range dst[start:] {
			if x.ptr.key == e.key && x.ptr.label == e.label {
				continue entries
			}
		}
		dst = append(dst, item{qtype: dns.TypePTR, ptr: e})
	}
	return dst
}

// keyLabel is the service key and endpoint label ("" for the service name)
// of the item's target.
func (it *item) keyLabel() (key, label string) {
	switch {
	case it.ptr != nil:
		return it.ptr.key, it.ptr.label
	case it.ready < 0:
		return it.d.key, ""
	}
	return it.d.key, it.d.ready[it.ready].label
}

// target is the name an SRV or PTR item points at, which glue items are
// the address of: the service's name in zone, below it the endpoint's
// label for an endpoint (a PTR item's zone is the first forward zone).
func (it *item) target(zone string) string {
	key, label := it.keyLabel()
	svc := schema.ServiceFromKey(key, zone)
	if label == "" {
		return svc
	}
	return schema.Endpoint(label, svc)
}

// source is where the item's data comes from.
func (it *item) source() Source {
	switch {
	case it.d == nil:
		return textSource("")
	case it.qtype == dns.TypeSRV && it.ready < 0:
		return objSource(it.d.src, "spec.ports[%d]", int(it.portIdx))
	case it.qtype == dns.TypeSRV:
		return objSource(it.d.ready[it.ready].slice.src, "ports[%d]", int(it.portIdx))
	case it.ready < 0:
		return objSource(it.d.src, "spec.clusterIPs[%d]", int(-1-it.ready))
	}
	return it.d.ready[it.ready].source()
}

// record is the item as a record (with its provenance) in an answer to a
// question for owner in zone z; glue is owned by its target.
func (it *item) record(owner string, z *servedZone, o Options) Record {
	var rr dns.RR
	switch {
	case it.qtype == dns.TypeSRV:
		rr = &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, o.TTL), Weight: it.weight, Port: it.port, Target: it.target(z.name)}
	case it.qtype == dns.TypePTR:
		rr = &dns.PTR{Hdr: hdr(owner, dns.TypePTR, o.TTL), Ptr: it.target(o.Zones[0])}
	case it.extra:
		rr = addrRR(it.target(z.name), it.addr(), o.TTL)
	default:
		rr = addrRR(owner, it.addr(), o.TTL)
	}
	return Record{RR: rr, From: it.source()}
}

// records is the answer of items to a question for owner in zone z.
func records(owner string, z *servedZone, o Options, items []item) *Answer {
	a := &Answer{Zone: z.name}
	for i := range items {
		r := items[i].record(owner, z, o)
		if items[i].extra {
			a.Extra = append(a.Extra, r)
		} else {
			a.Answer = append(a.Answer, r)
		}
	}
	return a
}

func filterType(rs []Record, t uint16) []Record {
	var out []Record
	for _, r := range rs {
		if r.RR.Header().Rrtype == t {
			out = append(out, r)
		}
	}
	return out
}

// slicesHostname reports whether the i-th ready address got its name from
// an EndpointSlice hostname.
func (d *serviceData) slicesHostname(i int) bool {
	r := &d.ready[i]
	return r.slice.es.Endpoints[r.epIdx].Hostname != ""
}
