package explain

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// bigState is 10,000 headless services in 100 namespaces, each backed by 15
// pods (150,000 pods) with their EndpointSlices.
func bigState() *cluster.State {
	st := &cluster.State{}
	ip := uint32(10<<24 | 1)
	for n := 0; n < 100; n++ {
		ns := fmt.Sprintf("ns-%d", n)
		st.Namespaces = append(st.Namespaces, cluster.Namespace{Name: ns})
		for s := 0; s < 100; s++ {
			name := fmt.Sprintf("svc-%d", s)
			st.Services = append(st.Services, cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Headless: true,
				Selector: map[string]string{"app": name}, Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}})
			port := int32(80)
			es := cluster.EndpointSlice{Name: name + "-1", Namespace: ns, ServiceName: name, AddressType: cluster.AddressTypeIPv4,
				Ports: []cluster.EndpointPort{{Name: "http", Port: &port, Protocol: cluster.ProtocolTCP}}}
			for p := 0; p < 15; p++ {
				ip++
				a := netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
				pod := fmt.Sprintf("%s-%d", name, p)
				st.Pods = append(st.Pods, cluster.Pod{Name: pod, Namespace: ns, Labels: map[string]string{"app": name},
					Hostname: pod, Subdomain: name, IPs: []netip.Addr{a}, Phase: cluster.PodRunning, Ready: p != 3})
				es.Endpoints = append(es.Endpoints, cluster.Endpoint{Addresses: cluster.AddressesOf(a), Hostname: pod,
					Conditions: cluster.EndpointConditions{Ready: cluster.Bool(p != 3)},
					TargetRef:  &cluster.ObjectRef{Kind: "Pod", Namespace: ns, Name: pod}})
			}
			st.EndpointSlices = append(st.EndpointSlices, es)
		}
	}
	return st
}

// BenchmarkExplainLargeCluster: one explanation on a 10k-service,
// 150k-pod state, after loading (the state is indexed once by New).
// The goal is under 50 ms per explanation.
func BenchmarkExplainLargeCluster(b *testing.B) {
	ex, err := New(bigState(), zone.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"svc-42-3.svc-42.ns-57.svc.cluster.local.", dns.TypeA},     // an unready pod
		{"_http._tcp.svc-42.ns-57.svc.cluster.local.", dns.TypeSRV}, // a healthy SRV
		{"svc-24-3.svc-42.ns-57.svc.cluster.local.", dns.TypeA},     // a name that does not exist
		{"svc-99.ns-99.svc.cluster.local.", dns.TypeA},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				r := ex.Explain(q.name, q.qtype)
				if len(r.Path) == 0 {
					b.Fatal("no path")
				}
			}
		})
	}
}
