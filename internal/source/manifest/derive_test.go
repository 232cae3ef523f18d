package manifest

import (
	"cmp"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// svc renders a Service; extra is spliced into spec.
func svc(name, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
spec:
  selector:
    app: %s
%s`, name, name, extra)
}

// pod renders a Pod labelled app=<app>; extra is spliced at the top level
// (spec, status, more metadata go in it).
func pod(name, app, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: %s
%s`, name, app, extra)
}

const httpPorts = `  ports:
  - name: http
    port: 80
`

func TestEndpointSliceHostnameRequiresMatchingSubdomain(t *testing.T) {
	tests := []struct {
		name     string
		service  string // spliced into spec
		podSpec  string
		wantHost string
	}{
		{"hostname and matching subdomain", "  clusterIP: None\n" + httpPorts,
			"spec:\n  hostname: h\n  subdomain: web\n  containers: [{name: c}]", "h"},
		{"ClusterIP service too", httpPorts,
			"spec:\n  hostname: h\n  subdomain: web\n  containers: [{name: c}]", "h"},
		{"subdomain names another service", "  clusterIP: None\n" + httpPorts,
			"spec:\n  hostname: h\n  subdomain: other\n  containers: [{name: c}]", ""},
		{"no subdomain", "  clusterIP: None\n" + httpPorts,
			"spec:\n  hostname: h\n  containers: [{name: c}]", ""},
		{"subdomain without hostname", "  clusterIP: None\n" + httpPorts,
			"spec:\n  subdomain: web\n  containers: [{name: c}]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := load(t, docs(svc("web", tt.service), pod("p", "web", tt.podSpec)))
			ep, _ := endpointOf(t, st, "default", "web", "p")
			if ep.Hostname != tt.wantHost {
				t.Errorf("hostname = %q, want %q", ep.Hostname, tt.wantHost)
			}
		})
	}
}

func TestReadyIsPublishNotReadyOrServingAndNotTerminating(t *testing.T) {
	tests := []struct {
		podReady, terminating, publishNotReady bool
		wantReady                              bool
	}{
		{true, false, false, true},
		{false, false, false, false},
		{true, true, false, false},
		{false, true, false, false},
		{false, false, true, true},
		{true, true, true, true},
		{false, true, true, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("ready=%v,terminating=%v,publishNotReady=%v", tt.podReady, tt.terminating, tt.publishNotReady)
		t.Run(name, func(t *testing.T) {
			meta := ""
			if tt.terminating {
				meta = "  deletionTimestamp: \"2024-01-02T03:04:05Z\"\n"
			}
			status := "True"
			if !tt.podReady {
				status = "False"
			}
			st := load(t, docs(
				svc("web", httpPorts+fmt.Sprintf("  publishNotReadyAddresses: %v\n", tt.publishNotReady)),
				pod("p", "web", meta+"spec:\n  containers: [{name: c}]\nstatus:\n  conditions: [{type: Ready, status: \""+status+"\"}]"),
			))
			ep, _ := endpointOf(t, st, "default", "web", "p")
			c := ep.Conditions
			if boolp(c.Ready) != fmt.Sprint(tt.wantReady) || boolp(c.Serving) != fmt.Sprint(tt.podReady) || boolp(c.Terminating) != fmt.Sprint(tt.terminating) {
				t.Errorf("conditions ready=%s serving=%s terminating=%s, want %v %v %v",
					boolp(c.Ready), boolp(c.Serving), boolp(c.Terminating), tt.wantReady, tt.podReady, tt.terminating)
			}
		})
	}
}

func TestTargetPortResolution(t *testing.T) {
	containers := `spec:
  containers:
  - name: app
    ports:
    - {name: http, containerPort: 8080}
    - {name: dns, containerPort: 5353, protocol: UDP}
  initContainers:
  - name: sidecar
    restartPolicy: Always
    ports:
    - {name: metrics, containerPort: 9090}
  - name: init
    ports:
    - {name: setup, containerPort: 7070}
`
	tests := []struct {
		name      string
		port      string
		wantPorts string
	}{
		{"unset targetPort is the service port", "{name: p, port: 80}", "p:80/TCP"},
		{"number targetPort is itself", "{name: p, port: 80, targetPort: 8443}", "p:8443/TCP"},
		{"name resolves to the container port", "{name: p, port: 80, targetPort: http}", "p:8080/TCP"},
		{"name and protocol must both match", "{name: p, port: 53, targetPort: dns, protocol: UDP}", "p:5353/UDP"},
		{"name with another protocol does not resolve", "{name: p, port: 53, targetPort: dns}", ""},
		{"sidecar container ports resolve", "{name: p, port: 80, targetPort: metrics}", "p:9090/TCP"},
		{"plain init container ports do not", "{name: p, port: 80, targetPort: setup}", ""},
		{"unnamed service port", "{port: 80, targetPort: http}", ":8080/TCP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := load(t, docs(svc("web", "  ports:\n  - "+tt.port+"\n"), pod("p", "web", containers)))
			_, slice := endpointOf(t, st, "default", "web", "p")
			if got := ports(slice); got != tt.wantPorts {
				t.Errorf("slice ports = %q, want %q", got, tt.wantPorts)
			}
		})
	}
}

func TestNamedTargetPortResolvedAgainstContainerPorts(t *testing.T) {
	st := load(t, docs(
		svc("db", "  clusterIP: None\n  ports:\n  - {name: pg, port: 5432, targetPort: pg}\n"),
		pod("db-0", "db", "spec:\n  containers:\n  - name: c\n    ports: [{name: pg, containerPort: 15432}]"),
	))
	s := onlySlice(t, st, "default", "db")
	if got := ports(s); got != "pg:15432/TCP" {
		t.Errorf("ports = %q, want pg:15432/TCP", got)
	}
	// The Service keeps its targetPort as written.
	if got := findService(t, st, "default", "db").Ports[0].TargetPort; got != (cluster.PortRef{Name: "pg"}) {
		t.Errorf("service targetPort = %+v, want name pg", got)
	}
}

func TestUnresolvableNamedTargetPortLeavesPortOut(t *testing.T) {
	st := load(t, docs(
		svc("web", "  ports:\n  - {name: http, port: 80, targetPort: http}\n  - {name: admin, port: 81}\n"),
		pod("a", "web", "spec:\n  containers:\n  - name: c\n    ports: [{name: http, containerPort: 8080}]"),
		pod("b", "web", "spec:\n  containers: [{name: c}]"),
	))
	_, sa := endpointOf(t, st, "default", "web", "a")
	_, sb := endpointOf(t, st, "default", "web", "b")
	if got := ports(sa); got != "http:8080/TCP,admin:81/TCP" {
		t.Errorf("ports for pod a = %q", got)
	}
	if got := ports(sb); got != "admin:81/TCP" {
		t.Errorf("ports for pod b = %q, want the http port left out", got)
	}
	if sa.Name == sb.Name {
		t.Errorf("pods with different ports share slice %s; want one slice per port list", sa.Name)
	}
}

func TestHeadlessServiceWithoutPortsGetsSliceWithoutPorts(t *testing.T) {
	st := load(t, docs(
		svc("web", "  clusterIP: None\n"),
		pod("p", "web", "spec:\n  hostname: p\n  subdomain: web\n  containers: [{name: c}]"),
	))
	s := onlySlice(t, st, "default", "web")
	if len(s.Ports) != 0 || len(s.Endpoints) != 1 || s.Endpoints[0].Hostname != "p" {
		t.Errorf("slice = %+v, want one endpoint with hostname p and no ports", s)
	}
}

func TestExternalNameServiceGetsNoEndpointSlices(t *testing.T) {
	st := load(t, docs(
		svc("ext", "  type: ExternalName\n  externalName: example.com\n"),
		pod("p", "ext", "spec:\n  containers: [{name: c}]"),
	))
	if s := slicesOf(st, "default", "ext"); len(s) != 0 {
		t.Errorf("ExternalName service has slices %+v", s)
	}
	if s := findService(t, st, "default", "ext"); len(s.ClusterIPs) != 0 || s.ExternalName != "example.com" {
		t.Errorf("service = %+v", s)
	}
}

func TestSelectorlessServiceGetsNoDerivedSlices(t *testing.T) {
	for _, spec := range []string{"  ports: [{port: 80}]\n", "  selector: {}\n  ports: [{port: 80}]\n"} {
		st := load(t, docs("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"+spec, pod("p", "web", "")))
		if s := findService(t, st, "default", "web"); s.Selector != nil {
			t.Errorf("%q: selector = %v, want nil", spec, s.Selector)
		}
		if s := slicesOf(st, "default", "web"); len(s) != 0 {
			t.Errorf("%q: slices %+v, want none", spec, s)
		}
	}
}

func TestSelectorMatchesPodsOfSameNamespaceOnly(t *testing.T) {
	st := load(t, docs(
		svc("web", httpPorts),
		pod("in", "web", ""),
		pod("other-labels", "api", ""),
		pod("elsewhere", "web", "  namespace: other"),
	))
	s := onlySlice(t, st, "default", "web")
	if len(s.Endpoints) != 1 || s.Endpoints[0].TargetRef.Name != "in" {
		t.Errorf("endpoints = %+v, want only pod in", s.Endpoints)
	}
}

func TestTerminalAndAddresslessPodsLeftOutTerminatingKept(t *testing.T) {
	st := load(t, docs(
		svc("web", httpPorts),
		pod("done", "web", "status: {phase: Succeeded, podIP: 10.244.9.1}"),
		pod("failed", "web", "status: {phase: Failed, podIP: 10.244.9.2}"),
		pod("pending", "web", "status: {phase: Pending}"),
		pod("pending-ip", "web", "status: {phase: Pending, podIP: 10.244.9.3}"),
		pod("leaving", "web", "  deletionTimestamp: \"2024-01-02T03:04:05Z\""),
		pod("running", "web", ""),
	))
	var got []string
	for _, s := range slicesOf(st, "default", "web") {
		for _, e := range s.Endpoints {
			got = append(got, e.TargetRef.Name)
		}
	}
	if want := []string{"leaving", "pending-ip", "running"}; !slices.Equal(got, want) {
		t.Errorf("endpoints for %v, want %v (sorted by pod name)", got, want)
	}
}

func TestPlaceholderSliceWhenNoEndpoints(t *testing.T) {
	st := load(t, svc("web", httpPorts))
	s := onlySlice(t, st, "default", "web")
	if len(s.Endpoints) != 0 || len(s.Ports) != 0 || s.AddressType != cluster.AddressTypeIPv4 {
		t.Errorf("placeholder = %+v, want an empty IPv4 slice", s)
	}
}

func TestDerivedSliceLabelsAndNames(t *testing.T) {
	st := load(t, docs(svc("web", httpPorts), pod("p", "web", "")))
	s := onlySlice(t, st, "default", "web")
	if s.ManagedBy != "endpointslice-controller.k8s.io" || s.ServiceName != "web" {
		t.Errorf("labels: managed-by %q, service-name %q", s.ManagedBy, s.ServiceName)
	}
	if !regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(s.Name) {
		t.Errorf("name %q, want web-<5 characters>", s.Name)
	}
	if s.Origin.File != "m.yaml" || s.Origin.Line != 1 || s.Origin.Derived != "EndpointSlice controller for Service default/web" {
		t.Errorf("origin = %+v", s.Origin)
	}
	ep := s.Endpoints[0]
	if ep.TargetRef == nil || *ep.TargetRef != (cluster.ObjectRef{Kind: "Pod", Namespace: "default", Name: "p"}) {
		t.Errorf("targetRef = %+v", ep.TargetRef)
	}
}

func TestSlicesSplitAtOneHundredEndpoints(t *testing.T) {
	manifest := svc("web", httpPorts) + `
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 250
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c}]}
`
	st := load(t, manifest)
	var sizes []int
	for _, s := range slicesOf(st, "default", "web") {
		sizes = append(sizes, len(s.Endpoints))
	}
	slices.Sort(sizes)
	if want := []int{50, 100, 100}; !slices.Equal(sizes, want) {
		t.Errorf("slice sizes %v, want %v", sizes, want)
	}
}

func TestOneSlicePerAddressFamily(t *testing.T) {
	opts := Options{
		PodCIDRs:     []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/56")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:10:96::/112")},
	}
	tests := []struct {
		policy       string
		wantFamilies []cluster.AddressType
	}{
		{"", []cluster.AddressType{"IPv4"}},
		{"SingleStack", []cluster.AddressType{"IPv4"}},
		{"PreferDualStack", []cluster.AddressType{"IPv4", "IPv6"}},
		{"RequireDualStack", []cluster.AddressType{"IPv4", "IPv6"}},
	}
	for _, tt := range tests {
		for _, headless := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s headless=%v", tt.policy, headless), func(t *testing.T) {
				spec := httpPorts
				if tt.policy != "" {
					spec += "  ipFamilyPolicy: " + tt.policy + "\n"
				}
				if headless {
					spec += "  clusterIP: None\n"
				}
				st := loadWith(t, opts, docs(svc("web", spec), pod("p", "web", "")))
				var fams []cluster.AddressType
				for _, s := range slicesOf(st, "default", "web") {
					fams = append(fams, s.AddressType)
					if len(s.Endpoints) != 1 || s.Endpoints[0].Addresses.Len() != 1 ||
						cluster.FamilyOf(s.Endpoints[0].Addresses.At(0)) != s.AddressType {
						t.Errorf("slice %s: endpoints %+v", s.AddressType, s.Endpoints)
					}
				}
				slices.Sort(fams)
				if !slices.Equal(fams, tt.wantFamilies) {
					t.Errorf("slice families %v, want %v", fams, tt.wantFamilies)
				}
				if s := findService(t, st, "default", "web"); !headless && len(s.ClusterIPs) != len(tt.wantFamilies) {
					t.Errorf("cluster IPs %v, want one per family %v", s.ClusterIPs, tt.wantFamilies)
				}
			})
		}
	}
}

func TestExplicitEndpointSlicesUsedAsWritten(t *testing.T) {
	st := load(t, docs(
		svc("web", httpPorts),
		pod("p", "web", ""),
		`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  labels:
    kubernetes.io/service-name: web
  annotations:
    endpoints.kubernetes.io/last-change-trigger-time: "2024-01-02T03:04:05Z"
addressType: IPv4
ports:
- {name: http, port: 8080}
- {name: all}
endpoints:
- addresses: [192.0.2.1]
  hostname: one
  nodeName: n1
  zone: z1
  targetRef: {kind: Pod, namespace: default, name: x}
- addresses: [192.0.2.2]
  conditions: {ready: false, terminating: true}`,
	))
	s := onlySlice(t, st, "default", "web")
	if s.Name != "web-abc" || s.ManagedBy != "" || s.Origin.Derived != "" || s.Origin.Line != 21 {
		t.Errorf("slice %s managed-by %q origin %+v, want the manifest's", s.Name, s.ManagedBy, s.Origin)
	}
	if s.LastChangeTriggerTime.IsZero() {
		t.Errorf("last-change-trigger-time not read")
	}
	if got := ports(s); got != "http:8080/TCP,all:nil/TCP" {
		t.Errorf("ports = %q", got)
	}
	e0, e1 := s.Endpoints[0], s.Endpoints[1]
	if e0.Hostname != "one" || e0.Zone != "z1" || e0.TargetRef.Name != "x" ||
		e0.Conditions != (cluster.EndpointConditions{}) {
		t.Errorf("endpoint 0 = %+v, want as written with nil conditions", e0)
	}
	if boolp(e1.Conditions.Ready) != "false" || e1.Conditions.Serving.IsSet() || boolp(e1.Conditions.Terminating) != "true" {
		t.Errorf("endpoint 1 conditions = %s/%s/%s", boolp(e1.Conditions.Ready), boolp(e1.Conditions.Serving), boolp(e1.Conditions.Terminating))
	}
}

func TestOtherControllersSlicesDoNotStopDerivation(t *testing.T) {
	st := load(t, docs(
		svc("web", httpPorts),
		pod("p", "web", ""),
		`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-mesh
  labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: mesh.example.com}
addressType: IPv4
endpoints: [{addresses: [192.0.2.1]}]`,
	))
	if n := len(slicesOf(st, "default", "web")); n != 2 {
		t.Errorf("%d slices, want the mesh's and the controller's", n)
	}
}

func TestLegacyEndpointsMirrored(t *testing.T) {
	endpoints := func(name, labels string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Endpoints
metadata:
  name: %s
  labels: {%s}
subsets:
- addresses:
  - {ip: 192.0.2.1, hostname: one, nodeName: n1, targetRef: {kind: Pod, name: one, namespace: default}}
  - {ip: "2001:db8::1"}
  notReadyAddresses:
  - {ip: 192.0.2.2}
  ports:
  - {name: http, port: 8080}
- addresses:
  - {ip: 192.0.2.3}
  ports:
  - {name: dns, port: 53, protocol: UDP}`, name, labels)
	}
	selectorless := "apiVersion: v1\nkind: Service\nmetadata: {name: legacy}\nspec: {ports: [{name: http, port: 80}]}"

	t.Run("selectorless service", func(t *testing.T) {
		st := load(t, docs(selectorless, endpoints("legacy", "")))
		got := map[string]string{}
		for _, s := range slicesOf(st, "default", "legacy") {
			if s.ManagedBy != "endpointslicemirroring-controller.k8s.io" || s.Origin.Derived == "" {
				t.Errorf("slice %s: managed-by %q origin %+v", s.Name, s.ManagedBy, s.Origin)
			}
			var eps []string
			for _, e := range s.Endpoints {
				eps = append(eps, fmt.Sprintf("%s ready=%s serving=%s host=%s", addrs(e.Addresses.Slice()),
					boolp(e.Conditions.Ready), boolp(e.Conditions.Serving), e.Hostname))
			}
			got[string(s.AddressType)+" "+ports(s)] = strings.Join(eps, "; ")
		}
		want := map[string]string{
			"IPv4 http:8080/TCP": "192.0.2.1 ready=true serving=nil host=one; 192.0.2.2 ready=false serving=nil host=",
			"IPv6 http:8080/TCP": "2001:db8::1 ready=true serving=nil host=",
			"IPv4 dns:53/UDP":    "192.0.2.3 ready=true serving=nil host=",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("mirrored slices:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("skip-mirror label", func(t *testing.T) {
		st := load(t, docs(selectorless, endpoints("legacy", `endpointslice.kubernetes.io/skip-mirror: "true"`)))
		if s := slicesOf(st, "default", "legacy"); len(s) != 0 {
			t.Errorf("slices %+v, want none", s)
		}
	})
	t.Run("service with selector", func(t *testing.T) {
		st := load(t, docs(svc("legacy", httpPorts), endpoints("legacy", "")))
		for _, s := range slicesOf(st, "default", "legacy") {
			if s.ManagedBy != "endpointslice-controller.k8s.io" {
				t.Errorf("slice managed by %q; want only the EndpointSlice controller's", s.ManagedBy)
			}
		}
	})
	t.Run("no service", func(t *testing.T) {
		st := load(t, endpoints("legacy", ""))
		if s := slicesOf(st, "default", "legacy"); len(s) != 0 {
			t.Errorf("slices %+v, want none: the controller mirrors only for an existing Service", s)
		}
	})
}

func TestStatefulSetPodsGetHostnameAndSubdomain(t *testing.T) {
	sts := func(spec string) string {
		return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: shop}
spec:
  serviceName: web-hl
  selector: {matchLabels: {app: web}}
` + spec + `  template:
    metadata: {labels: {app: web}}
    spec:
      hostname: ignored
      containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
`
	}
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"replicas default to 1", "", []string{"web-0"}},
		{"replicas", "  replicas: 3\n", []string{"web-0", "web-1", "web-2"}},
		{"zero replicas", "  replicas: 0\n", nil},
		{"ordinals start", "  replicas: 2\n  ordinals: {start: 5}\n", []string{"web-5", "web-6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := load(t, sts(tt.spec))
			var got []string
			for _, p := range st.Pods {
				got = append(got, p.Name)
				if p.Hostname != p.Name || p.Subdomain != "web-hl" || p.Namespace != "shop" {
					t.Errorf("pod %s: hostname %q subdomain %q namespace %q", p.Name, p.Hostname, p.Subdomain, p.Namespace)
				}
				if p.Labels["app"] != "web" || p.Labels["statefulset.kubernetes.io/pod-name"] != p.Name {
					t.Errorf("pod %s labels %v", p.Name, p.Labels)
				}
				if p.Owner == nil || *p.Owner != (cluster.ObjectRef{Kind: "StatefulSet", Namespace: "shop", Name: "web"}) {
					t.Errorf("pod %s owner %+v", p.Name, p.Owner)
				}
				if len(p.Ports) != 1 || p.Ports[0].Name != "http" {
					t.Errorf("pod %s ports %+v", p.Name, p.Ports)
				}
				if !strings.HasPrefix(p.Origin.Derived, "pod ") || !strings.HasSuffix(p.Origin.Derived, " of StatefulSet shop/web") {
					t.Errorf("pod %s origin %+v", p.Name, p.Origin)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pods %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWorkloadPodNames(t *testing.T) {
	const c = "[bcdfghjklmnpqrstvwxz2456789]"
	tmpl := `
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c}]}
`
	tests := []struct {
		kind, apiVersion, spec string
		wantName               string // regexp for every pod
		wantCount              int
		wantHostnames          []string
	}{
		{"Deployment", "apps/v1", "  replicas: 3", `^w-` + c + `{10}-` + c + `{5}$`, 3, nil},
		{"ReplicaSet", "apps/v1", "  replicas: 2", `^w-` + c + `{5}$`, 2, nil},
		{"DaemonSet", "apps/v1", "", `^w-` + c + `{5}$`, 1, nil},
		{"Job", "batch/v1", "", `^w-` + c + `{5}$`, 1, nil},
		{"Job", "batch/v1", "  parallelism: 4\n  completions: 2", `^w-` + c + `{5}$`, 2, nil},
		{"Job", "batch/v1", "  parallelism: 3\n  completions: 5\n  completionMode: Indexed", `^w-[0-2]-` + c + `{5}$`, 3, []string{"w-0", "w-1", "w-2"}},
		{"Job", "batch/v1", "  suspend: true", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+strings.ReplaceAll(tt.spec, "\n", ""), func(t *testing.T) {
			manifest := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: w}\nspec:\n%s%s", tt.apiVersion, tt.kind, tt.spec, tmpl)
			st := load(t, manifest)
			if len(st.Pods) != tt.wantCount {
				t.Fatalf("%d pods %v, want %d", len(st.Pods), podNames(st), tt.wantCount)
			}
			var hostnames []string
			for _, p := range st.Pods {
				if !regexp.MustCompile(tt.wantName).MatchString(p.Name) {
					t.Errorf("pod name %q does not match %s", p.Name, tt.wantName)
				}
				if p.Hostname != "" {
					hostnames = append(hostnames, p.Hostname)
				}
				if !p.Ready || p.Phase != cluster.PodRunning || len(p.IPs) != 1 {
					t.Errorf("pod %s: phase %s ready %v IPs %v", p.Name, p.Phase, p.Ready, p.IPs)
				}
			}
			slices.Sort(hostnames)
			if !slices.Equal(hostnames, tt.wantHostnames) {
				t.Errorf("hostnames %v, want %v", hostnames, tt.wantHostnames)
			}
			if again := load(t, manifest); !reflect.DeepEqual(podNames(again), podNames(st)) {
				t.Errorf("names differ between loads: %v, %v", podNames(st), podNames(again))
			}
		})
	}
}

func TestDeploymentPodsOwnedByReplicaSetWithTemplateHash(t *testing.T) {
	st := load(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c}]}\n")
	p := st.Pods[0]
	hash := p.Labels["pod-template-hash"]
	if len(hash) != 10 || p.Owner == nil || p.Owner.Kind != "ReplicaSet" || p.Owner.Name != "web-"+hash ||
		!strings.HasPrefix(p.Name, "web-"+hash+"-") {
		t.Errorf("pod %s labels %v owner %+v", p.Name, p.Labels, p.Owner)
	}
}

func TestExplicitPodReplacesDerivedPod(t *testing.T) {
	st := load(t, docs(
		`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c}]}`,
		pod("web-1", "web", "spec:\n  hostname: web-1\n  subdomain: web\n  containers: [{name: c}]\nstatus:\n  podIP: 10.244.7.7\n  conditions: [{type: Ready, status: \"False\"}]"),
	))
	if got := podNames(st); !slices.Equal(got, []string{"default/web-0", "default/web-1"}) {
		t.Fatalf("pods %v", got)
	}
	p := findPod(t, st, "default", "web-1")
	if p.Ready || addrs(p.IPs) != "10.244.7.7" || p.Origin.Derived != "" || p.Origin.Document != 1 {
		t.Errorf("web-1 = %+v, want the explicit pod", p)
	}
}

func TestWorkloadWhosePodsAreInTheManifestsIsNotExpanded(t *testing.T) {
	// As "kubectl get deploy,rs,pods -o yaml" would dump them.
	st := load(t, docs(
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c}]}",
		"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-7d4b9c8f5d\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c}]}",
		pod("web-7d4b9c8f5d-abcde", "web", "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c8f5d, uid: u2, controller: true}]\nstatus: {podIP: 10.244.1.1}"),
	))
	if got := podNames(st); !slices.Equal(got, []string{"default/web-7d4b9c8f5d-abcde"}) {
		t.Errorf("pods %v, want only the dumped one", got)
	}
	if p := st.Pods[0]; p.Owner == nil || p.Owner.Kind != "ReplicaSet" || p.Owner.Name != "web-7d4b9c8f5d" {
		t.Errorf("owner %+v", p.Owner)
	}
}

func TestPodWithoutStatusIsRunningReady(t *testing.T) {
	st := load(t, pod("p", "web", "spec:\n  containers: [{name: c}]"))
	p := findPod(t, st, "default", "p")
	if p.Phase != cluster.PodRunning || !p.Ready || addrs(p.IPs) != "10.244.0.1" || p.Terminating() {
		t.Errorf("pod = %+v, want Running, Ready, 10.244.0.1", p)
	}
}

func TestPodStatusFieldsReadIndependently(t *testing.T) {
	tests := []struct {
		name      string
		status    string
		wantPhase cluster.PodPhase
		wantReady bool
		wantIPs   string
	}{
		{"empty status", "status: {}", "Running", true, "10.244.0.1"},
		{"phase only", "status: {phase: Pending}", "Pending", false, ""},
		{"IP only", "status: {podIP: 10.244.3.3}", "Running", true, "10.244.3.3"},
		{"podIPs dual-stack", "status: {podIPs: [{ip: 10.244.3.3}, {ip: 'fd00::3'}]}", "Running", true, "10.244.3.3,fd00::3"},
		{"podIP first", "status: {podIP: 10.244.3.3, podIPs: [{ip: 10.244.3.3}, {ip: 'fd00::3'}]}", "Running", true, "10.244.3.3,fd00::3"},
		{"not ready condition", "status: {conditions: [{type: Ready, status: 'False'}]}", "Running", false, "10.244.0.1"},
		{"other conditions only", "status: {conditions: [{type: PodScheduled, status: 'True'}]}", "Running", true, "10.244.0.1"},
		{"ready condition on a failed pod", "status: {phase: Failed, conditions: [{type: Ready, status: 'True'}]}", "Failed", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := findPod(t, load(t, pod("p", "web", tt.status)), "default", "p")
			if p.Phase != tt.wantPhase || p.Ready != tt.wantReady || addrs(p.IPs) != tt.wantIPs {
				t.Errorf("phase %s ready %v IPs %q, want %s %v %q", p.Phase, p.Ready, addrs(p.IPs), tt.wantPhase, tt.wantReady, tt.wantIPs)
			}
		})
	}
}

func TestDeletionTimestampMakesPodTerminating(t *testing.T) {
	p := findPod(t, load(t, pod("p", "web", "  deletionTimestamp: \"2024-01-02T03:04:05Z\"")), "default", "p")
	if p.DeletionTimestamp == nil || p.DeletionTimestamp.Year() != 2024 {
		t.Errorf("deletionTimestamp = %v", p.DeletionTimestamp)
	}
}

func TestPodIPsAllocatedInOrderSkippingUsedAddresses(t *testing.T) {
	st := load(t, docs(
		pod("b", "x", ""),
		pod("a", "x", "  namespace: z"),
		pod("c", "x", "status: {podIP: 10.244.0.2}"),
		pod("d", "x", ""),
		pod("a", "x", ""),
	))
	got := map[string]string{}
	for _, p := range st.Pods {
		got[p.Namespace+"/"+p.Name] = addrs(p.IPs)
	}
	want := map[string]string{
		"default/a": "10.244.0.1", "default/b": "10.244.0.3", "default/c": "10.244.0.2",
		"default/d": "10.244.0.4", "z/a": "10.244.0.5",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IPs %v, want %v", got, want)
	}
}

func TestPodIPsOnePerConfiguredFamily(t *testing.T) {
	opts := Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00:10:244::/64"), netip.MustParsePrefix("10.244.0.0/16")}}
	p := findPod(t, loadWith(t, opts, pod("p", "x", "")), "default", "p")
	if got := addrs(p.IPs); got != "fd00:10:244::1,10.244.0.1" {
		t.Errorf("IPs %s, want primary family first", got)
	}
}

func TestPodCIDRExhaustedIsAnError(t *testing.T) {
	opts := Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/30")}}
	_, err := LoadFS(t.Context(), mapFS("m.yaml", docs(pod("a", "x", ""), pod("b", "x", ""), pod("c", "x", ""))), opts)
	if err == nil || !strings.Contains(err.Error(), "m.yaml:") || !strings.Contains(err.Error(), "exhausted") {
		t.Errorf("err = %v, want pod CIDR exhausted (a /30 has 2 usable addresses)", err)
	}
}

func TestClusterIPAllocation(t *testing.T) {
	dual := Options{ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("fd00:96::/112")}}
	tests := []struct {
		name string
		opts Options
		spec string
		want string
	}{
		{"default single stack", DefaultOptions(), "", "10.96.0.3"},
		{"explicit cluster IP wins", DefaultOptions(), "  clusterIP: 10.96.0.2\n", "10.96.0.2"},
		{"explicit cluster IPs win", dual, "  clusterIPs: ['fd00:96::9']\n", "fd00:96::9"},
		{"headless has none", DefaultOptions(), "  clusterIP: None\n", ""},
		{"ExternalName has none", DefaultOptions(), "  type: ExternalName\n  externalName: example.com\n", ""},
		{"NodePort gets one", DefaultOptions(), "  type: NodePort\n", "10.96.0.3"},
		{"PreferDualStack on single stack", DefaultOptions(), "  ipFamilyPolicy: PreferDualStack\n", "10.96.0.3"},
		{"PreferDualStack on dual stack", dual, "  ipFamilyPolicy: PreferDualStack\n", "10.96.0.3,fd00:96::1"},
		{"SingleStack on dual stack", dual, "  ipFamilyPolicy: SingleStack\n", "10.96.0.3"},
		{"ipFamilies order", dual, "  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]\n", "fd00:96::1,10.96.0.3"},
		{"ipFamilies IPv6 only", dual, "  ipFamilies: [IPv6]\n", "fd00:96::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// default/kubernetes takes 10.96.0.1 (the API server's), "a"
			// sorts first and takes 10.96.0.2 unless "web" names it.
			first := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1}]}"
			if strings.Contains(tt.spec, "10.96.0.2") {
				first = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: None}"
			}
			st := loadWith(t, tt.opts, docs(first, svc("web", httpPorts+tt.spec)))
			s := findService(t, st, "default", "web")
			if got := addrs(s.ClusterIPs); got != tt.want {
				t.Errorf("cluster IPs %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequireDualStackOnSingleStackIsAnError(t *testing.T) {
	err := loadError(t, map[string]string{"s.yaml": svc("web", httpPorts+"  ipFamilyPolicy: RequireDualStack\n")})
	if !strings.HasPrefix(err.Error(), "s.yaml:1: document 0: Service default/web: ipFamilyPolicy RequireDualStack") {
		t.Errorf("err = %v", err)
	}
}

// A headless Service exported from a dual-stack cluster (kubectl get -o
// yaml) gets no cluster IP, so it needs no service CIDR of either family:
// it loads with the default, single-stack options. It was refused.
// Every cluster has default/kubernetes, which the API server makes: the
// first address of the service CIDR, port https 443. Manifests without it
// answered NXDOMAIN for kubernetes.default.svc; manifests that define it
// (a dump of a cluster) keep theirs, and an address already taken leaves
// it to the allocator.
func TestAPIServerServiceIsThere(t *testing.T) {
	s := findService(t, load(t, docs(pod("p", "x", ""))), "default", "kubernetes")
	if addrs(s.ClusterIPs) != "10.96.0.1" || len(s.Ports) != 1 || s.Ports[0].Name != "https" || s.Ports[0].Port != 443 || s.Selector != nil {
		t.Errorf("default/kubernetes: %+v", s)
	}
	if s.Origin.Derived == "" {
		t.Errorf("origin %v, want the API server named", s.Origin)
	}
	own := "apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: default}\nspec: {clusterIP: 10.96.0.99, ports: [{name: https, port: 443}]}"
	if s := findService(t, load(t, own), "default", "kubernetes"); addrs(s.ClusterIPs) != "10.96.0.99" || s.Origin.Derived != "" {
		t.Errorf("the manifests' own default/kubernetes was replaced: %+v", s)
	}
	taken := "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: other}\nspec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}"
	if s := findService(t, load(t, taken), "default", "kubernetes"); addrs(s.ClusterIPs) != "10.96.0.2" {
		t.Errorf("10.96.0.1 taken: default/kubernetes has %v, want the next free address", s.ClusterIPs)
	}
}

func TestExportedDualStackHeadlessServiceLoads(t *testing.T) {
	st := load(t, docs(`apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  clusterIPs: [None]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: RequireDualStack
  selector: {app: db}
  ports: [{name: pg, port: 5432}]`))
	s := findService(t, st, "default", "db")
	if !s.Headless || len(s.ClusterIPs) != 0 {
		t.Errorf("headless %v, cluster IPs %v", s.Headless, s.ClusterIPs)
	}
}

func TestNamespacesIncludeSystemAndImplicitOnes(t *testing.T) {
	st := load(t, docs(
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}",
		pod("p", "x", "  namespace: implicit"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: unread}",
	))
	var names []string
	for _, ns := range st.Namespaces {
		names = append(names, ns.Name)
		switch ns.Name {
		case "shop":
			if ns.Origin.Line != 1 || ns.Origin.Derived != "" {
				t.Errorf("shop origin %+v", ns.Origin)
			}
		case "implicit":
			if ns.Origin.Derived != "namespace of Pod implicit/p" {
				t.Errorf("implicit origin %+v", ns.Origin)
			}
		}
	}
	want := []string{"default", "implicit", "kube-node-lease", "kube-public", "kube-system", "shop"}
	if !slices.Equal(names, want) {
		t.Errorf("namespaces %v, want %v", names, want)
	}
}

func TestStateIsDeterministic(t *testing.T) {
	manifest := docs(
		svc("web", "  clusterIP: None\n"+httpPorts),
		svc("api", httpPorts),
		"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n  replicas: 3\n  serviceName: web\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c}]}",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: c}]}",
	)
	first := load(t, manifest)
	for range 5 {
		if again := load(t, manifest); !reflect.DeepEqual(first, again) {
			t.Fatalf("two loads of the same input differ")
		}
	}
	if !slices.IsSortedFunc(first.Pods, func(a, b cluster.Pod) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	}) {
		t.Errorf("pods not sorted: %v", podNames(first))
	}
	if !slices.IsSortedFunc(first.EndpointSlices, func(a, b cluster.EndpointSlice) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	}) {
		t.Errorf("slices not sorted")
	}
}
