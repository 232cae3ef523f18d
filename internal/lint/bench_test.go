package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeObjects writes n objects (n a multiple of 5) in groups of five: a
// headless Service with a 3-replica StatefulSet, a ClusterIP Service with a
// 2-replica Deployment that refers to both by name, and a Pod. Every tenth
// group has a subdomain mistake. 50 namespaces, one file per namespace.
func writeObjects(tb testing.TB, dir string, n int) { writeObjectsIn(tb, dir, n, 50) }

// writeObjectsIn is writeObjects over the given number of namespaces.
func writeObjectsIn(tb testing.TB, dir string, n, namespaces int) {
	tb.Helper()
	files := map[int]*strings.Builder{}
	for g := range n / 5 {
		nsi := g % namespaces
		b := files[nsi]
		if b == nil {
			b = &strings.Builder{}
			files[nsi] = b
		}
		ns := fmt.Sprintf("ns-%d", nsi)
		sub := fmt.Sprintf("db-%d", g)
		if g%10 == 0 {
			sub = fmt.Sprintf("dbs-%d", g)
		}
		fmt.Fprintf(b, `---
apiVersion: v1
kind: Service
metadata: {name: db-%[1]d, namespace: %[2]s}
spec:
  clusterIP: None
  selector: {app: db-%[1]d}
  ports: [{name: postgres, port: 5432, targetPort: postgres}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db-%[1]d, namespace: %[2]s}
spec:
  serviceName: db-%[1]d
  replicas: 3
  selector: {matchLabels: {app: db-%[1]d}}
  template:
    metadata: {labels: {app: db-%[1]d}}
    spec:
      containers:
        - name: postgres
          image: postgres:17
          ports: [{name: postgres, containerPort: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: api-%[1]d, namespace: %[2]s}
spec:
  selector: {app: api-%[1]d}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-%[1]d, namespace: %[2]s}
spec:
  replicas: 2
  selector: {matchLabels: {app: api-%[1]d}}
  template:
    metadata: {labels: {app: api-%[1]d}}
    spec:
      containers:
        - name: api
          image: example.invalid/api:1
          args: ["--db=postgres://db-0.db-%[1]d.%[2]s.svc.cluster.local:5432", "--self=api-%[1]d.%[2]s"]
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo-%[1]d, namespace: %[2]s, labels: {app: db-%[1]d}}
spec:
  hostname: solo
  subdomain: %[3]s
  containers: [{name: c, image: example.invalid/c:1, ports: [{name: postgres, containerPort: 5432}]}]
`, g, ns, sub)
	}
	for i, b := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("ns-%02d.yaml", i)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkLint5000 lints 5,000 objects (6,000 derived pods) from files:
// reading, decoding, deriving the state, building the zone and every rule.
func BenchmarkLint5000(b *testing.B) {
	dir := b.TempDir()
	writeObjects(b, dir, 5000)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Lint(context.Background(), []string{dir}, nil, Options{})
		if err != nil || len(rep.Errors) > 0 || rep.Objects != 5000 {
			b.Fatal(err, rep.Errors, rep.Objects)
		}
	}
}

// BenchmarkLintOneNamespace lints 1,000 and 10,000 objects in one
// namespace, a Service per workload: the time per object must not grow
// with the count. Each selector used to be matched against every pod of
// its namespace (deriving slices, and lint's selector checks): at 71,000
// objects that was minutes; the pod index makes it linear.
func BenchmarkLintOneNamespace(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			writeObjectsIn(b, dir, n, 1)
			b.ResetTimer()
			for b.Loop() {
				rep, err := Lint(context.Background(), []string{dir}, nil, Options{})
				if err != nil || len(rep.Errors) > 0 || rep.Objects != n {
					b.Fatal(err, rep.Errors, rep.Objects)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/object")
		})
	}
}

func TestLint5000Findings(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	writeObjects(t, dir, 5000)
	rep := lintPaths(t, Options{}, dir)
	counts := map[string]int{}
	for _, f := range rep.Findings {
		counts[f.Rule]++
	}
	// 100 subdomain typos; every api Deployment's --self has one dot.
	if counts[RuleSubdomainNoService] != 100 || counts[RuleNdotsShortNames] != 1000 || len(counts) != 2 {
		t.Errorf("findings: %v", counts)
	}
}
