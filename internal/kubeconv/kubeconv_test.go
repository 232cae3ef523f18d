package kubeconv

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
)

func ptr[T any](v T) *T { return &v }

func TestPathString(t *testing.T) {
	p := Path{"spec", "ports", 0}
	if got := p.At("targetPort").String(); got != "spec.ports[0].targetPort" {
		t.Errorf("got %q", got)
	}
	if p.String() != "spec.ports[0]" {
		t.Errorf("At changed the path: %q", p)
	}
}

// Each problem names the field it is at.
func TestServiceProblemsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.ServiceSpec
		want string
	}{
		{"unknown type", corev1.ServiceSpec{Type: "Internal"}, `spec.type: unsupported value "Internal"`},
		{"invalid cluster IP", corev1.ServiceSpec{ClusterIP: "10.0.0.300"}, `spec.clusterIP: "10.0.0.300" is not a valid IP address`},
		{"IPv4-mapped cluster IP", corev1.ServiceSpec{ClusterIPs: []string{"::ffff:10.0.0.1"}}, `spec.clusterIPs[0]: "::ffff:10.0.0.1" is not a valid IP address`},
		{"two IPv4 cluster IPs", corev1.ServiceSpec{ClusterIPs: []string{"10.0.0.1", "10.0.0.2"}}, "spec.clusterIPs: must hold at most one IPv4 and one IPv6 address"},
		{"None among others", corev1.ServiceSpec{ClusterIPs: []string{"10.0.0.1", "None"}}, `spec.clusterIPs[1]: "None" must be the only cluster IP`},
		{"ExternalName without target", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName}, "spec.externalName: required for type ExternalName"},
		{"ExternalName target not a name", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "a..b"}, `spec.externalName: invalid name "a..b"`},
		{"family does not match IP", corev1.ServiceSpec{ClusterIP: "10.0.0.1", IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol}}, "spec.ipFamilies[0]: IPv6 does not match cluster IP 10.0.0.1"},
		{"unknown policy", corev1.ServiceSpec{IPFamilyPolicy: ptr(corev1.IPFamilyPolicy("Both"))}, `spec.ipFamilyPolicy: unsupported value "Both"`},
		{"port out of range", corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 70000}}}, "spec.ports[0].port: port 70000 out of range 1-65535"},
		{"duplicate port name", corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "a", Port: 1}, {Name: "a", Port: 2}}}, `spec.ports[1].name: duplicate port name "a"`},
		{"invalid targetPort name", corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 1, TargetPort: intstr.FromString("a_b")}}}, `spec.ports[0].targetPort: invalid port name "a_b"`},
		{"unknown protocol", corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 1, Protocol: "ICMP"}}}, `spec.ports[0].protocol: unsupported protocol "ICMP"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Service(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: tt.spec})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestServiceDefaults(t *testing.T) {
	svc, err := Service(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Namespace != "default" || svc.Type != cluster.ServiceTypeClusterIP || svc.Selector != nil {
		t.Errorf("service %+v", svc)
	}
	if want := (cluster.ServicePort{Name: "http", Port: 80, TargetPort: cluster.PortRef{Name: "web"}, Protocol: cluster.ProtocolTCP}); svc.Ports[0] != want {
		t.Errorf("port %+v, want %+v", svc.Ports[0], want)
	}
}

func TestPodStatusFieldsReadIndependently(t *testing.T) {
	tests := []struct {
		name      string
		status    corev1.PodStatus
		phase     cluster.PodPhase
		ready     bool
		ips       string
		wantError string
	}{
		{"empty status is Running and Ready", corev1.PodStatus{}, cluster.PodRunning, true, "", ""},
		{"Pending is not Ready", corev1.PodStatus{Phase: corev1.PodPending}, cluster.PodPending, false, "", ""},
		{"the Ready condition decides", corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}, cluster.PodRunning, false, "", ""},
		{"podIP and podIPs", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}, cluster.PodRunning, true, "10.0.0.1,fd00::1", ""},
		{"podIPs must repeat podIP", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.2"}}}, cluster.PodRunning, true, "10.0.0.1", "status.podIPs[0].ip: must equal status.podIP 10.0.0.1"},
		{"unknown phase", corev1.PodStatus{Phase: "Done"}, cluster.PodRunning, true, "", `status.phase: unsupported value "Done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Pod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tt.status})
			var ips []string
			for _, a := range p.IPs {
				ips = append(ips, a.String())
			}
			if p.Phase != tt.phase || p.Ready != tt.ready || strings.Join(ips, ",") != tt.ips {
				t.Errorf("phase %s ready %v IPs %v", p.Phase, p.Ready, ips)
			}
			if (err == nil) != (tt.wantError == "") || (err != nil && !strings.Contains(err.Error(), tt.wantError)) {
				t.Errorf("error %v, want %q", err, tt.wantError)
			}
		})
	}
}

func TestPodPortsAndNames(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	p, err := Pod(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "prod"},
		Spec: corev1.PodSpec{
			Hostname: "Bad_Name",
			InitContainers: []corev1.Container{
				{Name: "init", Ports: []corev1.ContainerPort{{Name: "skip", ContainerPort: 1}}},
				{Name: "sidecar", RestartPolicy: &always, Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}}},
			},
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolUDP}}}},
		},
	})
	var names []string
	for _, cp := range p.Ports {
		names = append(names, cp.Name+"/"+string(cp.Protocol))
	}
	if want := []string{"http/UDP", "metrics/TCP"}; !slices.Equal(names, want) {
		t.Errorf("ports %v, want %v (containers, then sidecars)", names, want)
	}
	if err == nil || !strings.Contains(err.Error(), `spec.hostname: invalid DNS label "Bad_Name"`) {
		t.Errorf("error %v", err)
	}
}

func TestEndpointSlice(t *testing.T) {
	if s, err := EndpointSlice(&discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeFQDN}); s != nil || err != nil {
		t.Errorf("FQDN slice: %+v, %v", s, err)
	}
	s, err := EndpointSlice(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "me"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1", "fd00::1"}, Hostname: ptr("web-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80))}},
	})
	if s == nil || s.ServiceName != "web" || s.ManagedBy != "me" || len(s.Endpoints) != 1 ||
		!s.Endpoints[0].Addresses.Equal(cluster.AddressesOf(netip.MustParseAddr("10.0.0.1"))) || s.Endpoints[0].Conditions.Ready != cluster.ConditionFalse ||
		s.Ports[0].Protocol != cluster.ProtocolTCP {
		t.Errorf("slice %+v", s)
	}
	if err == nil || err.Error() != "endpoints[0].addresses[1]: fd00::1 is not an IPv4 address (addressType)" {
		t.Errorf("error %v", err)
	}
}

func TestConvertChecksNamesThatBecomeDNSLabels(t *testing.T) {
	o, problems, ok := Convert(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "Web", Namespace: "Prod"}})
	if !ok || o.Service == nil || o.Ref != (cluster.ObjectRef{Kind: "Service", Namespace: "Prod", Name: "Web"}) {
		t.Fatalf("object %+v, %v", o, ok)
	}
	var paths []string
	for _, p := range problems {
		paths = append(paths, p.Path.String())
	}
	if want := []string{"metadata.name", "metadata.namespace"}; !slices.Equal(paths, want) {
		t.Errorf("problems at %v, want %v", paths, want)
	}
	if _, _, ok := Convert(&corev1.ConfigMap{}); ok {
		t.Error("a ConfigMap converted")
	}
}

func TestConvertWorkloads(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}}
	tests := []struct {
		name     string
		obj      runtime.Object
		kind     string
		check    func(w *controller.Workload) bool
		problems string
	}{
		{"StatefulSet", &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(2)), ServiceName: "db", Ordinals: &appsv1.StatefulSetOrdinals{Start: 5}, Template: tmpl}},
			"StatefulSet", func(w *controller.Workload) bool {
				return *w.Replicas == 2 && w.ServiceName == "db" && w.OrdinalStart == 5 && w.Template.Labels["app"] == "x" && w.Template.Ready
			}, ""},
		{"Indexed Job", &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default"}, Spec: batchv1.JobSpec{Parallelism: ptr(int32(3)), Completions: ptr(int32(2)), CompletionMode: ptr(batchv1.IndexedCompletion), Suspend: ptr(true), Template: tmpl}},
			"Job", func(w *controller.Workload) bool {
				return *w.Replicas == 3 && *w.Completions == 2 && w.Indexed && w.Suspended
			}, ""},
		{"Indexed Job without completions", &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default"}, Spec: batchv1.JobSpec{CompletionMode: ptr(batchv1.IndexedCompletion), Template: tmpl}},
			"Job", func(w *controller.Workload) bool { return w.Replicas == nil && w.Indexed }, "spec.completions: required when completionMode is Indexed"},
		{"negative replicas", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "default"}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(-1)), Template: tmpl}},
			"Deployment", func(w *controller.Workload) bool { return *w.Replicas == -1 }, "spec.replicas: must be greater than or equal to 0, got -1"},
		{"DaemonSet", &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "default"}, Spec: appsv1.DaemonSetSpec{Template: tmpl}},
			"DaemonSet", func(w *controller.Workload) bool { return w.Replicas == nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, problems, ok := Convert(tt.obj)
			if !ok || o.Workload == nil || o.Ref.Kind != tt.kind || !tt.check(o.Workload) {
				t.Errorf("object %+v (%v), workload %+v", o, ok, o.Workload)
			}
			if got := problems.Err(); (got == nil) != (tt.problems == "") || (got != nil && got.Error() != tt.problems) {
				t.Errorf("problems %v, want %q", got, tt.problems)
			}
		})
	}
}
