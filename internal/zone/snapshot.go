package zone

import (
	"fmt"
	"hash/maphash"
	"maps"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

// node is one name that exists in a served zone, with its precomputed
// answers per query type. Types not in answers get NODATA.
type node struct {
	name string
	zone *servedZone
	kind NodeKind
	// data is the service a service or port name belongs to (nil for the
	// names of no service).
	data *serviceData
	// answers are the answers kept whole (names that belong to no service);
	// stored and packed are those of service and port names, kept small.
	answers answerSet
	stored  []storedAnswer
	packed  []atomic.Pointer[template]
}

// answerSet holds a name's answers by type: a few entries, so a slice
// costs less than a map.
type answerSet []typedAnswer

type typedAnswer struct {
	qtype uint16
	a     *Answer
}

// get returns the answer for the type, nil if the name has none.
func (s answerSet) get(qtype uint16) *Answer {
	for _, x := range s {
		if x.qtype == qtype {
			return x.a
		}
	}
	return nil
}

func (s answerSet) put(qtype uint16, a *Answer) answerSet {
	for i := range s {
		if s[i].qtype == qtype {
			s[i].a = a
			return s
		}
	}
	return append(s, typedAnswer{qtype, a})
}

// set stores the answer for a type if it has records; an empty answer is
// NODATA, which the lookup gives for every type not stored.
func (n *node) set(qtype uint16, a *Answer) {
	if a != nil && len(a.Answer) > 0 {
		a.Zone = n.zone.name
		a.wire = packTemplate(n.name, qtype, a)
		n.answers = n.answers.put(qtype, a)
	}
}

// storedAnswer is the answer of a service or port name for one type, kept
// as its record count: the records are made again from the service's data
// when asked for (see node.items), and the wire form is packed on first use
// (node.wire).
type storedAnswer struct {
	qtype uint16
	count int32
}

// setStored records the types a service or port name has answers of.
func (n *node) setStored(types []storedAnswer) {
	n.stored = types
	n.packed = make([]atomic.Pointer[template], len(types))
}

// storedIndex is the index of the type in n.stored, -1 if none.
func (n *node) storedIndex(qtype uint16) int {
	for i := range n.stored {
		if n.stored[i].qtype == qtype {
			return i
		}
	}
	return -1
}

// wire returns the packed form of stored answer i, packing it the first
// time: an update of a large service does not pack answers nobody asks
// for (a 1,000-endpoint service's SRV answers are most of its update's
// work), and a zone holds packed answers only for the names in use. The
// packed form is kept with the name, shared by the snapshots that share
// the service. Concurrent first uses may pack twice; one result is kept,
// and they are the same.
func (n *node) wire(i int, o *Options) *template {
	p := &n.packed[i]
	if t := p.Load(); t != nil {
		return t
	}
	qt := n.stored[i].qtype
	p.CompareAndSwap(nil, itemTemplate(n.name, qt, n.zone, *o, n.items(nil, qt)))
	return p.Load()
}

// items makes again the items of a service or port name's answer of a
// type, as addServiceNames counted them.
func (n *node) items(dst []item, qtype uint16) []item {
	switch {
	case n.data == nil:
		return dst
	case n.kind == KindPort:
		// "_<port>._<proto>.<service>...": the labels addServiceNames
		// named it with.
		port, rest, _ := strings.Cut(n.name, ".")
		proto, _, _ := strings.Cut(rest, ".")
		return n.data.srvItems(dst, port[1:], proto[1:], false)
	case qtype == dns.TypeSRV:
		return n.data.srvItems(dst, "", "", true)
	}
	return n.data.addressItems(dst, qtype)
}

// servedZone is one zone served by the snapshot, with its negative-answer SOA.
type servedZone struct {
	name    string
	labels  int
	reverse bool
	// multicluster: the zone is answered from ServiceImports.
	multicluster bool
	// prefix is the addresses a reverse zone holds the names of (invalid
	// when the zone is not whole octets or nibbles).
	prefix netip.Prefix
	soa    Record
	// nodata and nxdomain are shared negative answers for this zone.
	nodata   *Answer
	nxdomain *Answer
	negative *negativeTemplate
}

// fragment is everything one Service contributes to the zone: its names in
// every forward zone and the PTR entries of its addresses. A change to the
// service or its EndpointSlices replaces the fragment and nothing else.
type fragment struct {
	stats Stats
	data  *serviceData
	// nodes are the service's names but the per-endpoint ones, which are
	// answered from data's label index (see leaf): the service name and
	// its port names in each zone, few enough to search in order.
	nodes []*node
	// ptrs is set when the service's addresses have PTR names (see
	// eachPTR).
	ptrs bool
	// nameservers is set when an endpoint carries one of the server's own
	// addresses, so the fragment names the apex NS set.
	nameservers bool
	// digest is the hash of the fragment's content (see SameContent).
	digest uint64
}

// podSet is a <a-b-c-d>.<ns>.pod.<zone> name (verified pod records) with the
// pods carrying that address.
type podSet struct {
	pods  map[string]podAddr // "<ns>/<pod>" -> address entry
	nodes map[string]*node   // zone -> name
}

type podAddr struct {
	ip  netip.Addr
	src Source
}

// Snapshot is the immutable DNS view of one cluster state: every name of the
// served zones with its records. It is safe for concurrent use. A new
// snapshot made by Update shares everything the change did not touch.
//
// Names with few, large answers (services, their SRV names, the apex) are
// stored, with their answers packed on first use. The two kinds of names there is one of
// per endpoint (per-endpoint names and PTR names) are not: each service
// keeps its ready addresses indexed by label and each address its PTR
// entries, and their answers are made per query from those (see leaf), so
// that a name costs no memory of its own.
type Snapshot struct {
	opts  Options
	zones []*servedZone // longest name first
	// static holds the names that do not belong to a service: apexes,
	// dns-version, ns.dns, svc/pod and the namespace names.
	static     map[string]*node
	namespaces map[string]bool
	services   shards[string, *fragment]
	// imports are the ServiceImports' fragments, answered in the
	// multicluster zones (services are answered in the others).
	imports shards[string, *fragment]
	ptrs    ptrTable
	// pods maps "<dashed-ip>.<ns>" to verified pod records; podIPs maps
	// "<ns>/<name>" to the keys a pod holds, to remove them on change.
	pods   shards[string, *podSet]
	podIPs shards[string, []string]
	// nsKeys are the fragments that name the apex NS set.
	nsKeys map[string]bool
	// refused is the answer to a name outside every served zone.
	refused *Answer
	// Serial is the SOA serial of this snapshot.
	Serial uint32
	// digest sums the hashes of the parts the records are made of (see
	// SameContent).
	digest uint64
	// Stats counts what the snapshot holds.
	Stats Stats
}

// Stats counts the contents of a snapshot. Update keeps them by adding and
// subtracting what the replaced parts held, never by walking the zone.
//
// The counters are 32 bits: every fragment (one per service) keeps its own
// Stats, and a zone's totals stay far below 2^31.
type Stats struct {
	Services int32
	Names    int32
	Records  int32
	// Records by the kind of name that holds them.
	RecordsByKind [numKinds]int32
	// Ready endpoint addresses of headless services with and without an
	// EndpointSlice hostname (per-pod names from the hostname vs the IP).
	HeadlessEndpoints             int32
	HeadlessEndpointsWithHostname int32
}

func (a *Stats) add(b Stats, sign int32) {
	a.Services += sign * b.Services
	a.Names += sign * b.Names
	a.Records += sign * b.Records
	for i := range a.RecordsByKind {
		a.RecordsByKind[i] += sign * b.RecordsByKind[i]
	}
	a.HeadlessEndpoints += sign * b.HeadlessEndpoints
	a.HeadlessEndpointsWithHostname += sign * b.HeadlessEndpointsWithHostname
}

func (a *Stats) addNode(n *node, sign int32) {
	if n == nil {
		return
	}
	a.Names += sign
	for _, x := range n.answers {
		a.Records += sign * int32(len(x.a.Answer))
		a.RecordsByKind[n.kind] += sign * int32(len(x.a.Answer))
	}
	for _, x := range n.stored {
		a.Records += sign * x.count
		a.RecordsByKind[n.kind] += sign * x.count
	}
}

// Options returns the (normalized) options the snapshot was built with.
func (s *Snapshot) Options() Options { return s.opts }

// Zones returns the served zone names, forward zones first.
func (s *Snapshot) Zones() []string {
	out := append([]string(nil), s.opts.Zones...)
	return append(out, s.opts.ReverseZones...)
}

// HasService reports whether the snapshot holds the Service whose key is
// key (schema.ServiceKey), whether or not it has records now: a headless
// Service with no ready endpoint answers NXDOMAIN, yet the names below it
// are its own. It allocates nothing.
func (s *Snapshot) HasService(key string) bool { return s.services.get(key) != nil }

// ExposedNamespace reports whether names in the namespace are served.
func (s *Snapshot) ExposedNamespace(ns string) bool { return s.namespaces[ns] }

// zoneOf returns the longest served zone containing the canonical name.
func (s *Snapshot) zoneOf(name string) *servedZone {
	for _, z := range s.zones {
		if inZone(name, z.name) {
			return z
		}
	}
	return nil
}

// inZone reports whether the canonical name is the zone or below it.
func inZone(name, zone string) bool {
	if len(name) == len(zone) {
		return name == zone
	}
	return len(name) > len(zone) && name[len(name)-len(zone)-1] == '.' && name[len(name)-len(zone):] == zone
}

// Change is a set of updates to apply to a snapshot.
type Change struct {
	// Namespaces, if not nil, replaces the set of existing namespaces.
	// Services of namespaces that go away are dropped; services of
	// namespaces that appear must be listed in Services.
	Namespaces []string
	// Services replaces each listed service (and its EndpointSlices).
	Services []ServiceUpdate
	// Pods replaces each listed pod (pod records in verified mode).
	Pods []PodUpdate
	// Imports replaces each listed ServiceImport (and its EndpointSlices);
	// read only when a multicluster zone is served.
	Imports []ImportUpdate
	// Serial is the SOA serial of the new snapshot.
	Serial uint32
}

// ServiceUpdate is the current state of one service: nil Service means it is
// gone. Slices are all the EndpointSlices labelled with its name.
type ServiceUpdate struct {
	Namespace, Name string
	Service         *cluster.Service
	Slices          []*cluster.EndpointSlice
}

// ImportUpdate is the current state of one ServiceImport: nil Import means
// it is gone. Slices are all the EndpointSlices whose ImportName is its
// name.
type ImportUpdate struct {
	Namespace, Name string
	Import          *cluster.ServiceImport
	Slices          []*cluster.EndpointSlice
}

// PodUpdate is the current state of one pod; nil Pod means it is gone.
type PodUpdate struct {
	Namespace, Name string
	Pod             *cluster.Pod
}

// Build derives the snapshot of a cluster state. It is a pure function: the
// same state and options give the same snapshot. It is Update applied to an
// empty snapshot, so a snapshot maintained by updates and one built whole
// from the same state answer alike.
//
// The snapshot keeps the state's EndpointSlices (by pointer) rather than
// copies of what it reads of them (addresses, hostnames, zones): the state
// must not be modified afterwards. A change passes new values (Update).
func Build(state *cluster.State, opts Options) (*Snapshot, error) {
	s, err := Empty(opts)
	if err != nil {
		return nil, err
	}
	ch := Change{Serial: s.opts.Serial, Namespaces: []string{}}
	for i := range state.Namespaces {
		ch.Namespaces = append(ch.Namespaces, state.Namespaces[i].Name)
	}
	slicesBy := map[string][]*cluster.EndpointSlice{}
	for i := range state.EndpointSlices {
		es := &state.EndpointSlices[i]
		k := ServiceKey(es.Namespace, es.ServiceName)
		slicesBy[k] = append(slicesBy[k], es)
	}
	for i := range state.Services {
		svc := &state.Services[i]
		ch.Services = append(ch.Services, ServiceUpdate{Namespace: svc.Namespace, Name: svc.Name, Service: svc, Slices: slicesBy[ServiceKey(svc.Namespace, svc.Name)]})
	}
	for i := range state.Pods {
		p := &state.Pods[i]
		ch.Pods = append(ch.Pods, PodUpdate{Namespace: p.Namespace, Name: p.Name, Pod: p})
	}
	if len(s.opts.MulticlusterZones) > 0 {
		importSlices := map[string][]*cluster.EndpointSlice{}
		for i := range state.EndpointSlices {
			if es := &state.EndpointSlices[i]; es.ImportName != "" {
				k := ServiceKey(es.Namespace, es.ImportName)
				importSlices[k] = append(importSlices[k], es)
			}
		}
		for i := range state.ServiceImports {
			si := &state.ServiceImports[i]
			ch.Imports = append(ch.Imports, ImportUpdate{Namespace: si.Namespace, Name: si.Name, Import: si, Slices: importSlices[ServiceKey(si.Namespace, si.Name)]})
		}
	}
	return s.Update(ch), nil
}

// ServiceKey is the key a service's fragment is stored under: its name
// relative to the svc tree (schema.ServiceKey).
func ServiceKey(namespace, name string) string { return schema.ServiceKey(namespace, name) }

// Empty returns a snapshot with the zones and nothing in them.
func Empty(opts Options) (*Snapshot, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("building zone: %w", err)
	}
	s := &Snapshot{opts: o, namespaces: map[string]bool{}, nsKeys: map[string]bool{}, Serial: o.Serial,
		refused: &Answer{Rcode: dns.RcodeRefused}}
	seed := maphash.MakeSeed()
	// Parts for about 10-50 keys each at 10k services and 150k endpoints.
	s.services = newShards[string, *fragment](seed, 256)
	s.imports = newShards[string, *fragment](seed, 16)
	s.ptrs = newPTRTable(seed)
	s.pods = newShards[string, *podSet](seed, 4096)
	s.podIPs = newShards[string, []string](seed, 4096)
	for _, z := range o.Zones {
		s.zones = append(s.zones, newServedZone(z, false, o, o.Serial))
	}
	for _, z := range o.ReverseZones {
		s.zones = append(s.zones, newServedZone(z, true, o, o.Serial))
	}
	sort.SliceStable(s.zones, func(i, j int) bool { return s.zones[i].labels > s.zones[j].labels })
	s.rebuildStatic()
	return s, nil
}

func newServedZone(name string, reverse bool, o Options, serial uint32) *servedZone {
	soaTTL := o.TTL
	if soaTTL > 300 {
		soaTTL = 300
	}
	z := &servedZone{name: name, labels: dns.CountLabel(name), reverse: reverse, multicluster: !reverse && slices.Contains(o.MulticlusterZones, name)}
	if reverse {
		z.prefix = reversePrefix(name)
	}
	z.soa = Record{RR: &dns.SOA{
		Hdr:     dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaTTL},
		Ns:      schema.NameserverName(name),
		Mbox:    "hostmaster." + name,
		Serial:  serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  o.TTL,
	}, From: textSource("zone apex")}
	z.nodata = &Answer{Rcode: dns.RcodeSuccess, Ns: []Record{z.soa}, Zone: name, negative: true}
	z.nxdomain = &Answer{Rcode: dns.RcodeNameError, Ns: []Record{z.soa}, Zone: name, negative: true}
	z.negative = newNegativeTemplate(z.soa.RR.(*dns.SOA), name)
	return z
}

// Update returns a new snapshot with the change applied. The receiver is not
// modified; the new snapshot shares every fragment the change did not touch.
// The work done is proportional to the change, not to the zone, except when
// the namespace set changes.
func (s *Snapshot) Update(ch Change) *Snapshot {
	n := *s
	staticDirty := false
	svcUpd := map[string]*fragment{}
	importUpd := map[string]*fragment{}
	if ch.Namespaces != nil {
		for ns := range s.namespaces {
			n.digest -= nameDigest(digestNamespace, ns)
		}
		n.namespaces = map[string]bool{}
		filter := map[string]bool{}
		for _, ns := range s.opts.Namespaces {
			filter[ns] = true
		}
		for _, ns := range ch.Namespaces {
			ns = strings.ToLower(ns)
			if len(filter) == 0 || filter[ns] {
				n.namespaces[ns] = true
			}
		}
		for ns := range n.namespaces {
			n.digest += nameDigest(digestNamespace, ns)
		}
		staticDirty = true
		// Services of namespaces that went away are dropped.
		s.services.each(func(k string, f *fragment) {
			if !n.namespaces[strings.ToLower(f.data.svc.Namespace)] {
				svcUpd[k] = nil
			}
		})
		s.imports.each(func(k string, f *fragment) {
			if !n.namespaces[strings.ToLower(f.data.svc.Namespace)] {
				importUpd[k] = nil
			}
		})
	}
	for _, u := range ch.Imports {
		importUpd[ServiceKey(u.Namespace, u.Name)] = n.newImportFragment(u)
	}
	for k, f := range importUpd {
		if old := s.imports.get(k); old != nil {
			n.Stats.add(old.stats, -1)
			n.digest -= old.digest
		}
		if f != nil {
			n.Stats.add(f.stats, 1)
			n.digest += f.digest
		}
	}
	if len(importUpd) > 0 {
		n.imports = s.imports.with(importUpd)
	}
	frags := n.newFragments(ch.Services)
	for i, u := range ch.Services {
		svcUpd[ServiceKey(u.Namespace, u.Name)] = frags[i]
	}
	// The apex NS set follows the fragments that carry own addresses.
	nsDirty := false
	if len(svcUpd) > 0 {
		n.nsKeys = cloneSet(s.nsKeys)
		for k, f := range svcUpd {
			had := n.nsKeys[k]
			has := f != nil && f.nameservers
			if had != has {
				nsDirty = true
			}
			if has {
				nsDirty = true // its addresses may have changed
				n.nsKeys[k] = true
			} else {
				delete(n.nsKeys, k)
			}
		}
	}
	for k, f := range svcUpd {
		if old := s.services.get(k); old != nil {
			n.Stats.add(old.stats, -1)
			n.digest -= old.digest
		}
		if f != nil {
			n.Stats.add(f.stats, 1)
			n.digest += f.digest
		}
	}
	n.services = s.services.with(svcUpd)
	// PTR names: only the entries the changed services changed.
	if s.ptrs.empty() {
		// A build (or a table emptied): every entry is new. The
		// fragments by key, not frags: a key given twice counts once.
		n.ptrs = s.ptrs.fill(maps.Values(svcUpd), n.servesReverse, &n.Stats)
	} else {
		pc := ptrChange{remove: map[int][]ptrEntry{}, add: map[int][]ptrEntry{}}
		for k, f := range svcUpd {
			s.ptrs.diff(&pc, s.services.get(k), f, n.servesReverse)
		}
		n.ptrs = s.ptrs.apply(&pc, &n.Stats)
	}
	if len(ch.Pods) > 0 {
		n.updatePods(s, ch.Pods)
	}
	// A new serial only with new content (SameContent).
	if ch.Serial != s.Serial && n.digest != s.digest {
		n.renumber(ch.Serial)
		staticDirty = true
	}
	if staticDirty || nsDirty {
		n.rebuildStatic()
	}
	return &n
}

func cloneSet(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// parallelFragments is the number of services from which Update derives
// fragments on every core: a full build or a re-list, not an event.
const parallelFragments = 512

// newFragments derives the fragments of the updates, in order. Fragments
// are independent of each other, so a large change (the first build) is
// spread over every core.
func (s *Snapshot) newFragments(us []ServiceUpdate) []*fragment {
	out := make([]*fragment, len(us))
	workers := runtime.GOMAXPROCS(0)
	if len(us) < parallelFragments || workers == 1 {
		for i, u := range us {
			out[i] = s.newFragment(u)
		}
		return out
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(64)) - 64
				if i >= len(us) {
					return
				}
				for j := i; j < min(i+64, len(us)); j++ {
					out[j] = s.newFragment(us[j])
				}
			}
		})
	}
	wg.Wait()
	return out
}

// newFragment derives what one service contributes; nil when it contributes
// nothing (deleted, in a namespace not served, or an invalid name).
func (s *Snapshot) newFragment(u ServiceUpdate) *fragment {
	svc := u.Service
	if svc == nil {
		return nil
	}
	if !s.namespaces[strings.ToLower(svc.Namespace)] || !IsDNSLabel(strings.ToLower(svc.Name)) {
		return nil
	}
	d := s.serviceData(svc, u.Slices)
	f := &fragment{data: d, digest: d.digest(s.opts.Zonal)}
	f.stats.Services = 1
	if !d.exists {
		return f
	}
	d.indexLabels()
	for _, z := range s.zones {
		if !z.reverse && !z.multicluster {
			s.addServiceNames(f, z)
		}
	}
	f.ptrs = !d.external() && len(s.opts.Zones) > 0
	own := map[netip.Addr]bool{}
	for _, ip := range s.opts.NameserverIPs {
		own[ip.Unmap()] = true
	}
	for i := range d.ready {
		if own[d.ready[i].addr()] {
			f.nameservers = true
		}
		if d.headless() {
			f.stats.HeadlessEndpoints++
			if d.slicesHostname(i) {
				f.stats.HeadlessEndpointsWithHostname++
			}
		}
	}
	for _, nd := range f.nodes {
		f.stats.addNode(nd, 1)
	}
	return f
}

// serviceData decides what a service publishes: an ExternalName's target,
// or the ready addresses of its slices, and whether its name exists.
func (s *Snapshot) serviceData(svc *cluster.Service, slicesOf []*cluster.EndpointSlice) *serviceData {
	d := &serviceData{svc: svc, exists: true, key: ServiceKey(svc.Namespace, svc.Name), src: (*serviceSource)(svc)}
	if d.external() {
		d.externalName = externalTarget(svc.ExternalName)
		d.exists = d.externalName != ""
		return d
	}
	// Sized once: the ready list is most of what a service keeps.
	n := 0
	for _, es := range slicesOf {
		if attached(es, svc) {
			for i := range es.Endpoints {
				n += es.Endpoints[i].Addresses.Len()
			}
		}
	}
	d.ready = make([]readyAddr, 0, n)
	for _, es := range slicesOf {
		if attached(es, svc) {
			d.ready = appendReady(d.ready, es, s.opts.EndpointPodNames)
		}
	}
	d.ready = slices.Clip(d.ready)
	if d.headless() || s.opts.IgnoreEmptyService {
		d.exists = len(d.ready) > 0
	}
	return d
}

// addServiceNames adds a service's names in one forward zone: the service
// name and its port names, stored with record counts; the per-endpoint
// names are answered from the label index and only counted.
func (s *Snapshot) addServiceNames(f *fragment, z *servedZone) {
	d := f.data
	owner := schema.ServiceFromKey(d.key, z.name)
	sn := f.add(owner, z, KindService)
	if d.external() {
		// A/AAAA/TXT follow the CNAME at query time (see Lookup): the
		// target may be another service, which changes on its own.
		sn.set(dns.TypeCNAME, &Answer{Answer: []Record{d.cname(owner, s.opts.TTL)}})
		return
	}
	var scratch []item
	var types []storedAnswer
	add := func(qt uint16) {
		if c := answerCount(scratch); c > 0 {
			types = append(types, storedAnswer{qtype: qt, count: int32(c)})
		}
	}
	for _, qt := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
		scratch = d.addressItems(scratch[:0], qt)
		add(qt)
	}
	scratch = d.srvItems(scratch[:0], "", "", true)
	add(dns.TypeSRV)
	sn.setStored(slices.Clip(types))
	for _, pp := range d.namedPorts() {
		pn := f.add(schema.Port(pp[0], pp[1], owner), z, KindPort)
		scratch = d.srvItems(scratch[:0], pp[0], pp[1], false)
		types = nil
		add(dns.TypeSRV)
		pn.setStored(types)
	}
	d.eachEndpoint(func(_ string, counts [len(leafTypes)]int) {
		f.stats.Names++
		for _, n := range counts {
			f.stats.Records += int32(n)
			f.stats.RecordsByKind[KindEndpoint] += int32(n)
		}
	})
}

// attached reports whether an EndpointSlice counts for the service: it
// carries the service's name and namespace and is not of type FQDN (which
// DNS servers do not read).
func attached(es *cluster.EndpointSlice, svc *cluster.Service) bool {
	return es.AddressType != cluster.AddressTypeFQDN && strings.EqualFold(es.ServiceName, svc.Name) && strings.EqualFold(es.Namespace, svc.Namespace)
}

// node returns the fragment's name, nil if it has none of that name.
func (f *fragment) node(name string) *node {
	for _, n := range f.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// service is the Service a name belongs to, nil if none.
func (n *node) service() *cluster.Service {
	if n.data == nil {
		return nil
	}
	return n.data.svc
}

func (f *fragment) add(name string, z *servedZone, kind NodeKind) *node {
	if n := f.node(name); n != nil {
		return n
	}
	n := &node{name: name, zone: z, kind: kind, data: f.data}
	f.nodes = append(f.nodes, n)
	return n
}

// eachPTR calls fn with the PTR entries of the service's addresses: its
// ClusterIPs, and every ready endpoint address.
func (f *fragment) eachPTR(fn func(ptrEntry)) {
	if f == nil || !f.ptrs {
		return
	}
	d := f.data
	if !d.headless() {
		for i := range d.svc.ClusterIPs {
			fn(newPTREntry(d.svc.ClusterIPs[i].Unmap(), d.key, ""))
		}
	}
	for i := range d.ready {
		fn(newPTREntry(d.ready[i].addr(), d.key, d.ready[i].label))
	}
}

// servesReverse reports whether the reverse name of an address is in a
// served reverse zone (forward zones never hold reverse names).
func (s *Snapshot) servesReverse(ip netip.Addr) bool {
	for _, z := range s.zones {
		if z.reverse && !z.prefix.IsValid() {
			z := s.zoneOf(reverseName(ip))
			return z != nil && z.reverse
		}
	}
	for _, z := range s.zones {
		if z.reverse && z.prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// updatePods applies pod changes to the verified pod records.
func (s *Snapshot) updatePods(prev *Snapshot, pods []PodUpdate) {
	if s.opts.PodRecords != PodsVerified {
		return
	}
	setUpd, keyUpd := s.podSetChanges(prev, pods)
	for k, set := range setUpd {
		if len(set.pods) == 0 {
			setUpd[k] = nil
			continue
		}
		s.podSetNodes(k, set)
	}
	for k, set := range setUpd {
		if old := prev.pods.get(k); old != nil {
			for _, nd := range old.nodes {
				s.Stats.addNode(nd, -1)
			}
			s.digest -= nameDigest(digestPod, k)
		}
		if set != nil {
			for _, nd := range set.nodes {
				s.Stats.addNode(nd, 1)
			}
			s.digest += nameDigest(digestPod, k)
		}
	}
	s.pods = prev.pods.with(setUpd)
	s.podIPs = prev.podIPs.with(keyUpd)
}

// podSetChanges applies pod updates to copies of the pod sets they touch:
// the sets by "<dashed-ip>.<ns>" key, and each pod's keys by "<ns>/<name>".
func (s *Snapshot) podSetChanges(prev *Snapshot, pods []PodUpdate) (map[string]*podSet, map[string][]string) {
	setUpd := map[string]*podSet{}
	keyUpd := map[string][]string{}
	working := func(k string) *podSet {
		if set, ok := setUpd[k]; ok && set != nil {
			return set
		}
		set := &podSet{pods: map[string]podAddr{}}
		if old := prev.pods.get(k); old != nil {
			for n, a := range old.pods {
				set.pods[n] = a
			}
		}
		setUpd[k] = set
		return set
	}
	for _, u := range pods {
		ns := strings.ToLower(u.Namespace)
		pk := ns + "/" + u.Name
		oldKeys, ok := keyUpd[pk]
		if !ok {
			oldKeys = prev.podIPs.get(pk)
		}
		for _, k := range oldKeys {
			delete(working(k).pods, pk)
		}
		var keys []string
		if p := u.Pod; p != nil && s.namespaces[ns] && hasPodRecord(p) {
			podSrc := (*podSource)(p)
			for j, ip := range p.IPs {
				k := schema.DashedIP(ip) + "." + ns
				keys = append(keys, k)
				working(k).pods[pk] = podAddr{ip: ip.Unmap(), src: objSource(podSrc, "status.podIPs[%d]", j)}
			}
		}
		keyUpd[pk] = keys
	}
	return setUpd, keyUpd
}

// hasPodRecord: verified pod records name pods that are alive: not
// terminating, not finished, not of unknown phase.
func hasPodRecord(p *cluster.Pod) bool {
	return !p.Terminating() && p.Phase != cluster.PodSucceeded && p.Phase != cluster.PodFailed && p.Phase != cluster.PodUnknown
}

// podSetNodes makes the pod record names of one "<dashed-ip>.<ns>" key in
// every forward zone.
func (s *Snapshot) podSetNodes(k string, set *podSet) {
	label, ns, _ := strings.Cut(k, ".")
	names := make([]string, 0, len(set.pods))
	for n := range set.pods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, z := range s.zones {
		if z.reverse || z.multicluster {
			continue
		}
		owner := label + "." + schema.PodNamespace(ns, z.name)
		nd := &node{name: owner, zone: z, kind: KindPod}
		byType := map[uint16]*Answer{}
		for _, n := range names {
			pa := set.pods[n]
			qt := AddrType(pa.ip)
			if byType[qt] == nil {
				byType[qt] = &Answer{}
			}
			byType[qt].Answer = appendUniqueAddr(byType[qt].Answer, owner, pa.ip, s.opts.TTL, pa.src)
		}
		for qt, a := range byType {
			nd.set(qt, a)
		}
		if set.nodes == nil {
			set.nodes = map[string]*node{}
		}
		set.nodes[z.name] = nd
	}
}

// rebuildStatic makes the names that belong to no service: apex SOA and NS,
// ns.dns, dns-version, svc, pod and the namespace names. Its cost is the
// number of namespaces and nameserver services.
func (s *Snapshot) rebuildStatic() {
	for _, n := range s.static {
		s.Stats.addNode(n, -1)
	}
	defer func() {
		for _, n := range s.static {
			s.Stats.addNode(n, 1)
		}
	}()
	s.static = map[string]*node{}
	ttl := s.opts.TTL
	nsFrags := s.nameserverFragments()
	for _, z := range s.zones {
		apex := s.addStatic(z.name, z, KindApex)
		apex.set(dns.TypeSOA, &Answer{Answer: []Record{z.soa}})
		ns := &Answer{}
		var nsAddrs []Record
		if !z.reverse {
			s.addForwardStatic(z)
			nsAddrs = s.nameserverServices(z, nsFrags, ns)
		}
		if len(ns.Answer) == 0 {
			target := schema.NameserverName(z.name)
			ns.Answer = []Record{{RR: &dns.NS{Hdr: hdr(z.name, dns.TypeNS, ttl), Ns: target}, From: textSource("server addresses")}}
			for _, ip := range s.opts.NameserverIPs {
				r := Record{RR: addrRR(target, ip.Unmap(), ttl), From: textSource("server addresses")}
				ns.Extra = appendUnique(ns.Extra, r)
				nsAddrs = appendUnique(nsAddrs, r)
			}
		}
		apex.set(dns.TypeNS, ns)
		if !z.reverse {
			nn := s.addStatic(schema.NameserverName(z.name), z, KindNameserver)
			nn.set(dns.TypeA, &Answer{Answer: filterType(nsAddrs, dns.TypeA)})
			nn.set(dns.TypeAAAA, &Answer{Answer: filterType(nsAddrs, dns.TypeAAAA)})
		}
	}
}

// addStatic adds a name that belongs to no service.
func (s *Snapshot) addStatic(name string, z *servedZone, kind NodeKind) *node {
	n := &node{name: name, zone: z, kind: kind}
	s.static[name] = n
	return n
}

// addForwardStatic adds dns-version, the svc and pod trees and the
// namespace names of a forward zone.
func (s *Snapshot) addForwardStatic(z *servedZone) {
	v := s.addStatic(schema.VersionName(z.name), z, KindVersion)
	v.set(dns.TypeTXT, &Answer{Answer: []Record{{
		RR:   &dns.TXT{Hdr: hdr(schema.VersionName(z.name), dns.TypeTXT, versionTTL), Txt: []string{SchemaVersion}},
		From: textSource("Kubernetes DNS schema version"),
	}}})
	s.addStatic(schema.SvcDomain(z.name), z, KindEmpty)
	s.addStatic(schema.PodDomain(z.name), z, KindEmpty)
	for nsName := range s.namespaces {
		s.addStatic(schema.Namespace(nsName, z.name), z, KindEmpty)
		s.addStatic(schema.PodNamespace(nsName, z.name), z, KindEmpty)
	}
}

// nameserverFragments are the services whose addresses are the server's
// own (Options.NameserverIPs), in namespace/name order.
func (s *Snapshot) nameserverFragments() []*fragment {
	var nsFrags []*fragment
	for k := range s.nsKeys {
		if f := s.services.get(k); f != nil {
			nsFrags = append(nsFrags, f)
		}
	}
	sort.Slice(nsFrags, func(i, j int) bool {
		a, b := nsFrags[i].data.svc, nsFrags[j].data.svc
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return nsFrags
}

// nameserverServices adds to the apex NS set of a forward zone the names
// of the services that hold the server's own addresses, with their
// addresses as glue, and returns the addresses for ns.dns.
func (s *Snapshot) nameserverServices(z *servedZone, nsFrags []*fragment, ns *Answer) []Record {
	ttl := s.opts.TTL
	own := map[netip.Addr]bool{}
	for _, ip := range s.opts.NameserverIPs {
		own[ip.Unmap()] = true
	}
	var nsAddrs []Record
	for _, f := range nsFrags {
		d := f.data
		svcName := schema.ServiceFromKey(d.key, z.name)
		for i := range d.ready {
			r := &d.ready[i]
			if !own[r.addr()] {
				continue
			}
			if d.headless() {
				target := schema.Endpoint(r.label, svcName)
				ns.Answer = appendUnique(ns.Answer, Record{RR: &dns.NS{Hdr: hdr(z.name, dns.TypeNS, ttl), Ns: target}, From: r.source()})
				ns.Extra = appendUnique(ns.Extra, Record{RR: addrRR(target, r.addr(), ttl), From: r.source()})
				nsAddrs = appendUniqueAddr(nsAddrs, schema.NameserverName(z.name), r.addr(), ttl, r.source())
				continue
			}
			ns.Answer = appendUnique(ns.Answer, Record{RR: &dns.NS{Hdr: hdr(z.name, dns.TypeNS, ttl), Ns: svcName},
				From: objSource(d.src, "metadata.name")})
			for j, ip := range d.svc.ClusterIPs {
				src := objSource(d.src, "spec.clusterIPs[%d]", j)
				ns.Extra = appendUnique(ns.Extra, Record{RR: addrRR(svcName, ip.Unmap(), ttl), From: src})
				nsAddrs = appendUniqueAddr(nsAddrs, schema.NameserverName(z.name), ip.Unmap(), ttl, src)
			}
		}
	}
	return nsAddrs
}
