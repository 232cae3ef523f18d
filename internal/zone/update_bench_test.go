package zone

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// headlessOf is a headless Service of n ready endpoints with hostnames and
// its one EndpointSlice, addresses from base.
func headlessOf(ns, name string, n int, base [4]byte) (cluster.Service, cluster.EndpointSlice) {
	port, ready := int32(80), true
	svc := cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Headless: true,
		Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: "TCP"}}}
	es := cluster.EndpointSlice{Name: name + "-1", Namespace: ns, ServiceName: name, AddressType: cluster.AddressTypeIPv4,
		Ports: []cluster.EndpointPort{{Name: "http", Port: &port, Protocol: "TCP"}}}
	for i := range n {
		a := base
		a[3] = byte(i + 1)
		es.Endpoints = append(es.Endpoints, cluster.Endpoint{Addresses: []netip.Addr{netip.AddrFrom4(a)}, Hostname: fmt.Sprintf("%s-%d", name, i),
			Conditions: cluster.EndpointConditions{Ready: &ready}})
	}
	return svc, es
}

// BenchmarkUpdateOneService is issue 17's item 4: updating one Service of
// 10 endpoints should allocate in proportion to the change, not to the
// zone: compare B/op and allocs/op at 1k and at 50k Services. Today about
// 89 KB / 120 allocs at 1k and 92-114 KB / 121-124 at 50k: the copy of the
// one services shard the update touches (256 shards, about 195 entries at
// 50k; its size, hence the table it needs, depends on the hash seed) is
// the part that grows with the zone.
func BenchmarkUpdateOneService(b *testing.B) {
	for _, size := range []int{1000, 50000} {
		b.Run(fmt.Sprintf("zone-%d", size), func(b *testing.B) {
			st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "ns"}}}
			for i := range size {
				svc, es := headlessOf("ns", fmt.Sprintf("svc-%d", i), 1, [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				st.Services, st.EndpointSlices = append(st.Services, svc), append(st.EndpointSlices, es)
			}
			snap, err := Build(st, DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			svc, es := headlessOf("ns", "svc-7", 10, [4]byte{10, 250, 0, 0})
			ch := Change{Serial: snap.Serial, Services: []ServiceUpdate{{Namespace: "ns", Name: "svc-7", Service: &svc, Slices: []*cluster.EndpointSlice{&es}}}}
			b.ReportAllocs()
			for b.Loop() {
				snap.Update(ch)
			}
		})
	}
}
