package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/lint/golden")

// testdata is the repository's testdata/lint, relative to this package.
const testdata = "../../testdata/lint"

// want is one expected finding: where (file within the set, line), how
// bad, which rule, and a piece of the message that pins what it says.
type want struct {
	at       string
	severity Severity
	rule     string
	says     string
}

// positives are the exact findings of testdata/lint/<rule>/positive. Every
// negative set has none.
var positives = map[string][]want{
	RuleImportNoEndpoints: {
		{"imports.yaml:5", Warning, RuleImportNoEndpoints, `no EndpointSlice in the inputs is labelled multicluster.kubernetes.io/service-name=cache with a multicluster.kubernetes.io/source-cluster: a Headless import has no names at all (NXDOMAIN)`},
		{"imports.yaml:16", Info, RuleImportNoEndpoints, `the clusterset IP still answers, but no per-cluster endpoint names exist`},
	},
	RuleImportNoHostnames: {
		{"imports.yaml:8", Warning, RuleImportNoHostnames, `2 of 2 endpoint(s) have no hostname, so their names in the multicluster zone are their addresses (10-1-0-7.east.workers, 10-1-0-8.east.workers)`},
		{"imports.yaml:36", Info, RuleImportNoHostnames, `1 of 2 endpoint(s) have no hostname`},
	},
	RuleImportSliceNoCluster: {
		{"imports.yaml:19", Error, RuleImportSliceNoCluster, `EndpointSlice db-lost is labelled multicluster.kubernetes.io/service-name=db but has no multicluster.kubernetes.io/source-cluster label`},
	},
	RuleSubdomainNoService: {
		{"db.yaml:25", Error, RuleSubdomainNoService, `spec.subdomain "dbs" names no Service in namespace subdomain-no-service, so db-0.dbs.subdomain-no-service.svc.cluster.local is NXDOMAIN; the headless Service "db" selects this pod`},
		{"job.yaml:13", Error, RuleSubdomainNoService, `the pods get no per-pod DNS name`},
	},
	RuleSubdomainServiceNotHeadless: {
		{"api.yaml:25", Warning, RuleSubdomainServiceNotHeadless, `api.subdomain-service-not-headless.svc.cluster.local answers 10.96.0.2, not the pods' addresses; solo.api.subdomain-service-not-headless.svc.cluster.local does resolve (to 10.244.0.1)`},
	},
	RuleSubdomainServiceNotSelected: {
		{"workers.yaml:17", Error, RuleSubdomainServiceNotSelected, `selector app=peer does not match the pod labels app=worker: the EndpointSlice controller writes no endpoint for these pods, so worker.peers.subdomain-service-not-selecting.svc.cluster.local is NXDOMAIN`},
		{"workers.yaml:28", Error, RuleSubdomainServiceNotSelected, `StatefulSet subdomain-service-not-selecting/store: spec.serviceName "peers"`},
	},
	RuleHostnameWithoutSubdomain: {
		{"cache.yaml:24", Warning, RuleHostnameWithoutSubdomain, `spec.hostname "cache-0" is set without spec.subdomain: the pod gets no DNS name`},
	},
	RuleStatefulSetServiceMissing: {
		{"queue.yaml:20", Warning, RuleStatefulSetServiceMissing, `spec.serviceName is empty: it is optional in recent Kubernetes, but the pods (queue-0, queue-1, queue-2) then get no per-pod DNS names`},
		{"redis.yaml:21", Error, RuleStatefulSetServiceMissing, `spec.serviceName "cache" names no Service in namespace statefulset-service-missing, so redis-0.cache.statefulset-service-missing.svc.cluster.local is NXDOMAIN; the headless Service "redis" selects these pods`},
	},
	RuleStatefulSetNotHeadless: {
		{"web.yaml:22", Warning, RuleStatefulSetNotHeadless, `web.statefulset-service-not-headless.svc.cluster.local answers 10.96.0.2, not the pods' addresses`},
	},
	RuleHeadlessPortUnnamed: {
		{"services.yaml:13", Warning, RuleHeadlessPortUnnamed, `spec.ports[0] (9000/TCP) has no name, so no _<name>._tcp.one.headless-port-unnamed.svc.cluster.local SRV record exists for it (SRV one.headless-port-unnamed.svc.cluster.local itself still lists it, with the endpoint port 9000)`},
		{"services.yaml:28", Error, RuleHeadlessPortUnnamed, `the API server also rejects a Service with several ports unless each is named`},
		{"services.yaml:41", Error, RuleHeadlessPortUnnamed, `its targetPort refers to the container port "raft" by name`},
		{"services.yaml:55", Error, RuleHeadlessPortUnnamed, `Deployment headless-port-unnamed/node looks up _raft._tcp.four.headless-port-unnamed.svc.cluster.local.`},
	},
	RuleHeadlessNoPorts: {
		{"lonely.yaml:9", Warning, RuleHeadlessNoPorts, `no ready endpoint in these inputs (lonely.headless-no-ports.svc.cluster.local is NXDOMAIN): once pods are ready it answers their addresses and per-pod names, but it never has SRV records`},
		{"members.yaml:9", Warning, RuleHeadlessNoPorts, `the EndpointSlice controller still lists its 2 endpoint(s), with no ports, so members.headless-no-ports.svc.cluster.local answers 10.244.0.2, 10.244.0.3 and its per-pod names resolve (member-0.members.headless-no-ports.svc.cluster.local, member-1.members.headless-no-ports.svc.cluster.local); only SRV records are missing`},
	},
	RuleSelectorMatchesNothing: {
		{"api.yaml:8", Warning, RuleSelectorMatchesNothing, `selector app=api matches no pod in the inputs, so the Service has no endpoints: api.selector-matches-nothing.svc.cluster.local answers its cluster IP (10.96.0.2), but no endpoint is behind it; nearest: Deployment selector-matches-nothing/api has pod labels app=api-server`},
		{"partial.yaml:10", Info, RuleSelectorMatchesNothing, `the inputs hold no pod or workload in namespace selector-matches-nothing-partial`},
	},
	RuleSelectorlessNoEndpoints: {
		{"legacy.yaml:7", Warning, RuleSelectorlessNoEndpoints, `legacy.selectorless-no-endpoints.svc.cluster.local is NXDOMAIN`},
		{"legacy.yaml:18", Warning, RuleSelectorlessNoEndpoints, `EndpointSlice selectorless-no-endpoints/ext-1 is labelled kubernetes.io/service-name=extt, which names no Service`},
	},
	RuleTargetPortNameUnknown: {
		{"api.yaml:13", Error, RuleTargetPortNameUnknown, `spec.ports[0].targetPort "http" (TCP) is declared by no container of Deployment target-port-name-unknown/api (its named ports: web 8080/TCP)`},
		{"peers.yaml:15", Error, RuleTargetPortNameUnknown, `(it declares "gossip" as TCP, not UDP): the EndpointSlice controller leaves the port out of those pods' endpoints, so SRV _gossip._udp.peers.target-port-name-unknown.svc.cluster.local has no record for them (NXDOMAIN)`},
	},
	RulePublishNotReady: {
		{"etcd.yaml:10", Info, RulePublishNotReady, `(here pod etcd-1 is not Ready and etcd-1.etcd.publish-not-ready.svc.cluster.local answers 10.244.0.2)`},
	},
	RuleLabelInvalid: {
		{"names.yaml:12", Error, RuleLabelInvalid, `spec.ports[0].name: invalid port name "Postgres"`},
		{"names.yaml:23", Error, RuleLabelInvalid, `spec.hostname: invalid DNS label "DB_0"`},
		{"names.yaml:29", Error, RuleLabelInvalid, `spec.containers[0].ports[0].name: invalid port name "postgres-replication": must be no more than 15 characters`},
		{"names.yaml:38", Error, RuleLabelInvalid, `spec.serviceName: invalid DNS label "db.replicas"`},
	},
	RuleNdotsShortNames: {
		{"app.yaml:62", Info, RuleNdotsShortNames, `refers to "web.ndots-short-names", which has 1 dot(s), fewer than ndots:5: glibc getaddrinfo asks web.ndots-short-names.ndots-short-names.svc.cluster.local first (NXDOMAIN), so every lookup sends 4 queries, 2 of them wasted, before web.ndots-short-names.svc.cluster.local answers`},
		{"app.yaml:65", Info, RuleNdotsShortNames, `so every lookup sends 8 queries, 6 of them wasted, before db.ndots-short-names.svc.cluster.local answers`},
	},
	RuleDNSConfigInvalid: {
		{"pods.yaml:8", Error, RuleDNSConfigInvalid, `spec.dnsConfig.nameservers: required: at least one nameserver when dnsPolicy is None`},
		{"pods.yaml:22", Error, RuleDNSConfigInvalid, `spec.dnsConfig.nameservers lists 4 servers: the API server rejects more than 3`},
		{"pods.yaml:22", Error, RuleDNSConfigInvalid, `spec.dnsConfig.nameservers[3] "dns.example.com" is not an IP address`},
		{"pods.yaml:25", Error, RuleDNSConfigInvalid, `spec.dnsConfig.searches[1] "bad..example.com" is not a domain name`},
		{"pods.yaml:27", Error, RuleDNSConfigInvalid, `spec.dnsConfig.options[0] has no name`},
		{"pods.yaml:48", Warning, RuleDNSConfigInvalid, `spec.template.spec.dnsPolicy is ClusterFirst with hostNetwork: true: the kubelet then writes the node's resolv.conf (Default)`},
		{"pods.yaml:59", Error, RuleDNSConfigInvalid, `spec.dnsPolicy: unsupported value "ClusterFirstt"`},
	},
}

func lintPaths(t testing.TB, opts Options, paths ...string) *Report {
	t.Helper()
	rep, err := Lint(context.Background(), paths, nil, opts)
	if err != nil {
		t.Fatalf("Lint(%v): %v", paths, err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("Lint(%v): input errors: %v", paths, rep.Errors)
	}
	return rep
}

// TestRules checks the exact findings and lines of every rule's positive
// set, and that its negative set is clean.
func TestRules(t *testing.T) {
	for _, r := range Rules() {
		t.Run(r.ID, func(t *testing.T) {
			for _, set := range []string{"positive", "negative"} {
				if _, err := os.Stat(filepath.Join(testdata, r.ID, set)); err != nil {
					t.Fatalf("testdata/lint/%s/%s: %v (every rule needs a positive and a negative set)", r.ID, set, err)
				}
			}
			dir := filepath.Join(testdata, r.ID, "positive")
			rep := lintPaths(t, Options{}, dir)
			var got []string
			for _, f := range rep.Findings {
				rel, _ := filepath.Rel(dir, f.File)
				got = append(got, fmt.Sprintf("%s:%d: %s %s", filepath.ToSlash(rel), f.Line, f.Severity, f.Rule))
			}
			var exp []string
			for _, w := range positives[r.ID] {
				exp = append(exp, fmt.Sprintf("%s: %s %s", w.at, w.severity, w.rule))
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("findings of %s:\n got  %s\n want %s\n%s", dir, strings.Join(got, "\n      "), strings.Join(exp, "\n      "), text(rep))
			}
			for i, w := range positives[r.ID] {
				if !strings.Contains(rep.Findings[i].Message, w.says) {
					t.Errorf("%s: message\n  %s\nlacks\n  %s", w.at, rep.Findings[i].Message, w.says)
				}
				if rep.Findings[i].Fix == "" {
					t.Errorf("%s: no fix", w.at)
				}
			}
			if !slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Rule == r.ID }) {
				t.Errorf("the positive set has no finding of %s", r.ID)
			}

			// Disabled, the rule finds nothing; the others are unaffected.
			off := lintPaths(t, Options{Disable: []string{r.ID}}, dir)
			if n := len(rep.Findings) - len(off.Findings); n != len(positives[r.ID]) {
				t.Errorf("--disable %s removed %d findings, want %d", r.ID, n, len(positives[r.ID]))
			}
			only := lintPaths(t, Options{Enable: []string{r.ID}}, dir)
			if len(only.Findings) != len(positives[r.ID]) {
				t.Errorf("--enable %s: %d findings, want %d", r.ID, len(only.Findings), len(positives[r.ID]))
			}

			neg := lintPaths(t, Options{}, filepath.Join(testdata, r.ID, "negative"))
			if len(neg.Findings) > 0 {
				t.Errorf("negative set has findings:\n%s", text(neg))
			}
		})
	}
}

// TestTestdataSets checks that every directory of testdata/lint is a rule's
// (or the inputs of the other tests).
func TestTestdataSets(t *testing.T) {
	entries, err := os.ReadDir(testdata)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := ruleByID(e.Name()); !ok && e.Name() != "inputs" && e.Name() != "golden" {
			t.Errorf("testdata/lint/%s names no rule", e.Name())
		}
	}
}

func text(r *Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	for _, e := range r.Errors {
		fmt.Fprintln(&b, e)
	}
	return b.String()
}

func TestIgnoreAnnotation(t *testing.T) {
	rep := lintPaths(t, Options{}, filepath.Join(testdata, "inputs", "ignore"))
	var got []string
	for _, f := range rep.Findings {
		got = append(got, fmt.Sprintf("%d %s %s suppressed=%v", f.Line, f.Rule, f.Object, f.Suppressed))
	}
	exp := []string{
		"12 headless-no-ports Service ignore/members suppressed=true",
		"14 publish-not-ready Service ignore/members suppressed=true",
		"30 subdomain-no-service Pod ignore/member-0 suppressed=true",
		"47 subdomain-no-service Pod ignore/member-1 suppressed=false",
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(exp, "\n  "))
	}
	if n := rep.Count(Info); n != 1 {
		t.Errorf("Count = %d, want 1 (suppressed findings do not count)", n)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	if strings.Count(b.String(), "\n    fix:") != 1 {
		t.Errorf("text output shows suppressed findings:\n%s", b.String())
	}
}

// TestKustomizeOverlay builds an overlay whose namePrefix breaks a pod's
// subdomain, and checks the findings land on the base files' lines.
func TestKustomizeOverlay(t *testing.T) {
	dir := filepath.Join(testdata, "inputs", "kustomize")
	rep := lintPaths(t, Options{}, filepath.Join(dir, "overlay"))
	var got []string
	for _, f := range rep.Findings {
		rel, _ := filepath.Rel(dir, f.File)
		got = append(got, fmt.Sprintf("%s:%d: %s %s: %s", filepath.ToSlash(rel), f.Line, f.Severity, f.Rule, f.Object))
	}
	exp := []string{
		// The patch adds publishNotReadyAddresses: the base has no such
		// line, so the finding is at the spec it goes into.
		"base/db.yaml:6: info publish-not-ready: Service prod/prod-db",
		"base/workers.yaml:30: error subdomain-no-service: Deployment prod/prod-worker",
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("got\n  %s\nwant\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(exp, "\n  "), text(rep))
	}
	if !strings.Contains(rep.Findings[1].Message, `the headless Service "prod-workers" selects this pod`) {
		t.Errorf("message: %s", rep.Findings[1].Message)
	}
	// The base alone is clean: kustomize followed the rename into the
	// StatefulSet's serviceName, not into the subdomain.
	if base := lintPaths(t, Options{}, filepath.Join(dir, "base")); len(base.Findings) > 0 {
		t.Errorf("base has findings:\n%s", text(base))
	}
}

func TestKustomizeErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources:\n  - missing.yaml\n")
	rep, err := Lint(context.Background(), []string{dir}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].File != filepath.Join(dir, "kustomization.yaml") || !strings.Contains(rep.Errors[0].Message, "kustomize build") {
		t.Fatalf("errors: %v", rep.Errors)
	}

	// A value Decode rejects in a resource is reported in that resource's
	// file, at the object.
	dir = t.TempDir()
	write(t, dir, "kustomization.yaml", "namespace: x\nresources:\n  - svc.yaml\n")
	write(t, dir, "svc.yaml", "# c\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n    - port: 70000\n")
	rep, err = Lint(context.Background(), []string{dir}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].File != filepath.Join(dir, "svc.yaml") || rep.Errors[0].Line != 2 || !strings.Contains(rep.Errors[0].Message, "port 70000 out of range") {
		t.Fatalf("errors: %v", rep.Errors)
	}
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHelmStream lints a `helm template` stream from stdin: lines are the
// stream's, and each finding names the template it came from.
func TestHelmStream(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "inputs", "helm", "stream.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Lint(context.Background(), []string{"-"}, bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, fmt.Sprintf("%s:%d: %s %s [%s]", f.File, f.Line, f.Severity, f.Rule, f.Template))
	}
	exp := []string{
		"<stdin>:13: info publish-not-ready [kafka/templates/svc-headless.yaml]",
		"<stdin>:51: error statefulset-service-missing [kafka/templates/statefulset.yaml]",
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("got\n  %s\nwant\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(exp, "\n  "), text(rep))
	}
}

// TestCrossFile checks that objects in different files and inputs are
// linted together.
func TestCrossFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: None\n  selector:\n    app: web\n  ports:\n    - name: http\n      port: 80\n")
	sts := "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n  serviceName: web\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: c\n          image: i\n"
	rep, err := Lint(context.Background(), []string{filepath.Join(dir, "svc.yaml"), "-"}, strings.NewReader(sts), Options{})
	if err != nil || len(rep.Errors) > 0 {
		t.Fatal(err, rep.Errors)
	}
	if len(rep.Findings) > 0 {
		t.Errorf("findings:\n%s", text(rep))
	}
	// Alone, each side has a finding.
	alone, _ := Lint(context.Background(), []string{"-"}, strings.NewReader(sts), Options{})
	if len(alone.Findings) != 1 || alone.Findings[0].Rule != RuleStatefulSetServiceMissing {
		t.Errorf("StatefulSet alone:\n%s", text(alone))
	}
}

func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n    - port: [\n")
	write(t, dir, "dup.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n")
	rep, err := Lint(context.Background(), []string{filepath.Join(dir, "bad.yaml"), filepath.Join(dir, "missing.yaml")}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 2 || len(rep.Findings) != 0 {
		t.Fatalf("errors %v, findings %v", rep.Errors, rep.Findings)
	}
	rep, _ = Lint(context.Background(), []string{filepath.Join(dir, "dup.yaml")}, nil, Options{})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "duplicate Service default/b") || rep.Errors[0].Line != 6 {
		t.Fatalf("errors %v", rep.Errors)
	}
	if _, err := Lint(context.Background(), nil, nil, Options{Disable: []string{"no-such-rule"}}); err == nil || !strings.Contains(err.Error(), `unknown rule "no-such-rule"`) {
		t.Errorf("unknown rule: %v", err)
	}
	// A Helm chart directory is not linted as it stands.
	write(t, dir, "Chart.yaml", "name: x\n")
	rep, _ = Lint(context.Background(), []string{dir}, nil, Options{})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "helm template") {
		t.Errorf("chart: %v", rep.Errors)
	}
}

// TestSARIFGolden checks the SARIF document of findings from every kind of
// input: a file, a kustomization (lines of the base), stdin (Helm) and
// suppressed findings. go test ./internal/lint -run SARIF -update rewrites it.
func TestSARIFGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "inputs", "helm", "stream.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths, as a CI job gives them from the repository root.
	t.Chdir("../..")
	rep, err := Lint(context.Background(), []string{
		"examples/cluster",
		"testdata/lint/inputs/kustomize/overlay",
		"testdata/lint/inputs/ignore",
		"testdata/lint/headless-no-ports/positive",
		"-",
	}, bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteSARIF(&b, "test"); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "lint", "golden", "lint.sarif")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("SARIF differs from %s (run with -update if the change is intended):\n%s", golden, firstDiff(b.String(), string(want)))
	}

	// The document is what code scanning needs: 2.1.0, one run, every
	// result with a rule, a level, a file and a line.
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != len(rep.Findings) {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation
		if log.Runs[0].Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Level == "" || loc.ArtifactLocation.URI == "" || loc.Region.StartLine < 1 {
			t.Errorf("result %+v", r)
		}
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, gl, wl)
		}
	}
	return ""
}
