package manifest

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// Controller names, as in the endpointslice.kubernetes.io/managed-by label.
const (
	ManagedByEndpointSliceController = "endpointslice-controller.k8s.io"
	ManagedByMirroringController     = "endpointslicemirroring-controller.k8s.io"
)

// Limits of the real controllers (kube-controller-manager defaults).
const (
	maxEndpointsPerSlice  = 100  // --max-endpoints-per-slice
	maxEndpointsPerSubset = 1000 // --mirroring-max-endpoints-per-subset
)

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// nsName keys namespaced objects.
type nsName struct{ namespace, name string }

func compareNsName(a, b nsName) int {
	return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name))
}

// builder derives a State from decoded objects.
type builder struct {
	opts Options
	errs errorList

	namespaces map[string]cluster.Namespace
	services   map[nsName]*serviceEntry
	pods       map[nsName]*podEntry
	slices     []cluster.EndpointSlice
	sliceNames map[nsName]bool
	// managers maps a service to the managed-by labels of the slices the
	// manifests hold for it.
	managers  map[nsName]map[string]bool
	endpoints []*Object
	used      map[netip.Addr]bool // addresses written in the manifests
}

type serviceEntry struct {
	obj    *Object
	parsed *parsedService
	// families are the address families of the service, in order: those its
	// EndpointSlices are made for.
	families []cluster.AddressType
	// derived, when set, says which component made the service (it has no
	// manifest of its own).
	derived string
}

type podEntry struct {
	pod cluster.Pod
	// from is the workload a derived pod came from (nil for explicit pods).
	from *Object
}

// build derives the cluster state from objects (in the order they were
// read); errs are the errors found so far.
func build(objs []Object, opts Options, errs errorList) (*cluster.State, errorList) {
	b := &builder{
		opts:       opts,
		errs:       errs,
		namespaces: map[string]cluster.Namespace{},
		services:   map[nsName]*serviceEntry{},
		pods:       map[nsName]*podEntry{},
		sliceNames: map[nsName]bool{},
		managers:   map[nsName]map[string]bool{},
		used:       map[netip.Addr]bool{},
	}
	known := b.dedupe(objs)
	b.collectNamespaces(known)

	var workloads []*Object
	for _, o := range known {
		switch p := o.parsed.(type) {
		case *parsedService:
			b.services[nsName{o.Namespace, o.Name}] = &serviceEntry{obj: o, parsed: p}
			for _, a := range p.svc.ClusterIPs {
				b.used[a] = true
			}
		case *parsedPod:
			pod := p.pod
			pod.Origin = o.Origin()
			b.pods[nsName{o.Namespace, o.Name}] = &podEntry{pod: pod}
			for _, a := range p.pod.IPs {
				b.used[a] = true
			}
		case *parsedEndpointSlice:
			if p.slice != nil {
				s := *p.slice
				s.Origin = o.Origin()
				b.slices = append(b.slices, s)
				b.sliceNames[nsName{s.Namespace, s.Name}] = true
				svcKey := nsName{s.Namespace, s.ServiceName}
				if b.managers[svcKey] == nil {
					b.managers[svcKey] = map[string]bool{}
				}
				b.managers[svcKey][s.ManagedBy] = true
				for _, e := range s.Endpoints {
					for _, a := range e.Addresses {
						b.used[a] = true
					}
				}
			}
		case *parsedEndpoints:
			b.endpoints = append(b.endpoints, o)
			for _, ss := range p.subsets {
				for _, e := range slices.Concat(ss.ready, ss.notReady) {
					b.used[e.Addresses[0]] = true
				}
			}
		case *parsedWorkload:
			workloads = append(workloads, o)
		}
	}
	b.addAPIServerService()
	b.derivePods(known, workloads)
	b.allocatePodIPs()
	b.allocateClusterIPs()
	b.mirrorEndpoints()
	b.deriveEndpointSlices()
	return b.state(), b.errs
}

// dedupe drops the second and later objects of the same kind, namespace and
// name, reporting each, and returns the known objects that remain.
func (b *builder) dedupe(objs []Object) []*Object {
	type key struct{ kind, namespace, name string }
	first := map[key]*Object{}
	var out []*Object
	for i := range objs {
		o := &objs[i]
		if !o.Known() || o.parsed == nil {
			continue
		}
		k := key{o.Kind, o.Namespace, o.Name}
		if f, dup := first[k]; dup {
			b.errs.add(o.File, o.Document, o.Line, "duplicate %s: already defined at %s (document %d)", o.Ref(), f.Origin(), f.Document)
			continue
		}
		first[k] = o
		out = append(out, o)
	}
	return out
}

func (b *builder) collectNamespaces(objs []*Object) {
	for _, o := range objs {
		if p, ok := o.parsed.(*parsedNamespace); ok {
			b.namespaces[p.name] = cluster.Namespace{Name: p.name, Origin: o.Origin()}
		}
	}
	for _, ns := range systemNamespaces {
		if _, ok := b.namespaces[ns]; !ok {
			b.namespaces[ns] = cluster.Namespace{Name: ns, Origin: cluster.Origin{Derived: "present in every cluster"}}
		}
	}
	for _, o := range objs {
		if _, ok := b.namespaces[o.Namespace]; !ok && o.Namespace != "" {
			origin := o.Origin()
			origin.Derived = "namespace of " + o.Ref().String()
			b.namespaces[o.Namespace] = cluster.Namespace{Name: o.Namespace, Origin: origin}
		}
	}
}

// addAPIServerService plays the API server, which makes the Service
// default/kubernetes in every cluster: selectorless, port https 443, the
// first address of the (primary) service CIDR. Pods reach the API server
// as kubernetes.default.svc, so a state without it answers NXDOMAIN where
// every real cluster answers. Manifests that define it (a dump of a live
// cluster does) keep theirs.
func (b *builder) addAPIServerService() {
	key := nsName{"default", "kubernetes"}
	if _, ok := b.services[key]; ok {
		return
	}
	p := &parsedService{svc: cluster.Service{
		Name: "kubernetes", Namespace: "default", Type: cluster.ServiceTypeClusterIP,
		Ports: []cluster.ServicePort{{Name: "https", Port: 443, TargetPort: cluster.PortRef{Number: 6443}, Protocol: cluster.ProtocolTCP}},
	}}
	if cidrs := b.opts.ServiceCIDRs; len(cidrs) > 0 {
		if first := cidrs[0].Addr().Next(); cidrs[0].Contains(first) && !b.used[first] {
			b.used[first] = true
			p.svc.ClusterIPs = []netip.Addr{first}
			p.explicitIPs = true
		}
	}
	obj := &Object{APIVersion: "v1", Kind: "Service", Namespace: key.namespace, Name: key.name}
	b.services[key] = &serviceEntry{obj: obj, parsed: p, derived: "made by the API server in every cluster"}
}

// derivePods plays the workload controllers. A workload whose pods (or, for
// a Deployment, ReplicaSet) the manifests already hold, as a dump of a live
// cluster would, is not expanded again: an object naming it as its
// controller says so. StatefulSet pod names are predictable, so explicit
// pods simply replace the derived ones of the same name.
func (b *builder) derivePods(objs, workloads []*Object) {
	controlled := map[cluster.ObjectRef]bool{}
	for _, o := range objs {
		var owner *cluster.ObjectRef
		switch p := o.parsed.(type) {
		case *parsedPod:
			owner = p.pod.Owner
		case *parsedWorkload:
			owner = p.owner
		}
		if owner != nil {
			controlled[*owner] = true
		}
	}
	for _, o := range workloads {
		if o.Kind != "StatefulSet" && controlled[o.Ref()] {
			continue
		}
		w := o.parsed.(*parsedWorkload)
		for i := range w.replicas {
			pod := b.workloadPod(o, w, i)
			key := nsName{pod.Namespace, pod.Name}
			if e, ok := b.pods[key]; ok {
				if e.from != nil {
					b.errs.add(o.File, o.Document, o.Line, "%s: pod %s/%s would also be created by %s at %s", o.Ref(), pod.Namespace, pod.Name, e.from.Ref(), e.from.Origin())
				}
				continue // an explicit pod replaces the derived one
			}
			b.pods[key] = &podEntry{pod: pod, from: o}
		}
	}
}

// workloadPod returns the i-th pod a workload controller would create.
func (b *builder) workloadPod(o *Object, w *parsedWorkload, i int) cluster.Pod {
	pod := w.template
	pod.Namespace = o.Namespace
	pod.Labels = maps.Clone(pod.Labels)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Ports = slices.Clone(pod.Ports)
	pod.Owner = &cluster.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	pod.Origin = o.Origin()
	pod.Origin.Derived = fmt.Sprintf("pod %d of %s", i, o.Ref())
	switch o.Kind {
	case "StatefulSet":
		ordinal := w.ordinalStart + i
		pod.Name = o.Name + "-" + strconv.Itoa(ordinal)
		pod.Hostname = pod.Name
		pod.Subdomain = w.serviceName
		pod.Labels["statefulset.kubernetes.io/pod-name"] = pod.Name
		pod.Labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(ordinal)
		pod.Origin.Derived = fmt.Sprintf("pod %d of %s", ordinal, o.Ref())
	case "Deployment":
		hash := hashSuffix(10, "pod-template-hash", o.Namespace, o.Name)
		rs := o.Name + "-" + hash
		pod.Name = generateName(rs+"-", o.Namespace, strconv.Itoa(i))
		pod.Labels["pod-template-hash"] = hash
		pod.Owner = &cluster.ObjectRef{Kind: "ReplicaSet", Namespace: o.Namespace, Name: rs}
	case "Job":
		pod.Labels["batch.kubernetes.io/job-name"] = o.Name
		pod.Labels["job-name"] = o.Name
		if w.indexed {
			pod.Name = generateName(indexedJobPodPrefix(o.Name, i), o.Namespace)
			pod.Hostname = o.Name + "-" + strconv.Itoa(i)
			pod.Labels["batch.kubernetes.io/job-completion-index"] = strconv.Itoa(i)
		} else {
			pod.Name = generateName(o.Name+"-", o.Namespace, strconv.Itoa(i))
		}
	default: // ReplicaSet, DaemonSet
		pod.Name = generateName(o.Name+"-", o.Namespace, strconv.Itoa(i))
	}
	return pod
}

// allocator hands out the addresses of a prefix in order, skipping the
// network address, the IPv4 broadcast address and addresses in use.
type allocator struct {
	prefix netip.Prefix
	next   netip.Addr
	last   netip.Addr
	used   map[netip.Addr]bool
}

func newAllocator(p netip.Prefix, used map[netip.Addr]bool) *allocator {
	a := &allocator{prefix: p, next: p.Addr().Next(), used: used}
	if p.Addr().Is4() {
		b := p.Addr().As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 1 << (7 - i%8)
		}
		a.last = netip.AddrFrom4(b)
	}
	return a
}

func (a *allocator) allocate() (netip.Addr, bool) {
	for a.next.IsValid() && a.prefix.Contains(a.next) && a.next != a.last {
		addr := a.next
		a.next = addr.Next()
		if !a.used[addr] {
			a.used[addr] = true
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// allocatePodIPs gives every Running pod without IPs one address from each
// pod CIDR, in namespace/name order.
func (b *builder) allocatePodIPs() {
	allocs := make([]*allocator, len(b.opts.PodCIDRs))
	for i, p := range b.opts.PodCIDRs {
		allocs[i] = newAllocator(p, b.used)
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.pods), compareNsName) {
		pod := &b.pods[key].pod
		if len(pod.IPs) > 0 || pod.Phase != cluster.PodRunning {
			continue
		}
		for _, a := range allocs {
			ip, ok := a.allocate()
			if !ok {
				b.errs.add(pod.Origin.File, pod.Origin.Document, pod.Origin.Line, "%s: pod CIDR %s is exhausted", pod.Ref(), a.prefix)
				continue
			}
			pod.IPs = append(pod.IPs, ip)
		}
	}
}

// allocateClusterIPs gives every ClusterIP, NodePort and LoadBalancer
// service without cluster IPs one from each family it asks for, in
// namespace/name order, and works out every service's families.
func (b *builder) allocateClusterIPs() {
	allocs := map[cluster.AddressType]*allocator{}
	var configured []cluster.AddressType
	for _, p := range b.opts.ServiceCIDRs {
		fam := cluster.AddressType(familyName(p.Addr()))
		allocs[fam] = newAllocator(p, b.used)
		configured = append(configured, fam)
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.services), compareNsName) {
		e := b.services[key]
		svc, p := &e.parsed.svc, e.parsed
		fail := func(format string, args ...any) {
			b.errs.add(e.obj.File, e.obj.Document, e.obj.Line, "%s: %s", svc.Ref(), fmt.Sprintf(format, args...))
		}
		// The families asked for: spec.ipFamilies, else what the policy
		// implies on this cluster.
		var want []cluster.AddressType
		for _, f := range p.families {
			want = append(want, cluster.AddressType(f))
		}
		if len(want) == 0 {
			want = configured[:1]
			if p.policy == "PreferDualStack" || p.policy == "RequireDualStack" {
				want = configured
			}
		}
		if p.policy == "SingleStack" || (p.policy == "" && len(p.families) < 2) {
			want = want[:1]
		}
		switch {
		case svc.Type == cluster.ServiceTypeExternalName:
			continue
		case p.explicitIPs:
			for _, a := range svc.ClusterIPs {
				e.families = append(e.families, cluster.AddressType(familyName(a)))
			}
			continue
		}
		if svc.Headless {
			// No cluster IP to allocate: the families only say which
			// EndpointSlices the controller writes, whatever the service
			// CIDRs (a state exported from a dual-stack cluster loads).
			e.families = want
			continue
		}
		if p.policy == "RequireDualStack" && len(configured) < 2 {
			fail("ipFamilyPolicy RequireDualStack needs an IPv4 and an IPv6 service CIDR, have %v", b.opts.ServiceCIDRs)
			continue
		}
		e.families = want
		for _, fam := range want {
			a, ok := allocs[fam]
			if !ok {
				fail("asks for an %s cluster IP but no %s service CIDR is configured", fam, fam)
				continue
			}
			ip, ok := a.allocate()
			if !ok {
				fail("service CIDR %s is exhausted", a.prefix)
				continue
			}
			svc.ClusterIPs = append(svc.ClusterIPs, ip)
		}
	}
}

// managedSliceExists reports whether the manifests hold an EndpointSlice for
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

// mirrorEndpoints plays the EndpointSlice mirroring controller: Endpoints of
// an existing selectorless Service become EndpointSlices.
func (b *builder) mirrorEndpoints() {
	slices.SortFunc(b.endpoints, func(x, y *Object) int {
		return compareNsName(nsName{x.Namespace, x.Name}, nsName{y.Namespace, y.Name})
	})
	for _, o := range b.endpoints {
		p := o.parsed.(*parsedEndpoints)
		svc, ok := b.services[nsName{o.Namespace, o.Name}]
		switch {
		case p.labels[discoveryv1.LabelSkipMirror] == "true":
			continue
		case p.annotations["control-plane.alpha.kubernetes.io/leader"] != "":
			continue // leader-election lock, not endpoints
		case !ok || svc.parsed.svc.Selector != nil:
			continue // the controller mirrors only for an existing selectorless Service
		case b.managedSliceExists(o.Namespace, o.Name, ManagedByMirroringController):
			continue
		}
		origin := o.Origin()
		origin.Derived = "EndpointSlice mirroring controller for " + o.Ref().String()

		type group struct {
			ports     []cluster.EndpointPort
			family    cluster.AddressType
			endpoints []cluster.Endpoint
		}
		var groups []*group
		byKey := map[string]*group{}
		for _, ss := range p.subsets {
			added := 0
			add := func(eps []cluster.Endpoint, ready bool) {
				for _, ep := range eps {
					if added >= maxEndpointsPerSubset {
						return
					}
					added++
					fam := cluster.AddressType(familyName(ep.Addresses[0]))
					key := string(fam) + "/" + portsKey(ss.ports)
					g := byKey[key]
					if g == nil {
						g = &group{ports: ss.ports, family: fam}
						byKey[key] = g
						groups = append(groups, g)
					}
					ep.Conditions = cluster.EndpointConditions{Ready: cluster.Bool(ready)}
					// The controller keeps endpoints in a set keyed by
					// address, hostname and target: a repeat replaces.
					if i := slices.IndexFunc(g.endpoints, func(x cluster.Endpoint) bool { return sameEndpoint(x, ep) }); i >= 0 {
						g.endpoints[i] = ep
					} else {
						g.endpoints = append(g.endpoints, ep)
					}
				}
			}
			add(ss.ready, true)
			add(ss.notReady, false)
		}
		for _, g := range groups {
			b.addSlice(cluster.EndpointSlice{
				Namespace:   o.Namespace,
				ServiceName: o.Name,
				AddressType: g.family,
				Endpoints:   g.endpoints[:min(len(g.endpoints), maxEndpointsPerSubset)],
				Ports:       slices.Clone(g.ports),
				ManagedBy:   ManagedByMirroringController,
				Origin:      origin,
			}, o.Name)
		}
	}
}

func sameEndpoint(a, b cluster.Endpoint) bool {
	return slices.Equal(a.Addresses, b.Addresses) && a.Hostname == b.Hostname &&
		(a.TargetRef == nil) == (b.TargetRef == nil) && (a.TargetRef == nil || *a.TargetRef == *b.TargetRef)
}

// deriveEndpointSlices plays the EndpointSlice controller for every Service
// with a selector (except ExternalName ones) whose slices the manifests do
// not already hold.
func (b *builder) deriveEndpointSlices() {
	var pods []*cluster.Pod
	for _, key := range slices.SortedFunc(maps.Keys(b.pods), compareNsName) {
		pods = append(pods, &b.pods[key].pod)
	}
	podIndex := NewPodIndex(pods)
	for _, key := range slices.SortedFunc(maps.Keys(b.services), compareNsName) {
		e := b.services[key]
		svc := &e.parsed.svc
		if svc.Selector == nil || svc.Type == cluster.ServiceTypeExternalName {
			continue
		}
		if b.managedSliceExists(svc.Namespace, svc.Name, "", ManagedByEndpointSliceController) {
			continue
		}
		origin := e.obj.Origin()
		origin.Derived = "EndpointSlice controller for " + svc.Ref().String()
		for _, fam := range e.families {
			type group struct {
				ports     []cluster.EndpointPort
				endpoints []cluster.Endpoint
			}
			var groups []*group
			byKey := map[string]*group{}
			for _, pod := range podIndex.Selected(svc.Namespace, svc.Selector) {
				if !shouldPodBeInEndpoints(pod) {
					continue
				}
				ports := endpointPorts(svc, pod)
				key := portsKey(ports)
				g := byKey[key]
				if g == nil {
					g = &group{ports: ports}
					byKey[key] = g
					groups = append(groups, g)
				}
				if ep, ok := podToEndpoint(pod, svc, fam); ok {
					g.endpoints = append(g.endpoints, ep)
				}
			}
			made := false
			for _, g := range groups {
				for eps := range slices.Chunk(g.endpoints, maxEndpointsPerSlice) {
					made = true
					b.addSlice(cluster.EndpointSlice{
						Namespace:   svc.Namespace,
						ServiceName: svc.Name,
						AddressType: fam,
						Endpoints:   eps,
						Ports:       slices.Clone(g.ports),
						ManagedBy:   ManagedByEndpointSliceController,
						Origin:      origin,
					}, svc.Name)
				}
			}
			if !made {
				// The controller keeps an empty placeholder slice per family.
				b.addSlice(cluster.EndpointSlice{
					Namespace:   svc.Namespace,
					ServiceName: svc.Name,
					AddressType: fam,
					ManagedBy:   ManagedByEndpointSliceController,
					Origin:      origin,
				}, svc.Name)
			}
		}
	}
}

// addSlice names a controller-made slice "<prefix>-<5 characters>" and
// adds it.
func (b *builder) addSlice(s cluster.EndpointSlice, prefix string) {
	for i := 0; ; i++ {
		s.Name = generateName(prefix+"-", s.Namespace, s.ManagedBy, string(s.AddressType), portsKey(s.Ports), strconv.Itoa(len(b.slices)), strconv.Itoa(i))
		if key := (nsName{s.Namespace, s.Name}); !b.sliceNames[key] {
			b.sliceNames[key] = true
			break
		}
	}
	b.slices = append(b.slices, s)
}

func selectorMatches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// shouldPodBeInEndpoints is endpointslice/util.ShouldPodBeInEndpoints with
// terminating pods included: not terminal and holding an IP.
func shouldPodBeInEndpoints(pod *cluster.Pod) bool {
	return pod.Phase != cluster.PodSucceeded && pod.Phase != cluster.PodFailed && len(pod.IPs) > 0
}

// podToEndpoint is endpointslice.podToEndpoint: the endpoint of a pod for
// one address family, if the pod has addresses of it.
func podToEndpoint(pod *cluster.Pod, svc *cluster.Service, fam cluster.AddressType) (cluster.Endpoint, bool) {
	var addrs []netip.Addr
	for _, a := range pod.IPs {
		if cluster.AddressType(familyName(a)) == fam {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return cluster.Endpoint{}, false
	}
	serving := pod.Ready
	terminating := pod.Terminating()
	ready := svc.PublishNotReadyAddresses || (serving && !terminating)
	ep := cluster.Endpoint{
		Addresses: addrs,
		Conditions: cluster.EndpointConditions{
			Ready:       cluster.Bool(ready),
			Serving:     cluster.Bool(serving),
			Terminating: cluster.Bool(terminating),
		},
		TargetRef: &cluster.ObjectRef{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name},
		NodeName:  pod.NodeName,
	}
	// ShouldSetHostname: a hostname and a subdomain naming this service.
	if pod.Hostname != "" && pod.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		ep.Hostname = pod.Hostname
	}
	return ep, true
}

// endpointPorts is endpointslice.getEndpointPorts: one port per service
// port whose target resolves on the pod.
func endpointPorts(svc *cluster.Service, pod *cluster.Pod) []cluster.EndpointPort {
	var out []cluster.EndpointPort
	for _, sp := range svc.Ports {
		n, ok := findPort(pod, sp)
		if !ok {
			continue
		}
		out = append(out, cluster.EndpointPort{Name: sp.Name, Port: &n, Protocol: sp.Protocol})
	}
	return out
}

// findPort is endpointslice.FindPort: an unset targetPort is the service
// port, a number is itself, a name is the container port of that name and
// the service port's protocol.
func findPort(pod *cluster.Pod, sp cluster.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Name != "":
		for _, cp := range pod.Ports {
			if cp.Name == sp.TargetPort.Name && cp.Protocol == sp.Protocol {
				return cp.ContainerPort, true
			}
		}
		return 0, false
	case sp.TargetPort.Number != 0:
		return sp.TargetPort.Number, true
	}
	return sp.Port, true
}

// portsKey identifies a list of endpoint ports regardless of order.
func portsKey(ports []cluster.EndpointPort) string {
	keys := make([]string, len(ports))
	for i, p := range ports {
		n := "nil"
		if p.Port != nil {
			n = strconv.Itoa(int(*p.Port))
		}
		keys[i] = p.Name + "/" + n + "/" + string(p.Protocol)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// state assembles the sorted State.
func (b *builder) state() *cluster.State {
	st := &cluster.State{}
	for _, name := range slices.Sorted(maps.Keys(b.namespaces)) {
		st.Namespaces = append(st.Namespaces, b.namespaces[name])
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.services), compareNsName) {
		e := b.services[key]
		svc := e.parsed.svc
		svc.Origin = e.obj.Origin()
		if e.derived != "" {
			svc.Origin = cluster.Origin{Derived: e.derived}
		}
		st.Services = append(st.Services, svc)
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.pods), compareNsName) {
		st.Pods = append(st.Pods, b.pods[key].pod)
	}
	// Slice names are unique per namespace (explicit duplicates were
	// dropped, derived names are chosen to be), so this order is total.
	st.EndpointSlices = b.slices
	slices.SortFunc(st.EndpointSlices, func(x, y cluster.EndpointSlice) int {
		return compareNsName(nsName{x.Namespace, x.Name}, nsName{y.Namespace, y.Name})
	})
	return st
}
