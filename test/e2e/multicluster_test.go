//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Scenario: multicluster zones (the Multi-Cluster Services API, KEP-1645)
// and zonal names, compared with CoreDNS on the same Corefile.
//
// The ServiceImport CRD (kubernetes-sigs/mcs-api, testdata) is installed
// through the API server. A namespace of the test holds: a ClusterSetIP
// import (an IPv4 and an IPv6 clusterset IP, a named and an unnamed port,
// one endpoint from cluster east), a Headless import with EndpointSlices
// from clusters east and west (an endpoint with a hostname, others
// without, one not ready, an IPv6 slice), a Headless import without
// slices, a ClusterSetIP import without ports; and, for zonal names, a
// selector-less headless Service whose hand-written slice puts two ready
// endpoints in zone us-east-1a, one in us-east-1b (and one not ready
// there), one in eu.west.1 (a zone value with dots), plus a ClusterIP
// Service, and a ClusterIP Service named like the ClusterSetIP import.
//
// CoreDNS 1.14.2 does not know `zonal` at all: its kubernetes plugin
// refuses the Corefile with "unknown property 'zonal'", with or without
// `multicluster` (the option arrived in 1.14.7, coredns/coredns#8388). So
// two pairs run:
//
//   - multicluster: clusterdns and CoreDNS 1.14.2 on the Corefile without
//     `zonal`; every question of the table is compared, zonal names
//     included (with the option off both must answer them NXDOMAIN, as too
//     long a name).
//   - zonal: clusterdns on the same Corefile plus `zonal`. Its answers to the
//     names `zonal` does not touch are compared with CoreDNS 1.14.2 (the
//     option must change nothing else); its answers to the zonal names are
//     checked against what CoreDNS's zonal option answers (the behaviour
//     reference, §3.10), and compared with a CoreDNS that has the option
//     when CLUSTERDNS_E2E_COREDNS_ZONAL names its binary (1.14.7 or later;
//     checked with one built from coredns/coredns 4b26cced3). That CoreDNS
//     runs the same Corefile, `multicluster` and `zonal` together, which
//     it accepts, and every question of the pair is compared.
//
// Every question is compared on rcode, the AA flag and the answer,
// authority and additional sections as sorted multisets of records (SOA
// serial blanked: the two servers count it differently by design). A
// difference fails the test unless a row of README.md's "Where clusterdns
// deliberately differs from CoreDNS" table, named in mcExcused, explains it.
// Then the cluster changes (an endpoint added to the west slice of the
// Headless import; an endpoint moved from us-east-1b to us-east-1a), both
// servers of each pair must follow, and the table is asked again.
func TestMulticlusterAndZonalAgainstCoreDNS(t *testing.T) {
	e := need(t)
	began := time.Now()
	ctx := ctxFor(t)
	dyn, err := dynamic.NewForConfig(e.cp.RestConfig)
	if err != nil {
		t.Fatal(err)
	}
	mcInstallServiceImportCRD(t, e, dyn)

	// A name of its own per run: a namespace deleted by an earlier run may
	// still be terminating.
	ns := e.namespace(t, fmt.Sprintf("e2e-multicluster-%d", time.Now().Unix()%100000))
	t.Cleanup(func() {
		// The ServiceImports and EndpointSlices go with it; the CRD stays
		// (other tests may watch ServiceImports too).
		e.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	imports := dyn.Resource(mcServiceImportGVR).Namespace(ns)
	// The first write of a ServiceImport may come a moment before the API
	// server serves the new resource in every path: retried on NotFound.
	createImport := func(name, typ string, ips []string, ports ...map[string]any) {
		t.Helper()
		spec := map[string]any{"type": typ, "ports": []any{}}
		for _, p := range ports {
			spec["ports"] = append(spec["ports"].([]any), p)
		}
		if len(ips) > 0 {
			var l []any
			for _, ip := range ips {
				l = append(l, ip)
			}
			spec["ips"] = l
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": mcServiceImportGVR.GroupVersion().String(),
			"kind":       "ServiceImport",
			"metadata":   map[string]any{"name": name, "namespace": ns},
			"spec":       spec,
		}}
		eventually(t, 20*time.Second, "creating ServiceImport "+ns+"/"+name, func() (bool, string) {
			_, err := imports.Create(ctx, u, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				err = nil
			}
			return err == nil, fmt.Sprint(err)
		})
	}
	port := func(name string, p int64) map[string]any {
		m := map[string]any{"port": p, "protocol": "TCP"}
		if name != "" {
			m["name"] = name
		}
		return m
	}

	// The multicluster objects.
	createImport("vip", "ClusterSetIP", []string{mcVIP4, mcVIP6}, port("http", 80), port("", 8443))
	createImport("hl", "Headless", nil, port("http", 8080))
	createImport("empty", "Headless", nil, port("http", 8080))
	createImport("noports", "ClusterSetIP", []string{mcNoPortsIP})
	mcPutSlice(t, e, mcImportSlice(ns, "vip-east", "vip", "east", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("http", 8080)}, mcEp{ip: "10.43.0.1"}))
	hlPorts := []discoveryv1.EndpointPort{slicePort("http", 8080), {Port: ptr(int32(9090)), Protocol: ptr(corev1.ProtocolTCP)}}
	mcPutSlice(t, e, mcImportSlice(ns, "hl-east-v4", "hl", "east", discoveryv1.AddressTypeIPv4, hlPorts,
		mcEp{ip: "10.44.1.1", hostname: "web-0"}, mcEp{ip: "10.44.1.2"}, mcEp{ip: "10.44.1.3", notReady: true}))
	westV4 := []mcEp{{ip: "10.44.2.1"}, {ip: "10.44.2.2"}}
	mcPutSlice(t, e, mcImportSlice(ns, "hl-west-v4", "hl", "west", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("http", 8080)}, westV4...))
	mcPutSlice(t, e, mcImportSlice(ns, "hl-west-v6", "hl", "west", discoveryv1.AddressTypeIPv6,
		[]discoveryv1.EndpointPort{slicePort("http", 8080)}, mcEp{ip: "fd00:44:2::1"}, mcEp{ip: "fd00:44:2::2"}))

	// The cluster.local objects: a Service named like the ClusterSetIP
	// import (its own cluster IP, no endpoints), the zonal one and a
	// ClusterIP one.
	localVIP := e.createService(t, ns, "vip", []corev1.ServicePort{svcPort("http", 80, "8080")})
	e.createService(t, ns, "zoned", []corev1.ServicePort{svcPort("http", 80, "8080")}, headless, noSelector)
	e.createService(t, ns, "plain", []corev1.ServicePort{svcPort("http", 80, "8080")})
	zonedEps := []mcEp{
		{ip: "10.45.0.1", hostname: "z0", zone: "us-east-1a"},
		{ip: "10.45.0.2", zone: "us-east-1a"},
		{ip: "10.45.0.3", zone: "us-east-1b"},
		{ip: "10.45.0.4", zone: "us-east-1b", notReady: true},
		{ip: "10.45.0.5", zone: "eu.west.1"},
	}
	mcPutSlice(t, e, mcServiceSlice(ns, "zoned-1", "zoned", zonedEps...))

	// The servers: the pair on the multicluster Corefile, and clusterdns
	// with zonal (and CoreDNS with zonal, when there is one).
	mcCorefile := func(zonal bool) func(port int) string {
		return func(port int) string {
			z := ""
			if zonal {
				z = "\n        zonal"
			}
			return fmt.Sprintf(`.:%d {
    bind %s
    kubernetes %s clusterset.local in-addr.arpa ip6.arpa {
        kubeconfig %s
        multicluster clusterset.local%s
    }
}
`, port, e.dnsHost, zoneName, e.adminKubeconfig, z)
		}
	}
	// CoreDNS 1.14.2 has no zonal option; tools/build.sh builds 1.14.7,
	// the first release with it, for the zonal pair.
	zonalCoreDNS := os.Getenv("CLUSTERDNS_E2E_COREDNS_ZONAL")
	if zonalCoreDNS == "" {
		if p := filepath.Join(controlplane.CacheDir(), "coredns-"+corednsZonalVersion+"-release", "coredns"); fileExists(p) {
			zonalCoreDNS = p
		} else if required() {
			t.Fatalf("CoreDNS %s (zonal names) is missing at %s: run test/e2e/tools/build.sh", corednsZonalVersion, p)
		}
	}
	servers := []*dnsServer{
		e.mcStart(t, "mc-clusterdns", e.clusterdnsBin, true, mcCorefile(false)),
		e.mcStart(t, "mc-coredns", e.bins.CoreDNS, false, mcCorefile(false)),
		e.mcStart(t, "zonal-clusterdns", e.clusterdnsBin, true, mcCorefile(true)),
	}
	if zonalCoreDNS != "" {
		servers = append(servers, e.mcStart(t, "zonal-coredns", zonalCoreDNS, false, mcCorefile(true)))
	} else {
		t.Logf("no CoreDNS with zonal (%s; CLUSTERDNS_E2E_COREDNS_ZONAL): zonal names are checked against the reference's rules only (CoreDNS %s has no zonal option)", corednsZonalVersion, corednsVersion)
	}
	for _, s := range servers {
		if err := s.waitAnswering(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	mcDNS, mcCore, zDNS := servers[0], servers[1], servers[2]
	zRef, zRefZonal := mcCore, false
	if len(servers) == 4 {
		zRef, zRefZonal = servers[3], true
	}
	pairs := []mcPair{
		{label: "multicluster", ours: mcDNS, ref: mcCore},
		{label: "zonal", ours: zDNS, ref: zRef, zonal: true, refZonal: zRefZonal},
	}

	st := mcState{ns: ns, localVIP: localVIP.Spec.ClusterIP, westV4: westV4, zoned: zonedEps}
	// The informers have synced when every server answers the objects.
	mcWaitSynced(t, servers, st)
	t.Logf("CRD, objects and %d servers ready after %v", len(servers), time.Since(began).Round(time.Millisecond))
	mcAskTable(t, "first state", pairs, st)

	// The change: one more endpoint in the west slice; an endpoint moves
	// from us-east-1b to us-east-1a (which leaves us-east-1b only its
	// not-ready endpoint).
	st.westV4 = append(slices.Clone(westV4), mcEp{ip: "10.44.2.3", hostname: "web-1"})
	mcPutSlice(t, e, mcImportSlice(ns, "hl-west-v4", "hl", "west", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("http", 8080)}, st.westV4...))
	st.zoned = slices.Clone(zonedEps)
	st.zoned[2].zone = "us-east-1a"
	mcPutSlice(t, e, mcServiceSlice(ns, "zoned-1", "zoned", st.zoned...))
	changed := time.Now()
	mcWaitSynced(t, servers, st)
	t.Logf("every server follows the change within %v", time.Since(changed).Round(time.Millisecond))
	mcAskTable(t, "after the change", pairs, st)
	t.Logf("test took %v", time.Since(began).Round(time.Millisecond))
}

// The clusterset IPs of the ClusterSetIP imports.
const (
	mcVIP4      = "10.42.0.10"
	mcVIP6      = "fd00:42::10"
	mcNoPortsIP = "10.42.0.20"
	mcZone      = "clusterset.local"
)

var (
	mcCRDGVR           = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	mcServiceImportGVR = schema.GroupVersionResource{Group: "multicluster.x-k8s.io", Version: "v1alpha1", Resource: "serviceimports"}
)

// mcExcused names the rows of README.md's "Where clusterdns deliberately
// differs from CoreDNS" table that may explain a difference here; nothing
// else is excused.
var mcExcused = map[string]func(q mcQuestion, ours, ref *dns.Msg) bool{
	// | TXT on names without TXT records (`svc`, `<ns>.svc`, the apex) | NODATA | NXDOMAIN | a name that exists is NODATA for every type it lacks; musl gives up on any NXDOMAIN |
	"TXT on names without TXT records": func(q mcQuestion, ours, ref *dns.Msg) bool {
		return q.qtype == dns.TypeTXT && nodata(ours) && ref.Rcode == dns.RcodeNameError
	},
	// | `_port._proto.<svc>`, types other than SRV | NODATA | A/AAAA of the service | the spec defines only SRV there; no client asks |
	"_port._proto.<svc>, types other than SRV": func(q mcQuestion, ours, ref *dns.Msg) bool {
		return q.qtype != dns.TypeSRV && strings.HasPrefix(q.name, "_") && nodata(ours) && !nodata(ref)
	},
}

// mcInstallServiceImportCRD creates the ServiceImport CRD (already there
// is fine: the suite shares one API server) and waits until it is
// established and its v1alpha1 resource is in discovery, where clusterdns
// looks before it watches.
func mcInstallServiceImportCRD(t *testing.T, e *environment, dyn dynamic.Interface) {
	t.Helper()
	ctx := ctxFor(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "multicluster.x-k8s.io_serviceimports.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &crd.Object); err != nil {
		t.Fatalf("reading the ServiceImport CRD: %v", err)
	}
	crds := dyn.Resource(mcCRDGVR)
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the ServiceImport CRD: %v", err)
	}
	eventually(t, 30*time.Second, "the ServiceImport CRD established", func() (bool, string) {
		got, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" {
				return m["status"] == "True", fmt.Sprintf("Established %v: %v", m["status"], m["message"])
			}
		}
		return false, fmt.Sprintf("no Established condition yet: %v", conds)
	})
	eventually(t, 30*time.Second, "serviceimports in discovery", func() (bool, string) {
		l, err := e.cs.Discovery().ServerResourcesForGroupVersion(mcServiceImportGVR.GroupVersion().String())
		if err != nil {
			return false, err.Error()
		}
		for _, r := range l.APIResources {
			if r.Name == mcServiceImportGVR.Resource {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d resources, no serviceimports", len(l.APIResources))
	})
}

// mcEp is one endpoint of a hand-written slice.
type mcEp struct {
	ip, hostname, zone string
	notReady           bool
}

func mcSlice(ns, name string, labels map[string]string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...mcEp) *discoveryv1.EndpointSlice {
	labels[discoveryv1.LabelManagedBy] = "e2e-multicluster.clusterdns.io"
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		AddressType: family,
		Ports:       ports,
	}
	for _, ep := range eps {
		x := discoveryv1.Endpoint{Addresses: []string{ep.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(!ep.notReady)}}
		if ep.hostname != "" {
			x.Hostname = ptr(ep.hostname)
		}
		if ep.zone != "" {
			x.Zone = ptr(ep.zone)
		}
		s.Endpoints = append(s.Endpoints, x)
	}
	return s
}

// mcImportSlice is a slice an MCS implementation writes for an import:
// labelled with the import's name and the cluster, not with a Service.
func mcImportSlice(ns, name, svc, cluster string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...mcEp) *discoveryv1.EndpointSlice {
	return mcSlice(ns, name, map[string]string{
		"multicluster.kubernetes.io/service-name":   svc,
		"multicluster.kubernetes.io/source-cluster": cluster,
	}, family, ports, eps...)
}

// mcServiceSlice is an IPv4 slice of a selector-less Service, port http
// 8080.
func mcServiceSlice(ns, name, svc string, eps ...mcEp) *discoveryv1.EndpointSlice {
	return mcSlice(ns, name, map[string]string{discoveryv1.LabelServiceName: svc}, discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("http", 8080)}, eps...)
}

// mcPutSlice creates or replaces a slice.
func mcPutSlice(t *testing.T, e *environment, s *discoveryv1.EndpointSlice) {
	t.Helper()
	ctx := ctxFor(t)
	api := e.cs.DiscoveryV1().EndpointSlices(s.Namespace)
	cur, err := api.Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, s, metav1.CreateOptions{})
	case err == nil:
		s.ResourceVersion = cur.ResourceVersion
		_, err = api.Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("writing EndpointSlice %s/%s: %v", s.Namespace, s.Name, err)
	}
}

// mcStart runs CoreDNS (bin), or clusterdns with serve --corefile, on the
// Corefile corefile writes for a fresh port; the caller waits for it.
func (e *environment) mcStart(t *testing.T, name, bin string, clusterdns bool, corefile func(port int) string) *dnsServer {
	t.Helper()
	port := freePortOn(e.dnsHost)
	path := e.path(name + ".Corefile")
	if err := os.WriteFile(path, []byte(corefile(port)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{name: name, addr: net.JoinHostPort(e.dnsHost, itoa(port)), logs: &logBook{}}
	args := []string{"-conf", path}
	if clusterdns {
		args = []string{"serve", "--corefile", path, "--listen", s.addr, "--log-format", "json"}
	}
	s.proc = &proc{Name: name, Bin: bin, Args: args, LogPath: e.path(name + ".log"), OnLine: s.logs.add}
	if err := s.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.proc.Stop)
	return s
}

// mcState is what the objects hold at a step of the test.
type mcState struct {
	ns       string
	localVIP string // the cluster IP of Service vip
	westV4   []mcEp // hl's IPv4 endpoints in cluster west
	zoned    []mcEp // the zonal Service's endpoints
}

// mc is a name under <ns>.svc.clusterset.local; local one under
// <ns>.svc.cluster.local.
func (s mcState) mc(labels ...string) string {
	return strings.Join(append(labels, s.ns, "svc", mcZone), ".") + "."
}

func (s mcState) local(labels ...string) string { return fqdn(append(labels, s.ns, "svc")...) }

// zonal is <zone>.<directive>._zone.<svc>.<ns>.svc.cluster.local.
func (s mcState) zonal(zone, directive, svc string) string {
	return s.local(zone, directive, "_zone", svc)
}

// hlV4 are the ready IPv4 addresses of import hl.
func (s mcState) hlV4() []string {
	out := []string{"10.44.1.1", "10.44.1.2"}
	for _, ep := range s.westV4 {
		out = append(out, ep.ip)
	}
	return sorted(out)
}

// inZone are the ready addresses of the zonal Service in zone ("" for all).
func (s mcState) inZone(zone string) []string {
	var out []string
	for _, ep := range s.zoned {
		if !ep.notReady && (zone == "" || ep.zone == zone) {
			out = append(out, ep.ip)
		}
	}
	return sorted(out)
}

// zonedSRV are the SRV data ("8080 <endpoint>.zoned...") of addresses.
func (s mcState) zonedSRV(addrs []string) []string {
	var out []string
	for _, ep := range s.zoned {
		if !slices.Contains(addrs, ep.ip) {
			continue
		}
		label := ep.hostname
		if label == "" {
			label = dashed(ep.ip)
		}
		out = append(out, "8080 "+s.local(label, "zoned"))
	}
	return sorted(out)
}

// mcWant is what clusterdns with zonal must answer to a zonal name, from
// the reference's rules (§3.10): for when no CoreDNS with zonal runs.
type mcWant struct {
	rcode int
	data  []string // rdata of the question's type; none: NODATA (or NXDOMAIN)
}

type mcQuestion struct {
	name  string
	qtype uint16
	zonal bool    // a zonal name (or a name of that shape): `zonal` changes its answer
	want  *mcWant // what clusterdns must answer (zonal names: with zonal on)
	// silent says why CoreDNS sends no answer at all to the question (see
	// mcSilentPTR); clusterdns is then held to want alone. Should CoreDNS
	// answer, the answers are compared as any others.
	silent string
}

func (q mcQuestion) String() string { return q.name + " " + dns.TypeToString[q.qtype] }

// mcQuestions is the table, built from the state.
func mcQuestions(s mcState) []mcQuestion {
	var qs []mcQuestion
	ask := func(name string, types ...uint16) {
		for _, t := range types {
			qs = append(qs, mcQuestion{name: name, qtype: t})
		}
	}
	const (
		A, AAAA, SRV, TXT, PTR, SOA = dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeTXT, dns.TypePTR, dns.TypeSOA
	)
	// The ClusterSetIP import.
	ask(s.mc("vip"), A, AAAA, SRV, TXT)
	ask("VIP."+s.ns+".svc.ClusterSet.Local.", A) // the owner names keep the question's case
	ask(s.mc("_http", "_tcp", "vip"), SRV, A)
	ask(s.mc("_https", "_tcp", "vip"), SRV)
	ask(s.mc("_http", "_udp", "vip"), SRV)
	ask(s.mc("10-43-0-1", "east", "vip"), A, AAAA, SRV)
	ask(s.mc("10-43-0-1", "vip"), A)
	ask(s.mc("10-43-0-1", "west", "vip"), A)
	// The Headless import.
	ask(s.mc("hl"), A, AAAA, SRV, TXT)
	ask(s.mc("_http", "_tcp", "hl"), SRV)
	ask(s.mc("_http", "_udp", "hl"), SRV)
	ask(s.mc("web-0", "east", "hl"), A, AAAA, SRV, TXT)
	ask(s.mc("10-44-1-2", "east", "hl"), A, SRV)
	for _, ep := range s.westV4 {
		label := ep.hostname
		if label == "" {
			label = dashed(ep.ip)
		}
		ask(s.mc(label, "west", "hl"), A, AAAA)
		ask(s.mc(label, "east", "hl"), A)
		ask(s.mc(label, "hl"), A)
	}
	ask(s.mc(dashed("fd00:44:2::1"), "west", "hl"), AAAA, A, SRV)
	ask(s.mc(dashed("fd00:44:2::2"), "west", "hl"), AAAA)
	ask(s.mc("10-44-1-3", "east", "hl"), A) // not ready
	ask(s.mc("web-0", "hl"), A, SRV)        // no cluster
	ask(s.mc("web-0", "west", "hl"), A)     // another cluster
	ask(s.mc("web-0", "north", "hl"), A)    // no such cluster
	ask(s.mc("east", "hl"), A)
	ask(s.mc("_http", "_tcp", "web-0", "east", "hl"), SRV) // too long
	// Imports without endpoints or ports, a missing one, the namespace,
	// the apex, a pod name.
	ask(s.mc("empty"), A, SRV, TXT)
	ask(s.mc("noports"), A, SRV)
	ask(s.mc("nope"), A, SRV)
	ask(s.mc(), A, TXT)
	ask(mcZone+".", SOA, A)
	ask("10-44-1-1."+s.ns+".pod."+mcZone+".", A)
	// The same names under cluster.local come from Services.
	ask(s.local("vip"), A, AAAA, SRV)
	ask(s.local("hl"), A, SRV)
	ask(s.local("empty"), A)
	ask(s.local("web-0", "east", "hl"), A)
	ask(s.local("10-43-0-1", "vip"), A)
	// Reverse names: the clusterset and endpoint IPs of imports have no
	// PTR; a Service's cluster IP has.
	ask(reverse(mcVIP4), PTR)
	ask(reverse(mcVIP6), PTR)
	for _, ip := range []string{"10.44.1.1", "10.44.1.2", "fd00:44:2::1"} {
		qs = append(qs, mcQuestion{name: reverse(ip), qtype: PTR, want: &mcWant{rcode: dns.RcodeNameError}, silent: mcSilentPTR})
	}
	ask(reverse(s.localVIP), PTR)
	// The zonal Service as a whole.
	ask(s.local("zoned"), A, SRV)
	ask(s.local("z0", "zoned"), A)

	// Zonal names, with what the reference says CoreDNS's zonal answers.
	zonal := func(name string, qtype uint16, rcode int, data ...string) {
		qs = append(qs, mcQuestion{name: name, qtype: qtype, zonal: true, want: &mcWant{rcode: rcode, data: sorted(data)}})
	}
	east1a, east1b := s.inZone("us-east-1a"), s.inZone("us-east-1b")
	pick := func(in, nothing []string) []string {
		if len(in) == 0 {
			return nothing
		}
		return in
	}
	ok, nx := dns.RcodeSuccess, dns.RcodeNameError
	zonal(s.zonal("us-east-1a", "pin", "zoned"), A, ok, east1a...)
	zonal(s.zonal("us-east-1a", "pin", "zoned"), SRV, ok, s.zonedSRV(east1a)...)
	zonal(s.zonal("us-east-1a", "pin", "zoned"), AAAA, ok)
	zonal(s.zonal("us-east-1a", "pin", "zoned"), TXT, ok)
	zonal(s.zonal("us-east-1a", "prefer", "zoned"), A, ok, east1a...)
	zonal(s.zonal("us-east-1b", "pin", "zoned"), A, ok, east1b...)
	zonal(s.zonal("us-east-1b", "prefer", "zoned"), A, ok, pick(east1b, s.inZone(""))...)
	zonal(s.zonal("us-east-1b", "prefer", "zoned"), SRV, ok, s.zonedSRV(pick(east1b, s.inZone("")))...)
	zonal(s.zonal("us-west-2z", "pin", "zoned"), A, ok)
	zonal(s.zonal("us-west-2z", "pin", "zoned"), SRV, ok)
	zonal(s.zonal("us-west-2z", "pin", "zoned"), TXT, ok)
	zonal(s.zonal("us-west-2z", "prefer", "zoned"), A, ok, s.inZone("")...)
	zonal(s.zonal("us-west-2z", "prefer", "zoned"), SRV, ok, s.zonedSRV(s.inZone(""))...)
	zonal(s.zonal("eu.west.1", "pin", "zoned"), A, ok, s.inZone("eu.west.1")...)
	zonal(s.zonal("eu.west", "pin", "zoned"), A, ok)
	zonal(s.zonal("US-EAST-1A", "pin", "zoned"), A, ok, east1a...)
	zonal(s.zonal("us-east-1a", "nearest", "zoned"), A, nx) // unknown directive
	zonal(s.zonal("us-east-1a", "pin", "plain"), A, nx)     // ClusterIP Service
	zonal(s.zonal("us-east-1a", "pin", "nope"), A, nx)      // no Service
	zonal(s.zonal("us-east-1a", "pin", "hl"), A, nx)        // an import is no Service
	zonal(s.local("us-east-1a", "pin", "zone", "zoned"), A, nx)
	zonal(s.local("pin", "_zone", "zoned"), A, nx) // read as _port._proto: port pin, protocol _zone
	// No zonal names in a multicluster zone.
	zonal(s.mc("us-east-1a", "pin", "_zone", "hl"), A, nx)
	return qs
}

// mcSilentPTR is what CoreDNS does with the address of an endpoint in an
// import's slice. Its EndpointSlice informer (the one of every
// EndpointSlice, multicluster or not) indexes such a slice under
// "<kubernetes.io/service-name label>.<namespace>", and the label is not
// there; a reverse lookup of the address then builds the PTR target
// "<endpoint>..<ns>.svc.cluster.local." (an empty label), which does not
// pack ("dns: bad rdata"): CoreDNS 1.14.2 logs NOERROR but sends nothing,
// over UDP and TCP alike, with or without `multicluster` (and so does a
// CoreDNS built from 4b26cced3). clusterdns answers NXDOMAIN: the slice
// backs no Service, and import endpoints have no PTR.
const mcSilentPTR = "CoreDNS builds the PTR target <endpoint>..<ns>.svc.cluster.local. from the import slice's missing kubernetes.io/service-name label; the answer does not pack and is never sent"

// mcPair is a clusterdns and the server it is compared with.
type mcPair struct {
	label     string
	ours, ref *dnsServer
	zonal     bool // ours has zonal
	refZonal  bool // so has ref
}

// mcWaitSynced waits until every server answers the state's objects.
func mcWaitSynced(t *testing.T, servers []*dnsServer, s mcState) {
	t.Helper()
	for _, srv := range servers {
		waitAnswer(t, srv, s.mc("hl"), dns.RcodeSuccess, s.hlV4(), 30*time.Second)
		waitAnswer(t, srv, s.mc("vip"), dns.RcodeSuccess, []string{mcVIP4}, 30*time.Second)
		waitAnswer(t, srv, s.local("zoned"), dns.RcodeSuccess, s.inZone(""), 30*time.Second)
		waitAnswer(t, srv, s.local("vip"), dns.RcodeSuccess, []string{s.localVIP}, 30*time.Second)
		if strings.HasPrefix(srv.name, "zonal-") {
			waitAnswer(t, srv, s.zonal("us-east-1a", "pin", "zoned"), dns.RcodeSuccess, s.inZone("us-east-1a"), 30*time.Second)
		}
	}
}

// mcAskTable asks every pair every question of the table and reports each
// difference.
func mcAskTable(t *testing.T, step string, pairs []mcPair, s mcState) {
	t.Helper()
	qs := mcQuestions(s)
	compared, silent, excused := 0, 0, map[string]int{}
	for _, p := range pairs {
		for _, q := range qs {
			ours, err := exchange(p.ours.addr, q.name, q.qtype, qopt{})
			if err != nil {
				t.Errorf("%s, %s pair, %s: %s: %v", step, p.label, q, p.ours.name, err)
				continue
			}
			if q.want != nil && (!q.zonal || p.zonal) {
				if got := rdata(ours, q.qtype); ours.Rcode != q.want.rcode || !slices.Equal(got, q.want.data) {
					t.Errorf("%s, %s pair, %s: %s answers %s %q, want %s %q \n  %s",
						step, p.label, q, p.ours.name, dns.RcodeToString[ours.Rcode], got, dns.RcodeToString[q.want.rcode], q.want.data, mcShow(ours))
				}
			}
			if p.zonal && q.zonal && !p.refZonal {
				continue // no CoreDNS to compare with
			}
			var ref *dns.Msg
			if q.silent != "" {
				a := askOnce(p.ref, q.name, q.qtype, time.Second)
				if a.err != nil {
					t.Logf("%s, %s pair, %s: %s sends no answer (%v; see mcSilentPTR), %s answers %s", step, p.label, q,
						p.ref.name, a.err, p.ours.name, dns.RcodeToString[ours.Rcode])
					silent++
					continue
				}
				ref, err = a.m, nil
			} else {
				ref, err = exchange(p.ref.addr, q.name, q.qtype, qopt{})
			}
			if err != nil {
				t.Errorf("%s, %s pair, %s: %s: %v", step, p.label, q, p.ref.name, err)
				continue
			}
			compared++
			d := mcCompare(ours, ref)
			if len(d) == 0 {
				continue
			}
			why := ""
			for row, f := range mcExcused {
				if f(q, ours, ref) {
					why = row
				}
			}
			if why != "" {
				excused[why]++
				t.Logf("%s, %s pair, %s: excused (README: %s):\n  %s: %s\n  %s: %s", step, p.label, q, why,
					p.ours.name, mcShow(ours), p.ref.name, mcShow(ref))
				continue
			}
			t.Errorf("%s, %s pair, %s differs:\n    %s\n  %s: %s\n  %s: %s", step, p.label, q, strings.Join(d, "\n    "),
				p.ours.name, mcShow(ours), p.ref.name, mcShow(ref))
		}
	}
	t.Logf("%s: %d questions; %d comparisons with CoreDNS, %d excused %v; CoreDNS silent (mcSilentPTR) %d times", step, len(qs), compared, sumValues(excused), excused, silent)
}

// mcCompare lists how two answers differ: rcode, AA and TC; the answer,
// authority and additional sections (OPT left out) as sorted multisets,
// SOA serials blanked.
func mcCompare(ours, ref *dns.Msg) []string {
	d := compareMsgs(ours, ref)
	oa, ra := mcAdditional(ours), mcAdditional(ref)
	if !slices.Equal(oa, ra) {
		d = append(d, fmt.Sprintf("additional: clusterdns %q, coredns %q", oa, ra))
	}
	return d
}

func mcAdditional(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr.String())
		}
	}
	sort.Strings(out)
	return out
}

// mcShow is show with the additional section.
func mcShow(m *dns.Msg) string {
	var b strings.Builder
	b.WriteString(show(m))
	for _, x := range mcAdditional(m) {
		b.WriteString("\n    AD " + x)
	}
	return b.String()
}

// corednsZonalVersion is the first CoreDNS release with the kubernetes
// plugin's zonal option (built by tools/build.sh).
const corednsZonalVersion = "v1.14.7"

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
