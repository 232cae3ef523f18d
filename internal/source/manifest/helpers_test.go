package manifest

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// load reads one manifest file named m.yaml with the default options.
func load(t *testing.T, manifest string) *cluster.State {
	t.Helper()
	return loadWith(t, DefaultOptions(), manifest)
}

func loadWith(t *testing.T, opts Options, manifest string) *cluster.State {
	t.Helper()
	st, err := LoadFS(context.Background(), fstest.MapFS{"m.yaml": {Data: []byte(manifest)}}, opts)
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	return st
}

// loadError loads files (name -> content) and returns the error.
func loadError(t *testing.T, files map[string]string) error {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	st, err := LoadFS(context.Background(), fsys, DefaultOptions())
	if err == nil {
		t.Fatalf("LoadFS succeeded, want an error; state: %+v", st)
	}
	if st != nil {
		t.Errorf("LoadFS returned a state with its error")
	}
	return err
}

func findPod(t *testing.T, st *cluster.State, ns, name string) cluster.Pod {
	t.Helper()
	for _, p := range st.Pods {
		if p.Namespace == ns && p.Name == name {
			return p
		}
	}
	t.Fatalf("no pod %s/%s; have %v", ns, name, podNames(st))
	return cluster.Pod{}
}

func podNames(st *cluster.State) []string {
	var names []string
	for _, p := range st.Pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return names
}

func findService(t *testing.T, st *cluster.State, ns, name string) cluster.Service {
	t.Helper()
	for _, s := range st.Services {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s/%s", ns, name)
	return cluster.Service{}
}

// slicesOf returns the EndpointSlices of a service.
func slicesOf(st *cluster.State, ns, service string) []cluster.EndpointSlice {
	var out []cluster.EndpointSlice
	for _, s := range st.EndpointSlices {
		if s.Namespace == ns && s.ServiceName == service {
			out = append(out, s)
		}
	}
	return out
}

// onlySlice returns the single EndpointSlice of a service.
func onlySlice(t *testing.T, st *cluster.State, ns, service string) cluster.EndpointSlice {
	t.Helper()
	s := slicesOf(st, ns, service)
	if len(s) != 1 {
		t.Fatalf("service %s/%s has %d EndpointSlices, want 1: %+v", ns, service, len(s), s)
	}
	return s[0]
}

// endpointOf returns the endpoint of a pod in the slices of a service.
func endpointOf(t *testing.T, st *cluster.State, ns, service, pod string) (cluster.Endpoint, cluster.EndpointSlice) {
	t.Helper()
	for _, s := range slicesOf(st, ns, service) {
		for _, e := range s.Endpoints {
			if e.TargetRef != nil && e.TargetRef.Name == pod {
				return e, s
			}
		}
	}
	t.Fatalf("no endpoint for pod %s in slices of %s/%s", pod, ns, service)
	return cluster.Endpoint{}, cluster.EndpointSlice{}
}

func ports(s cluster.EndpointSlice) string {
	var parts []string
	for _, p := range s.Ports {
		n := "nil"
		if p.Port != nil {
			n = strconv.Itoa(int(*p.Port))
		}
		parts = append(parts, p.Name+":"+n+"/"+string(p.Protocol))
	}
	return strings.Join(parts, ",")
}

func addrs(a []netip.Addr) string {
	var s []string
	for _, x := range a {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func boolp(c cluster.Condition) string {
	if !c.IsSet() {
		return "nil"
	}
	return c.String()
}

// docs joins YAML documents.
func docs(d ...string) string { return strings.Join(d, "\n---\n") }

// mapFS builds a file system from name, content pairs.
func mapFS(kv ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(kv); i += 2 {
		fsys[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return fsys
}
