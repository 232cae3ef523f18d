package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const probeDB = `apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: default
spec:
  clusterIP: None
  ports:
    - name: pg
      port: 5432
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: default
  labels:
    kubernetes.io/service-name: db
addressType: IPv4
ports:
  - name: pg
    port: 5432
endpoints:
  - addresses: ["%s"]
    hostname: db-0
`

func TestProbeMatchesACorrectServer(t *testing.T) {
	addr, _, _ := startServe(t)
	code, out, errOut := runCLI(t, "probe", "--server", addr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"match", "_peer._tcp.web.default.svc.cluster.local.", "web-0.web.default.svc.cluster.local.", "0 drifting"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestProbeReportsEveryDriftOfAStaleServer(t *testing.T) {
	old := t.TempDir()
	writeFile(t, filepath.Join(old, "db.yaml"), strings.Replace(probeDB, "%s", "10.1.1.1", 1))
	cur := t.TempDir()
	writeFile(t, filepath.Join(cur, "db.yaml"), strings.Replace(probeDB, "%s", "10.1.1.2", 1))
	stale, _, _ := startServe(t, "--manifests", old)
	code, out, _ := runCLI(t, "probe", "--server", stale, "--manifests", cur, "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	var r struct {
		Drifts int
		Checks []struct{ Name, Type, Kind string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, c := range r.Checks {
		kinds[c.Name+" "+c.Type] = c.Kind
	}
	for q, want := range map[string]string{
		"db.default.svc.cluster.local. A":            "stale",
		"db-0.db.default.svc.cluster.local. A":       "stale",
		"_pg._tcp.db.default.svc.cluster.local. SRV": "match",
		"db.default.svc.cluster.local. AAAA":         "match",
	} {
		if kinds[q] != want {
			t.Errorf("%s: %q, want %q (all: %v)", q, kinds[q], want, kinds)
		}
	}
	if r.Drifts != 2 {
		t.Errorf("drifts = %d, want 2", r.Drifts)
	}
}

// --watch times a drift: the server is fed the new state a while after the
// probe starts, and the drift must be reported closed with its duration.
func TestProbeWatchTimesADrift(t *testing.T) {
	served := t.TempDir()
	writeFile(t, filepath.Join(served, "db.yaml"), strings.Replace(probeDB, "%s", "10.1.1.1", 1))
	want := t.TempDir()
	writeFile(t, filepath.Join(want, "db.yaml"), strings.Replace(probeDB, "%s", "10.1.1.2", 1))
	addr, _, _ := startServe(t, "--manifests", served, "--reload-delay", "10ms")
	go func() {
		time.Sleep(600 * time.Millisecond)
		writeFile(t, filepath.Join(served, "db.yaml"), strings.Replace(probeDB, "%s", "10.1.1.2", 1))
	}()
	code, out, errOut := runCLI(t, "probe", "--server", addr, "--manifests", want, "--watch", "2s", "--interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "drift of db.default.svc.cluster.local. A (stale) lasted") {
		t.Errorf("drift duration not reported:\n%s", out)
	}
}

func TestProbeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"probe"},
		{"probe", "--server", "127.0.0.1:1", "--service", "nonsense"},
		{"probe", "--server", "127.0.0.1:1", "--service", "default/ghost"},
		{"probe", "--server", "127.0.0.1:1", "-o", "xml"},
	} {
		if code, out, errOut := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s%s", args, code, out, errOut)
		}
	}
}

// probeImport is a Headless ServiceImport with one endpoint in cluster east.
const probeImport = `apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata:
  name: db
  namespace: default
spec:
  type: Headless
  ports:
    - name: pg
      port: 5432
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-east
  namespace: default
  labels:
    multicluster.kubernetes.io/service-name: db
    multicluster.kubernetes.io/source-cluster: east
addressType: IPv4
ports:
  - name: pg
    port: 5432
endpoints:
  - addresses: ["%s"]
    hostname: db-0
`

// probe asks a server the names of the multicluster zone's ServiceImports
// too, and names the stale per-cluster endpoint.
func TestProbeAsksMulticlusterNames(t *testing.T) {
	mc := []string{"--zone", "cluster.local", "--zone", "clusterset.local", "--multicluster-zone", "clusterset.local"}
	old := t.TempDir()
	writeFile(t, filepath.Join(old, "db.yaml"), strings.Replace(probeImport, "%s", "10.1.1.1", 1))
	cur := t.TempDir()
	writeFile(t, filepath.Join(cur, "db.yaml"), strings.Replace(probeImport, "%s", "10.1.1.2", 1))
	stale, _, _ := startServe(t, append([]string{"--manifests", old}, mc...)...)
	code, out, _ := runCLI(t, append([]string{"probe", "--server", stale, "--manifests", cur}, mc...)...)
	if code != 1 || !strings.Contains(out, "db-0.east.db.default.svc.clusterset.local.") || !strings.Contains(out, "10.1.1.2") {
		t.Fatalf("exit %d, want 1 naming db-0.east.db.default.svc.clusterset.local. and 10.1.1.2:\n%s", code, out)
	}
	fresh, _, _ := startServe(t, append([]string{"--manifests", cur}, mc...)...)
	if code, out, _ := runCLI(t, append([]string{"probe", "--server", fresh, "--manifests", cur}, mc...)...); code != 0 || !strings.Contains(out, "_pg._tcp.db.default.svc.clusterset.local.") {
		t.Fatalf("exit %d against an up-to-date server, want 0 with the import's SRV name asked:\n%s", code, out)
	}
}
