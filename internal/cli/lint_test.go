package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// lintRoot is the repository root (tests start in internal/cli).
var lintRoot, _ = filepath.Abs(filepath.Join("..", ".."))

// runLint runs "clusterdns lint ARGS" in-process from the repository root.
func lintCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(lintRoot)
	var out, errOut bytes.Buffer
	code = Main(context.Background(), append([]string{"lint"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestLintExamples: the example cluster's broken.yaml is broken on purpose
// (it is the seed's most common mistake, and the README tells people to
// try it), so linting examples/ gives exactly its finding and exits 1.
func TestLintExamples(t *testing.T) {
	code, out, errOut := lintCLI(t, "", "examples/")
	want := `examples/cluster/broken.yaml:28: error subdomain-no-service: Pod default/cache-0: spec.subdomain "caches" names no Service in namespace default, so cache-0.caches.default.svc.cluster.local is NXDOMAIN; the headless Service "cache" selects this pod
    fix: set spec.subdomain: cache, or create a headless Service named "caches"
`
	if code != 1 || out != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant exit 1 and:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
	if !strings.Contains(errOut, "clusterdns lint: 1 finding (1 error, 0 warnings, 0 info) in 10 objects") {
		t.Errorf("stderr: %s", errOut)
	}
	// Without broken.yaml, the example is clean.
	code, out, errOut = lintCLI(t, "", "examples/cluster/web.yaml", "examples/cluster/api.yaml", "examples/cluster/external.yaml", "examples/cluster/legacy.yaml")
	if code != 0 || out != "" {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}

// TestLintDeploy: every kustomization under deploy/ (the base through
// deploy/ itself, and each overlay: they describe different installs, so
// they are linted one at a time) lints clean, with every rule and at the
// strictest threshold.
func TestLintDeploy(t *testing.T) {
	root := filepath.Join(lintRoot, "deploy")
	if _, err := os.Stat(root); os.IsNotExist(err) {
		t.Skip("no deploy/ yet")
	}
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var k struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			return err
		}
		if k.Kind != "Component" { // components are linted inside the overlays that use them
			rel, _ := filepath.Rel(lintRoot, filepath.Dir(p))
			dirs = append(dirs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no kustomization under deploy/")
	}
	for _, d := range dirs {
		code, out, errOut := lintCLI(t, "", "--fail-on", "info", d)
		if code != 0 || out != "" {
			t.Errorf("lint %s: exit %d\n%s%s", d, code, out, errOut)
		}
		if !strings.Contains(errOut, "0 findings") {
			t.Errorf("lint %s: %s", d, errOut)
		}
	}
}

// TestLintHelmStdin lints a `helm template` stream on stdin.
func TestLintHelmStdin(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(lintRoot, "testdata/lint/inputs/helm/stream.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := lintCLI(t, string(data), "-")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "<stdin>:13: info publish-not-ready: Service default/release-kafka-headless: ") ||
		!strings.HasSuffix(lines[0], "[kafka/templates/svc-headless.yaml]") ||
		!strings.HasPrefix(lines[2], `<stdin>:51: error statefulset-service-missing: StatefulSet default/release-kafka: spec.serviceName "release-kafka-headles" names no Service`) ||
		lines[3] != `    fix: set spec.serviceName: release-kafka-headless, or create a headless Service named "release-kafka-headles"` {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestLintKustomizeOverlay lints an overlay directory: findings are on the
// lines of the base files the objects came from.
func TestLintKustomizeOverlay(t *testing.T) {
	code, out, _ := lintCLI(t, "", "--fail-on", "none", "testdata/lint/inputs/kustomize/overlay")
	if code != 0 ||
		!strings.Contains(out, "testdata/lint/inputs/kustomize/base/db.yaml:6: info publish-not-ready: Service prod/prod-db: ") ||
		!strings.Contains(out, `testdata/lint/inputs/kustomize/base/workers.yaml:30: error subdomain-no-service: Deployment prod/prod-worker: spec.template.spec.subdomain "workers" names no Service in namespace prod`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestLintExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: Service\napiVersion: v1\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const headless = "testdata/lint/headless-no-ports/positive" // warnings only
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{headless}, 0, ""},
		{[]string{"--fail-on", "warning", headless}, 1, "lint: 2 findings at or above warning"},
		{[]string{"--fail-on", "info", "--disable", "headless-no-ports", headless}, 0, ""},
		{[]string{"--enable", "headless-no-ports,publish-not-ready", "--fail-on", "warning", headless}, 1, ""},
		{[]string{"examples/"}, 1, "lint: 1 finding at or above error"},
		{[]string{"--fail-on", "none", "examples/"}, 0, ""},
		{[]string{bad}, 2, "bad.yaml:7: document 0: Service default/x: spec.ports[0].port: port 0 out of range 1-65535"},
		{[]string{"no/such/dir"}, 2, "no/such/dir: stat: no such file or directory"},
		{[]string{}, 2, "give at least one PATH"},
		{[]string{"--disable", "nope", headless}, 2, `unknown rule "nope"`},
		{[]string{"--output", "xml", headless}, 2, `--output "xml"`},
		{[]string{"--fail-on", "fatal", headless}, 2, "--fail-on"},
		{[]string{"--no-such-flag", headless}, 2, "unknown flag"},
	} {
		code, _, errOut := lintCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.err) {
			t.Errorf("lint %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.err)
		}
	}
}

func TestLintJSON(t *testing.T) {
	code, out, _ := lintCLI(t, "", "-o", "json", "testdata/lint/inputs/ignore")
	var rep struct {
		Findings []struct {
			File, Severity, Rule, Message, Fix string
			Line                               int
			Suppressed                         bool
			Object                             struct{ Kind, Namespace, Name string }
		}
		Errors  []any
		Summary map[string]int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if code != 1 || len(rep.Findings) != 4 || rep.Summary["suppressed"] != 3 || rep.Summary["error"] != 1 || rep.Summary["objects"] != 3 {
		t.Fatalf("exit %d: %s", code, out)
	}
	f := rep.Findings[3]
	if f.File != "testdata/lint/inputs/ignore/ignored.yaml" || f.Line != 47 || f.Rule != "subdomain-no-service" || f.Suppressed || f.Object.Name != "member-1" || f.Fix == "" {
		t.Errorf("finding %+v", f)
	}
}

func TestLintSARIFInputError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Service\nmetadata: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := lintCLI(t, "", "-o", "sarif", bad)
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful        bool             `json:"executionSuccessful"`
				ToolExecutionNotifications []map[string]any `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	inv := log.Runs[0].Invocations[0]
	if code != 2 || inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 1 {
		t.Fatalf("exit %d: %s", code, out)
	}
}

func TestLintListRules(t *testing.T) {
	code, out, _ := lintCLI(t, "", "--list-rules")
	if code != 0 || !strings.Contains(out, "subdomain-no-service") || !strings.Contains(out, "dnsconfig-invalid") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
