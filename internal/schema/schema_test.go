package schema

import (
	"net/netip"
	"strings"
	"testing"
)

// The spec's names (DNS-Based Service Discovery, sections 2.3 and 2.4),
// built and read back.
func TestSpecNamesRoundTrip(t *testing.T) {
	const z = "cluster.local."
	svc := Service("Web", "Default", z)
	tests := []struct {
		rule string
		name string
		want string
		kind Kind
		back Name
	}{
		{"2.3.1 A record of a ClusterIP service", svc, "web.default.svc.cluster.local.", ServiceName, Name{Kind: ServiceName, Namespace: "default", Service: "web"}},
		{"2.4.1 A record of a headless endpoint", Endpoint("web-0", svc), "web-0.web.default.svc.cluster.local.", EndpointName, Name{Kind: EndpointName, Namespace: "default", Service: "web", Label: "web-0"}},
		{"2.3.2 SRV record of a named port", Port("HTTP", "TCP", svc), "_http._tcp.web.default.svc.cluster.local.", PortName, Name{Kind: PortName, Namespace: "default", Service: "web", Port: "http", Proto: "tcp"}},
		{"pod record (removed from the spec, served by CoreDNS)", Pod(netip.MustParseAddr("10.244.1.5"), "default", z), "10-244-1-5.default.pod.cluster.local.", PodName, Name{Kind: PodName, Namespace: "default", Label: "10-244-1-5"}},
		{"first search domain of a ClusterFirst pod", Namespace("default", z), "default.svc.cluster.local.", NamespaceName, Name{Kind: NamespaceName, Namespace: "default"}},
		{"svc tree", SvcDomain(z), "svc.cluster.local.", SvcTree, Name{Kind: SvcTree}},
		{"pod tree", PodDomain(z), "pod.cluster.local.", PodTree, Name{Kind: PodTree}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if tt.name != tt.want {
				t.Fatalf("built %q, want %q", tt.name, tt.want)
			}
			rel := strings.TrimSuffix(strings.TrimSuffix(tt.name, z), ".")
			var labels []string
			if rel != "" {
				labels = strings.Split(rel, ".")
			}
			if got := Parse(labels); got != tt.back {
				t.Fatalf("Parse(%q) = %+v, want %+v", labels, got, tt.back)
			}
		})
	}
}

func TestParseOtherShapes(t *testing.T) {
	tests := []struct {
		labels string
		want   Name
	}{
		{"", Name{Kind: Apex}},
		{"dns-version", Name{Kind: DNSVersion}},
		{"ns.dns", Name{Kind: Nameserver}},
		{"foo", Name{Kind: Unknown}},
		{"a.b.c.d.e.svc", Name{Kind: BelowService, Namespace: "e", Service: "d"}},
		{"http.tcp.web.ns.svc", Name{Kind: PortName, Namespace: "ns", Service: "web", Port: "http", Proto: "tcp"}},
		{"__http._tcp.web.ns.svc", Name{Kind: PortName, Namespace: "ns", Service: "web", Port: "_http", Proto: "tcp"}},
		{"x.y.ns.pod", Name{Kind: BelowPod, Namespace: "ns"}},
		{"ns.pod", Name{Kind: PodNamespaceName, Namespace: "ns"}},
		{"us-east-1a.pin._zone.db.ns.svc", Name{Kind: ZonalName, Namespace: "ns", Service: "db", Topology: "us-east-1a"}},
		{"us-east-1a.prefer._zone.db.ns.svc", Name{Kind: ZonalName, Namespace: "ns", Service: "db", Topology: "us-east-1a", Prefer: true}},
		{"rack.7.room-2.pin._zone.db.ns.svc", Name{Kind: ZonalName, Namespace: "ns", Service: "db", Topology: "rack.7.room-2"}},
		{"us-east-1a.florp._zone.db.ns.svc", Name{Kind: BelowService, Namespace: "ns", Service: "db"}},
		{"us-east-1a.pin.zone.db.ns.svc", Name{Kind: BelowService, Namespace: "ns", Service: "db"}},
		{"pin._zone.db.ns.svc", Name{Kind: PortName, Namespace: "ns", Service: "db", Port: "pin", Proto: "zone"}},
	}
	for _, tt := range tests {
		var labels []string
		if tt.labels != "" {
			labels = strings.Split(tt.labels, ".")
		}
		if got := Parse(labels); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.labels, got, tt.want)
		}
	}
}

func TestZonalReadsBack(t *testing.T) {
	name := Zonal("US-East-1a", DirectivePrefer, Service("db", "ns", "cluster.local."))
	if name != "us-east-1a.prefer._zone.db.ns.svc.cluster.local." {
		t.Fatalf("Zonal = %q", name)
	}
	got := Parse(strings.Split(strings.TrimSuffix(name, ".cluster.local."), "."))
	if want := (Name{Kind: ZonalName, Namespace: "ns", Service: "db", Topology: "us-east-1a", Prefer: true}); got != want {
		t.Fatalf("Parse = %+v, want %+v", got, want)
	}
}

func TestParseMulticlusterReadsEndpointAndCluster(t *testing.T) {
	tests := []struct {
		labels string
		want   Name
	}{
		{"web-0.east.db.ns.svc", Name{Kind: EndpointName, Namespace: "ns", Service: "db", Label: "web-0", Cluster: "east"}},
		{"_http._tcp.db.ns.svc", Name{Kind: PortName, Namespace: "ns", Service: "db", Port: "http", Proto: "tcp"}},
		{"_http.tcp.db.ns.svc", Name{Kind: PortName, Namespace: "ns", Service: "db", Port: "http", Proto: "tcp"}},
		{"web-0.db.ns.svc", Name{Kind: EndpointName, Namespace: "ns", Service: "db", Label: "web-0"}},
		{"a.pin._zone.db.ns.svc", Name{Kind: BelowService, Namespace: "ns", Service: "db"}},
		{"db.ns.svc", Name{Kind: ServiceName, Namespace: "ns", Service: "db"}},
	}
	for _, tt := range tests {
		if got := ParseMulticluster(strings.Split(tt.labels, ".")); got != tt.want {
			t.Errorf("ParseMulticluster(%q) = %+v, want %+v", tt.labels, got, tt.want)
		}
	}
}

func TestSearchPathIsKubeletOrder(t *testing.T) {
	got := strings.Join(SearchPath("prod", "cluster.local"), " ")
	if want := "prod.svc.cluster.local svc.cluster.local cluster.local"; got != want {
		t.Fatalf("SearchPath = %q, want %q", got, want)
	}
}

func TestDashedIP(t *testing.T) {
	for in, want := range map[string]string{
		"10.244.1.5":       "10-244-1-5",
		"::ffff:10.0.0.1":  "10-0-0-1",
		"2001:db8::1":      "2001-db8--1",
		"2001:db8::":       "2001-db8--0",
		"fd00::10:244:1:5": "fd00--10-244-1-5",
	} {
		a := netip.MustParseAddr(in)
		if got := DashedIP(a); got != want {
			t.Errorf("DashedIP(%s) = %q, want %q", in, got, want)
		}
		back, ok := ParseDashedIP(want)
		if !ok || back != a.Unmap() && !(a.Is6() && back == a) {
			t.Errorf("ParseDashedIP(%q) = %v %v, want %v", want, back, ok, a.Unmap())
		}
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	labels := []string{"_http", "_tcp", "web", "default", "svc"}
	if n := testing.AllocsPerRun(100, func() { _ = Parse(labels) }); n != 0 {
		t.Fatalf("Parse allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = ServiceKey("default", "web") }); n > 1 {
		t.Fatalf("ServiceKey of lower-case input allocates %v times", n)
	}
}

func TestIsServiceFromKey(t *testing.T) {
	const z = "cluster.local."
	name := ServiceFromKey("web.default", z)
	if !IsServiceFromKey(name, "web.default", z) {
		t.Fatalf("%s is not recognised", name)
	}
	for _, other := range []string{"web.default.pod.cluster.local.", "web.defaults.svc.cluster.local.", "x.web.default.svc.cluster.local.", "web.default.svc.cluster.local"} {
		if IsServiceFromKey(other, "web.default", z) {
			t.Errorf("%s taken for web.default's service name", other)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = IsServiceFromKey(name, "web.default", z) }); n != 0 {
		t.Fatalf("allocates %v times", n)
	}
}
