// Package zone is the record engine of clusterdns: a pure function (Build)
// from a cluster.State to an immutable Snapshot of every name the cluster
// zone holds, and the lookup rules (Snapshot.Lookup) that answer a question
// from it.
//
// Every DNS rule of the project lives here, once: the Kubernetes DNS
// specification (schema 1.1.0) and, where the specification is silent,
// the behaviour of CoreDNS's kubernetes plugin with default options
// (NXDOMAIN versus NODATA, endpoint naming, SRV weights, the owner-name case).
// The server, explain, probe and lint ask this package; none of them derives a
// record on its own.
//
// It does not read manifests or talk to an API server (sources do), does not
// decide what is ready beyond reading EndpointSlice conditions (the
// EndpointSlice controller, real or played by the manifest source, does), and
// does not parse or write DNS messages except for pre-packing answers in wire
// form (package server handles requests).
package zone

import (
	"fmt"
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/miekg/dns"
)

// SchemaVersion is the Kubernetes DNS schema version served at dns-version.<zone>.
const SchemaVersion = "1.1.0"

// versionTTL is the TTL of the dns-version TXT record, as CoreDNS.
const versionTTL = 28800

// Source says where a record came from: the object, the field of it that
// produced the data, and where the object was read. It is small (the
// object of the state, which the snapshot holds anyway, and the field as a
// format with its indices), since every record of the zone carries one.
type Source struct {
	obj   sourceObject
	field string // plain text, or a format with one or two %d verbs
	i, j  int32  // the indices; -1 when unused
}

// sourceObject is an object of the state records come from. The state's
// own values stand for it (as the types below), so that naming the object
// costs the snapshot nothing: a copy of its reference and origin per
// service and slice was 2 MB at 10k services.
type sourceObject interface {
	ref() cluster.ObjectRef
	origin() cluster.Origin
}

type (
	serviceSource cluster.Service
	sliceSource   cluster.EndpointSlice
	podSource     cluster.Pod
	importSource  cluster.ServiceImport
)

func (s *serviceSource) ref() cluster.ObjectRef { return (*cluster.Service)(s).Ref() }
func (s *serviceSource) origin() cluster.Origin { return s.Origin }
func (s *sliceSource) ref() cluster.ObjectRef   { return (*cluster.EndpointSlice)(s).Ref() }
func (s *sliceSource) origin() cluster.Origin   { return s.Origin }
func (s *podSource) ref() cluster.ObjectRef     { return (*cluster.Pod)(s).Ref() }
func (s *podSource) origin() cluster.Origin     { return s.Origin }
func (s *importSource) ref() cluster.ObjectRef  { return (*cluster.ServiceImport)(s).Ref() }
func (s *importSource) origin() cluster.Origin  { return s.Origin }

// objSource is a source in an object; field may hold %d verbs for idx.
func objSource(o sourceObject, field string, idx ...int) Source {
	s := Source{obj: o, field: field, i: -1, j: -1}
	if len(idx) > 0 {
		s.i = int32(idx[0])
	}
	if len(idx) > 1 {
		s.j = int32(idx[1])
	}
	return s
}

// textSource is a source that is no object ("zone apex").
func textSource(what string) Source { return Source{field: what, i: -1, j: -1} }

// Object is the object the record came from (zero for none).
func (s Source) Object() cluster.ObjectRef {
	if s.obj == nil {
		return cluster.ObjectRef{}
	}
	return s.obj.ref()
}

// Origin is where the object was read.
func (s Source) Origin() cluster.Origin {
	if s.obj == nil {
		return cluster.Origin{}
	}
	return s.obj.origin()
}

// Field is the field of the object that produced the data.
func (s Source) Field() string {
	switch {
	case s.i < 0:
		return s.field
	case s.j < 0:
		return fmt.Sprintf(s.field, s.i)
	}
	return fmt.Sprintf(s.field, s.i, s.j)
}

// String renders the source as "EndpointSlice ns/name endpoints[0].addresses[0] (file:line)".
func (s Source) String() string {
	var r string
	if s.obj != nil {
		r = s.obj.ref().String()
	}
	if f := s.Field(); f != "" {
		if r != "" {
			r += " "
		}
		r += f
	}
	if o := s.Origin().String(); o != "" {
		r += " (" + o + ")"
	}
	return r
}

// Record is one resource record with its provenance.
type Record struct {
	RR   dns.RR
	From Source
}

// Answer is what a question gets: rcode and sections. Negative answers carry
// the zone SOA in Ns.
type Answer struct {
	Rcode  int
	Answer []Record
	Ns     []Record
	Extra  []Record
	// Zone is the served zone the question fell in ("" if none: REFUSED).
	Zone string
	// External is the target, outside every served zone, that the CNAME
	// chain of an ExternalName service ends at (A and AAAA only): its
	// addresses are the client's resolver's to find, or a forwarding
	// server's to add (as CoreDNS does through its upstream). "" otherwise.
	External string

	wire     *template
	negative bool
}

// Negative reports whether the answer is the zone's shared NXDOMAIN or NODATA
// (no records but the zone SOA in authority), which a server writes without a
// template: see Snapshot.AppendNegative.
func (a *Answer) Negative() bool { return a.negative }

// Msg renders the answer as a dns.Msg for the question (qname keeps its
// case in owner names, as the wire form does).
func (a *Answer) Msg(qname string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response = true
	m.Authoritative = a.Zone != ""
	m.Rcode = a.Rcode
	for _, r := range a.Answer {
		m.Answer = append(m.Answer, r.RR)
	}
	for _, r := range a.Ns {
		m.Ns = append(m.Ns, r.RR)
	}
	for _, r := range a.Extra {
		m.Extra = append(m.Extra, r.RR)
	}
	return m
}

// NodeKind says what a name in the zone is.
type NodeKind int

// Kinds of names.
const (
	KindApex NodeKind = iota + 1
	KindEmpty
	KindVersion
	KindNameserver
	KindService
	KindPort
	KindEndpoint
	KindPod
	KindReverse
	numKinds
)

var kindNames = [numKinds]string{"", "apex", "empty", "version", "nameserver", "service", "port", "endpoint", "pod", "reverse"}

// String names the kind ("service", "endpoint", ...).
func (k NodeKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// AddrType is the query type that carries the address: A for the IPv4
// family (cluster.FamilyOf), AAAA otherwise.
func AddrType(a netip.Addr) uint16 {
	if cluster.FamilyOf(a) == cluster.AddressTypeIPv4 {
		return dns.TypeA
	}
	return dns.TypeAAAA
}
