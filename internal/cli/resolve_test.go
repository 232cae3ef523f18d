package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/resolv"
)

func runResolveCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	code = Main(context.Background(), append([]string{"resolve"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeResolveFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := writeResolveFile(t, dir, "bad.conf", "nameserver dns.example.com\n")
	good := writeResolveFile(t, dir, "good.conf", "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
	tests := []struct {
		rule string
		args []string
		code int
		want string
	}{
		{"a name that resolves: 0", []string{"web"}, 0, "resolved by web.default.svc.cluster.local."},
		{"a name that does not resolve: 1", []string{"web-2.web"}, 1, "web-2.web does not resolve (EAI_NONAME)"},
		{"musl stopping on NODATA: 1", []string{"default", "--libc", "musl", "--resolv-conf", good}, 1, "does not resolve"},
		{"an invalid name: 2", []string{"a..b"}, 2, "empty label"},
		{"no name: 2", []string{}, 2, "one NAME"},
		{"an unknown flag: 2", []string{"web", "--bogus"}, 2, "unknown flag"},
		{"an unknown libc: 2", []string{"web", "--libc", "uclibc"}, 2, "want glibc, musl or go"},
		{"a call the libc does not have: 2", []string{"web", "--libc", "go", "--call", "getaddrinfo"}, 2, "use --call go"},
		{"--type without dig: 2", []string{"web", "--type", "SRV"}, 2, "--type goes with --call dig"},
		{"an unknown --type: 2", []string{"web", "--call", "dig", "--type", "BOGUS"}, 2, "not a DNS type"},
		{"--pod without a namespace: 2", []string{"web", "--pod", "web-0"}, 2, "want NAMESPACE/NAME"},
		{"--pod that does not exist: 2", []string{"web", "--pod", "default/ghost"}, 2, "no such pod"},
		{"--pod and --resolv-conf: 2", []string{"web", "--pod", "default/web-0", "--resolv-conf", good}, 2, "choose one"},
		{"--namespace with --pod: 2", []string{"web", "--pod", "default/web-0", "--namespace", "prod"}, 2, "--namespace describes"},
		{"--node-search with --resolv-conf: 2", []string{"web", "--resolv-conf", good, "--node-search", "a.example"}, 2, "used as it is"},
		{"a missing --resolv-conf: 2", []string{"web", "--resolv-conf", filepath.Join(dir, "none")}, 2, "no such file"},
		{"a --resolv-conf no resolver reads as meant: 2", []string{"web", "--resolv-conf", bad}, 2, `line 1: "nameserver dns.example.com"`},
		{"--ndots out of range: 2", []string{"web", "--ndots", "16"}, 2, "between 0 and 15"},
		{"a bad --cluster-dns: 2", []string{"web", "--cluster-dns", "kube-dns"}, 2, "not an IP address"},
		{"a bad --upstream: 2", []string{"web", "--upstream", "google"}, 2, "want assume, nxdomain or refused"},
		{"a bad --output: 2", []string{"web", "-o", "yaml"}, 2, "want text or json"},
		{"a bad --server: 2", []string{"web", "--server", "a:b:c"}, 2, "want host:port"},
		{"manifests that do not load: 2", []string{"web", "--manifests", filepath.Join(dir, "none")}, 2, "loading cluster state"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			code, out, errOut := runResolveCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("resolve %v: exit %d, want %d; want %q in\n%s%s", tt.args, code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

// resolveOut is the JSON output, decoded loosely to check its exact shape.
func decodeResolveJSON(t *testing.T, out string) (map[string]any, resolveJSON) {
	t.Helper()
	var loose map[string]any
	if err := json.Unmarshal([]byte(out), &loose); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var strict resolveJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&strict); err != nil {
		t.Fatalf("JSON with unknown fields: %v\n%s", err, out)
	}
	return loose, strict
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestResolveJSONIsExactlyTheDocumentedShape(t *testing.T) {
	code, out, errOut := runResolveCLI(t, "web.default", "-o", "json", "--node-search", "us-east-2.compute.internal")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	loose, r := decodeResolveJSON(t, out)
	if got := keys(loose); !reflect.DeepEqual(got, []string{"config", "libc", "queries", "resolved_by", "wasted"}) {
		t.Errorf("top-level keys %v", got)
	}
	if got := keys(loose["config"].(map[string]any)); !reflect.DeepEqual(got, []string{"nameservers", "ndots", "options", "search"}) {
		t.Errorf("config keys %v", got)
	}
	for _, q := range loose["queries"].([]any) {
		if got := keys(q.(map[string]any)); !reflect.DeepEqual(got, []string{"name", "rcode", "type"}) {
			t.Errorf("query keys %v (a dry run has no ms)", got)
		}
	}
	want := resolveJSON{
		Config: resolveJSONConfig{Nameservers: []string{"10.96.0.10"}, Search: []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local", "us-east-2.compute.internal"}, Ndots: 5, Options: []string{"timeout:5", "attempts:2"}},
		Libc:   "glibc",
		Queries: []resolveJSONQ{
			{Name: "web.default.default.svc.cluster.local.", Type: "A", Rcode: "NXDOMAIN"},
			{Name: "web.default.default.svc.cluster.local.", Type: "AAAA", Rcode: "NXDOMAIN"},
			{Name: "web.default.svc.cluster.local.", Type: "A", Rcode: "NOERROR"},
			{Name: "web.default.svc.cluster.local.", Type: "AAAA", Rcode: "NODATA"},
		},
		Wasted: 2,
	}
	by := "web.default.svc.cluster.local."
	want.ResolvedBy = &by
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %s\nwant %+v", out, want)
	}

	// Not resolved: resolved_by is null, every question is still listed.
	code, out, _ = runResolveCLI(t, "nosuch", "-o", "json", "--libc", "musl")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	loose, r = decodeResolveJSON(t, out)
	if v, ok := loose["resolved_by"]; !ok || v != nil {
		t.Errorf("resolved_by %v, want null", v)
	}
	if len(r.Queries) != 8 || r.Libc != "musl" || r.Wasted != 6 {
		t.Errorf("got %s", out)
	}
	for _, q := range r.Queries {
		if !strings.HasSuffix(q.Name, ".") {
			t.Errorf("name %q is not fully qualified", q.Name)
		}
	}
}

func TestResolveReadsThePodFromManifests(t *testing.T) {
	dir := t.TempDir()
	writeResolveFile(t, dir, "pods.yaml", `
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.53
  ports: [{name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: prod}
spec:
  dnsConfig:
    searches: [corp.example]
    options: [{name: ndots, value: "2"}, {name: single-request-reopen}]
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: prod}
spec:
  hostNetwork: true
  containers: [{name: c, image: x}]
`)
	node := writeResolveFile(t, dir, "node.conf", "nameserver 172.31.0.2\nsearch us-east-2.compute.internal\n")
	tests := []struct {
		rule  string
		args  []string
		cfg   resolveJSONConfig
		first string
		notes string
	}{
		{"dnsConfig ndots 2 and a search domain: the external name goes out first", []string{"www.example.com", "--pod", "prod/tuned"},
			resolveJSONConfig{Nameservers: []string{"10.96.0.53"}, Search: []string{"prod.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"}, Ndots: 2, Options: []string{"timeout:5", "attempts:2", "single-request-reopen"}},
			"www.example.com.", ""},
		{"hostNetwork with ClusterFirst gets the node's resolv.conf", []string{"www.example.com", "--pod", "prod/agent", "--node-resolv-conf", node},
			resolveJSONConfig{Nameservers: []string{"172.31.0.2"}, Search: []string{"us-east-2.compute.internal"}, Ndots: 1, Options: []string{"timeout:5", "attempts:2"}},
			"www.example.com.", "ClusterFirstWithHostNet"},
		{"--ndots and --search override what the pod has", []string{"www.example.com", "--pod", "prod/tuned", "--ndots", "5", "--search", "a.example,b.example"},
			resolveJSONConfig{Nameservers: []string{"10.96.0.53"}, Search: []string{"a.example", "b.example"}, Ndots: 5, Options: []string{"timeout:5", "attempts:2", "single-request-reopen"}},
			"www.example.com.a.example.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			code, out, errOut := runResolveCLI(t, append(tt.args, "--manifests", dir, "-o", "json")...)
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			_, r := decodeResolveJSON(t, out)
			if !reflect.DeepEqual(r.Config, tt.cfg) {
				t.Errorf("config %+v, want %+v", r.Config, tt.cfg)
			}
			if r.Queries[0].Name != tt.first {
				t.Errorf("first question %s, want %s", r.Queries[0].Name, tt.first)
			}
			if tt.notes != "" {
				_, text, _ := runResolveCLI(t, append(tt.args, "--manifests", dir)...)
				if !strings.Contains(text, tt.notes) {
					t.Errorf("the text does not say %q:\n%s", tt.notes, text)
				}
			}
		})
	}
}

func TestResolveTextShowsTheWalkTheStopAndTheAdvice(t *testing.T) {
	code, out, _ := runResolveCLI(t, "www.example.com", "--node-search", "us-east-2.compute.internal")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"www.example.com: glibc getaddrinfo, dry run",
		"search default.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal",
		"1   www.example.com.default.svc.cluster.local.   A     NXDOMAIN",
		"NXDOMAIN (upstream, assumed)",
		"resolved by www.example.com.: 10 queries, 8 wasted",
		"advice:",
		`fix: use "www.example.com."`,
		`fix: spec.dnsConfig.options: [{name: ndots, value: "2"}]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A live run against `clusterdns serve` sends the dry run's questions,
// and times each.
func TestResolveLiveAgainstServe(t *testing.T) {
	addr, _, _ := startServe(t)
	for _, libc := range []string{"glibc", "musl", "go"} {
		t.Run(libc, func(t *testing.T) {
			_, dryOut, _ := runResolveCLI(t, "web-0.web", "--libc", libc, "-o", "json")
			code, liveOut, errOut := runResolveCLI(t, "web-0.web", "--libc", libc, "-o", "json", "--server", addr, "--timeout", "2s")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			_, dry := decodeResolveJSON(t, dryOut)
			_, live := decodeResolveJSON(t, liveOut)
			if len(dry.Queries) != len(live.Queries) || *dry.ResolvedBy != *live.ResolvedBy || dry.Wasted != live.Wasted {
				t.Fatalf("dry %s\nlive %s", dryOut, liveOut)
			}
			for i, q := range live.Queries {
				if q.Ms == nil || *q.Ms < 0 || *q.Ms > 2000 {
					t.Errorf("query %d: ms %v", i, q.Ms)
				}
				q.Ms = nil
				if q != dry.Queries[i] {
					t.Errorf("query %d: live %+v, dry %+v", i, q, dry.Queries[i])
				}
			}
		})
	}
	code, out, _ := runResolveCLI(t, "web", "--server", addr)
	if code != 0 || !strings.Contains(out, "sent to "+addr) || !strings.Contains(out, "ms") {
		t.Errorf("text of a live run:\n%s", out)
	}
}

// --pod with --kubeconfig reads the pod (and the kube-dns Service) from
// the API server.
func TestResolveReadsThePodFromTheAPI(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/prod/pods/tuned":
			io.WriteString(w, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tuned","namespace":"prod"},
				"spec":{"dnsConfig":{"options":[{"name":"ndots","value":"1"}]},"containers":[{"name":"c","image":"x"}]}}`)
		case "/api/v1/namespaces/kube-system/services/kube-dns":
			io.WriteString(w, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"kube-dns","namespace":"kube-system"},"spec":{"clusterIP":"10.96.0.99"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	defer api.Close()
	kc := writeResolveFile(t, t.TempDir(), "kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: %q}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: t, user: u}}]
current-context: c
`, api.URL))
	addr, _, _ := startServe(t)
	code, out, errOut := runResolveCLI(t, "web.default", "--pod", "prod/tuned", "--kubeconfig", kc, "--server", addr, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	_, r := decodeResolveJSON(t, out)
	if r.Config.Ndots != 1 || r.Config.Nameservers[0] != "10.96.0.99" || r.Config.Search[0] != "prod.svc.cluster.local" {
		t.Errorf("config %+v", r.Config)
	}
	if r.Queries[0].Name != "web.default." {
		t.Errorf("with ndots:1 a name with a dot goes out as is first, got %s", r.Queries[0].Name)
	}
	code, _, errOut = runResolveCLI(t, "web", "--pod", "prod/ghost", "--kubeconfig", kc, "--server", addr)
	if code != 2 || !strings.Contains(errOut, "no such pod in the cluster") {
		t.Errorf("a missing pod: exit %d, %s", code, errOut)
	}
}

// The acceptance case, printed: a 5-label name on 4 search domains.
func BenchmarkResolveDryRunPrint(b *testing.B) {
	f := &resolveFlags{}
	s := streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}
	cmd := newResolveCmdWith(s, f)
	if err := cmd.Flags().Set("node-search", "us-east-2.compute.internal"); err != nil {
		b.Fatal(err)
	}
	st, err := resolveSetupFrom(context.Background(), cmd, s, f)
	if err != nil {
		b.Fatal(err)
	}
	const name = "api.v2.corp.example.com"
	b.ReportAllocs()
	for b.Loop() {
		r := resolv.SimulateView(st.cfg.View(st.model), name, st.model, resolv.Answers(st.snap, name, st.up))
		if err := writeResolveText(io.Discard, st, r, f); err != nil {
			b.Fatal(err)
		}
	}
}
