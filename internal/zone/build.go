package zone

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/miekg/dns"
)

// readyAddr is one ready address of a service's EndpointSlices, with the
// label it is published under.
type readyAddr struct {
	addr    netip.Addr
	label   string
	slice   *cluster.EndpointSlice
	epIdx   int
	addrIdx int
	ports   []slicePort
}

func (r *readyAddr) source() Source {
	return Source{
		Object: r.slice.Ref(),
		Field:  fmt.Sprintf("endpoints[%d].addresses[%d]", r.epIdx, r.addrIdx),
		Origin: r.slice.Origin,
	}
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
}

func (d *serviceData) headless() bool { return d.svc.Headless }

func (d *serviceData) external() bool { return d.svc.Type == cluster.ServiceTypeExternalName }

// Build derives the snapshot of a cluster state. It is a pure function: the
// same state and options give the same snapshot. It does not keep references
// into state beyond the objects the records name.
func Build(state *cluster.State, opts Options) (*Snapshot, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("building zone: %w", err)
	}
	s := &Snapshot{
		opts:       o,
		nodes:      make(map[string]*node),
		namespaces: make(map[string]bool),
		services:   make(map[string]*serviceData),
		Serial:     o.Serial,
	}
	for _, z := range o.Zones {
		s.zones = append(s.zones, newServedZone(z, false, o))
	}
	for _, z := range o.ReverseZones {
		s.zones = append(s.zones, newServedZone(z, true, o))
	}
	sort.SliceStable(s.zones, func(i, j int) bool { return s.zones[i].labels > s.zones[j].labels })

	filter := map[string]bool{}
	for _, ns := range o.Namespaces {
		filter[ns] = true
	}
	for i := range state.Namespaces {
		ns := strings.ToLower(state.Namespaces[i].Name)
		if len(filter) == 0 || filter[ns] {
			s.namespaces[ns] = true
		}
	}

	data := s.collectServices(state)
	for _, z := range s.zones {
		if z.reverse {
			continue
		}
		s.addForwardZone(z, data, state)
	}
	s.addReverse(data)
	s.addApexes(data)

	for _, n := range s.nodes {
		s.Stats.Names++
		for qt, a := range n.answers {
			s.Stats.Records += len(a.Answer)
			a.Zone = n.zone.name
			a.wire = packTemplate(n.name, qt, n.zone, a)
		}
	}
	return s, nil
}

func newServedZone(name string, reverse bool, o Options) *servedZone {
	soaTTL := o.TTL
	if soaTTL > 300 {
		soaTTL = 300
	}
	z := &servedZone{name: name, labels: dns.CountLabel(name), reverse: reverse}
	z.soa = Record{RR: &dns.SOA{
		Hdr:     dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaTTL},
		Ns:      "ns.dns." + name,
		Mbox:    "hostmaster." + name,
		Serial:  o.Serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  o.TTL,
	}, From: Source{Field: "zone apex"}}
	z.nodata = &Answer{Rcode: dns.RcodeSuccess, Ns: []Record{z.soa}, Zone: name, negative: true}
	z.nxdomain = &Answer{Rcode: dns.RcodeNameError, Ns: []Record{z.soa}, Zone: name, negative: true}
	z.negative = newNegativeTemplate(z.soa.RR.(*dns.SOA), name)
	return z
}

// collectServices gathers, for every Service in an exposed namespace, the
// ready addresses of the EndpointSlices labelled with its name.
func (s *Snapshot) collectServices(state *cluster.State) []*serviceData {
	slicesBy := map[string][]*cluster.EndpointSlice{}
	for i := range state.EndpointSlices {
		es := &state.EndpointSlices[i]
		if es.ServiceName == "" || es.AddressType == cluster.AddressTypeFQDN {
			continue
		}
		k := strings.ToLower(es.ServiceName) + "." + strings.ToLower(es.Namespace)
		slicesBy[k] = append(slicesBy[k], es)
	}
	var out []*serviceData
	for i := range state.Services {
		svc := &state.Services[i]
		ns := strings.ToLower(svc.Namespace)
		name := strings.ToLower(svc.Name)
		if !s.namespaces[ns] || !IsDNSLabel(name) {
			continue
		}
		d := &serviceData{svc: svc, exists: true}
		key := name + "." + ns
		if d.external() {
			d.externalName = externalTarget(svc.ExternalName)
			d.exists = d.externalName != ""
		} else {
			for _, es := range slicesBy[key] {
				d.ready = appendReady(d.ready, es, s.opts.EndpointPodNames)
			}
			switch {
			case d.headless():
				d.exists = len(d.ready) > 0
			case s.opts.IgnoreEmptyService:
				d.exists = len(d.ready) > 0
			}
		}
		if _, dup := s.services[key]; dup {
			continue
		}
		s.services[key] = d
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].svc, out[j].svc
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	s.Stats.Services = len(out)
	return out
}

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
			out = append(out, readyAddr{addr: a.Unmap(), label: label, slice: es, epIdx: ei, addrIdx: ai, ports: ports})
		}
	}
	return out
}

func (s *Snapshot) addNode(name string, z *servedZone, kind NodeKind, svc *cluster.Service) *node {
	if n, ok := s.nodes[name]; ok {
		return n
	}
	n := &node{name: name, zone: z, kind: kind, service: svc, answers: map[uint16]*Answer{}}
	s.nodes[name] = n
	return n
}

// set stores the answer for a type if it has records; an empty answer is
// NODATA, which the lookup gives for every type not stored.
func (n *node) set(qtype uint16, a *Answer) {
	if a != nil && len(a.Answer) > 0 {
		n.answers[qtype] = a
	}
}

func (s *Snapshot) addForwardZone(z *servedZone, data []*serviceData, state *cluster.State) {
	ttl := s.opts.TTL
	v := s.addNode("dns-version."+z.name, z, KindVersion, nil)
	v.set(dns.TypeTXT, &Answer{Answer: []Record{{
		RR:   &dns.TXT{Hdr: hdr("dns-version."+z.name, dns.TypeTXT, versionTTL), Txt: []string{SchemaVersion}},
		From: Source{Field: "Kubernetes DNS schema version"},
	}}})
	s.addNode("svc."+z.name, z, KindEmpty, nil)
	s.addNode("pod."+z.name, z, KindEmpty, nil)
	for ns := range s.namespaces {
		s.addNode(ns+".svc."+z.name, z, KindEmpty, nil)
		s.addNode(ns+".pod."+z.name, z, KindEmpty, nil)
	}
	for _, d := range data {
		if !d.exists {
			continue
		}
		owner := strings.ToLower(d.svc.Name) + "." + strings.ToLower(d.svc.Namespace) + ".svc." + z.name
		n := s.addNode(owner, z, KindService, d.svc)
		if d.external() {
			cname := &Answer{Answer: []Record{d.cname(owner, ttl)}}
			n.set(dns.TypeCNAME, cname)
			for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
				n.set(qt, s.chase(d, owner, qt, z))
			}
			continue
		}
		n.set(dns.TypeA, d.addresses(owner, dns.TypeA, ttl))
		n.set(dns.TypeAAAA, d.addresses(owner, dns.TypeAAAA, ttl))
		n.set(dns.TypeSRV, d.srv(owner, z.name, "", "", true, ttl))
		for _, pp := range d.namedPorts() {
			po := "_" + pp[0] + "._" + pp[1] + "." + owner
			pn := s.addNode(po, z, KindPort, d.svc)
			pn.set(dns.TypeSRV, d.srv(po, z.name, pp[0], pp[1], false, ttl))
		}
		for _, label := range d.endpointLabels() {
			eo := label + "." + owner
			en := s.addNode(eo, z, KindEndpoint, d.svc)
			en.set(dns.TypeA, d.endpointAddresses(eo, label, dns.TypeA, ttl))
			en.set(dns.TypeAAAA, d.endpointAddresses(eo, label, dns.TypeAAAA, ttl))
			en.set(dns.TypeSRV, d.endpointSRV(eo, label, owner, ttl))
		}
	}
	if s.opts.PodRecords == PodsVerified {
		for i := range state.Pods {
			p := &state.Pods[i]
			ns := strings.ToLower(p.Namespace)
			if !s.namespaces[ns] || p.Terminating() || p.Phase == cluster.PodSucceeded || p.Phase == cluster.PodFailed || p.Phase == cluster.PodUnknown {
				continue
			}
			for j, ip := range p.IPs {
				owner := DashedIP(ip) + "." + ns + ".pod." + z.name
				n := s.addNode(owner, z, KindPod, nil)
				qt := addrFamilyType(ip)
				src := Source{Object: p.Ref(), Field: fmt.Sprintf("status.podIPs[%d]", j), Origin: p.Origin}
				a := n.answers[qt]
				if a == nil {
					a = &Answer{}
					n.answers[qt] = a
				}
				a.Answer = appendUniqueAddr(a.Answer, owner, ip, ttl, src)
			}
		}
	}
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
		From: Source{Object: d.svc.Ref(), Field: "spec.externalName", Origin: d.svc.Origin},
	}
}

// addresses is the A or AAAA RRset at the service name: the ClusterIPs, or
// the ready endpoint addresses of a headless service.
func (d *serviceData) addresses(owner string, qt uint16, ttl uint32) *Answer {
	a := &Answer{}
	if d.headless() {
		for i := range d.ready {
			r := &d.ready[i]
			if addrFamilyType(r.addr) == qt {
				a.Answer = appendUniqueAddr(a.Answer, owner, r.addr, ttl, r.source())
			}
		}
		return a
	}
	for i, ip := range d.svc.ClusterIPs {
		if addrFamilyType(ip) == qt {
			a.Answer = appendUniqueAddr(a.Answer, owner, ip.Unmap(), ttl,
				Source{Object: d.svc.Ref(), Field: fmt.Sprintf("spec.clusterIPs[%d]", i), Origin: d.svc.Origin})
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
					src:  Source{Object: r.slice.Ref(), Field: fmt.Sprintf("ports[%d]", p.idx), Origin: r.slice.Origin},
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
					src: Source{Object: d.svc.Ref(), Field: fmt.Sprintf("spec.ports[%d]", j), Origin: d.svc.Origin},
					glue: Record{RR: addrRR(svcName, ip.Unmap(), ttl),
						From: Source{Object: d.svc.Ref(), Field: fmt.Sprintf("spec.clusterIPs[%d]", i), Origin: d.svc.Origin}},
				})
			}
		}
	}
	w := srvWeight(len(items))
	for _, it := range items {
		it.rr.Weight = w
		a.Answer = appendUnique(a.Answer, Record{RR: it.rr, From: it.src})
		a.Extra = appendUnique(a.Extra, it.glue)
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

// endpointLabels lists the distinct endpoint labels in first-seen order.
func (d *serviceData) endpointLabels() []string {
	seen := map[string]bool{}
	var out []string
	for i := range d.ready {
		if l := d.ready[i].label; !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

func (d *serviceData) endpointAddresses(owner, label string, qt uint16, ttl uint32) *Answer {
	a := &Answer{}
	for i := range d.ready {
		r := &d.ready[i]
		if r.label == label && addrFamilyType(r.addr) == qt {
			a.Answer = appendUniqueAddr(a.Answer, owner, r.addr, ttl, r.source())
		}
	}
	return a
}

// endpointSRV is SRV at an endpoint name: one per port of its slices,
// pointing at itself.
func (d *serviceData) endpointSRV(owner, label, svcOwner string, ttl uint32) *Answer {
	a := &Answer{}
	n := 0
	for i := range d.ready {
		if d.ready[i].label == label {
			n += len(d.ready[i].ports)
		}
	}
	w := srvWeight(n)
	for i := range d.ready {
		r := &d.ready[i]
		if r.label != label {
			continue
		}
		for _, p := range r.ports {
			a.Answer = appendUnique(a.Answer, Record{
				RR:   &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Weight: w, Port: p.port, Target: owner},
				From: Source{Object: r.slice.Ref(), Field: fmt.Sprintf("ports[%d]", p.idx), Origin: r.slice.Origin},
			})
			a.Extra = appendUnique(a.Extra, Record{RR: addrRR(owner, r.addr, ttl), From: r.source()})
		}
	}
	return a
}

// maxChase bounds CNAME chains inside the zone, as CoreDNS.
const maxChase = 10

// chase is the answer of an ExternalName service for an address or TXT
// query: the CNAME, followed inside the served zones as far as it leads.
// A target outside the zone is left to the client's resolver.
func (s *Snapshot) chase(d *serviceData, owner string, qt uint16, z *servedZone) *Answer {
	a := &Answer{Answer: []Record{d.cname(owner, s.opts.TTL)}}
	seen := map[string]bool{owner: true}
	target := strings.ToLower(d.externalName)
	for range maxChase {
		if seen[target] || s.zoneOf(target) == nil {
			break
		}
		seen[target] = true
		next := s.servicesByName(target)
		if next == nil || !next.exists {
			break
		}
		if next.external() {
			a.Answer = append(a.Answer, next.cname(target, s.opts.TTL))
			target = strings.ToLower(next.externalName)
			continue
		}
		if qt == dns.TypeA || qt == dns.TypeAAAA {
			a.Answer = append(a.Answer, next.addresses(target, qt, s.opts.TTL).Answer...)
		}
		break
	}
	return a
}

// servicesByName finds the service whose name is <svc>.<ns>.svc.<zone>.
func (s *Snapshot) servicesByName(name string) *serviceData {
	z := s.zoneOf(name)
	if z == nil || z.reverse {
		return nil
	}
	labels := dns.SplitDomainName(strings.TrimSuffix(name, z.name))
	if len(labels) != 3 || labels[2] != "svc" {
		return nil
	}
	return s.services[labels[0]+"."+labels[1]]
}

// addReverse adds PTR names for ClusterIPs and ready endpoint addresses that
// fall in a served reverse zone. A ClusterIP names its service only (the
// first service by namespace/name); an endpoint address names every
// <label>.<service> it is published as.
func (s *Snapshot) addReverse(data []*serviceData) {
	if len(s.opts.Zones) == 0 {
		return
	}
	primary := s.opts.Zones[0]
	ttl := s.opts.TTL
	clusterIP := map[netip.Addr]bool{}
	for _, d := range data {
		if !d.exists || d.headless() || d.external() {
			continue
		}
		for i, ip := range d.svc.ClusterIPs {
			ip = ip.Unmap()
			if clusterIP[ip] {
				continue
			}
			clusterIP[ip] = true
			s.addPTR(ip, strings.ToLower(d.svc.Name)+"."+strings.ToLower(d.svc.Namespace)+".svc."+primary, ttl,
				Source{Object: d.svc.Ref(), Field: fmt.Sprintf("spec.clusterIPs[%d]", i), Origin: d.svc.Origin})
		}
	}
	for _, d := range data {
		if !d.exists || d.external() {
			continue
		}
		svcName := strings.ToLower(d.svc.Name) + "." + strings.ToLower(d.svc.Namespace) + ".svc." + primary
		for i := range d.ready {
			r := &d.ready[i]
			if clusterIP[r.addr] {
				continue
			}
			s.addPTR(r.addr, r.label+"."+svcName, ttl, r.source())
		}
	}
}

func (s *Snapshot) addPTR(ip netip.Addr, target string, ttl uint32, src Source) {
	owner := reverseName(ip)
	z := s.zoneOf(owner)
	if z == nil || !z.reverse {
		return
	}
	n := s.addNode(owner, z, KindReverse, nil)
	a := n.answers[dns.TypePTR]
	if a == nil {
		a = &Answer{}
		n.answers[dns.TypePTR] = a
	}
	a.Answer = appendUnique(a.Answer, Record{RR: &dns.PTR{Hdr: hdr(owner, dns.TypePTR, ttl), Ptr: target}, From: src})
}

// addApexes adds SOA and NS at every zone apex, and ns.dns.<zone>. The NS
// set names the services whose endpoints carry one of the server's own
// addresses (the service name for a ClusterIP service, the endpoint name for
// a headless one); if none does, ns.dns.<zone> with the own addresses.
func (s *Snapshot) addApexes(data []*serviceData) {
	ttl := s.opts.TTL
	own := map[netip.Addr]bool{}
	for _, ip := range s.opts.NameserverIPs {
		own[ip.Unmap()] = true
	}
	for _, z := range s.zones {
		apex := s.addNode(z.name, z, KindApex, nil)
		apex.kind = KindApex
		apex.set(dns.TypeSOA, &Answer{Answer: []Record{z.soa}})
		ns := &Answer{}
		var nsAddrs []Record
		if !z.reverse {
			for _, d := range data {
				if !d.exists || d.external() {
					continue
				}
				svcName := strings.ToLower(d.svc.Name) + "." + strings.ToLower(d.svc.Namespace) + ".svc." + z.name
				for i := range d.ready {
					r := &d.ready[i]
					if !own[r.addr] {
						continue
					}
					if d.headless() {
						target := r.label + "." + svcName
						ns.Answer = appendUnique(ns.Answer, Record{RR: &dns.NS{Hdr: hdr(z.name, dns.TypeNS, ttl), Ns: target}, From: r.source()})
						ns.Extra = appendUnique(ns.Extra, Record{RR: addrRR(target, r.addr, ttl), From: r.source()})
						nsAddrs = appendUniqueAddr(nsAddrs, "ns.dns."+z.name, r.addr, ttl, r.source())
						continue
					}
					ns.Answer = appendUnique(ns.Answer, Record{RR: &dns.NS{Hdr: hdr(z.name, dns.TypeNS, ttl), Ns: svcName},
						From: Source{Object: d.svc.Ref(), Field: "metadata.name", Origin: d.svc.Origin}})
					for j, ip := range d.svc.ClusterIPs {
						src := Source{Object: d.svc.Ref(), Field: fmt.Sprintf("spec.clusterIPs[%d]", j), Origin: d.svc.Origin}
						ns.Extra = appendUnique(ns.Extra, Record{RR: addrRR(svcName, ip.Unmap(), ttl), From: src})
						nsAddrs = appendUniqueAddr(nsAddrs, "ns.dns."+z.name, ip.Unmap(), ttl, src)
					}
				}
			}
		}
		if len(ns.Answer) == 0 {
			target := "ns.dns." + z.name
			ns.Answer = []Record{{RR: &dns.NS{Hdr: hdr(z.name, dns.TypeNS, ttl), Ns: target}, From: Source{Field: "server addresses"}}}
			for _, ip := range s.opts.NameserverIPs {
				r := Record{RR: addrRR(target, ip.Unmap(), ttl), From: Source{Field: "server addresses"}}
				ns.Extra = appendUnique(ns.Extra, r)
				nsAddrs = appendUnique(nsAddrs, r)
			}
		}
		apex.set(dns.TypeNS, ns)
		if !z.reverse {
			nn := s.addNode("ns.dns."+z.name, z, KindNameserver, nil)
			nn.set(dns.TypeA, &Answer{Answer: filterType(nsAddrs, dns.TypeA)})
			nn.set(dns.TypeAAAA, &Answer{Answer: filterType(nsAddrs, dns.TypeAAAA)})
		}
	}
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
