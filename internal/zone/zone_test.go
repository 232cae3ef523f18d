package zone

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func i32(v int32) *int32 { return &v }

func clusterIPService(ns, name string, ips []string, ports ...cluster.ServicePort) cluster.Service {
	s := cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Ports: ports, Selector: map[string]string{"app": name}}
	for _, i := range ips {
		s.ClusterIPs = append(s.ClusterIPs, ip(i))
	}
	return s
}

func headlessService(ns, name string, ports ...cluster.ServicePort) cluster.Service {
	return cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Headless: true, Ports: ports, Selector: map[string]string{"app": name}}
}

type ep struct {
	addrs    []string
	hostname string
	ready    cluster.Condition
	pod      string
}

func slice(ns, name, svc string, family cluster.AddressType, ports []cluster.EndpointPort, eps ...ep) cluster.EndpointSlice {
	s := cluster.EndpointSlice{Name: name, Namespace: ns, ServiceName: svc, AddressType: family, Ports: ports}
	for _, e := range eps {
		x := cluster.Endpoint{Hostname: e.hostname, Conditions: cluster.EndpointConditions{Ready: e.ready}}
		var addrs []netip.Addr
		for _, a := range e.addrs {
			addrs = append(addrs, ip(a))
		}
		x.Addresses = cluster.AddressesOf(addrs...)
		if e.pod != "" {
			x.TargetRef = &cluster.ObjectRef{Kind: "Pod", Namespace: ns, Name: e.pod}
		}
		s.Endpoints = append(s.Endpoints, x)
	}
	return s
}

func port(name string, p int32, proto cluster.Protocol) cluster.EndpointPort {
	return cluster.EndpointPort{Name: name, Port: i32(p), Protocol: proto}
}

// testState is one namespace "ns" with a bit of everything.
func testState() *cluster.State {
	return &cluster.State{
		Namespaces: []cluster.Namespace{{Name: "ns"}, {Name: "other"}},
		Services: []cluster.Service{
			clusterIPService("ns", "a", []string{"10.96.0.20"},
				cluster.ServicePort{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP},
				cluster.ServicePort{Port: 81, Protocol: cluster.ProtocolTCP}),
			clusterIPService("ns", "b", []string{"fd00::20"}, cluster.ServicePort{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}),
			clusterIPService("ns", "dual", []string{"10.96.0.30", "fd00::30"}, cluster.ServicePort{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}),
			clusterIPService("ns", "1digit", []string{"10.96.0.40"}, cluster.ServicePort{Port: 80, Protocol: cluster.ProtocolTCP}),
			headlessService("ns", "h", cluster.ServicePort{Name: "http", Port: 80}, cluster.ServicePort{Name: "grpc", Port: 9090}),
			headlessService("ns", "empty"),
			headlessService("ns", "noports"),
			{Name: "e", Namespace: "ns", Type: cluster.ServiceTypeExternalName, ExternalName: "www.example.com"},
			{Name: "toa", Namespace: "ns", Type: cluster.ServiceTypeExternalName, ExternalName: "a.ns.svc.cluster.local"},
			{Name: "ipext", Namespace: "ns", Type: cluster.ServiceTypeExternalName, ExternalName: "192.0.2.1"},
		},
		EndpointSlices: []cluster.EndpointSlice{
			slice("ns", "h-1", "h", cluster.AddressTypeIPv4,
				[]cluster.EndpointPort{port("http", 8080, cluster.ProtocolTCP), port("grpc", 9090, cluster.ProtocolTCP)},
				ep{addrs: []string{"10.244.0.1"}, hostname: "p0", ready: cluster.Bool(true), pod: "h-0"},
				ep{addrs: []string{"10.244.0.2"}, pod: "h-1"},
				ep{addrs: []string{"10.244.0.3"}, hostname: "p2", ready: cluster.Bool(false)}),
			slice("ns", "h-2", "h", cluster.AddressTypeIPv6,
				[]cluster.EndpointPort{port("http", 8080, cluster.ProtocolTCP), port("grpc", 9090, cluster.ProtocolTCP)},
				ep{addrs: []string{"fd00::1"}, hostname: "p0", ready: cluster.Bool(true)}),
			slice("ns", "empty-1", "empty", cluster.AddressTypeIPv4, nil,
				ep{addrs: []string{"10.244.0.9"}, ready: cluster.Bool(false)}),
			slice("ns", "noports-1", "noports", cluster.AddressTypeIPv4, nil,
				ep{addrs: []string{"10.244.0.10"}, hostname: "solo"}),
			slice("ns", "a-1", "a", cluster.AddressTypeIPv4, []cluster.EndpointPort{port("http", 8080, cluster.ProtocolTCP)},
				ep{addrs: []string{"10.244.0.20"}, hostname: "api-0"}),
		},
	}
}

func build(t *testing.T, st *cluster.State, mod func(*Options)) *Snapshot {
	t.Helper()
	o := DefaultOptions()
	if mod != nil {
		mod(&o)
	}
	s, err := Build(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// answerOf renders an answer as "RCODE" plus sorted RR strings of the answer
// section, without the TTL and class for brevity.
func answerOf(a *Answer) string {
	var rrs []string
	for _, r := range a.Answer {
		f := strings.SplitN(r.RR.String(), "\t", 5)
		rrs = append(rrs, f[0]+" "+f[3]+" "+f[4])
	}
	sort.Strings(rrs)
	out := dns.RcodeToString[a.Rcode]
	if len(rrs) > 0 {
		out += ": " + strings.Join(rrs, "; ")
	}
	return out
}

type lookupCase struct {
	name  string
	qname string
	qtype uint16
	want  string
}

func runLookups(t *testing.T, s *Snapshot, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.Lookup(c.qname, c.qtype)
			if got := answerOf(a); got != c.want {
				t.Errorf("%s %s:\n got %s\nwant %s", c.qname, dns.TypeToString[c.qtype], got, c.want)
			}
			if a.Rcode != dns.RcodeRefused && len(a.Answer) == 0 {
				if len(a.Ns) != 1 || a.Ns[0].RR.Header().Rrtype != dns.TypeSOA {
					t.Errorf("negative answer without the zone SOA in authority: %v", a.Ns)
				}
			}
		})
	}
}

func TestSpecSchemaVersionTXT(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"txt", "dns-version.cluster.local.", dns.TypeTXT, `NOERROR: dns-version.cluster.local. TXT "1.1.0"`},
		{"other type is NODATA", "dns-version.cluster.local.", dns.TypeA, "NOERROR"},
	})
	if ttl := s.Lookup("dns-version.cluster.local.", dns.TypeTXT).Answer[0].RR.Header().Ttl; ttl != 28800 {
		t.Errorf("dns-version TTL = %d, want 28800", ttl)
	}
}

func TestSpecClusterIPService(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"A", "a.ns.svc.cluster.local.", dns.TypeA, "NOERROR: a.ns.svc.cluster.local. A 10.96.0.20"},
		{"AAAA of IPv6 service", "b.ns.svc.cluster.local.", dns.TypeAAAA, "NOERROR: b.ns.svc.cluster.local. AAAA fd00::20"},
		{"AAAA of IPv4-only service is NODATA", "a.ns.svc.cluster.local.", dns.TypeAAAA, "NOERROR"},
		{"dual-stack A", "dual.ns.svc.cluster.local.", dns.TypeA, "NOERROR: dual.ns.svc.cluster.local. A 10.96.0.30"},
		{"dual-stack AAAA", "dual.ns.svc.cluster.local.", dns.TypeAAAA, "NOERROR: dual.ns.svc.cluster.local. AAAA fd00::30"},
		{"SRV per named port, service port", "_http._tcp.a.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: _http._tcp.a.ns.svc.cluster.local. SRV 0 100 80 a.ns.svc.cluster.local."},
		{"proto mismatch is NXDOMAIN", "_http._udp.a.ns.svc.cluster.local.", dns.TypeSRV, "NXDOMAIN"},
		{"unnamed port has no _port name", "_81._tcp.a.ns.svc.cluster.local.", dns.TypeSRV, "NXDOMAIN"},
		{"bare SRV lists every port, unnamed too", "a.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: a.ns.svc.cluster.local. SRV 0 50 80 a.ns.svc.cluster.local.; a.ns.svc.cluster.local. SRV 0 50 81 a.ns.svc.cluster.local."},
		{"PTR IPv4", "20.0.96.10.in-addr.arpa.", dns.TypePTR, "NOERROR: 20.0.96.10.in-addr.arpa. PTR a.ns.svc.cluster.local."},
		{"PTR IPv6 full nibbles", "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", dns.TypePTR,
			"NOERROR: 0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. PTR b.ns.svc.cluster.local."},
		{"name starting with a digit", "1digit.ns.svc.cluster.local.", dns.TypeA, "NOERROR: 1digit.ns.svc.cluster.local. A 10.96.0.40"},
		{"endpoint names work under ClusterIP services", "api-0.a.ns.svc.cluster.local.", dns.TypeA, "NOERROR: api-0.a.ns.svc.cluster.local. A 10.244.0.20"},
	})
}

func TestSpecHeadlessService(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"A of ready endpoints only", "h.ns.svc.cluster.local.", dns.TypeA,
			"NOERROR: h.ns.svc.cluster.local. A 10.244.0.1; h.ns.svc.cluster.local. A 10.244.0.2"},
		{"AAAA", "h.ns.svc.cluster.local.", dns.TypeAAAA, "NOERROR: h.ns.svc.cluster.local. AAAA fd00::1"},
		{"no ready endpoints is NXDOMAIN", "empty.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"no ready endpoints is NXDOMAIN for AAAA too", "empty.ns.svc.cluster.local.", dns.TypeAAAA, "NXDOMAIN"},
		{"hostname A merged across slices", "p0.h.ns.svc.cluster.local.", dns.TypeA, "NOERROR: p0.h.ns.svc.cluster.local. A 10.244.0.1"},
		{"hostname AAAA merged across slices", "p0.h.ns.svc.cluster.local.", dns.TypeAAAA, "NOERROR: p0.h.ns.svc.cluster.local. AAAA fd00::1"},
		{"endpoint without hostname gets the dashed IP", "10-244-0-2.h.ns.svc.cluster.local.", dns.TypeA,
			"NOERROR: 10-244-0-2.h.ns.svc.cluster.local. A 10.244.0.2"},
		{"unready endpoint has no name", "p2.h.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"SRV per ready endpoint and named port, endpoint port", "_http._tcp.h.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: _http._tcp.h.ns.svc.cluster.local. SRV 0 33 8080 10-244-0-2.h.ns.svc.cluster.local.; _http._tcp.h.ns.svc.cluster.local. SRV 0 33 8080 p0.h.ns.svc.cluster.local."},
		{"headless without ports still has A", "noports.ns.svc.cluster.local.", dns.TypeA, "NOERROR: noports.ns.svc.cluster.local. A 10.244.0.10"},
		{"headless without ports has no SRV", "noports.ns.svc.cluster.local.", dns.TypeSRV, "NOERROR"},
		{"headless without ports keeps per-pod names", "solo.noports.ns.svc.cluster.local.", dns.TypeA, "NOERROR: solo.noports.ns.svc.cluster.local. A 10.244.0.10"},
		{"PTR of a named endpoint", "1.0.244.10.in-addr.arpa.", dns.TypePTR, "NOERROR: 1.0.244.10.in-addr.arpa. PTR p0.h.ns.svc.cluster.local."},
		{"PTR of an unready endpoint", "3.0.244.10.in-addr.arpa.", dns.TypePTR, "NXDOMAIN"},
		{"SRV at an endpoint name lists its ports", "p0.h.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: p0.h.ns.svc.cluster.local. SRV 0 25 8080 p0.h.ns.svc.cluster.local.; p0.h.ns.svc.cluster.local. SRV 0 25 9090 p0.h.ns.svc.cluster.local."},
		{"port and endpoint together is too long", "_http._tcp.p0.h.ns.svc.cluster.local.", dns.TypeSRV, "NXDOMAIN"},
	})
	// SRV targets resolve, and the glue carries their addresses.
	a := s.Lookup("_grpc._tcp.h.ns.svc.cluster.local.", dns.TypeSRV)
	for _, r := range a.Answer {
		target := r.RR.(*dns.SRV).Target
		if !s.Exists(target) {
			t.Errorf("SRV target %s does not resolve", target)
		}
	}
	if len(a.Extra) != 3 {
		t.Errorf("glue = %d records, want 3 (10.244.0.1, fd00::1, 10.244.0.2)", len(a.Extra))
	}
}

func TestSpecExternalName(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"CNAME query gives only the CNAME", "e.ns.svc.cluster.local.", dns.TypeCNAME, "NOERROR: e.ns.svc.cluster.local. CNAME www.example.com."},
		{"A query gives the CNAME (target outside the zone)", "e.ns.svc.cluster.local.", dns.TypeA, "NOERROR: e.ns.svc.cluster.local. CNAME www.example.com."},
		{"in-zone target is chased", "toa.ns.svc.cluster.local.", dns.TypeA,
			"NOERROR: a.ns.svc.cluster.local. A 10.96.0.20; toa.ns.svc.cluster.local. CNAME a.ns.svc.cluster.local."},
		{"SRV on an ExternalName is NODATA", "e.ns.svc.cluster.local.", dns.TypeSRV, "NOERROR"},
		{"TXT on an ExternalName is NODATA, as CoreDNS", "e.ns.svc.cluster.local.", dns.TypeTXT, "NOERROR"},
		{"names below an ExternalName do not exist", "x.e.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"an IP literal is no CNAME target", "ipext.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
	})
}

func TestSpecNXDOMAINAndNODATA(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"missing service", "nope.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"missing namespace", "a.nope.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"search-list expansion", "a.ns.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"too many labels", "x.y.z.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"wildcard label is literal", "*.h.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"label neither svc nor pod", "foo.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"existing name other type is NODATA", "a.ns.svc.cluster.local.", dns.TypeTXT, "NOERROR"},
		{"MX on existing name", "a.ns.svc.cluster.local.", dns.TypeMX, "NOERROR"},
		{"HINFO on missing name", "nope.ns.svc.cluster.local.", dns.TypeHINFO, "NXDOMAIN"},
		{"svc is an empty non-terminal", "svc.cluster.local.", dns.TypeA, "NOERROR"},
		{"pod is an empty non-terminal", "pod.cluster.local.", dns.TypeA, "NOERROR"},
		{"existing namespace is NODATA", "ns.svc.cluster.local.", dns.TypeA, "NOERROR"},
		{"SOA below the apex is NODATA, even for a missing name", "nope.ns.svc.cluster.local.", dns.TypeSOA, "NOERROR"},
		{"apex SOA", "cluster.local.", dns.TypeSOA, "NOERROR: cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"},
		{"apex A is NODATA", "cluster.local.", dns.TypeA, "NOERROR"},
		{"outside the zone is refused", "example.com.", dns.TypeA, "REFUSED"},
		{"PTR outside the cluster's addresses", "8.8.8.8.in-addr.arpa.", dns.TypePTR, "NXDOMAIN"},
	})
}

func TestSpecCaseInsensitiveMatching(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"service", "A.NS.Svc.Cluster.Local.", dns.TypeA, "NOERROR: a.ns.svc.cluster.local. A 10.96.0.20"},
		{"port and protocol labels", "_HTTP._TCP.a.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: _http._tcp.a.ns.svc.cluster.local. SRV 0 100 80 a.ns.svc.cluster.local."},
	})
}

func TestCoreDNSPortLabelForms(t *testing.T) {
	s := build(t, testState(), nil)
	runLookups(t, s, []lookupCase{
		{"empty port matches every port", "_._tcp.a.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: _._tcp.a.ns.svc.cluster.local. SRV 0 50 80 a.ns.svc.cluster.local.; _._tcp.a.ns.svc.cluster.local. SRV 0 50 81 a.ns.svc.cluster.local."},
		{"labels without underscore", "http.tcp.a.ns.svc.cluster.local.", dns.TypeSRV,
			"NOERROR: http.tcp.a.ns.svc.cluster.local. SRV 0 100 80 a.ns.svc.cluster.local."},
		{"port name exists, other type is NODATA", "_http._tcp.a.ns.svc.cluster.local.", dns.TypeA, "NOERROR"},
	})
}

func TestOptionTTL(t *testing.T) {
	s := build(t, testState(), func(o *Options) { o.TTL = 30 })
	if ttl := s.Lookup("a.ns.svc.cluster.local.", dns.TypeA).Answer[0].RR.Header().Ttl; ttl != 30 {
		t.Errorf("TTL = %d, want 30", ttl)
	}
	soa := s.Lookup("nope.ns.svc.cluster.local.", dns.TypeA).Ns[0].RR.(*dns.SOA)
	if soa.Hdr.Ttl != 30 || soa.Minttl != 30 {
		t.Errorf("negative SOA TTL %d minimum %d, want 30 and 30", soa.Hdr.Ttl, soa.Minttl)
	}
	s = build(t, testState(), func(o *Options) { o.TTL = 600 })
	if soa := s.Lookup("nope.ns.svc.cluster.local.", dns.TypeA).Ns[0].RR.(*dns.SOA); soa.Hdr.Ttl != 300 || soa.Minttl != 600 {
		t.Errorf("SOA TTL is min(ttl,300): got %d, minimum %d", soa.Hdr.Ttl, soa.Minttl)
	}
	if _, err := Build(testState(), Options{Zones: []string{"cluster.local"}, TTL: 3601}); err == nil {
		t.Error("TTL 3601 accepted")
	}
}

func TestOptionNonDefaultZone(t *testing.T) {
	s := build(t, testState(), func(o *Options) { o.Zones = []string{"K8s.Test"} })
	runLookups(t, s, []lookupCase{
		{"service in the configured zone", "a.ns.svc.k8s.test.", dns.TypeA, "NOERROR: a.ns.svc.k8s.test. A 10.96.0.20"},
		{"cluster.local is not served", "a.ns.svc.cluster.local.", dns.TypeA, "REFUSED"},
		{"PTR targets the primary zone", "20.0.96.10.in-addr.arpa.", dns.TypePTR, "NOERROR: 20.0.96.10.in-addr.arpa. PTR a.ns.svc.k8s.test."},
	})
}

func TestOptionPodRecords(t *testing.T) {
	st := testState()
	st.Pods = []cluster.Pod{{Name: "p", Namespace: "ns", IPs: []netip.Addr{ip("10.244.1.5")}, Phase: cluster.PodRunning, Ready: true}}
	disabled := build(t, st, nil)
	insecure := build(t, st, func(o *Options) { o.PodRecords = PodsInsecure })
	verified := build(t, st, func(o *Options) { o.PodRecords = PodsVerified })
	runLookups(t, disabled, []lookupCase{{"disabled", "10-244-1-5.ns.pod.cluster.local.", dns.TypeA, "NXDOMAIN"}})
	runLookups(t, insecure, []lookupCase{
		{"insecure answers any IP", "10-1-2-3.ns.pod.cluster.local.", dns.TypeA, "NOERROR: 10-1-2-3.ns.pod.cluster.local. A 10.1.2.3"},
		{"insecure IPv6", "fd00--1.ns.pod.cluster.local.", dns.TypeAAAA, "NOERROR: fd00--1.ns.pod.cluster.local. AAAA fd00::1"},
		{"insecure needs the namespace", "10-1-2-3.nope.pod.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"insecure non-IP label", "blah.ns.pod.cluster.local.", dns.TypeA, "NXDOMAIN"},
	})
	runLookups(t, verified, []lookupCase{
		{"verified answers a pod's IP", "10-244-1-5.ns.pod.cluster.local.", dns.TypeA, "NOERROR: 10-244-1-5.ns.pod.cluster.local. A 10.244.1.5"},
		{"verified wrong namespace", "10-244-1-5.other.pod.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"verified unknown IP", "10-1-2-3.ns.pod.cluster.local.", dns.TypeA, "NXDOMAIN"},
	})
}

func TestOptionEndpointPodNames(t *testing.T) {
	s := build(t, testState(), func(o *Options) { o.EndpointPodNames = true })
	runLookups(t, s, []lookupCase{
		{"pod name instead of dashed IP", "h-1.h.ns.svc.cluster.local.", dns.TypeA, "NOERROR: h-1.h.ns.svc.cluster.local. A 10.244.0.2"},
		{"hostname still wins", "p0.h.ns.svc.cluster.local.", dns.TypeA, "NOERROR: p0.h.ns.svc.cluster.local. A 10.244.0.1"},
		{"dashed IP is gone", "10-244-0-2.h.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
	})
}

func TestOptionNamespaces(t *testing.T) {
	s := build(t, testState(), func(o *Options) { o.Namespaces = []string{"other"} })
	runLookups(t, s, []lookupCase{
		{"service in an unserved namespace", "a.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"unserved namespace itself", "ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"served namespace", "other.svc.cluster.local.", dns.TypeA, "NOERROR"},
		{"PTR of an unserved service", "20.0.96.10.in-addr.arpa.", dns.TypePTR, "NXDOMAIN"},
	})
}

func TestOptionIgnoreEmptyService(t *testing.T) {
	st := testState()
	st.Services = append(st.Services, clusterIPService("ns", "lonely", []string{"10.96.0.99"}))
	runLookups(t, build(t, st, nil), []lookupCase{{"ClusterIP without endpoints resolves", "lonely.ns.svc.cluster.local.", dns.TypeA, "NOERROR: lonely.ns.svc.cluster.local. A 10.96.0.99"}})
	runLookups(t, build(t, st, func(o *Options) { o.IgnoreEmptyService = true }), []lookupCase{
		{"ignored when empty", "lonely.ns.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"not ignored with endpoints", "a.ns.svc.cluster.local.", dns.TypeA, "NOERROR: a.ns.svc.cluster.local. A 10.96.0.20"},
	})
}

func TestApexNS(t *testing.T) {
	st := testState()
	s := build(t, st, func(o *Options) { o.NameserverIPs = []netip.Addr{ip("127.0.0.1")} })
	runLookups(t, s, []lookupCase{
		{"NS falls back to ns.dns", "cluster.local.", dns.TypeNS, "NOERROR: cluster.local. NS ns.dns.cluster.local."},
		{"ns.dns has the server's address", "ns.dns.cluster.local.", dns.TypeA, "NOERROR: ns.dns.cluster.local. A 127.0.0.1"},
	})
	s = build(t, st, func(o *Options) { o.NameserverIPs = []netip.Addr{ip("10.244.0.1")} })
	runLookups(t, s, []lookupCase{
		{"NS names the headless endpoint carrying the server's IP", "cluster.local.", dns.TypeNS, "NOERROR: cluster.local. NS p0.h.ns.svc.cluster.local."},
	})
}

func TestRecordsCarryTheirSource(t *testing.T) {
	s := build(t, testState(), nil)
	a := s.Lookup("p0.h.ns.svc.cluster.local.", dns.TypeA)
	if got := a.Answer[0].From.String(); got != "EndpointSlice ns/h-1 endpoints[0].addresses[0]" {
		t.Errorf("source = %q", got)
	}
	a = s.Lookup("a.ns.svc.cluster.local.", dns.TypeA)
	if got := a.Answer[0].From.String(); got != "Service ns/a spec.clusterIPs[0]" {
		t.Errorf("source = %q", got)
	}
	// PTR names are answered from entries that name the service by key:
	// the provenance is found again.
	a = s.Lookup("1.0.244.10.in-addr.arpa.", dns.TypePTR)
	if got := a.Answer[0].From.String(); got != "EndpointSlice ns/h-1 endpoints[0].addresses[0]" {
		t.Errorf("PTR source = %q", got)
	}
	a = s.Lookup("20.0.96.10.in-addr.arpa.", dns.TypePTR)
	if got := a.Answer[0].From.String(); got != "Service ns/a spec.clusterIPs[0]" {
		t.Errorf("ClusterIP PTR source = %q", got)
	}
}

func TestBuildIsPure(t *testing.T) {
	st := testState()
	a := build(t, st, nil)
	b := build(t, st, nil)
	var names []string
	a.eachName(func(n nameInfo) { names = append(names, n.name) })
	for _, name := range names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR} {
			if x, y := answerOf(a.Lookup(name, qt)), answerOf(b.Lookup(name, qt)); x != y {
				t.Errorf("%s %d differs between builds: %s vs %s", name, qt, x, y)
			}
		}
	}
}

func TestDashedIP(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"10.244.1.5", "10-244-1-5"},
		{"2001:db8::1", "2001-db8--1"},
		{"2001:db8::", "2001-db8--0"},
		{"5678:abcd::2", "5678-abcd--2"},
	} {
		if got := schema.DashedIP(ip(c.ip)); got != c.want {
			t.Errorf("DashedIP(%s) = %s, want %s", c.ip, got, c.want)
		}
		if back, ok := schema.ParseDashedIP(schema.DashedIP(ip(c.ip))); !ok || back != ip(c.ip) {
			t.Errorf("ParseDashedIP(DashedIP(%s)) = %v, %v", c.ip, back, ok)
		}
	}
}

func TestAddrFromReverse(t *testing.T) {
	for _, a := range []string{"10.0.0.1", "192.168.1.100", "2001:db8::1", "fd00::20"} {
		got, ok := AddrFromReverse(reverseName(ip(a)))
		if !ok || got != ip(a) {
			t.Errorf("AddrFromReverse(reverseName(%s)) = %v, %v", a, got, ok)
		}
	}
	for _, bad := range []string{"1.0.10.in-addr.arpa.", "01.0.0.10.in-addr.arpa.", "256.0.0.10.in-addr.arpa.", "x.ip6.arpa.",
		"5.1.0.0.10.in-addr.arpa.", "1..0.10.in-addr.arpa.", "in-addr.arpa.", "ab.ip6.arpa.", "ip6.arpa."} {
		if _, ok := AddrFromReverse(bad); ok {
			t.Errorf("AddrFromReverse(%s) accepted", bad)
		}
	}
}

func TestSRVWeightAsCoreDNS(t *testing.T) {
	for n, want := range map[int]uint16{1: 100, 2: 50, 3: 33, 4: 25, 5: 20, 6: 16, 25: 4, 100: 1, 101: 0} {
		if got := srvWeight(n); got != want {
			t.Errorf("srvWeight(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestReversePrefixHoldsTheZonesNames: the prefix of a reverse zone holds
// exactly the addresses whose reverse names are in the zone; a classless
// (RFC 2317) zone has none, and names are then checked one by one.
func TestReversePrefixHoldsTheZonesNames(t *testing.T) {
	addrs := []string{"10.0.0.1", "10.96.0.10", "10.96.1.10", "192.0.2.5", "192.0.2.200", "2001:db8::1", "fd00::20", "2001:db9::1"}
	for _, z := range []string{"in-addr.arpa.", "10.in-addr.arpa.", "0.96.10.in-addr.arpa.", "2.0.192.in-addr.arpa.",
		"ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.", "d.f.ip6.arpa."} {
		p := reversePrefix(z)
		if !p.IsValid() {
			t.Errorf("%s: no prefix", z)
			continue
		}
		for _, a := range addrs {
			if got, want := p.Contains(ip(a)), inZone(reverseName(ip(a)), z); got != want {
				t.Errorf("%s (%v) contains %s = %v, its reverse name is in the zone = %v", z, p, a, got, want)
			}
		}
	}
	if p := reversePrefix("0/25.2.0.192.in-addr.arpa."); p.IsValid() {
		t.Errorf("classless zone got prefix %v", p)
	}
}
