package controller

import (
	"maps"
	"slices"
	"strconv"
	"strings"

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

// endpointGroup is the endpoints of one set of ports: one or more slices.
type endpointGroup struct {
	ports     []cluster.EndpointPort
	family    cluster.AddressType
	endpoints []cluster.Endpoint
}

// groups collects endpoint groups by key, in the order the keys appear.
type groups struct {
	list  []*endpointGroup
	byKey map[string]*endpointGroup
}

func (gs *groups) get(key string, ports []cluster.EndpointPort, family cluster.AddressType) *endpointGroup {
	g := gs.byKey[key]
	if g == nil {
		if gs.byKey == nil {
			gs.byKey = map[string]*endpointGroup{}
		}
		g = &endpointGroup{ports: ports, family: family}
		gs.byKey[key] = g
		gs.list = append(gs.list, g)
	}
	return g
}

// deriveEndpointSlices plays the EndpointSlice controller for every Service
// with a selector (except ExternalName ones) whose slices the input does
// not already hold.
func (b *builder) deriveEndpointSlices() {
	var pods []*cluster.Pod
	for _, key := range slices.SortedFunc(maps.Keys(b.pods), compareNsName) {
		pods = append(pods, &b.pods[key].pod)
	}
	podIndex := NewPodIndex(pods)
	for _, key := range slices.SortedFunc(maps.Keys(b.services), compareNsName) {
		e := b.services[key]
		svc := &e.svc
		if len(svc.Selector) == 0 || svc.Type == cluster.ServiceTypeExternalName {
			continue
		}
		if b.managedSliceExists(svc.Namespace, svc.Name, "", ManagedByEndpointSliceController) {
			continue
		}
		selected := podIndex.Selected(svc.Namespace, svc.Selector)
		for _, fam := range e.families {
			b.serviceSlices(svc, fam, selected)
		}
	}
}

// serviceSlices writes the EndpointSlices of one family of a service for
// the pods it selects: one per set of ports, split at 100 endpoints, or an
// empty placeholder when there are no endpoints.
func (b *builder) serviceSlices(svc *cluster.Service, fam cluster.AddressType, selected []*cluster.Pod) {
	origin := svc.Origin
	origin.Derived = "EndpointSlice controller for " + svc.Ref().String()
	var gs groups
	for _, pod := range selected {
		m := membership(pod, svc)
		if !m.Listed() {
			continue
		}
		ports := endpointPorts(svc, pod)
		g := gs.get(portsKey(ports), ports, fam)
		if ep, ok := m.endpoint(pod, fam); ok {
			g.endpoints = append(g.endpoints, ep)
		}
	}
	made := false
	for _, g := range gs.list {
		for eps := range slices.Chunk(g.endpoints, maxEndpointsPerSlice) {
			made = true
			b.addDerivedSlice(cluster.EndpointSlice{
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
		b.addDerivedSlice(cluster.EndpointSlice{
			Namespace:   svc.Namespace,
			ServiceName: svc.Name,
			AddressType: fam,
			ManagedBy:   ManagedByEndpointSliceController,
			Origin:      origin,
		}, svc.Name)
	}
}

// addDerivedSlice names a controller-made slice "<prefix>-<5 characters>"
// and adds it.
func (b *builder) addDerivedSlice(s cluster.EndpointSlice, prefix string) {
	for i := 0; ; i++ {
		s.Name = generateName(prefix+"-", s.Namespace, s.ManagedBy, string(s.AddressType), portsKey(s.Ports), strconv.Itoa(len(b.slices)), strconv.Itoa(i))
		if key := (nsName{s.Namespace, s.Name}); !b.sliceNames[key] {
			b.sliceNames[key] = true
			break
		}
	}
	b.slices = append(b.slices, s)
}

// endpointPorts is endpointslice.getEndpointPorts: one port per service
// port whose target resolves on the pod.
func endpointPorts(svc *cluster.Service, pod *cluster.Pod) []cluster.EndpointPort {
	var out []cluster.EndpointPort
	for _, sp := range svc.Ports {
		n, ok := TargetPort(pod, sp)
		if !ok {
			continue
		}
		out = append(out, cluster.EndpointPort{Name: sp.Name, Port: &n, Protocol: sp.Protocol})
	}
	return out
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
