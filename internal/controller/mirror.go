package controller

import (
	"slices"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// Labels and annotations the mirroring controller reads.
const (
	// labelSkipMirror on Endpoints says not to mirror them
	// (discovery/v1 LabelSkipMirror).
	labelSkipMirror = "endpointslice.kubernetes.io/skip-mirror"
	// annotationLeader marks a leader-election lock, not endpoints.
	annotationLeader = "control-plane.alpha.kubernetes.io/leader"
)

// mirrorEndpoints plays the EndpointSlice mirroring controller: Endpoints of
// an existing selectorless Service become EndpointSlices.
func (b *builder) mirrorEndpoints() {
	slices.SortFunc(b.endpoints, func(x, y *Object) int {
		return compareNsName(nsName{x.Ref.Namespace, x.Ref.Name}, nsName{y.Ref.Namespace, y.Ref.Name})
	})
	for _, o := range b.endpoints {
		if b.mirrors(o) {
			b.mirror(o)
		}
	}
}

// mirrors reports whether the controller mirrors Endpoints.
func (b *builder) mirrors(o *Object) bool {
	ep := o.Endpoints
	svc, ok := b.services[nsName{o.Ref.Namespace, o.Ref.Name}]
	switch {
	case ep.Labels[labelSkipMirror] == "true":
		return false
	case ep.Annotations[annotationLeader] != "":
		return false // leader-election lock, not endpoints
	case !ok || svc.svc.Selector != nil:
		return false // the controller mirrors only for an existing selectorless Service
	case b.managedSliceExists(o.Ref.Namespace, o.Ref.Name, ManagedByMirroringController):
		return false
	}
	return true
}

// mirror writes the slices mirroring Endpoints: one per address family and
// set of ports, at most 1000 endpoints per subset.
func (b *builder) mirror(o *Object) {
	origin := o.Origin
	origin.Derived = "EndpointSlice mirroring controller for " + o.Ref.String()
	var gs groups
	for _, ss := range o.Endpoints.Subsets {
		added := 0
		add := func(eps []cluster.Endpoint, ready bool) {
			for _, ep := range eps {
				if added >= maxEndpointsPerSubset {
					return
				}
				added++
				fam := cluster.FamilyOf(ep.Addresses.At(0))
				g := gs.get(string(fam)+"/"+portsKey(ss.Ports), ss.Ports, fam)
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
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
	}
	for _, g := range gs.list {
		b.addDerivedSlice(cluster.EndpointSlice{
			Namespace:   o.Ref.Namespace,
			ServiceName: o.Ref.Name,
			AddressType: g.family,
			Endpoints:   g.endpoints[:min(len(g.endpoints), maxEndpointsPerSubset)],
			Ports:       slices.Clone(g.ports),
			ManagedBy:   ManagedByMirroringController,
			Origin:      origin,
		}, o.Ref.Name)
	}
}

func sameEndpoint(a, b cluster.Endpoint) bool {
	return a.Addresses.Equal(b.Addresses) && a.Hostname == b.Hostname &&
		(a.TargetRef == nil) == (b.TargetRef == nil) && (a.TargetRef == nil || *a.TargetRef == *b.TargetRef)
}
