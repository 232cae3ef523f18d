//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/doctor"
	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/clusterdns/clusterdns/test/e2e/corefiles"
	"github.com/clusterdns/clusterdns/test/e2e/upstream"
	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// The cluster DNS pods' addresses: on lo for the test (the API server
// neither proxies to nor accepts endpoints on 127.0.0.0/8).
const (
	doctorPodA = "10.244.250.21" // CoreDNS 1.14.2, following the API server
	doctorPodB = "10.244.250.22" // clusterdns, following it through a proxy the test cuts
	doctorNS   = "doctor-app"
)

// Scenario (issue 15): a cluster DNS as kubeadm deploys it, its objects
// created through the real API server (the ConfigMap coredns with
// kubeadm's Corefile, a Deployment of two pods, the kube-dns Service whose
// EndpointSlice the controller manager writes), the test playing the
// kubelet for its pods: it binds them, gives them addresses on lo, and runs
// a real server at each (CoreDNS at one, clusterdns at the other, both
// watching the API server) with their metrics on :9153. An app namespace
// has a StatefulSet behind a headless Service.
//
// Healthy, `clusterdns doctor --namespace doctor-app -o json` finds
// nothing at error. Then one problem per group is seeded: the CoreDNS pod's
// last termination OOMKilled (the cluster DNS); the Corefile's cache over
// the cluster zone and a forward without max_concurrent (its
// configuration); a StatefulSet pod not Ready (headless names); the
// clusterdns replica cut from the API server while the StatefulSet grows
// (what the servers answer: one stale replica, named); a hostNetwork pod
// on ClusterFirst (clients); SERVFAILs from the clusterdns replica while
// the doctor samples its metrics (metrics); an EndpointSlice written 30 s
// after its change (the control plane; its LIST latency is not seeded: a
// real API server here answers LISTs in milliseconds, and the doctor must
// read its /metrics and say so). Each seeded problem is reported with its
// code and object.
func TestDoctorOnTheControlPlane(t *testing.T) {
	e := need(t)
	if _, err := exec.LookPath("ip"); err != nil || os.Geteuid() != 0 {
		if required() {
			t.Fatalf("the doctor test needs root and ip(8) (iproute2) to put the DNS pods' addresses on lo: %v", err)
		}
		t.Skip("needs root and ip(8)")
	}
	for _, a := range []string{doctorPodA, doctorPodB} {
		if out, err := exec.Command("ip", "addr", "add", a+"/32", "dev", "lo").CombinedOutput(); err != nil && !strings.Contains(string(out), "exists") {
			t.Fatalf("ip addr add %s: %v %s", a, err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "addr", "del", a+"/32", "dev", "lo").Run() })
	}
	up, err := upstream.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Stop()
	ctx := ctxFor(t)

	// The app.
	e.namespace(t, doctorNS)
	t.Cleanup(func() { e.cs.CoreV1().Namespaces().Delete(ctxFor(t), doctorNS, metav1.DeleteOptions{}) })
	e.createService(t, doctorNS, "web", []corev1.ServicePort{svcPort("http", 80, "http")}, headless, selector("app", "web"))
	e.createStatefulSet(t, doctorNS, "web", "web", 2, podTemplate(map[string]string{"app": "web"}, "http=80"))

	// The cluster DNS objects, as kubeadm writes them.
	sys := e.cs.CoreV1()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: doctor.SystemNamespace},
		Data: map[string]string{"Corefile": corefiles.Kubeadm{Upstream: "/etc/resolv.conf", Lameduck: 5 * time.Second}.String()}}
	if _, err := sys.ConfigMaps(doctor.SystemNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sel := map[string]string{"k8s-app": "kube-dns"}
	tmplLabels := map[string]string{"k8s-app": "kube-dns", controlplane.ManualLabel: "manual"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: doctor.SystemNamespace},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: tmplLabels}, Spec: corev1.PodSpec{
				DNSPolicy: corev1.DNSDefault,
				Containers: []corev1.Container{{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.14.2",
					Args: []string{"-conf", "/etc/coredns/Corefile"},
					Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
						{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP}},
					Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("170Mi")}},
					VolumeMounts:   []corev1.VolumeMount{{Name: "config-volume", MountPath: "/etc/coredns", ReadOnly: true}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181)}}},
				}},
				Volumes: []corev1.Volume{{Name: "config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"}, Items: []corev1.KeyToPath{{Key: "Corefile", Path: "Corefile"}}}}}},
			}}}}
	if _, err := e.cs.AppsV1().Deployments(doctor.SystemNamespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: doctor.DNSServiceName, Namespace: doctor.SystemNamespace},
		Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("dns-tcp")}}}}
	if _, err := sys.Services(doctor.SystemNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := ctxFor(t)
		e.cs.AppsV1().Deployments(doctor.SystemNamespace).Delete(c, "coredns", metav1.DeleteOptions{})
		sys.Services(doctor.SystemNamespace).Delete(c, doctor.DNSServiceName, metav1.DeleteOptions{})
		sys.ConfigMaps(doctor.SystemNamespace).Delete(c, "coredns", metav1.DeleteOptions{})
	})

	// Play the kubelet: bind the two pods the ReplicaSet made and give
	// them their addresses.
	var pods []string
	ok, last := poll(60*time.Second, 200*time.Millisecond, func() (bool, string) {
		l, err := sys.Pods(doctor.SystemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return false, err.Error()
		}
		pods = pods[:0]
		for _, p := range l.Items {
			pods = append(pods, p.Name)
		}
		return len(pods) == 2, fmt.Sprintf("%d pods", len(pods))
	})
	if !ok {
		t.Fatalf("the Deployment's pods: %s", last)
	}
	slices.Sort(pods)
	podA, podB := pods[0], pods[1]
	setDNSPod := func(name, ip string, edit func(*corev1.ContainerStatus)) {
		t.Helper()
		p, err := sys.Pods(doctor.SystemNamespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.Spec.NodeName == "" {
			err = controlplane.BindPod(ctx, e.cs, p)
		}
		if err != nil {
			t.Fatalf("binding pod %s: %v", name, err)
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			p, err := sys.Pods(doctor.SystemNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			now := metav1.Now()
			p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
			p.Status.HostIP, p.Status.StartTime = "127.0.0.1", &now
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
			cs := corev1.ContainerStatus{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.14.2", Ready: true, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}
			if len(p.Status.ContainerStatuses) == 1 {
				cs = p.Status.ContainerStatuses[0]
			}
			if edit != nil {
				edit(&cs)
			}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
			_, err = sys.Pods(doctor.SystemNamespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
	}
	setDNSPod(podA, doctorPodA, nil)
	setDNSPod(podB, doctorPodB, nil)

	// The servers at the pods' addresses: CoreDNS on the ConfigMap's
	// Corefile with the pod's addresses and the test's API server and
	// upstream; clusterdns through a proxy to the API server, forwarding to
	// an upstream that fails the names under sf.example.
	coreCfg := corefiles.Kubeadm{Bind: doctorPodA, Host: doctorPodA, Health: 8080, Ready: 8181, Metrics: 9153,
		Kubeconfig: e.adminKubeconfig, Upstream: up.Addr, Lameduck: 5 * time.Second}
	corePath := e.path("doctor-coredns.Corefile")
	if err := os.WriteFile(corePath, []byte(coreCfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	core := &dnsServer{name: "doctor-coredns", addr: doctorPodA + ":53", logs: &logBook{}}
	core.proc = &proc{Name: core.name, Bin: e.bins.CoreDNS, Args: []string{"-conf", corePath}, LogPath: e.path("doctor-coredns.log"), OnLine: core.logs.add}
	if err := core.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.proc.Stop)
	proxy := startTCPProxy(t, strings.TrimPrefix(e.apiURL, "https://"))
	kc, err := os.ReadFile(e.adminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	proxyKC := e.path("doctor-proxy.kubeconfig")
	if err := os.WriteFile(proxyKC, bytes.ReplaceAll(kc, []byte(e.apiURL), []byte("https://"+proxy.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	ours := &dnsServer{name: "doctor-clusterdns", addr: doctorPodB + ":53", logs: &logBook{}}
	ours.proc = &proc{Name: ours.name, Bin: e.clusterdnsBin, LogPath: e.path("doctor-clusterdns.log"), OnLine: ours.logs.add, Args: []string{"serve",
		"--kubeconfig", proxyKC, "--listen", ours.addr, "--health-addr", doctorPodB + ":8080", "--ready-addr", doctorPodB + ":8181",
		"--metrics-addr", doctorPodB + ":9153", "--upstream", servfailUpstream(t), "--pod-records", "insecure", "--ttl", "30", "--log-format", "json"}}
	if err := ours.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ours.proc.Stop)
	for _, s := range []*dnsServer{core, ours} {
		if err := s.waitAnswering(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	webName := func(pod string) string { return pod + ".web." + doctorNS + ".svc." + zoneName + "." }
	for _, s := range []*dnsServer{core, ours} {
		waitRcode(t, s, webName("web-1"), dns.RcodeSuccess)
	}
	waitReadyEndpoints(t, e, 2)

	// Healthy: nothing at error.
	r, code := runDoctorJSON(t, e, "3s")
	t.Logf("healthy:\n%s", reportLines(r))
	if code != 0 || r.Failed() {
		t.Errorf("exit %d on a healthy cluster:\n%s", code, reportLines(r))
	}
	for _, c := range r.Checks {
		if c.Status == doctor.StatusCrashed || (c.Status == doctor.StatusNotRun && c.ID != "dns.nodelocal") {
			t.Errorf("%s %s: %s", c.ID, c.Status, c.Why)
		}
	}

	// Seed one problem per group.
	setDNSPod(podA, doctorPodA, func(cs *corev1.ContainerStatus) {
		cs.RestartCount = 4
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.Now()}
	})
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		m, err := sys.ConfigMaps(doctor.SystemNamespace).Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := m.Data["Corefile"]
		c = replaceOnce(t, c, "cache 30 {\n       disable success cluster.local\n       disable denial cluster.local\n    }", "cache 30")
		c = replaceOnce(t, c, "forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }", "forward . /etc/resolv.conf")
		m.Data["Corefile"] = c
		_, err = sys.ConfigMaps(doctor.SystemNamespace).Update(ctx, m, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	proxy.cut()
	e.scaleStatefulSet(t, doctorNS, "web", 3)
	waitRcode(t, core, webName("web-2"), dns.RcodeSuccess)
	if err := e.kubelet.SetReady(ctx, doctorNS, "web-1", false); err != nil {
		t.Fatal(err)
	}
	waitRcode(t, core, webName("web-1"), dns.RcodeNameError)
	agent := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: doctorNS, Labels: map[string]string{controlplane.ManualLabel: "manual"}},
		Spec: corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{Name: "agent", Image: "registry.invalid/agent:1"}}}}
	if _, err := sys.Pods(doctorNS).Create(ctx, agent, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A change the EndpointSlice controller published 30 s late: a slice
	// of a selectorless Service written as the controller writes them,
	// with the change's time 30 s before the write.
	e.createService(t, doctorNS, "lagged", []corev1.ServicePort{svcPort("http", 80, "80")}, headless, noSelector)
	lagged := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "lagged-1", Namespace: doctorNS,
		Labels:      map[string]string{discoveryv1.LabelServiceName: "lagged", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
		Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: time.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339Nano)}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.251.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80)), Protocol: ptr(corev1.ProtocolTCP)}}}
	if _, err := e.cs.DiscoveryV1().EndpointSlices(doctorNS).Create(ctx, lagged, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// SERVFAILs from the clusterdns replica while the doctor samples.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			go exchange(ours.addr, fmt.Sprintf("n%d.sf.example.", i), dns.TypeA, qopt{})
		}
	}()
	r, code = runDoctorJSON(t, e, "4s")
	close(stop)
	wg.Wait()
	t.Logf("seeded:\n%s", reportLines(r))
	if code != 1 {
		t.Errorf("exit %d with problems at error, want 1", code)
	}
	for _, want := range []struct{ check, code, object string }{
		{"dns.restarts", "dns-oomkilled", "Pod/kube-system/" + podA},
		{"controlplane.endpointslice-lag", "endpointslice-lag", "EndpointSlice/" + doctorNS + "/lagged-1"},
		{"config.staleness", "stale-answers", "ConfigMap kube-system/coredns"},
		{"config.max-concurrent", "forward-unbounded", "ConfigMap kube-system/coredns"},
		{"headless.names", "pod-not-ready", ""},
		{"answers.dns-servers", "dns-replica-stale", "Pod/kube-system/" + podB},
		{"clients.dns-policy", "hostnetwork-clusterfirst", "Pod/" + doctorNS + "/agent"},
		{"metrics.dns-pods", "dns-servfail-rate", "Pod/kube-system/" + podB},
	} {
		if !hasFinding(r, want.check, want.code, want.object) {
			t.Errorf("%s does not report %s on %q", want.check, want.code, want.object)
		}
	}
	// From a laptop the pod IPs are not routed: through the API server's
	// port-forward (a kubelet's, played here), the same replica is named.
	if startPortForwardKubelet(t, e) {
		fr, _ := runDoctorJSON(t, e, "1s", "--dns-via", "port-forward")
		c := findCheck(fr, "answers.dns-servers")
		t.Logf("through port-forwards: %s %s%s", c.Status, c.Summary, c.Why)
		if !strings.Contains(c.Summary, "2 through a port-forward") {
			t.Errorf("the DNS pods were not asked through port-forwards: %s", c.Summary)
		}
		if !hasFinding(fr, "answers.dns-servers", "dns-replica-stale", "Pod/kube-system/"+podB) || hasFinding(fr, "answers.dns-servers", "dns-replica-stale", "Pod/kube-system/"+podA) {
			t.Errorf("through port-forwards, the stale replica is not named alone:\n%s", reportLines(fr))
		}
	} else if required() {
		t.Error("the kubelet's port 10250 is taken: the port-forward path was not checked")
	}
	// The stale replica alone is named: the CoreDNS replica answers as the
	// state says.
	if hasFinding(r, "answers.dns-servers", "dns-replica-stale", "Pod/kube-system/"+podA) {
		t.Errorf("the replica that follows the API server is reported stale")
	}
	if c := findCheck(r, "controlplane.list-latency"); c == nil || c.Status == doctor.StatusNotRun || c.Status == doctor.StatusCrashed {
		t.Errorf("the API server's metrics were not read: %+v", c)
	}
}

// servfailUpstream is an upstream on loopback that answers SERVFAIL for
// the names under sf.example. and NXDOMAIN for the others; its address.
func servfailUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		if len(q.Question) == 1 && dns.IsSubDomain("sf.example.", q.Question[0].Name) {
			m.Rcode = dns.RcodeServerFailure
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// runDoctorJSON runs `clusterdns doctor -o json` on the test cluster's
// app namespace and returns its report and exit code.
func runDoctorJSON(t *testing.T, e *environment, window string, extra ...string) (*doctor.Report, int) {
	t.Helper()
	cmd := exec.Command(e.clusterdnsBin, append([]string{"doctor", "--kubeconfig", e.adminKubeconfig, "--namespace", doctorNS, "-o", "json", "-q", "--metrics-window", window}, extra...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r doctor.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor's JSON: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	return &r, code
}

func findCheck(r *doctor.Report, id string) *doctor.Check {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

func hasFinding(r *doctor.Report, check, code, object string) bool {
	c := findCheck(r, check)
	if c == nil {
		return false
	}
	return slices.ContainsFunc(c.Findings, func(f doctor.Finding) bool {
		return f.Code == code && (object == "" || slices.ContainsFunc(f.Objects, func(o string) bool { return strings.HasPrefix(o, object) }))
	})
}

func reportLines(r *doctor.Report) string {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %-8s %-26s %s%s\n", c.Status, c.ID, c.Summary, c.Why)
		for _, f := range c.Findings {
			fmt.Fprintf(&b, "           %s %s %v\n", f.Severity, f.Code, f.Objects)
		}
	}
	return b.String()
}

// waitRcode waits until s answers name's A with rcode (and, for
// NOERROR, a record).
func waitRcode(t *testing.T, s *dnsServer, name string, rcode int) {
	t.Helper()
	ok, last := poll(30*time.Second, 50*time.Millisecond, func() (bool, string) {
		m, err := exchange(s.addr, name, dns.TypeA, qopt{})
		if err != nil {
			return false, err.Error()
		}
		return m.Rcode == rcode && (rcode != dns.RcodeSuccess || len(m.Answer) > 0), show(m)
	})
	if !ok {
		t.Fatalf("%s %s A: want %s; last: %s", s.name, name, dns.RcodeToString[rcode], last)
	}
}

// waitReadyEndpoints waits until the kube-dns Service's EndpointSlices
// hold n ready endpoints (the controller manager writes them).
func waitReadyEndpoints(t *testing.T, e *environment, n int) {
	t.Helper()
	ok, last := poll(60*time.Second, 200*time.Millisecond, func() (bool, string) {
		l, err := e.cs.DiscoveryV1().EndpointSlices(doctor.SystemNamespace).List(ctxFor(t), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + doctor.DNSServiceName})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, es := range l.Items {
			for _, ep := range es.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == n, fmt.Sprintf("%d ready endpoints", ready)
	})
	if !ok {
		t.Fatalf("kube-dns endpoints: %s", last)
	}
}

// tcpProxy passes connections to a target until cut, which closes every
// connection and refuses new ones: a server behind it loses the API
// server as a network partition would.
type tcpProxy struct {
	addr string
	ln   net.Listener
	mu   sync.Mutex
	cons []net.Conn
	dead bool
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			p.mu.Lock()
			if err != nil || p.dead {
				p.mu.Unlock()
				c.Close()
				if u != nil {
					u.Close()
				}
				continue
			}
			p.cons = append(p.cons, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { p.cut(); ln.Close() })
	return p
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = true
	for _, c := range p.cons {
		c.Close()
	}
	p.cons = nil
}

// startPortForwardKubelet serves what a kubelet serves for `kubectl
// port-forward` (and the API server's pods/portforward proxies to it): on
// the node's address and the kubelet's port, HTTPS, the SPDY port-forward
// protocol (portforward.k8s.io: a pair of streams, error and data, per
// request ID and port), the data stream joined to the pod's IP and port.
// It returns false when the kubelet's port is taken.
func startPortForwardKubelet(t *testing.T, e *environment) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:10250")
	if err != nil {
		return false
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 3 || parts[0] != "portForward" {
			http.NotFound(w, r)
			return
		}
		pod, err := e.cs.CoreV1().Pods(parts[1]).Get(r.Context(), parts[2], metav1.GetOptions{})
		if err != nil || pod.Status.PodIP == "" {
			http.Error(w, fmt.Sprintf("pod %s/%s: no IP (%v)", parts[1], parts[2], err), http.StatusNotFound)
			return
		}
		if _, err := httpstream.Handshake(r, w, []string{"portforward.k8s.io"}); err != nil {
			return
		}
		streams := make(chan httpstream.Stream, 8)
		conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
			streams <- s
			return nil
		})
		if conn == nil {
			return
		}
		defer conn.Close()
		pending := map[string][2]httpstream.Stream{} // request ID: error, data
		for {
			select {
			case <-conn.CloseChan():
				return
			case s := <-streams:
				id := s.Headers().Get(corev1.PortForwardRequestIDHeader)
				p := pending[id]
				if s.Headers().Get(corev1.StreamType) == corev1.StreamTypeError {
					p[0] = s
				} else {
					p[1] = s
				}
				pending[id] = p
				if p[0] == nil || p[1] == nil {
					continue
				}
				delete(pending, id)
				go func() {
					errStream, data := p[0], p[1]
					defer errStream.Close()
					defer data.Close()
					target := net.JoinHostPort(pod.Status.PodIP, data.Headers().Get(corev1.PortHeader))
					c, err := net.Dial("tcp", target)
					if err != nil {
						fmt.Fprintf(errStream, "dialing %s: %v", target, err)
						return
					}
					defer c.Close()
					go io.Copy(c, data)
					io.Copy(data, c)
				}()
			}
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return true
}
