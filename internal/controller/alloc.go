package controller

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

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
				b.fail(pod.Ref(), pod.Origin, "%s: pod CIDR %s is exhausted", pod.Ref(), a.prefix)
				continue
			}
			pod.IPs = append(pod.IPs, ip)
		}
	}
}

// allocateClusterIPs plays the API server's cluster IP allocation: every
// ClusterIP, NodePort and LoadBalancer service without cluster IPs gets one
// from each family it asks for, in namespace/name order; every service's
// families are worked out.
func (b *builder) allocateClusterIPs() {
	allocs := map[cluster.AddressType]*allocator{}
	var configured []cluster.AddressType
	for _, p := range b.opts.ServiceCIDRs {
		fam := cluster.FamilyOf(p.Addr())
		allocs[fam] = newAllocator(p, b.used)
		configured = append(configured, fam)
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.services), compareNsName) {
		e := b.services[key]
		switch {
		case e.svc.Type == cluster.ServiceTypeExternalName:
			continue
		case e.explicitIPs:
			for _, a := range e.svc.ClusterIPs {
				e.families = append(e.families, cluster.FamilyOf(a))
			}
			continue
		}
		want := e.wantedFamilies(configured)
		if e.svc.Headless {
			// No cluster IP to allocate: the families only say which
			// EndpointSlices the controller writes, whatever the service
			// CIDRs (a state exported from a dual-stack cluster loads).
			e.families = want
			continue
		}
		if e.policy == RequireDualStack && len(configured) < 2 {
			b.failService(e, "ipFamilyPolicy RequireDualStack needs an IPv4 and an IPv6 service CIDR, have %v", b.opts.ServiceCIDRs)
			continue
		}
		e.families = want
		for _, fam := range want {
			b.allocateClusterIP(e, fam, allocs[fam])
		}
	}
}

// wantedFamilies are the families a service asks for: spec.ipFamilies,
// else what its policy implies on a cluster with the configured families.
func (e *serviceEntry) wantedFamilies(configured []cluster.AddressType) []cluster.AddressType {
	want := slices.Clone(e.asked)
	if len(want) == 0 {
		want = configured[:1]
		if e.policy == PreferDualStack || e.policy == RequireDualStack {
			want = configured
		}
	}
	if e.policy == SingleStack || (e.policy == "" && len(e.asked) < 2) {
		want = want[:1]
	}
	return want
}

// allocateClusterIP gives a service a cluster IP of one family, from a
// (nil when no service CIDR of the family is configured).
func (b *builder) allocateClusterIP(e *serviceEntry, fam cluster.AddressType, a *allocator) {
	if a == nil {
		b.failService(e, "asks for an %s cluster IP but no %s service CIDR is configured", fam, fam)
		return
	}
	ip, ok := a.allocate()
	if !ok {
		b.failService(e, "service CIDR %s is exhausted", a.prefix)
		return
	}
	e.svc.ClusterIPs = append(e.svc.ClusterIPs, ip)
}

func (b *builder) failService(e *serviceEntry, format string, args ...any) {
	b.fail(e.svc.Ref(), e.svc.Origin, "%s: %s", e.svc.Ref(), fmt.Sprintf(format, args...))
}
