package controller

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// nsName keys namespaced objects.
type nsName struct{ namespace, name string }

func compareNsName(a, b nsName) int {
	return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name))
}

// builder derives a State from the objects given.
type builder struct {
	imports []cluster.ServiceImport
	opts    Options
	errs    []*Error

	namespaces map[string]cluster.Namespace
	services   map[nsName]*serviceEntry
	pods       map[nsName]*podEntry
	slices     []cluster.EndpointSlice
	sliceNames map[nsName]bool
	// managers maps a service to the managed-by labels of the slices the
	// input holds for it.
	managers  map[nsName]map[string]bool
	endpoints []*Object
	workloads []*Object
	used      map[netip.Addr]bool // addresses written in the input
}

type serviceEntry struct {
	svc    cluster.Service // Origin set
	policy IPFamilyPolicy
	// asked are the families spec.ipFamilies names.
	asked []cluster.AddressType
	// explicitIPs is set when the cluster IPs were written, not allocated.
	explicitIPs bool
	// families are the address families of the service, in order: those its
	// EndpointSlices are made for.
	families []cluster.AddressType
}

type podEntry struct {
	pod cluster.Pod
	// from is the workload a derived pod came from (nil for written pods).
	from *Object
}

// Derive returns the state a cluster holding objs (in the order they were
// written; each object once) would reach: see the package documentation.
// opts are normalized first (Options.Normalize); invalid options give a
// nil state and one Error without an origin.
//
// The errors are the problems the control plane would have with the objects
// (two workloads making the same pod, exhausted CIDRs, a family no CIDR is
// configured for), each naming the object and where it was read. The state
// holds what could be derived even then.
func Derive(objs []Object, opts Options) (*cluster.State, []*Error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, []*Error{{Err: err}}
	}
	b := &builder{
		opts:       opts,
		namespaces: map[string]cluster.Namespace{},
		services:   map[nsName]*serviceEntry{},
		pods:       map[nsName]*podEntry{},
		sliceNames: map[nsName]bool{},
		managers:   map[nsName]map[string]bool{},
		used:       map[netip.Addr]bool{},
	}
	b.collectNamespaces(objs)
	for i := range objs {
		b.add(&objs[i])
	}
	b.addAPIServerService()
	b.derivePods(objs)
	b.allocatePodIPs()
	b.allocateClusterIPs()
	b.mirrorEndpoints()
	b.deriveEndpointSlices()
	return b.state(), b.errs
}

// fail records an error about an object.
func (b *builder) fail(ref cluster.ObjectRef, origin cluster.Origin, format string, args ...any) {
	b.errs = append(b.errs, &Error{Ref: ref, Origin: origin, Err: fmt.Errorf(format, args...)})
}

// add takes in one object and notes the addresses it uses.
func (b *builder) add(o *Object) {
	switch {
	case o.Service != nil:
		b.addService(o)
	case o.Pod != nil:
		pod := *o.Pod
		pod.Origin = o.Origin
		b.pods[nsName{pod.Namespace, pod.Name}] = &podEntry{pod: pod}
		b.use(pod.IPs...)
	case o.EndpointSlice != nil:
		b.addSlice(o)
	case o.Endpoints != nil:
		b.endpoints = append(b.endpoints, o)
		for _, ss := range o.Endpoints.Subsets {
			for _, e := range slices.Concat(ss.Addresses, ss.NotReadyAddresses) {
				b.use(e.Addresses.At(0))
			}
		}
	case o.Workload != nil:
		b.workloads = append(b.workloads, o)
	case o.ServiceImport != nil:
		// Written by a multicluster controller (an MCS implementation);
		// nothing in the cluster derives or changes it.
		si := *o.ServiceImport
		si.Origin = o.Origin
		b.imports = append(b.imports, si)
	}
}

func (b *builder) use(addrs ...netip.Addr) {
	for _, a := range addrs {
		b.used[a] = true
	}
}

func (b *builder) addService(o *Object) {
	s := o.Service
	svc := s.Service
	svc.ClusterIPs = slices.Clone(svc.ClusterIPs)
	svc.Origin = o.Origin
	b.services[nsName{svc.Namespace, svc.Name}] = &serviceEntry{
		svc:         svc,
		policy:      s.IPFamilyPolicy,
		asked:       s.IPFamilies,
		explicitIPs: len(svc.ClusterIPs) > 0,
	}
	b.use(svc.ClusterIPs...)
}

// addSlice takes in an EndpointSlice written in the input: it stands for
// the output of the controller that manages it.
func (b *builder) addSlice(o *Object) {
	s := *o.EndpointSlice
	s.Origin = o.Origin
	b.slices = append(b.slices, s)
	b.sliceNames[nsName{s.Namespace, s.Name}] = true
	svcKey := nsName{s.Namespace, s.ServiceName}
	if b.managers[svcKey] == nil {
		b.managers[svcKey] = map[string]bool{}
	}
	b.managers[svcKey][s.ManagedBy] = true
	for _, e := range s.Endpoints {
		b.use(e.Addresses.Slice()...)
	}
}

// collectNamespaces plays the namespaces: those written, the system ones,
// and one for every other namespace an object is in, named after the
// first such object.
func (b *builder) collectNamespaces(objs []Object) {
	for _, o := range objs {
		if o.Namespace != nil {
			b.namespaces[o.Namespace.Name] = cluster.Namespace{Name: o.Namespace.Name, Origin: o.Origin}
		}
	}
	for _, ns := range systemNamespaces {
		if _, ok := b.namespaces[ns]; !ok {
			b.namespaces[ns] = cluster.Namespace{Name: ns, Origin: cluster.Origin{Derived: "present in every cluster"}}
		}
	}
	for _, o := range objs {
		if _, ok := b.namespaces[o.Ref.Namespace]; !ok && o.Ref.Namespace != "" {
			origin := o.Origin
			origin.Derived = "namespace of " + o.Ref.String()
			b.namespaces[o.Ref.Namespace] = cluster.Namespace{Name: o.Ref.Namespace, Origin: origin}
		}
	}
}

// addAPIServerService plays the API server, which makes the Service
// default/kubernetes in every cluster: selectorless, port https 443, the
// first address of the (primary) service CIDR. Pods reach the API server
// as kubernetes.default.svc, so a state without it answers NXDOMAIN where
// every real cluster answers. An input that holds it (a dump of a live
// cluster does) keeps its own.
func (b *builder) addAPIServerService() {
	key := nsName{"default", "kubernetes"}
	if _, ok := b.services[key]; ok {
		return
	}
	e := &serviceEntry{svc: cluster.Service{
		Name: "kubernetes", Namespace: "default", Type: cluster.ServiceTypeClusterIP,
		Ports:  []cluster.ServicePort{{Name: "https", Port: 443, TargetPort: cluster.PortRef{Number: 6443}, Protocol: cluster.ProtocolTCP}},
		Origin: cluster.Origin{Derived: "made by the API server in every cluster"},
	}}
	if cidrs := b.opts.ServiceCIDRs; len(cidrs) > 0 {
		if first := cidrs[0].Addr().Next(); cidrs[0].Contains(first) && !b.used[first] {
			b.used[first] = true
			e.svc.ClusterIPs = []netip.Addr{first}
			e.explicitIPs = true
		}
	}
	b.services[key] = e
}

// managedSliceExists reports whether the input holds an EndpointSlice for
// the service that one of managers manages ("" for no managed-by label):
// then that controller's output is already there.
func (b *builder) managedSliceExists(ns, service string, managers ...string) bool {
	for _, m := range managers {
		if b.managers[nsName{ns, service}][m] {
			return true
		}
	}
	return false
}

// state assembles the sorted State.
func (b *builder) state() *cluster.State {
	st := &cluster.State{}
	for _, name := range slices.Sorted(maps.Keys(b.namespaces)) {
		st.Namespaces = append(st.Namespaces, b.namespaces[name])
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.services), compareNsName) {
		st.Services = append(st.Services, b.services[key].svc)
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.pods), compareNsName) {
		st.Pods = append(st.Pods, b.pods[key].pod)
	}
	// Slice names are unique per namespace (written duplicates are the
	// caller's to drop, derived names are chosen to be), so this order is
	// total.
	st.ServiceImports = b.imports
	slices.SortFunc(st.ServiceImports, func(x, y cluster.ServiceImport) int {
		return compareNsName(nsName{x.Namespace, x.Name}, nsName{y.Namespace, y.Name})
	})
	st.EndpointSlices = b.slices
	slices.SortFunc(st.EndpointSlices, func(x, y cluster.EndpointSlice) int {
		return compareNsName(nsName{x.Namespace, x.Name}, nsName{y.Namespace, y.Name})
	})
	return st
}
