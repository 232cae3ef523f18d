package explain

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// The review of 2026-11 (code-review-2026-11.md, section 2) found explain
// restating decisions of the engine and the controllers. Each test below is
// a case where the restatement and the engine disagreed; explain now asks
// the engine (zone facts) or the controller rules, so they agree.

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func port(p int32) *int32 { return &p }

func headless(name string, ports ...cluster.ServicePort) cluster.Service {
	return cluster.Service{Name: name, Namespace: "default", Type: cluster.ServiceTypeClusterIP, Headless: true, Ports: ports}
}

func slice(svc string, fam cluster.AddressType, ports []cluster.EndpointPort, eps ...cluster.Endpoint) cluster.EndpointSlice {
	return cluster.EndpointSlice{Name: svc + "-x", Namespace: "default", ServiceName: svc, AddressType: fam, Ports: ports, Endpoints: eps}
}

func state(svcs []cluster.Service, slices []cluster.EndpointSlice, pods ...cluster.Pod) *cluster.State {
	return &cluster.State{Namespaces: []cluster.Namespace{{Name: "default"}, {Name: "other"}}, Services: svcs, EndpointSlices: slices, Pods: pods}
}

// explainAgainstEngine explains a question and checks that the verdict is
// the whole cluster's snapshot's.
func explainAgainstEngine(t *testing.T, st *cluster.State, opts zone.Options, name string, qtype uint16) *Result {
	t.Helper()
	ex, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := ex.Explain(name, qtype)
	full, err := zone.Build(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a := full.Lookup(name, qtype); dns.RcodeToString[a.Rcode] != r.Rcode || len(a.Answer) != len(r.Answer) {
		t.Fatalf("explain says %s %v, the engine %s %d records", r.Rcode, r.Answer, dns.RcodeToString[a.Rcode], len(a.Answer))
	}
	return r
}

func hasCause(r *Result, code, severity string) bool {
	for _, c := range r.Causes {
		if c.Code == code && (severity == "" || c.Severity == severity) {
			return true
		}
	}
	return false
}

func pathSays(r *Result, text string) bool {
	for _, s := range r.Path {
		if strings.Contains(s.Result, text) {
			return true
		}
	}
	return false
}

// Row 1: an ExternalName target the engine does not publish (a label that
// is not a DNS label) is an error, not "clusterdns follows it".
func TestRow1ExternalNameTargetIsTheEngines(t *testing.T) {
	for _, target := range []string{"a..b", "x y.example.com", "10.0.0.1", ""} {
		svc := cluster.Service{Name: "ext", Namespace: "default", Type: cluster.ServiceTypeExternalName, ExternalName: target}
		r := explainAgainstEngine(t, state([]cluster.Service{svc}, nil), zone.DefaultOptions(), "ext.default.svc.cluster.local.", dns.TypeCNAME)
		if r.Rcode != "NXDOMAIN" || !hasCause(r, CodeExternalNameTarget, SeverityError) {
			t.Errorf("target %q: %s %+v, want NXDOMAIN with an externalname-target error", target, r.Rcode, r.Causes)
		}
	}
}

// Rows 2 and 3: the ready addresses explain counts, and whether the service
// name exists, are the engine's: an address of the wrong family or named by
// a label that is not a DNS label is not published, so the headless name
// does not exist.
func TestRows2And3ReadyAndExistsAreTheEngines(t *testing.T) {
	long := strings.Repeat("h", 64)
	cases := map[string]cluster.EndpointSlice{
		"wrong family":  slice("db", cluster.AddressTypeIPv4, nil, cluster.Endpoint{Addresses: cluster.AddressesOf(addr("fd00::1"))}),
		"label not DNS": slice("db", cluster.AddressTypeIPv4, nil, cluster.Endpoint{Addresses: cluster.AddressesOf(addr("10.0.0.1")), Hostname: long}),
	}
	for name, es := range cases {
		t.Run(name, func(t *testing.T) {
			r := explainAgainstEngine(t, state([]cluster.Service{headless("db")}, []cluster.EndpointSlice{es}), zone.DefaultOptions(), "db.default.svc.cluster.local.", dns.TypeA)
			if r.Rcode != "NXDOMAIN" || !hasCause(r, CodeNoReadyEndpoints, SeverityError) || !pathSays(r, "1 address(es), 0 ready") {
				t.Errorf("%s %+v %+v", r.Rcode, r.Path, r.Causes)
			}
		})
	}
}

// Row 4: the served namespaces are the engine's (--namespaces, whatever the
// case it was given in).
func TestRow4ExposedNamespaceIsTheEngines(t *testing.T) {
	opts := zone.DefaultOptions()
	opts.Namespaces = []string{"OTHER"}
	st := state([]cluster.Service{{Name: "web", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{addr("10.96.0.20")}}}, nil)
	r := explainAgainstEngine(t, st, opts, "web.default.svc.cluster.local.", dns.TypeA)
	if !hasCause(r, CodeNamespaceNotFound, SeverityError) {
		t.Errorf("default is not served: %+v", r.Causes)
	}
}

// Row 5: the zone a name is in is the engine's, with its canonical form of
// the zone option (trimmed, lower case).
func TestRow5ZoneOfANameIsTheEngines(t *testing.T) {
	opts := zone.DefaultOptions()
	opts.Zones = []string{" Cluster.Local ", "cluster.local"}
	st := state([]cluster.Service{{Name: "web", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{addr("10.96.0.20")}}}, nil)
	r := explainAgainstEngine(t, st, opts, "web.default.svc.cluster.local.", dns.TypeA)
	if hasCause(r, CodeNotInZone, "") || r.Rcode != "NOERROR" {
		t.Errorf("%s %+v", r.Rcode, r.Causes)
	}
}

// Row 6: the label of a pod's endpoint is the controller's and the
// engine's: the hostname only when the subdomain is the service's name
// exactly, a pod name only up to 63 characters.
func TestRow6EndpointLabelIsTheEngines(t *testing.T) {
	long := strings.Repeat("p", 64)
	svc := headless("web")
	svc.Selector = map[string]string{"app": "web"}
	pods := []cluster.Pod{
		{Name: "pod-a", Namespace: "default", Labels: map[string]string{"app": "web"}, Hostname: "a", Subdomain: "Web", IPs: []netip.Addr{addr("10.0.0.1")}, Phase: cluster.PodRunning, Ready: true},
		{Name: long, Namespace: "default", Labels: map[string]string{"app": "web"}, IPs: []netip.Addr{addr("10.0.0.2")}, Phase: cluster.PodRunning, Ready: true},
	}
	var eps []cluster.Endpoint
	for i := range pods {
		ep, ok := controller.PodEndpoint(&pods[i], &svc, cluster.AddressTypeIPv4)
		if !ok {
			t.Fatal("pod is no endpoint")
		}
		eps = append(eps, ep)
	}
	st := state([]cluster.Service{svc}, []cluster.EndpointSlice{slice("web", cluster.AddressTypeIPv4, nil, eps...)}, pods...)
	opts := zone.DefaultOptions()
	opts.EndpointPodNames = true
	ex, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := zone.Build(st, opts)
	for _, p := range pods {
		rs, err := ex.ExplainObject("pod", "default", p.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if strings.HasSuffix(r.Name, ".web.default.svc.cluster.local.") && (!r.Resolves() || !full.Exists(r.Name)) {
				t.Errorf("pod %s: explain lists %s, which the engine does not publish", p.Name, r.Name)
			}
		}
	}
	if r := ex.Explain("a.web.default.svc.cluster.local.", dns.TypeA); !hasCause(r, CodePodSubdomainMismatch, SeverityError) {
		t.Errorf("subdomain Web is not web for the controller: %+v", r.Causes)
	}
}

// Row 7: whether a selected pod's endpoint is ready is the controller's:
// explain names a pod cause exactly when the pod's endpoint is not ready.
func TestRow7PodEndpointStateIsTheControllers(t *testing.T) {
	now := time.Now()
	pods := map[string]cluster.Pod{
		"ready":       {Phase: cluster.PodRunning, Ready: true, IPs: []netip.Addr{addr("10.0.0.1")}},
		"not ready":   {Phase: cluster.PodRunning, IPs: []netip.Addr{addr("10.0.0.1")}},
		"terminating": {Phase: cluster.PodRunning, Ready: true, DeletionTimestamp: &now, IPs: []netip.Addr{addr("10.0.0.1")}},
		"finished":    {Phase: cluster.PodSucceeded, IPs: []netip.Addr{addr("10.0.0.1")}},
		"no IP":       {Phase: cluster.PodRunning, NodeName: "n1"},
		"unscheduled": {Phase: cluster.PodPending},
	}
	for name, p := range pods {
		for _, publish := range []bool{false, true} {
			p.Name, p.Namespace, p.Labels, p.Hostname, p.Subdomain = "web-0", "default", map[string]string{"app": "web"}, "web-0", "web"
			svc := headless("web")
			svc.Selector, svc.PublishNotReadyAddresses = map[string]string{"app": "web"}, publish
			ex, err := New(state([]cluster.Service{svc}, nil, p), zone.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			r := &Result{Causes: []Cause{}}
			gotCause := ex.podState(r, &svc, &p)
			ep, listed := controller.PodEndpoint(&p, &svc, cluster.AddressTypeIPv4)
			ready := listed && ep.Conditions.Ready.IsTrue()
			if gotCause == ready {
				t.Errorf("%s (publishNotReadyAddresses %v): explain cause %v, controller ready %v", name, publish, gotCause, ready)
			}
		}
	}
}

// Row 8: a slice port counts for SRV only with a number from 1 to 65535.
func TestRow8SlicePortIsTheEngines(t *testing.T) {
	svc := headless("db", cluster.ServicePort{Name: "pg", Port: 5432, Protocol: cluster.ProtocolTCP})
	es := slice("db", cluster.AddressTypeIPv4, []cluster.EndpointPort{{Name: "pg", Port: port(0), Protocol: cluster.ProtocolTCP}},
		cluster.Endpoint{Addresses: cluster.AddressesOf(addr("10.0.0.1")), Hostname: "db-0"})
	r := explainAgainstEngine(t, state([]cluster.Service{svc}, []cluster.EndpointSlice{es}), zone.DefaultOptions(), "_pg._tcp.db.default.svc.cluster.local.", dns.TypeSRV)
	if r.Resolves() || !hasCause(r, CodeEndpointSlicePortMismatch, SeverityError) {
		t.Errorf("%s %+v", r.Rcode, r.Causes)
	}
}

// Row 9: the family of an address is cluster.FamilyOf: an IPv4-mapped
// cluster IP answers A, and explain asks A for it.
func TestRow9AddressFamilyIsOne(t *testing.T) {
	svc := cluster.Service{Name: "web", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{addr("::ffff:10.96.0.20")}}
	r := explainAgainstEngine(t, state([]cluster.Service{svc}, nil), zone.DefaultOptions(), "web.default.svc.cluster.local.", dns.TypeAAAA)
	if !pathSays(r, "no IPv6 cluster IP") {
		t.Errorf("%+v", r.Path)
	}
	explainAgainstEngine(t, state([]cluster.Service{svc}, nil), zone.DefaultOptions(), "web.default.svc.cluster.local.", dns.TypeA)
}

// Row 10: explain asks a live server as probe does and names the drift in
// probe's words.
func TestRow10CompareIsProbes(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetRcode(m, dns.RcodeNameError)
		w.WriteMsg(resp)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	svc := cluster.Service{Name: "web", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{addr("10.96.0.20")}}
	r := explainAgainstEngine(t, state([]cluster.Service{svc}, nil), zone.DefaultOptions(), "web.default.svc.cluster.local.", dns.TypeA)
	r.Compare(pc.LocalAddr().String(), time.Second)
	if r.Server == nil || r.Server.Agrees || !hasCause(r, CodeServerDisagrees, SeverityError) {
		t.Fatalf("%+v %+v", r.Server, r.Causes)
	}
	for _, c := range r.Causes {
		if c.Code == CodeServerDisagrees && !strings.Contains(c.Message, "(missing)") {
			t.Errorf("the drift is not named as probe names it: %s", c.Message)
		}
	}
}

// Row 11: the names explain lists for a Service are the engine's names.
func TestRow11ObjectNamesAreTheSchemas(t *testing.T) {
	svc := headless("db", cluster.ServicePort{Name: "PG", Port: 5432, Protocol: cluster.ProtocolTCP})
	svc.Namespace = "default"
	es := slice("db", cluster.AddressTypeIPv4, []cluster.EndpointPort{{Name: "PG", Port: port(5432), Protocol: cluster.ProtocolTCP}},
		cluster.Endpoint{Addresses: cluster.AddressesOf(addr("10.0.0.1")), Hostname: "DB-0"})
	st := state([]cluster.Service{svc}, []cluster.EndpointSlice{es})
	ex, _ := New(st, zone.DefaultOptions())
	full, _ := zone.Build(st, zone.DefaultOptions())
	rs, err := ex.ExplainObject("service", "default", "db")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !full.Exists(r.Name) {
			t.Errorf("explain lists %s, which the engine does not hold", r.Name)
		}
	}
}
