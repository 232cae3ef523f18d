package controller

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

func origin(line int) cluster.Origin { return cluster.Origin{File: "m.yaml", Line: line} }

func serviceObject(line int, svc cluster.Service) Object {
	if svc.Namespace == "" {
		svc.Namespace = "default"
	}
	if svc.Type == "" {
		svc.Type = cluster.ServiceTypeClusterIP
	}
	return Object{Ref: svc.Ref(), Origin: origin(line), Service: &Service{Service: svc}}
}

func workloadObject(line int, kind, name string, w Workload) Object {
	return Object{Ref: cluster.ObjectRef{Kind: kind, Namespace: "default", Name: name}, Origin: origin(line), Workload: &w}
}

func podObject(line int, p cluster.Pod) Object {
	return Object{Ref: p.Ref(), Origin: origin(line), Pod: &p}
}

func int32p(n int32) *int32 { return &n }

func derive(t *testing.T, objs ...Object) *cluster.State {
	t.Helper()
	st, errs := Derive(objs, Options{})
	for _, e := range errs {
		t.Errorf("Derive: %v", e)
	}
	return st
}

func podsOf(st *cluster.State) []string {
	var out []string
	for _, p := range st.Pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

func TestDeriveStatefulSetPodIdentity(t *testing.T) {
	tmpl := cluster.Pod{Labels: map[string]string{"app": "db"}, Phase: cluster.PodRunning, Ready: true}
	st := derive(t,
		serviceObject(1, cluster.Service{Name: "db", Headless: true, Selector: map[string]string{"app": "db"}}),
		workloadObject(10, "StatefulSet", "db", Workload{Template: tmpl, Replicas: int32p(2), ServiceName: "db", OrdinalStart: 3}),
	)
	if got, want := podsOf(st), []string{"default/db-3", "default/db-4"}; !slices.Equal(got, want) {
		t.Fatalf("pods %v, want %v", got, want)
	}
	for _, p := range st.Pods {
		if p.Hostname != p.Name || p.Subdomain != "db" || len(p.IPs) != 1 {
			t.Errorf("pod %s: hostname %q subdomain %q IPs %v", p.Name, p.Hostname, p.Subdomain, p.IPs)
		}
		if p.Owner == nil || *p.Owner != (cluster.ObjectRef{Kind: "StatefulSet", Namespace: "default", Name: "db"}) {
			t.Errorf("pod %s: owner %v", p.Name, p.Owner)
		}
		if p.Origin.Line != 10 || !strings.HasPrefix(p.Origin.Derived, "pod ") {
			t.Errorf("pod %s: origin %+v", p.Name, p.Origin)
		}
	}
	var hostnames []string
	for _, s := range st.EndpointSlices {
		if s.ServiceName == "db" {
			for _, e := range s.Endpoints {
				hostnames = append(hostnames, e.Hostname)
			}
		}
	}
	if want := []string{"db-3", "db-4"}; !slices.Equal(hostnames, want) {
		t.Errorf("endpoint hostnames %v, want %v", hostnames, want)
	}
}

func TestDerivePodCount(t *testing.T) {
	tests := []struct {
		name string
		kind string
		w    Workload
		want int
	}{
		{"replicas unset is one", "Deployment", Workload{}, 1},
		{"replicas", "ReplicaSet", Workload{Replicas: int32p(3)}, 3},
		{"negative replicas are none", "StatefulSet", Workload{Replicas: int32p(-1)}, 0},
		{"a DaemonSet has one pod: there are no nodes", "DaemonSet", Workload{Replicas: int32p(5)}, 1},
		{"a Job runs its parallelism", "Job", Workload{Replicas: int32p(4)}, 4},
		{"but no more than its completions", "Job", Workload{Replicas: int32p(4), Completions: int32p(2)}, 2},
		{"a suspended Job runs none", "Job", Workload{Replicas: int32p(4), Suspended: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podCount(tt.kind, &tt.w); got != tt.want {
				t.Errorf("podCount = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDeriveIndexedJobPodsGetHostnames(t *testing.T) {
	st := derive(t, workloadObject(1, "Job", "train", Workload{Replicas: int32p(2), Completions: int32p(2), Indexed: true}))
	var hostnames []string
	for _, p := range st.Pods {
		hostnames = append(hostnames, p.Hostname)
		if !strings.HasPrefix(p.Name, "train-"+p.Labels["batch.kubernetes.io/job-completion-index"]+"-") {
			t.Errorf("pod %s: labels %v", p.Name, p.Labels)
		}
	}
	slices.Sort(hostnames)
	if want := []string{"train-0", "train-1"}; !slices.Equal(hostnames, want) {
		t.Errorf("hostnames %v, want %v", hostnames, want)
	}
}

func TestDeriveAPIServerServiceAndNamespaces(t *testing.T) {
	st := derive(t,
		Object{Ref: cluster.ObjectRef{Kind: "Namespace", Name: "shop"}, Origin: origin(1), Namespace: &cluster.Namespace{Name: "shop"}},
		// An object without content (an FQDN EndpointSlice) still implies
		// its namespace, named after the first object in it.
		Object{Ref: cluster.ObjectRef{Kind: "EndpointSlice", Namespace: "implicit", Name: "fqdn"}, Origin: origin(5)},
		podObject(9, cluster.Pod{Name: "p", Namespace: "implicit", Phase: cluster.PodRunning}),
	)
	var names []string
	for _, ns := range st.Namespaces {
		names = append(names, ns.Name)
		switch ns.Name {
		case "shop":
			if ns.Origin != origin(1) {
				t.Errorf("shop origin %+v", ns.Origin)
			}
		case "implicit":
			if ns.Origin.Line != 5 || ns.Origin.Derived != "namespace of EndpointSlice implicit/fqdn" {
				t.Errorf("implicit origin %+v", ns.Origin)
			}
		case "default":
			if ns.Origin.Derived != "present in every cluster" {
				t.Errorf("default origin %+v", ns.Origin)
			}
		}
	}
	if want := []string{"default", "implicit", "kube-node-lease", "kube-public", "kube-system", "shop"}; !slices.Equal(names, want) {
		t.Errorf("namespaces %v, want %v", names, want)
	}
	if len(st.Services) != 1 {
		t.Fatalf("services %+v", st.Services)
	}
	k := st.Services[0]
	if k.Name != "kubernetes" || k.Namespace != "default" || k.Selector != nil ||
		!slices.Equal(k.ClusterIPs, []netip.Addr{netip.MustParseAddr("10.96.0.1")}) {
		t.Errorf("API server service %+v", k)
	}
}

func TestDeriveMirrorsEndpointsOfSelectorlessServicesOnly(t *testing.T) {
	ep := func(ip string) cluster.Endpoint {
		return cluster.Endpoint{Addresses: cluster.AddressesOf(netip.MustParseAddr(ip))}
	}
	port := int32(5432)
	endpoints := func(line int, name string, labels map[string]string) Object {
		return Object{
			Ref: cluster.ObjectRef{Kind: "Endpoints", Namespace: "default", Name: name}, Origin: origin(line),
			Endpoints: &Endpoints{Labels: labels, Subsets: []EndpointSubset{{
				Ports:             []cluster.EndpointPort{{Name: "pg", Port: &port, Protocol: cluster.ProtocolTCP}},
				Addresses:         []cluster.Endpoint{ep("192.0.2.1"), ep("2001:db8::1")},
				NotReadyAddresses: []cluster.Endpoint{ep("192.0.2.2")},
			}}},
		}
	}
	st := derive(t,
		serviceObject(1, cluster.Service{Name: "ext"}),
		serviceObject(2, cluster.Service{Name: "sel", Selector: map[string]string{"app": "x"}}),
		serviceObject(3, cluster.Service{Name: "skip"}),
		endpoints(10, "ext", nil),
		endpoints(20, "sel", nil),
		endpoints(30, "skip", map[string]string{labelSkipMirror: "true"}),
		endpoints(40, "gone", nil),
	)
	got := map[string][]string{}
	for _, s := range st.EndpointSlices {
		if s.ManagedBy != ManagedByMirroringController {
			continue
		}
		for _, e := range s.Endpoints {
			got[s.ServiceName] = append(got[s.ServiceName], string(s.AddressType)+" "+e.Addresses.At(0).String()+" ready="+boolString(e.Conditions.Ready))
		}
		if s.Origin.Line != 10 || s.Origin.Derived != "EndpointSlice mirroring controller for Endpoints default/ext" {
			t.Errorf("slice %s origin %+v", s.Name, s.Origin)
		}
	}
	slices.Sort(got["ext"])
	want := map[string][]string{"ext": {"IPv4 192.0.2.1 ready=true", "IPv4 192.0.2.2 ready=false", "IPv6 2001:db8::1 ready=true"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mirrored %v, want %v", got, want)
	}
}

// The derived slices hold exactly what PodEndpoint says of each pod.
func TestDerivedEndpointsArePodEndpoint(t *testing.T) {
	svc := cluster.Service{Name: "web", Headless: true, PublishNotReadyAddresses: true, Selector: map[string]string{"app": "web"},
		Ports: []cluster.ServicePort{{Name: "http", Port: 80, TargetPort: cluster.PortRef{Name: "http"}, Protocol: cluster.ProtocolTCP}}}
	objs := []Object{serviceObject(1, svc)}
	for i, p := range []cluster.Pod{
		{Name: "a", Hostname: "a", Subdomain: "web", Ready: true},
		{Name: "b", Hostname: "b", Subdomain: "Web", Ready: false},
		{Name: "c", Ready: true, Ports: []cluster.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: cluster.ProtocolTCP}}},
		{Name: "d", Phase: cluster.PodSucceeded},
	} {
		p.Namespace, p.Labels = "default", map[string]string{"app": "web"}
		if p.Phase == "" {
			p.Phase = cluster.PodRunning
		}
		objs = append(objs, podObject(10+i, p))
	}
	st := derive(t, objs...)
	listed := map[string]cluster.Endpoint{}
	for _, s := range st.EndpointSlices {
		if s.ServiceName != "web" {
			continue
		}
		if s.Origin.Line != 1 || s.ManagedBy != ManagedByEndpointSliceController {
			t.Errorf("slice %s: origin %+v, managed by %q", s.Name, s.Origin, s.ManagedBy)
		}
		for _, e := range s.Endpoints {
			listed[e.TargetRef.Name] = e
		}
	}
	var derivedSvc *cluster.Service
	for i := range st.Services {
		if st.Services[i].Name == "web" {
			derivedSvc = &st.Services[i]
		}
	}
	for i := range st.Pods {
		p := &st.Pods[i]
		want, ok := PodEndpoint(p, derivedSvc, cluster.AddressTypeIPv4)
		got, listedOK := listed[p.Name]
		if ok != listedOK || !reflect.DeepEqual(got, want) {
			t.Errorf("pod %s: slice has %+v (%v), PodEndpoint %+v (%v)", p.Name, got, listedOK, want, ok)
		}
	}
}

func TestDeriveErrorsNameObjectAndOrigin(t *testing.T) {
	tmpl := cluster.Pod{Phase: cluster.PodRunning}
	objs := []Object{
		workloadObject(1, "StatefulSet", "web", Workload{Template: tmpl, Replicas: int32p(1)}),
		workloadObject(20, "ReplicaSet", "x", Workload{Template: tmpl, Replicas: int32p(3)}),
		serviceObject(30, cluster.Service{Name: "dual"}),
	}
	objs[2].Service.IPFamilyPolicy = RequireDualStack
	opts := Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/30")}}
	_, errs := Derive(objs, opts)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	// 10.0.0.0/30 holds two pod IPs for four pods; pods get theirs in name
	// order, so two ReplicaSet pods go without.
	if len(errs) != 3 {
		t.Fatalf("errors %q, want 3", got)
	}
	for _, e := range errs[:2] {
		if e.Origin.Line != 20 || e.Ref.Kind != "Pod" || !strings.HasSuffix(e.Err.Error(), ": pod CIDR 10.0.0.0/30 is exhausted") ||
			!strings.HasPrefix(e.Error(), "m.yaml:20 (pod ") {
			t.Errorf("error %+v: %v", e, e)
		}
	}
	if e := errs[2]; e.Origin != origin(30) || e.Ref != (cluster.ObjectRef{Kind: "Service", Namespace: "default", Name: "dual"}) ||
		e.Err.Error() != "Service default/dual: ipFamilyPolicy RequireDualStack needs an IPv4 and an IPv6 service CIDR, have [10.96.0.0/12]" {
		t.Errorf("last error %+v: %v", e, e)
	}
}

func TestDeriveTwoWorkloadsMakingOnePodIsAnError(t *testing.T) {
	a := workloadObject(1, "StatefulSet", "web", Workload{Replicas: int32p(1)})
	b := workloadObject(9, "StatefulSet", "web", Workload{Replicas: int32p(1)})
	b.Ref.Namespace = "default"
	b.Origin = cluster.Origin{File: "other.yaml", Line: 3}
	_, errs := Derive([]Object{a, b}, Options{})
	if len(errs) != 1 || errs[0].Origin != b.Origin ||
		errs[0].Err.Error() != "StatefulSet default/web: pod default/web-0 would also be created by StatefulSet default/web at m.yaml:1" {
		t.Errorf("errors %v", errs)
	}
}

func TestOptionsNormalize(t *testing.T) {
	def, err := Options{}.Normalize()
	if err != nil || !reflect.DeepEqual(def, DefaultOptions()) {
		t.Errorf("zero options normalize to %+v, %v", def, err)
	}
	masked, err := Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}}.Normalize()
	if err != nil || masked.PodCIDRs[0] != netip.MustParsePrefix("10.1.0.0/16") {
		t.Errorf("masked %+v, %v", masked, err)
	}
	for _, bad := range [][]netip.Prefix{
		{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")},
		{netip.MustParsePrefix("10.0.0.1/32")},
		{{}},
	} {
		if _, err := (Options{ServiceCIDRs: bad}).Normalize(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, errs := Derive(nil, Options{ServiceCIDRs: []netip.Prefix{{}}}); len(errs) != 1 || errs[0].Origin != (cluster.Origin{}) {
		t.Errorf("Derive with invalid options: %v", errs)
	}
}
