package zone

import (
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/miekg/dns"
)

// readyAddr is one ready address of a service's EndpointSlices, with the
// label it is published under.
type readyAddr struct {
	addr     netip.Addr
	label    string
	slice    *cluster.EndpointSlice
	sliceSrc *SourceObject
	epIdx    int32
	addrIdx  int32
	ports    []slicePort
}

func (r *readyAddr) source() Source {
	return objSource(r.sliceSrc, "endpoints[%d].addresses[%d]", int(r.epIdx), int(r.addrIdx))
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
	src *SourceObject
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

// appendReady appends the ready addresses of one slice. An endpoint is ready
// when conditions.ready is true or unset (the EndpointSlice API's "unknown").
func appendReady(out []readyAddr, es *cluster.EndpointSlice, endpointPodNames bool) []readyAddr {
	src := &SourceObject{Ref: es.Ref(), Origin: es.Origin}
	var ports []slicePort
	for i, p := range es.Ports {
		if p.Port == nil || *p.Port <= 0 || *p.Port > 65535 {
			continue
		}
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		ports = append(ports, slicePort{name: strings.ToLower(p.Name), proto: proto, port: uint16(*p.Port), idx: i})
	}
	for ei := range es.Endpoints {
		ep := &es.Endpoints[ei]
		if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
			continue
		}
		for ai, a := range ep.Addresses {
			if !a.IsValid() {
				continue
			}
			if (es.AddressType == cluster.AddressTypeIPv4) != a.Unmap().Is4() {
				continue
			}
			label, _ := EndpointName(ep, a, endpointPodNames)
			if !IsDNSLabel(label) {
				continue
			}
			out = append(out, readyAddr{addr: a.Unmap(), label: label, slice: es, sliceSrc: src, epIdx: int32(ei), addrIdx: int32(ai), ports: ports})
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

// addresses is the A or AAAA RRset at the service name: the ClusterIPs, or
// the ready endpoint addresses of a headless service.
func (d *serviceData) addresses(owner string, qt uint16, ttl uint32) *Answer {
	a := &Answer{}
	if d.headless() {
		u := uniq{}
		for i := range d.ready {
			r := &d.ready[i]
			if addrFamilyType(r.addr) == qt {
				a.Answer = u.add(a.Answer, Record{RR: addrRR(owner, r.addr, ttl), From: r.source()})
			}
		}
		return a
	}
	for i, ip := range d.svc.ClusterIPs {
		if addrFamilyType(ip) == qt {
			a.Answer = appendUniqueAddr(a.Answer, owner, ip.Unmap(), ttl,
				objSource(d.src, "spec.clusterIPs[%d]", i))
		}
	}
	return a
}

// matchPort is the CoreDNS port/protocol match: an empty query label matches
// anything, otherwise the comparison is case-insensitive.
func matchPort(queryPort, queryProto, name, proto string, any bool) bool {
	if any {
		return true
	}
	return (queryPort == "" || queryPort == name) && (queryProto == "" || queryProto == proto)
}

// srv is the SRV answer at the service name (any=true: every port, named or
// not) or at _port._proto below it. ClusterIP services point at the service
// name with the service port; headless services point at each ready
// endpoint's name with the EndpointSlice port (the resolved targetPort).
func (d *serviceData) srv(owner, zone, port, proto string, any bool, ttl uint32) *Answer {
	a := &Answer{}
	svcName := strings.ToLower(d.svc.Name) + "." + strings.ToLower(d.svc.Namespace) + ".svc." + zone
	type item struct {
		rr   *dns.SRV
		src  Source
		glue Record
	}
	var items []item
	if d.headless() {
		for i := range d.ready {
			r := &d.ready[i]
			for _, p := range r.ports {
				if !matchPort(port, proto, p.name, p.proto, any) {
					continue
				}
				target := r.label + "." + svcName
				items = append(items, item{
					rr:   &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Port: p.port, Target: target},
					src:  objSource(r.sliceSrc, "ports[%d]", p.idx),
					glue: Record{RR: addrRR(target, r.addr, ttl), From: r.source()},
				})
			}
		}
	} else {
		for i, ip := range d.svc.ClusterIPs {
			for j, p := range d.svc.Ports {
				pname, pproto := strings.ToLower(p.Name), strings.ToLower(string(p.Protocol))
				if pproto == "" {
					pproto = "tcp"
				}
				if !matchPort(port, proto, pname, pproto, any) || p.Port <= 0 || p.Port > 65535 {
					continue
				}
				items = append(items, item{
					rr:  &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Port: uint16(p.Port), Target: svcName},
					src: objSource(d.src, "spec.ports[%d]", j),
					glue: Record{RR: addrRR(svcName, ip.Unmap(), ttl),
						From: objSource(d.src, "spec.clusterIPs[%d]", i)},
				})
			}
		}
	}
	w := srvWeight(len(items))
	ua, ue := uniq{}, uniq{}
	for _, it := range items {
		it.rr.Weight = w
		a.Answer = ua.add(a.Answer, Record{RR: it.rr, From: it.src})
		a.Extra = ue.add(a.Extra, it.glue)
	}
	return a
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
			for _, p := range d.ready[i].ports {
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
	sort.SliceStable(d.order, func(a, b int) bool { return d.ready[d.order[a]].label < d.ready[d.order[b]].label })
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
}

func (it *item) addr() netip.Addr {
	if it.ready < 0 {
		return it.d.svc.ClusterIPs[-1-it.ready].Unmap()
	}
	return it.d.ready[it.ready].addr
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
			a := d.ready[i].addr
			if addrFamilyType(a) != qtype {
				continue
			}
			for _, x := range dst[start:] {
				if x.d.ready[x.ready].addr == a {
					continue addrs
				}
			}
			dst = append(dst, item{qtype: qtype, d: d, ready: i})
		}
	case dns.TypeSRV:
		n := 0
		for _, i := range d.order[lo:hi] {
			n += len(d.ready[i].ports)
		}
		w := srvWeight(n)
		start := len(dst)
	ports:
		for _, i := range d.order[lo:hi] {
			for _, p := range d.ready[i].ports {
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
			if len(d.ready[i].ports) == 0 {
				continue
			}
			a := d.ready[i].addr
			for _, x := range dst[glue:] {
				if x.addr() == a {
					continue glues
				}
			}
			dst = append(dst, item{qtype: addrFamilyType(a), extra: true, d: d, ready: i})
		}
	}
	return dst
}

// ptrItems appends the PTR records of an address: a ClusterIP names its
// service only (the first by namespace/name); otherwise every endpoint name
// the address is published under. entries are sorted by service key.
func ptrItems(dst []item, entries []ptrEntry) []item {
	start := len(dst)
	for _, e := range entries {
		if e.ready < 0 {
			return append(dst[:start], item{qtype: dns.TypePTR, d: e.d, ready: e.ready})
		}
	}
entries:
	for _, e := range entries {
		for _, x := range dst[start:] {
			if x.d.key == e.d.key && x.d.ready[x.ready].label == e.d.ready[e.ready].label {
				continue entries
			}
		}
		dst = append(dst, item{qtype: dns.TypePTR, d: e.d, ready: e.ready})
	}
	return dst
}

// ptrTarget is the name a PTR item points at: the service's name in the
// first forward zone, below it the endpoint's label.
func (it *item) ptrTarget(zone string) string {
	svc := it.d.key + ".svc." + zone
	if it.ready < 0 {
		return svc
	}
	return it.d.ready[it.ready].label + "." + svc
}

// record is the item as a record of owner (with its provenance).
func (it *item) record(owner, zone string, ttl uint32) Record {
	switch it.qtype {
	case dns.TypeSRV:
		r := &it.d.ready[it.ready]
		return Record{
			RR:   &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Weight: it.weight, Port: it.port, Target: owner},
			From: objSource(r.sliceSrc, "ports[%d]", int(it.portIdx)),
		}
	case dns.TypePTR:
		rr := &dns.PTR{Hdr: hdr(owner, dns.TypePTR, ttl), Ptr: it.ptrTarget(zone)}
		if it.ready < 0 {
			return Record{RR: rr, From: objSource(it.d.src, "spec.clusterIPs[%d]", int(-1-it.ready))}
		}
		return Record{RR: rr, From: it.d.ready[it.ready].source()}
	}
	return Record{RR: addrRR(owner, it.addr(), ttl), From: it.d.ready[it.ready].source()}
}

// uniq drops records already added to a set being built, in constant time
// per record (a headless service's sets hold one record per endpoint).
type uniq map[string]struct{}

func (u uniq) add(rs []Record, r Record) []Record {
	k := rrKey(r.RR)
	if _, dup := u[k]; dup {
		return rs
	}
	u[k] = struct{}{}
	return append(rs, r)
}

// rrKey identifies a record for de-duplication: owner, type and data
// (owner names here are canonical, lower case).
func rrKey(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.Hdr.Name + " A " + string(v.A.To4())
	case *dns.AAAA:
		return v.Hdr.Name + " AAAA " + string(v.AAAA.To16())
	case *dns.SRV:
		return v.Hdr.Name + " SRV " + strconv.Itoa(int(v.Priority)) + " " + strconv.Itoa(int(v.Weight)) + " " + strconv.Itoa(int(v.Port)) + " " + strings.ToLower(v.Target)
	case *dns.PTR:
		return v.Hdr.Name + " PTR " + strings.ToLower(v.Ptr)
	}
	return rr.String()
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
	return r.slice.Endpoints[r.epIdx].Hostname != ""
}
