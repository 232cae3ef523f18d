package zone

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// headlessOf is a headless Service of n ready endpoints with hostnames and
// its one EndpointSlice, endpoint i at address base+i.
func headlessOf(ns, name string, n int, base [4]byte) (cluster.Service, cluster.EndpointSlice) {
	port, ready := int32(80), true
	svc := cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Headless: true,
		Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: "TCP"}}}
	es := cluster.EndpointSlice{Name: name + "-1", Namespace: ns, ServiceName: name, AddressType: cluster.AddressTypeIPv4,
		Ports: []cluster.EndpointPort{{Name: "http", Port: &port, Protocol: "TCP"}}}
	first := binary.BigEndian.Uint32(base[:])
	for i := range n {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], first+uint32(i))
		es.Endpoints = append(es.Endpoints, cluster.Endpoint{Addresses: cluster.AddressesOf(netip.AddrFrom4(a)), Hostname: fmt.Sprintf("%s-%d", name, i),
			Conditions: cluster.EndpointConditions{Ready: cluster.Bool(ready)}})
	}
	return svc, es
}

// updateBench is a zone of size one-endpoint headless Services and the
// change that gives one of them 10 endpoints.
func updateBench(tb testing.TB, size int) (*Snapshot, Change) {
	tb.Helper()
	st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "ns"}}}
	for i := range size {
		svc, es := headlessOf("ns", fmt.Sprintf("svc-%d", i), 1, [4]byte{10, 1 + byte(i>>16), byte(i >> 8), byte(i)})
		st.Services, st.EndpointSlices = append(st.Services, svc), append(st.EndpointSlices, es)
	}
	snap, err := Build(st, DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	svc, es := headlessOf("ns", "svc-7", 10, [4]byte{10, 250, 0, 0})
	return snap, Change{Serial: snap.Serial, Services: []ServiceUpdate{{Namespace: "ns", Name: "svc-7", Service: &svc, Slices: []*cluster.EndpointSlice{&es}}}}
}

// BenchmarkUpdateOneService is issue 17's item 4: updating one Service of
// 10 endpoints allocates in proportion to the change, not to the zone:
// compare B/op and allocs/op at 1k and at 50k Services
// (TestUpdateAllocatesForTheChangeNotTheZone holds them within 5%).
func BenchmarkUpdateOneService(b *testing.B) {
	for _, size := range []int{1000, 50000} {
		b.Run(fmt.Sprintf("zone-%d", size), func(b *testing.B) {
			snap, ch := updateBench(b, size)
			b.ReportAllocs()
			for b.Loop() {
				snap.Update(ch)
			}
		})
	}
}
