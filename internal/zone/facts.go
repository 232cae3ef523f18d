package zone

import (
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

// The facts below are the decisions the engine makes on its way to the
// records, for diagnostics (explain, lint) that must say why a name has
// the records it has without deciding anything themselves. They are made
// by the same code that makes the records, so the two cannot disagree.

// NameFacts is how the engine reads a question name.
type NameFacts struct {
	// Name is the name in canonical form: lower case, fully qualified.
	Name string
	// Zone is the longest served zone holding the name; "" when none does
	// (the server refuses the name).
	Zone string
	// Reverse is set for a name in a reverse zone.
	Reverse bool
	// Schema is a forward name read by the DNS name schema.
	Schema schema.Name
	// Addr is the address a reverse name names; invalid when the name is
	// not one whole address (no PTR can exist there).
	Addr netip.Addr
	// Multicluster: the zone is answered from ServiceImports (the Schema
	// was read by schema.ParseMulticluster).
	Multicluster bool
}

// InZone reports whether a served zone holds the name.
func (f NameFacts) InZone() bool { return f.Zone != "" }

// NameFacts reads a question name as Lookup does.
func (s *Snapshot) NameFacts(qname string) NameFacts {
	f := NameFacts{Name: lowerASCII(dns.Fqdn(qname))}
	z := s.zoneOf(f.Name)
	if z == nil {
		return f
	}
	f.Zone, f.Reverse = z.name, z.reverse
	if z.reverse {
		if a, ok := AddrFromReverse(f.Name); ok {
			f.Addr = a
		}
		return f
	}
	labels := dns.SplitDomainName(strings.TrimSuffix(f.Name, z.name))
	if f.Multicluster = z.multicluster; f.Multicluster {
		f.Schema = schema.ParseMulticluster(labels)
	} else {
		f.Schema = schema.Parse(labels)
	}
	return f
}

// ForwardZones returns the canonical forward zones, longest first.
func (s *Snapshot) ForwardZones() []string {
	var out []string
	for _, z := range s.zones {
		if !z.reverse {
			out = append(out, z.name)
		}
	}
	return out
}

// ServiceFacts is what the engine decided about one Service.
type ServiceFacts struct {
	Service *cluster.Service
	// Served is false when the engine holds no name of the service at all:
	// its namespace is not served or its name is not a DNS label.
	Served bool
	// Exists: the service name has records. A headless Service without
	// published endpoints, an ExternalName that names no domain, and an
	// empty ClusterIP Service under IgnoreEmptyService do not exist.
	Exists bool
	// ExternalTarget is the CNAME target of an ExternalName Service; ""
	// when spec.externalName is not a domain name (then nothing is
	// published).
	ExternalTarget string
	// Slices are the EndpointSlices that count for the service.
	Slices []SliceFacts
	// Published are the endpoint addresses that have records (the ready
	// ones the engine can name), in the order the records list them.
	Published []EndpointFacts
	// Unpublished are the other addresses of the slices, with why.
	Unpublished []EndpointFacts
	// NamedPorts are the (name, protocol) pairs, lower case, that have a
	// _<name>._<protocol> SRV name.
	NamedPorts []PortName
}

// PortName is a named port as SRV names spell it.
type PortName struct{ Name, Proto string }

// SliceFacts is one EndpointSlice as the engine reads it.
type SliceFacts struct {
	Slice *cluster.EndpointSlice
	// SRVPorts are the slice's ports that SRV records can use (a number
	// from 1 to 65535), lower case.
	SRVPorts []SRVPort
}

// SRVPort is a slice port that SRV records use.
type SRVPort struct {
	Name, Proto string
	Port        uint16
	// Index is its position in the slice's ports.
	Index int
}

// HasPort reports whether the slice has a usable port of that name (and
// protocol, unless proto is "").
func (f SliceFacts) HasPort(name, proto string) bool {
	for _, p := range f.SRVPorts {
		if p.Name == strings.ToLower(name) && (proto == "" || p.Proto == strings.ToLower(proto)) {
			return true
		}
	}
	return false
}

// EndpointFacts is one address of an EndpointSlice's endpoint.
type EndpointFacts struct {
	Slice    *cluster.EndpointSlice
	Endpoint int // index in Slice.Endpoints
	Address  int // index in the endpoint's addresses
	Addr     netip.Addr
	// Label is the per-endpoint label it is (or would be) published under,
	// and LabelFrom the field that decided it (see EndpointName); empty
	// when the address is not ready.
	Label, LabelFrom string
	Why              Unpublished
}

// Ready reports whether the endpoint is ready as the engine reads it
// (conditions.ready true or unset).
func (f EndpointFacts) Ready() bool { return f.Why != NotReady }

// EndpointRef returns the endpoint the address belongs to.
func (f EndpointFacts) EndpointRef() *cluster.Endpoint { return &f.Slice.Endpoints[f.Endpoint] }

// ServiceFacts says what the engine decides for a Service and the
// EndpointSlices labelled with its name, in this snapshot's namespaces and
// options. It runs the code that Update runs for the service.
func (s *Snapshot) ServiceFacts(svc *cluster.Service, slices []*cluster.EndpointSlice) ServiceFacts {
	out := ServiceFacts{Service: svc}
	f := s.newFragment(ServiceUpdate{Namespace: svc.Namespace, Name: svc.Name, Service: svc, Slices: slices})
	if f == nil {
		return out
	}
	d := f.data
	out.Served, out.Exists, out.ExternalTarget = true, d.exists, d.externalName
	if d.external() {
		return out
	}
	for _, es := range slices {
		if !attached(es, svc) {
			continue
		}
		sf := SliceFacts{Slice: es}
		for i, p := range es.Ports {
			if sp, ok := srvPort(p, i); ok {
				sf.SRVPorts = append(sf.SRVPorts, SRVPort{Name: sp.name, Proto: sp.proto, Port: sp.port, Index: i})
			}
		}
		out.Slices = append(out.Slices, sf)
		out.Unpublished = appendUnpublished(out.Unpublished, es, s.opts.EndpointPodNames)
	}
	out.Published = publishedFacts(d.ready, s.opts.EndpointPodNames)
	if d.exists {
		for _, p := range d.namedPorts() {
			out.NamedPorts = append(out.NamedPorts, PortName{Name: p[0], Proto: p[1]})
		}
	}
	return out
}

// publishedFacts are the facts of published addresses, in their order.
func publishedFacts(ready []readyAddr, endpointPodNames bool) []EndpointFacts {
	var out []EndpointFacts
	for i := range ready {
		r := &ready[i]
		_, from := EndpointName(&r.slice.es.Endpoints[r.epIdx], r.addr(), endpointPodNames)
		out = append(out, EndpointFacts{Slice: r.slice.es, Endpoint: int(r.epIdx), Address: int(r.addrIdx), Addr: r.addr(), Label: r.label, LabelFrom: from})
	}
	return out
}

// appendUnpublished appends the addresses of a slice that endpointAddr
// leaves out.
func appendUnpublished(dst []EndpointFacts, es *cluster.EndpointSlice, endpointPodNames bool) []EndpointFacts {
	for ei := range es.Endpoints {
		ep := &es.Endpoints[ei]
		for ai, a := range ep.Addresses.All() {
			label, from, why := endpointAddr(es, ep, a, endpointPodNames)
			if why != Published {
				dst = append(dst, EndpointFacts{Slice: es, Endpoint: ei, Address: ai, Addr: a.Unmap(), Label: label, LabelFrom: from, Why: why})
			}
		}
	}
	return dst
}

// ExternalTarget is the CNAME target the engine publishes for an
// ExternalName Service's spec.externalName: "" when the value is not a
// domain name (empty, an IP literal, a label that is not a DNS label).
func ExternalTarget(externalName string) string { return externalTarget(externalName) }

// ZonalFacts is what the engine decides for a zonal name
// (<topology>.pin|prefer._zone.<svc>...) of a Service.
type ZonalFacts struct {
	// Enabled: the snapshot answers zonal names (Options.Zonal).
	Enabled bool
	// Exists: the name exists (a headless Service in a served namespace,
	// zonal names on); then an empty answer is NODATA, not NXDOMAIN.
	Exists bool
	// Topology is the zone the name asks for, lower case; Prefer its
	// directive.
	Topology string
	Prefer   bool
	// Answered are the published addresses the name answers: those in the
	// topology zone, or under prefer when there are none, every one.
	Answered []EndpointFacts
	// FellBack: prefer found no address in the zone and answers them all.
	FellBack bool
	// ByZone counts the published addresses by their endpoint's zone
	// (lower case; "" for an endpoint without one).
	ByZone map[string]int
}

// ZonalFacts says what a zonal name of svc answers, by the code the server
// runs for it.
func (s *Snapshot) ZonalFacts(svc *cluster.Service, slices []*cluster.EndpointSlice, topology string, prefer bool) ZonalFacts {
	out := ZonalFacts{Enabled: s.opts.Zonal, Topology: strings.ToLower(topology), Prefer: prefer, ByZone: map[string]int{}}
	f := s.newFragment(ServiceUpdate{Namespace: svc.Namespace, Name: svc.Name, Service: svc, Slices: slices})
	if f == nil || !f.data.headless() || f.data.external() {
		return out
	}
	out.Exists = out.Enabled
	d := f.data
	for i := range d.ready {
		out.ByZone[d.ready[i].topology()]++
	}
	in, fellBack := d.inTopology(out.Topology, prefer)
	out.FellBack = fellBack
	out.Answered = publishedFacts(in.ready, s.opts.EndpointPodNames)
	return out
}

// ImportFacts is what the engine decided about one ServiceImport in the
// multicluster zones.
type ImportFacts struct {
	Import *cluster.ServiceImport
	// Served is false when its namespace is not served or its name is not
	// a DNS label, or no multicluster zone is served.
	Served bool
	// Exists: the import's name has records (a ClusterSetIP import with
	// ports, a Headless one with published endpoints).
	Exists bool
	// Slices are the EndpointSlices labelled with its name (those without
	// a source cluster are in Unattached).
	Slices, Unattached []*cluster.EndpointSlice
	// Published are the addresses with records, their Label being
	// "<endpoint>.<cluster>".
	Published []EndpointFacts
}

// ImportFacts says what the engine decides for a ServiceImport and the
// EndpointSlices labelled with its name (cluster.EndpointSlice.ImportName).
func (s *Snapshot) ImportFacts(si *cluster.ServiceImport, slices []*cluster.EndpointSlice) ImportFacts {
	out := ImportFacts{Import: si}
	for _, es := range slices {
		switch {
		case importAttached(es, si):
			out.Slices = append(out.Slices, es)
		case strings.EqualFold(es.ImportName, si.Name) && strings.EqualFold(es.Namespace, si.Namespace):
			out.Unattached = append(out.Unattached, es)
		}
	}
	if len(s.opts.MulticlusterZones) == 0 {
		return out
	}
	f := s.newImportFragment(ImportUpdate{Namespace: si.Namespace, Name: si.Name, Import: si, Slices: slices})
	if f == nil {
		return out
	}
	out.Served, out.Exists = true, f.data.exists
	out.Published = publishedFacts(f.data.ready, s.opts.EndpointPodNames)
	return out
}
