//go:build e2e

package e2e

// The scenarios run in the order of this file; TestAPIServerOutage, which
// stops the API server, comes last.

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Scenario 1: a StatefulSet behind a dual-stack headless Service with named
// ports, scaled 3 -> 5 -> 2.
func TestStatefulSetScaling(t *testing.T) {
	e := need(t)
	ns := e.namespace(t, "e2e-sts")
	e.createService(t, ns, "web", []corev1.ServicePort{svcPort("http", 80, "http"), svcPort("peer", 7000, "peer")}, headless, dualStack)
	e.createStatefulSet(t, ns, "web", "web", 3, podTemplate(map[string]string{"app": "web"}, "http=8080", "peer=7000"))
	web := svcName("web", ns)
	var prev []pod
	check := func(n int) {
		t.Helper()
		var names []string
		for i := 0; i < n; i++ {
			names = append(names, fmt.Sprintf("web-%d", i))
		}
		pods := e.waitPods(t, ns, "app=web", n, names...)
		e.expect(t, web, dns.TypeA, v4s(pods)...)
		e.expect(t, web, dns.TypeAAAA, v6s(pods)...)
		e.expect(t, "_http._tcp."+web, dns.TypeSRV, srvTargets(8080, "web", ns, names...)...)
		e.expect(t, "_peer._tcp."+web, dns.TypeSRV, srvTargets(7000, "web", ns, names...)...)
		e.expect(t, web, dns.TypeSRV, append(srvTargets(8080, "web", ns, names...), srvTargets(7000, "web", ns, names...)...)...)
		for _, p := range pods {
			host := fqdn(p.name, "web", ns, "svc")
			e.expect(t, host, dns.TypeA, p.v4)
			e.expect(t, host, dns.TypeAAAA, p.v6)
			e.expect(t, reverse(p.v4), dns.TypePTR, host)
			e.expect(t, reverse(p.v6), dns.TypePTR, host)
		}
		for _, p := range prev {
			if slices.ContainsFunc(pods, func(q pod) bool { return q.uid == p.uid }) {
				continue
			}
			if !slices.ContainsFunc(pods, func(q pod) bool { return q.name == p.name }) {
				e.expectNX(t, fqdn(p.name, "web", ns, "svc"), dns.TypeA)
			}
			e.expectNX(t, reverse(p.v4), dns.TypePTR)
			e.expectNX(t, reverse(p.v6), dns.TypePTR)
		}
		prev = pods
		t.Logf("%d replicas: A, AAAA, SRV, per-pod names and PTR follow", n)
	}
	check(3)
	e.scaleStatefulSet(t, ns, "web", 5)
	check(5)
	e.scaleStatefulSet(t, ns, "web", 2)
	check(2)
}

// Scenario 2: a pod that turns unready disappears; with
// publishNotReadyAddresses it stays.
func TestUnreadyPod(t *testing.T) {
	e := need(t)
	ctx := ctxFor(t)
	ns := e.namespace(t, "e2e-unready")
	e.createService(t, ns, "web", []corev1.ServicePort{svcPort("http", 80, "http")}, headless)
	e.createStatefulSet(t, ns, "web", "web", 3, podTemplate(map[string]string{"app": "web"}, "http=8080"))
	pods := e.waitPods(t, ns, "app=web", 3, "web-0", "web-1", "web-2")
	web := svcName("web", ns)
	all := func() {
		t.Helper()
		e.expect(t, web, dns.TypeA, v4s(pods)...)
		e.expect(t, "_http._tcp."+web, dns.TypeSRV, srvTargets(8080, "web", ns, "web-0", "web-1", "web-2")...)
		e.expect(t, fqdn("web-1", "web", ns, "svc"), dns.TypeA, pods[1].v4)
		e.expect(t, reverse(pods[1].v4), dns.TypePTR, fqdn("web-1", "web", ns, "svc"))
	}
	all()

	if err := e.kubelet.SetReady(ctx, ns, "web-1", false); err != nil {
		t.Fatal(err)
	}
	e.expect(t, web, dns.TypeA, pods[0].v4, pods[2].v4)
	e.expect(t, "_http._tcp."+web, dns.TypeSRV, srvTargets(8080, "web", ns, "web-0", "web-2")...)
	e.expect(t, web, dns.TypeSRV, srvTargets(8080, "web", ns, "web-0", "web-2")...)
	e.expectNX(t, fqdn("web-1", "web", ns, "svc"), dns.TypeA)
	e.expectNX(t, reverse(pods[1].v4), dns.TypePTR)
	t.Log("unready web-1 is gone from A, SRV, its own name and PTR")

	if err := e.kubelet.SetReady(ctx, ns, "web-1", true); err != nil {
		t.Fatal(err)
	}
	all()
	t.Log("ready again: back everywhere")

	// publishNotReadyAddresses: the controller writes ready=true for unready
	// pods, so they stay published.
	e.createService(t, ns, "pub", []corev1.ServicePort{svcPort("http", 80, "http")}, headless, publishNotReady)
	e.createStatefulSet(t, ns, "pub", "pub", 2, podTemplate(map[string]string{"app": "pub"}, "http=8080"))
	pub := e.waitPods(t, ns, "app=pub", 2, "pub-0", "pub-1")
	pubName := svcName("pub", ns)
	pubAll := func() {
		t.Helper()
		var names []string
		for _, p := range pub {
			names = append(names, p.name)
		}
		e.expect(t, pubName, dns.TypeA, v4s(pub)...)
		e.expect(t, "_http._tcp."+pubName, dns.TypeSRV, srvTargets(8080, "pub", ns, names...)...)
		e.expect(t, fqdn("pub-1", "pub", ns, "svc"), dns.TypeA, pub[1].v4)
		e.expect(t, reverse(pub[1].v4), dns.TypePTR, fqdn("pub-1", "pub", ns, "svc"))
	}
	pubAll()
	mark := time.Now()
	if err := e.kubelet.SetReady(ctx, ns, "pub-1", false); err != nil {
		t.Fatal(err)
	}
	// Wait until the controller wrote the change (serving=false, ready=true)
	// and clusterdns took that slice in, so that "still there" means
	// something.
	eventually(t, expectTimeout, "EndpointSlice of pub shows pub-1 not serving but ready", func() (bool, string) {
		l, err := e.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=pub"})
		if err != nil {
			return false, err.Error()
		}
		for _, s := range l.Items {
			for _, ep := range s.Endpoints {
				if ep.TargetRef != nil && ep.TargetRef.Name == "pub-1" {
					c := ep.Conditions
					state := fmt.Sprintf("ready=%v serving=%v", deref(c.Ready), deref(c.Serving))
					return deref(c.Ready) && c.Serving != nil && !*c.Serving, state
				}
			}
		}
		return false, "pub-1 not in any slice"
	})
	// A slice update that serving=false alone causes may change nothing in
	// DNS (clusterdns logs no programming line for it). To know clusterdns
	// has seen a slice with pub-1 unready, add pub-2 and wait for it: its
	// slice holds pub-1's new state too.
	e.scaleStatefulSet(t, ns, "pub", 3)
	pub = e.waitPods(t, ns, "app=pub", 3, "pub-0", "pub-1", "pub-2")
	e.expect(t, fqdn("pub-2", "pub", ns, "svc"), dns.TypeA, pub[2].v4)
	if ls := e.clusterdns.logs.since(mark, programmingLine(ns+"/pub")); len(ls) > 0 {
		t.Logf("clusterdns logged %d programming lines for %s/pub since pub-1 turned unready, e.g. %s", len(ls), ns, ls[0].raw)
	}
	pubAll()
	t.Log("with publishNotReadyAddresses the unready pub-1 stays in A, SRV, its own name and PTR")
}

func deref(b *bool) bool { return b != nil && *b }

// bindRecreated waits for the pod (a StatefulSet's, left to the test by
// manualLabel) to exist with another UID than prevUID, not terminating,
// and binds it to the node, as the scheduler would. It has no IP yet.
func (e *environment) bindRecreated(t *testing.T, ns, name string, prevUID types.UID) *corev1.Pod {
	t.Helper()
	ctx := ctxFor(t)
	var p *corev1.Pod
	eventually(t, 60*time.Second, "pod "+name+" (re)created", func() (bool, string) {
		x, err := e.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		p = x
		return x.UID != prevUID && x.DeletionTimestamp == nil, fmt.Sprintf("uid %s", x.UID)
	})
	if err := controlplane.BindPod(ctx, e.cs, p); err != nil {
		t.Fatalf("binding %s: %v", name, err)
	}
	return p
}

// Scenario 3: a pod recreated with a new IP is answered with the new IP;
// how long that takes after the status write is the programming latency.
func TestRecreatedPodNewIP(t *testing.T) {
	e := need(t)
	ctx := ctxFor(t)
	ns := e.namespace(t, "e2e-latency")
	// Named targetPort: the SRV records carry the container port.
	e.createService(t, ns, "db", []corev1.ServicePort{svcPort("pg", 5432, "pg")}, headless)
	// The test plays the kubelet for these pods itself, to know when the
	// status is written.
	e.createStatefulSet(t, ns, "db", "db", 1, podTemplate(map[string]string{"app": "db", manualLabel: "manual"}, "pg=15432"))
	host := fqdn("db-0", "db", ns, "svc")
	db := svcName("db", ns)

	const rounds = 5
	var ours, theirs []time.Duration
	var prevUID types.UID
	var prevIP string
	for round := 1; round <= rounds; round++ {
		// The (re)created pod, bound to the node but without IP yet.
		p := e.bindRecreated(t, ns, "db-0", prevUID)
		if prevIP != "" {
			e.expectNX(t, host, dns.TypeA)
			e.expectNX(t, db, dns.TypeA)
		}
		ips := e.kubelet.AllocIPs()
		coreDone := make(chan time.Duration, 1)
		start := time.Now()
		go func() { coreDone <- waitForAddr(e.coredns.addr, host, ips[0], start) }()
		accepted, err := e.kubelet.SetStatus(ctx, ns, "db-0", ips, true)
		if err != nil {
			t.Fatalf("status of db-0: %v", err)
		}
		lat := waitForAddr(e.clusterdns.addr, host, ips[0], start)
		coreLat := <-coreDone
		if lat < 0 {
			t.Fatalf("round %d: clusterdns never answered %s A %s", round, host, ips[0])
		}
		ours = append(ours, lat)
		theirs = append(theirs, coreLat)
		line := fmt.Sprintf("programming latency (status patch -> answer): %v (the API server accepted the patch after %v; CoreDNS answered after %v) [round %d, %s -> %s]",
			lat.Round(time.Millisecond), accepted.Sub(start).Round(time.Millisecond), coreLat.Round(time.Millisecond), round, prevIP, ips[0])
		fmt.Println(line)
		t.Log(line)
		if l, ok := e.clusterdns.logs.wait(start, 10*time.Second, programmingLine(ns+"/db")); ok {
			fmt.Printf("clusterdns logged: %s\n", l.raw)
			t.Logf("clusterdns logged: %s", l.raw)
			if k := l.str("kind"); k != "headless_with_selector" {
				t.Errorf("programming latency line has kind %q, want headless_with_selector", k)
			}
			for _, a := range []string{"trigger_to_served", "event_to_swap"} {
				if l.str(a) == "" {
					t.Errorf("programming latency line lacks %s: %s", a, l.raw)
				}
			}
		} else {
			t.Errorf("clusterdns logged no %q line for %s/db after the status patch", "dns programming latency", ns)
		}

		e.expect(t, host, dns.TypeA, ips[0])
		e.expect(t, db, dns.TypeA, ips[0])
		e.expect(t, "_pg._tcp."+db, dns.TypeSRV, srvTargets(15432, "db", ns, "db-0")...)
		e.expect(t, reverse(ips[0]), dns.TypePTR, host)
		if prevIP != "" {
			e.expectNX(t, reverse(prevIP), dns.TypePTR)
		}
		prevUID, prevIP = p.UID, ips[0]
		if round < rounds {
			e.forceDelete(t, ns, "db-0")
		}
	}
	sorted := slices.Clone(ours)
	slices.Sort(sorted)
	csorted := slices.Clone(theirs)
	slices.Sort(csorted)
	summary := fmt.Sprintf("programming latency (status patch -> answer) over %d pod recreations: median %v, max %v (CoreDNS: median %v, max %v)",
		rounds, sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond),
		csorted[len(csorted)/2].Round(time.Millisecond), csorted[len(csorted)-1].Round(time.Millisecond))
	fmt.Println(summary)
	t.Log(summary)
}

// waitForAddr polls name A at addr every millisecond until ip is in the
// answer, and returns the time since start; -1 after 30 seconds.
func waitForAddr(addr, name, ip string, start time.Time) time.Duration {
	for time.Since(start) < 30*time.Second {
		if m, err := exchange(addr, name, dns.TypeA, qopt{}); err == nil && slices.Contains(rdata(m, dns.TypeA), ip) {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	return -1
}

// Scenario 4: a Service switched ClusterIP -> headless -> ClusterIP (deleted
// and recreated each time: clusterIP is immutable).
func TestServiceTypeSwitch(t *testing.T) {
	e := need(t)
	ns := e.namespace(t, "e2e-switch")
	e.createDeployment(t, ns, "api", 2, podTemplate(map[string]string{"app": "api"}, "http=8080"))
	pods := e.waitPods(t, ns, "app=api", 2)
	api := svcName("api", ns)
	ports := []corev1.ServicePort{svcPort("http", 80, "http")}

	clusterIP := func() *corev1.Service {
		t.Helper()
		s := e.createService(t, ns, "api", ports, dualStack)
		v4, v6 := splitFamilies(s.Spec.ClusterIPs)
		e.expect(t, api, dns.TypeA, v4...)
		e.expect(t, api, dns.TypeAAAA, v6...)
		e.expect(t, "_http._tcp."+api, dns.TypeSRV, "80 "+api)
		for _, ip := range s.Spec.ClusterIPs {
			e.expect(t, reverse(ip), dns.TypePTR, api)
		}
		// Endpoint names and PTRs of the pods exist for ClusterIP services
		// too (CoreDNS does it; compared, not asserted).
		for _, p := range pods {
			e.diff(t, fqdn(dashed(p.v4), "api", ns, "svc"))
			e.diff(t, reverse(p.v4))
		}
		t.Logf("ClusterIP %v: A/AAAA, SRV (service port), PTR", s.Spec.ClusterIPs)
		return s
	}
	first := clusterIP()

	e.deleteService(t, ns, "api")
	e.expectNX(t, api, dns.TypeA)
	for _, ip := range first.Spec.ClusterIPs {
		e.expectNX(t, reverse(ip), dns.TypePTR)
	}
	e.createService(t, ns, "api", ports, headless, dualStack)
	e.expect(t, api, dns.TypeA, v4s(pods)...)
	e.expect(t, api, dns.TypeAAAA, v6s(pods)...)
	var targets []string
	for _, p := range pods {
		targets = append(targets, srvTargets(8080, "api", ns, dashed(p.v4), dashed(p.v6))...)
		e.expect(t, fqdn(dashed(p.v4), "api", ns, "svc"), dns.TypeA, p.v4)
		e.expect(t, reverse(p.v4), dns.TypePTR, fqdn(dashed(p.v4), "api", ns, "svc"))
	}
	e.expect(t, "_http._tcp."+api, dns.TypeSRV, targets...)
	t.Log("headless: pod addresses, dashed endpoint names, SRV with the endpoint port")

	e.deleteService(t, ns, "api")
	e.expectNX(t, api, dns.TypeA)
	second := clusterIP()
	if slices.Equal(first.Spec.ClusterIPs, second.Spec.ClusterIPs) {
		t.Logf("the recreated service got the same cluster IPs %v", second.Spec.ClusterIPs)
	}
}

func splitFamilies(ips []string) (v4, v6 []string) {
	for _, ip := range ips {
		if strings.Contains(ip, ":") {
			v6 = append(v6, ip)
		} else {
			v4 = append(v4, ip)
		}
	}
	return v4, v6
}

// Scenario 5: a selectorless headless Service with hand-made EndpointSlices.
func TestSelectorlessHeadless(t *testing.T) {
	e := need(t)
	ns := e.namespace(t, "e2e-legacy")
	e.createService(t, ns, "legacy", []corev1.ServicePort{svcPort("db", 5432, "5432")}, headless, noSelector, dualStack)
	ports := []discoveryv1.EndpointPort{slicePort("db", 15432)}
	e.applySlice(t, ns, "legacy-v4", "legacy", discoveryv1.AddressTypeIPv4, ports,
		endpoint{ip: "192.168.5.10", hostname: "primary"},
		endpoint{ip: "192.168.5.11"},
		endpoint{ip: "192.168.5.12", notReady: true})
	e.applySlice(t, ns, "legacy-v6", "legacy", discoveryv1.AddressTypeIPv6, ports,
		endpoint{ip: "fd00:5::11"})
	legacy := svcName("legacy", ns)
	name := func(ep string) string { return fqdn(ep, "legacy", ns, "svc") }

	e.expect(t, legacy, dns.TypeA, "192.168.5.10", "192.168.5.11")
	e.expect(t, legacy, dns.TypeAAAA, "fd00:5::11")
	e.expect(t, name("primary"), dns.TypeA, "192.168.5.10")
	e.expect(t, name("192-168-5-11"), dns.TypeA, "192.168.5.11")
	e.expectNX(t, name("192-168-5-12"), dns.TypeA)
	e.expectNX(t, name("192-168-5-10"), dns.TypeA) // it has a hostname
	e.expect(t, name("fd00-5--11"), dns.TypeAAAA, "fd00:5::11")
	e.expect(t, "_db._tcp."+legacy, dns.TypeSRV, srvTargets(15432, "legacy", ns, "primary", "192-168-5-11", "fd00-5--11")...)
	e.expect(t, reverse("192.168.5.10"), dns.TypePTR, name("primary"))
	e.expect(t, reverse("192.168.5.11"), dns.TypePTR, name("192-168-5-11"))
	e.expectNX(t, reverse("192.168.5.12"), dns.TypePTR)
	e.expect(t, reverse("fd00:5::11"), dns.TypePTR, name("fd00-5--11"))
	t.Log("hand-made slices: A/AAAA, hostname and dashed-IP names, SRV with the slice port, PTR; the not-ready endpoint nowhere")

	// Edit the slices: primary goes, .12 becomes ready, the IPv6 slice goes.
	e.applySlice(t, ns, "legacy-v4", "legacy", discoveryv1.AddressTypeIPv4, ports,
		endpoint{ip: "192.168.5.11"},
		endpoint{ip: "192.168.5.12"})
	if err := e.cs.DiscoveryV1().EndpointSlices(ns).Delete(ctxFor(t), "legacy-v6", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.expect(t, legacy, dns.TypeA, "192.168.5.11", "192.168.5.12")
	e.expect(t, legacy, dns.TypeAAAA) // NODATA: the name has A records
	e.expectNX(t, name("primary"), dns.TypeA)
	e.expect(t, name("192-168-5-12"), dns.TypeA, "192.168.5.12")
	e.expectNX(t, name("fd00-5--11"), dns.TypeAAAA)
	e.expect(t, "_db._tcp."+legacy, dns.TypeSRV, srvTargets(15432, "legacy", ns, "192-168-5-11", "192-168-5-12")...)
	e.expectNX(t, reverse("192.168.5.10"), dns.TypePTR)
	e.expectNX(t, reverse("fd00:5::11"), dns.TypePTR)
	e.expect(t, reverse("192.168.5.12"), dns.TypePTR, name("192-168-5-12"))
	t.Log("slice edits follow")
}

// Scenario 8: /health and /ready. A clusterdns whose API server is not
// reachable yet is alive but not ready and answers SERVFAIL where it would
// say NXDOMAIN; once it can sync it is ready and answers.
func TestReadiness(t *testing.T) {
	e := need(t)
	for _, path := range []string{"/health", "/ready"} {
		if code := httpStatus(e.clusterdns.health + path); code != 200 {
			t.Errorf("synced clusterdns: GET %s = %d, want 200", path, code)
		}
	}

	g := newGate(t, fmt.Sprintf("127.0.0.1:%d", e.apiPort))
	kc := e.path("gated.kubeconfig")
	if err := controlplane.WriteKubeconfig(kc, "https://"+g.addr(), e.caFile, controlplane.AdminToken); err != nil {
		t.Fatal(err)
	}
	s, err := e.startClusterdns("clusterdns-gated", "127.0.0.1", kc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.proc.Stop)
	if err := s.proc.WaitHTTP(s.health+"/health", nil, 200, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	missing := svcName("no-such-service", "default")
	eventually(t, 10*time.Second, "clusterdns without API server answers", func() (bool, string) {
		_, err := exchange(s.addr, missing, dns.TypeA, qopt{})
		return err == nil, fmt.Sprint(err)
	})
	// Not synced: stays unready, and a name it cannot know is missing is
	// SERVFAIL, for a while.
	for i := 0; i < 10; i++ {
		if code := httpStatus(s.health + "/ready"); code != http.StatusServiceUnavailable {
			t.Fatalf("unsynced clusterdns: GET /ready = %d, want 503", code)
		}
		m, err := exchange(s.addr, missing, dns.TypeA, qopt{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Rcode != dns.RcodeServerFailure {
			t.Fatalf("unsynced clusterdns: %s A = %s, want SERVFAIL", missing, show(m))
		}
		if code := httpStatus(s.health + "/health"); code != 200 {
			t.Fatalf("unsynced clusterdns: GET /health = %d, want 200", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Log("API server unreachable: /health 200, /ready 503, SERVFAIL for a missing name")

	opened := time.Now()
	g.open()
	if err := s.waitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("ready %v after the API server became reachable", time.Since(opened).Round(time.Millisecond))
	m, err := exchange(s.addr, missing, dns.TypeA, qopt{})
	if err != nil || m.Rcode != dns.RcodeNameError {
		t.Fatalf("synced clusterdns: %s A = %s %v, want NXDOMAIN", missing, show(m), err)
	}
	kube := svcName("kubernetes", "default")
	m, err = exchange(s.addr, kube, dns.TypeA, qopt{})
	if err != nil || !slices.Contains(rdata(m, dns.TypeA), "10.96.0.1") {
		t.Fatalf("synced clusterdns: %s A = %s %v, want 10.96.0.1", kube, show(m), err)
	}
}

func httpStatus(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Scenario 9: the differential check on a fixture with every kind of name;
// every scenario also compares each name it touches.
func TestDifferential(t *testing.T) {
	e := need(t)
	ns := e.namespace(t, "e2e-diff")
	ctx := ctxFor(t)

	e.createDeployment(t, ns, "front", 2, podTemplate(map[string]string{"app": "front"}, "http=8080"))
	e.createService(t, ns, "front", []corev1.ServicePort{
		svcPort("http", 80, "http"),
		{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intOrString("5353")},
	}, dualStack)
	e.createService(t, ns, "front-unnamed", []corev1.ServicePort{{Port: 8080, Protocol: corev1.ProtocolTCP}}, selector("app", "front"))
	e.createService(t, ns, "front-hl", []corev1.ServicePort{svcPort("http", 80, "http")}, headless, dualStack, selector("app", "front"))
	e.createService(t, ns, "peers", []corev1.ServicePort{svcPort("http", 80, "http")}, headless, selector("tier", "peers"))
	e.createStatefulSet(t, ns, "peers", "peers", 2, podTemplate(map[string]string{"app": "peers", "tier": "peers"}, "http=8080"))
	e.createService(t, ns, "hl-noports", nil, headless, selector("app", "peers"))
	e.createPod(t, ns, "loose", map[string]string{"tier": "peers"}, "", "", "http=8080")
	e.createPod(t, ns, "solo", map[string]string{"app": "api2"}, "solo", "api2", "http=8080")
	e.createService(t, ns, "api2", []corev1.ServicePort{svcPort("http", 80, "http")})
	e.createService(t, ns, "empty", []corev1.ServicePort{svcPort("http", 80, "http")}, headless, selector("app", "nothing"))
	e.createService(t, ns, "empty-cip", []corev1.ServicePort{svcPort("http", 80, "http")}, selector("app", "nothing"))
	e.createExternalName(t, ns, "ext", svcName("front", ns))
	e.createExternalName(t, ns, "ext-out", "example.com")
	e.createService(t, ns, "big", []corev1.ServicePort{svcPort("http", 80, "80")}, headless, noSelector)
	var bigEps []endpoint
	var bigIPs []string
	for i := 1; i <= 60; i++ {
		ip := fmt.Sprintf("172.20.0.%d", i)
		bigIPs = append(bigIPs, ip)
		bigEps = append(bigEps, endpoint{ip: ip})
	}
	e.applySlice(t, ns, "big-1", "big", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{slicePort("http", 80)}, bigEps...)

	front := e.waitPods(t, ns, "app=front", 2)
	peers := e.waitPods(t, ns, "app=peers", 2, "peers-0", "peers-1")
	loose := e.waitPods(t, ns, "tier=peers,!app", 1, "loose")[0]
	solo := e.waitPods(t, ns, "app=api2", 1, "solo")[0]
	frontSvc, err := e.cs.CoreV1().Services(ns).Get(ctx, "front", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture is in place once clusterdns answers its last parts.
	e.expect(t, svcName("front-hl", ns), dns.TypeA, v4s(front)...)
	e.expect(t, svcName("peers", ns), dns.TypeA, append(v4s(peers), loose.v4)...)
	e.expect(t, svcName("hl-noports", ns), dns.TypeA, v4s(peers)...)
	e.expect(t, fqdn("solo", "api2", ns, "svc"), dns.TypeA, solo.v4)
	e.expect(t, svcName("big", ns), dns.TypeA, bigIPs...)

	s := func(n string) string { return svcName(n, ns) }
	names := []string{
		s("front"), s("front-unnamed"), s("front-hl"), s("peers"), s("hl-noports"), s("api2"),
		s("empty"), s("empty-cip"), s("ext"), s("ext-out"), s("no-such-service"),
		"_http._tcp." + s("front"), "_dns._udp." + s("front"), "_http._udp." + s("front"), "_nope._tcp." + s("front"),
		"_http._tcp." + s("front-hl"), "_http._tcp." + s("peers"), "_http._tcp." + s("front-unnamed"),
		"_http._tcp." + s("hl-noports"), "_http._tcp." + s("empty"), "_http._tcp." + s("ext"),
		fqdn("peers-0", "peers", ns, "svc"), fqdn("peers-1", "peers", ns, "svc"), fqdn("nope", "peers", ns, "svc"),
		fqdn(dashed(loose.v4), "peers", ns, "svc"), fqdn("peers-0", "hl-noports", ns, "svc"),
		fqdn(dashed(front[0].v4), "front-hl", ns, "svc"), fqdn(dashed(front[0].v6), "front-hl", ns, "svc"),
		fqdn(dashed(front[0].v4), "front", ns, "svc"), fqdn("solo", "api2", ns, "svc"),
		fqdn("a", "b", "peers", ns, "svc"), "_http._tcp." + fqdn("peers-0", "peers", ns, "svc"),
		fqdn("x", "ext", ns, "svc"),
		fqdn(ns, "svc"), fqdn("no-such-ns", "svc"), fqdn(ns, "pod"), fqdn("svc"), fqdn("pod"),
		zoneName + ".", fqdn("foo"), fqdn("dns-version"), fqdn("ns", "dns"), fqdn("foo", "bar", ns, "svc"),
		fqdn(dashed(front[0].v4), ns, "pod"), fqdn("10-0-0-1", ns, "pod"), fqdn(dashed(front[0].v6), ns, "pod"),
		fqdn("1-2-3", ns, "pod"), fqdn("10-0-0-1", "no-such-ns", "pod"),
		reverse(front[0].v4), reverse(front[0].v6), reverse(peers[0].v4), reverse(solo.v4), reverse(loose.v4),
		reverse("10.244.250.250"), reverse("172.20.0.7"), "96.10.in-addr.arpa.", "in-addr.arpa.", "ip6.arpa.",
		// Case is echoed.
		"Front." + ns + ".svc.Cluster.Local.", "PEERS-0.Peers." + ns + ".SVC.cluster.local.", "_HTTP._Tcp.Front." + ns + ".svc.cluster.local.",
		strings.ToUpper(reverse(front[0].v6)),
		// Outside the zones.
		"example.com.", "kubernetes.io.", "local.",
	}
	for _, ip := range frontSvc.Spec.ClusterIPs {
		names = append(names, reverse(ip))
	}
	qtypes := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeTXT, dns.TypeCNAME,
		dns.TypeMX, dns.TypeSOA, dns.TypeNS, dns.TypeHINFO}
	for _, n := range names {
		for _, q := range qtypes {
			e.compare(t, n, q, qopt{}, 500*time.Millisecond)
		}
	}

	// Truncation: 60 A records do not fit 512 bytes.
	big := svcName("big", ns)
	m, err := exchange(e.clusterdns.addr, big, dns.TypeA, qopt{noEDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || len(m.Answer) != 0 {
		t.Errorf("clusterdns %s A over UDP without EDNS: want TC and no records, got %s", big, show(m))
	}
	e.compare(t, big, dns.TypeA, qopt{noEDNS: true}, 500*time.Millisecond)
	m, err = exchange(e.clusterdns.addr, big, dns.TypeA, qopt{tcp: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := rdata(m, dns.TypeA); len(got) != 60 || m.Truncated {
		t.Errorf("clusterdns %s A over TCP: want 60 records, got %d (tc=%v)", big, len(got), m.Truncated)
	}
	for _, q := range []uint16{dns.TypeA, dns.TypeSRV} {
		e.compare(t, big, q, qopt{tcp: true}, 500*time.Millisecond)
		e.compare(t, s("peers"), q, qopt{tcp: true}, 500*time.Millisecond)
	}
	diffStats.Lock()
	t.Logf("so far in this run: %d comparisons, %d identical, %d excused by deliberateDifferences or harnessDifferences, %d unexplained",
		diffStats.compared, diffStats.identical, sumValues(diffStats.excused), len(diffStats.failures))
	diffStats.Unlock()
}

// Scenario 6: the API server goes away; the last state keeps being served,
// and what changes after it is back shows up.
func TestAPIServerOutage(t *testing.T) {
	e := need(t)
	ns := e.namespace(t, "e2e-outage")
	steadySvc := e.createService(t, ns, "steady", []corev1.ServicePort{svcPort("http", 80, "http")})
	e.createService(t, ns, "hold", []corev1.ServicePort{svcPort("http", 80, "http")}, headless)
	e.createStatefulSet(t, ns, "hold", "hold", 1, podTemplate(map[string]string{"app": "hold"}, "http=8080"))
	pods := e.waitPods(t, ns, "app=hold", 1, "hold-0")
	steady, hold := svcName("steady", ns), svcName("hold", ns)
	v4, _ := splitFamilies(steadySvc.Spec.ClusterIPs)
	e.expect(t, steady, dns.TypeA, v4...)
	e.expect(t, hold, dns.TypeA, pods[0].v4)
	e.expect(t, fqdn("hold-0", "hold", ns, "svc"), dns.TypeA, pods[0].v4)
	e.expectNX(t, fqdn("hold-1", "hold", ns, "svc"), dns.TypeA)
	e.expectNX(t, svcName("after", ns), dns.TypeA)

	type probe struct {
		name  string
		qtype uint16
		rcode int
		want  []string
	}
	probes := []probe{
		{steady, dns.TypeA, dns.RcodeSuccess, v4},
		{hold, dns.TypeA, dns.RcodeSuccess, []string{pods[0].v4}},
		{fqdn("hold-0", "hold", ns, "svc"), dns.TypeA, dns.RcodeSuccess, []string{pods[0].v4}},
		{reverse(pods[0].v4), dns.TypePTR, dns.RcodeSuccess, []string{fqdn("hold-0", "hold", ns, "svc")}},
		{svcName("after", ns), dns.TypeA, dns.RcodeNameError, nil},
		{fqdn("hold-1", "hold", ns, "svc"), dns.TypeA, dns.RcodeNameError, nil},
	}

	stopped := time.Now()
	// Stopped hard: a graceful kube-apiserver shutdown can take 15 s and more.
	e.apiserver.StopWithin(3 * time.Second)
	t.Cleanup(func() {
		// Leave a working API server for whatever runs next.
		if !e.apiserver.Running() {
			if err := e.restartAPIServer(); err != nil {
				t.Errorf("restarting kube-apiserver: %v", err)
			}
		}
	})
	t.Logf("kube-apiserver stopped (took %v)", time.Since(stopped).Round(time.Millisecond))
	for round := 0; round < 30; round++ {
		for _, p := range probes {
			m, err := exchange(e.clusterdns.addr, p.name, p.qtype, qopt{})
			if err != nil {
				t.Fatalf("API server down: clusterdns %s: %v", p.name, err)
			}
			if m.Rcode != p.rcode || !slices.Equal(rdata(m, p.qtype), sorted(p.want)) {
				t.Fatalf("API server down, %v in: clusterdns %s %s = %s, want %s %q",
					time.Since(stopped).Round(time.Millisecond), p.name, dns.TypeToString[p.qtype], show(m), dns.RcodeToString[p.rcode], p.want)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range probes {
		e.diff(t, p.name, p.qtype)
	}
	t.Logf("API server down for %v: clusterdns kept answering the last state (no SERVFAIL); /ready = %d",
		time.Since(stopped).Round(time.Millisecond), httpStatus(e.clusterdns.health+"/ready"))

	if err := e.restartAPIServer(); err != nil {
		t.Fatalf("restarting kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver back after %v", time.Since(stopped).Round(time.Millisecond))
	if !e.kcm.Running() {
		t.Logf("kube-controller-manager exited while the API server was down (%v); starting it again", e.kcm.ExitErr())
		if err := e.kcm.Start(); err != nil {
			t.Fatal(err)
		}
	}
	changed := time.Now()
	after := e.createService(t, ns, "after", []corev1.ServicePort{svcPort("http", 80, "http")})
	e.scaleStatefulSet(t, ns, "hold", 2)
	// The informers reconnect with back-off: allow longer than usual.
	av4, _ := splitFamilies(after.Spec.ClusterIPs)
	e.expectWithin(t, 90*time.Second, svcName("after", ns), dns.TypeA, dns.RcodeSuccess, av4)
	t.Logf("new service answered by clusterdns %v after it was created", time.Since(changed).Round(time.Millisecond))
	e.diffWithin(t, 90*time.Second, svcName("after", ns), dns.TypeA)
	t.Logf("and by CoreDNS %v after it was created", time.Since(changed).Round(time.Millisecond))
	pods = e.waitPods(t, ns, "app=hold", 2, "hold-0", "hold-1")
	t.Logf("the StatefulSet controller made hold-1 running %v after the scale", time.Since(changed).Round(time.Millisecond))
	e.expectWithin(t, 90*time.Second, fqdn("hold-1", "hold", ns, "svc"), dns.TypeA, dns.RcodeSuccess, []string{pods[1].v4})
	e.expect(t, hold, dns.TypeA, v4s(pods)...)
	t.Logf("changes made after the restart answered %v later", time.Since(changed).Round(time.Millisecond))
	// A namespace created after the restart: the Namespace informer is back
	// too (each informer reconnects on its own back-off, up to 30 s), and
	// the tests that run next start from a source that follows every kind.
	fresh := e.namespace(t, "e2e-outage-fresh")
	fs := e.createService(t, fresh, "fresh", []corev1.ServicePort{svcPort("http", 80, "http")})
	fv4, _ := splitFamilies(fs.Spec.ClusterIPs)
	e.expectWithin(t, 90*time.Second, svcName("fresh", fresh), dns.TypeA, dns.RcodeSuccess, fv4)
	t.Logf("a service in a namespace created after the restart answered %v after the restart's changes", time.Since(changed).Round(time.Millisecond))
	if code := httpStatus(e.clusterdns.health + "/ready"); code != 200 {
		t.Errorf("after the API server came back: GET /ready = %d, want 200", code)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}

// expectWithin is expectAnswer with its own timeout.
func (e *environment) expectWithin(t *testing.T, timeout time.Duration, name string, qtype uint16, rcode int, want []string) {
	t.Helper()
	want = sorted(want)
	ok, last := poll(timeout, 50*time.Millisecond, func() (bool, string) {
		m, err := exchange(e.clusterdns.addr, name, qtype, qopt{})
		if err != nil {
			return false, err.Error()
		}
		return m.Rcode == rcode && slices.Equal(rdata(m, qtype), want), show(m)
	})
	if !ok {
		t.Fatalf("clusterdns %s %s: want %s %q within %v; last answer: %s\n%s", name, dns.TypeToString[qtype], dns.RcodeToString[rcode], want, timeout, last, e.whatClusterdnsKnows(name))
	}
	e.diffWithin(t, timeout, name)
}
