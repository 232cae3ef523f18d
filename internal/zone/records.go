package zone

import (
	"math"
	"net/netip"
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
	epIdx    int
	addrIdx  int
	ports    []slicePort
}

func (r *readyAddr) source() Source {
	return objSource(r.sliceSrc, "endpoints[%d].addresses[%d]", r.epIdx, r.addrIdx)
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
	// byLabel indexes ready by endpoint label (set by endpointLabels).
	byLabel map[string][]int
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
			out = append(out, readyAddr{addr: a.Unmap(), label: label, slice: es, sliceSrc: src, epIdx: ei, addrIdx: ai, ports: ports})
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

// endpointLabels lists the distinct endpoint labels in first-seen order,
// and indexes the ready addresses by label for the per-endpoint answers.
func (d *serviceData) endpointLabels() []string {
	d.byLabel = map[string][]int{}
	var out []string
	for i := range d.ready {
		l := d.ready[i].label
		if _, seen := d.byLabel[l]; !seen {
			out = append(out, l)
		}
		d.byLabel[l] = append(d.byLabel[l], i)
	}
	return out
}

func (d *serviceData) endpointAddresses(owner, label string, qt uint16, ttl uint32) *Answer {
	a := &Answer{}
	u := uniq{}
	for _, i := range d.byLabel[label] {
		r := &d.ready[i]
		if addrFamilyType(r.addr) == qt {
			a.Answer = u.add(a.Answer, Record{RR: addrRR(owner, r.addr, ttl), From: r.source()})
		}
	}
	return a
}

// endpointSRV is SRV at an endpoint name: one per port of its slices,
// pointing at itself.
func (d *serviceData) endpointSRV(owner, label, svcOwner string, ttl uint32) *Answer {
	a := &Answer{}
	n := 0
	for _, i := range d.byLabel[label] {
		n += len(d.ready[i].ports)
	}
	w := srvWeight(n)
	ua, ue := uniq{}, uniq{}
	for _, i := range d.byLabel[label] {
		r := &d.ready[i]
		for _, p := range r.ports {
			a.Answer = ua.add(a.Answer, Record{
				RR:   &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Weight: w, Port: p.port, Target: owner},
				From: objSource(r.sliceSrc, "ports[%d]", p.idx),
			})
			a.Extra = ue.add(a.Extra, Record{RR: addrRR(owner, r.addr, ttl), From: r.source()})
		}
	}
	return a
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
