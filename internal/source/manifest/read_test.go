package manifest

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf16"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

func TestErrorsNameFileDocumentAndLine(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		content  string
		wantPos  string // "file:line: document N: "
		wantText string
	}{
		{
			name:     "bad YAML",
			file:     "bad.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n",
			wantPos:  "bad.yaml:4: document 0: ",
			wantText: "YAML syntax error: did not find expected ',' or ']'",
		},
		{
			name:     "bad YAML in a later document",
			file:     "bad.yaml",
			content:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: x: y\n",
			wantPos:  "bad.yaml:5: document 1: ",
			wantText: "YAML syntax error: mapping values are not allowed in this context",
		},
		{
			name:     "bad JSON",
			file:     "bad.json",
			content:  "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\"\n  \"metadata\": {}\n}\n",
			wantPos:  "bad.json:4: document 0: ",
			wantText: "JSON syntax error",
		},
		{
			name:     "wrong type names the line of the field",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: http\n    port: 80\n  - name: x\n    port: \"eighty\"\n",
			wantPos:  "svc.yaml:10: document 0: ",
			wantText: `Service default/web: spec.ports[1].port: cannot use string "eighty" as int32`,
		},
		{
			name:     "wrong type in a workload",
			file:     "deploy.yaml",
			content:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: abc\n",
			wantPos:  "deploy.yaml:6: document 0: ",
			wantText: `spec.replicas: cannot use string "abc" as int32`,
		},
		{
			name:     "wrong type through a custom unmarshaler",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n  - port: 81\n    targetPort: true\n",
			wantPos:  "svc.yaml:8: document 0: ",
			wantText: "spec.ports[1].targetPort: cannot use boolean true",
		},
		{
			name:     "unparseable timestamp",
			file:     "pod.yaml",
			content:  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  deletionTimestamp: yesterday\n",
			wantPos:  "pod.yaml:5: document 0: ",
			wantText: `Pod default/p: metadata.deletionTimestamp: parsing time "yesterday"`,
		},
		{
			name:     "YAML 1.1 boolean in a string field",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    debug: on\n",
			wantPos:  "svc.yaml:6: document 0: ",
			wantText: "metadata.labels.debug: cannot use boolean true as string",
		},
		{
			name:     "unknown field",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIp: None\n",
			wantPos:  "svc.yaml:5: document 0: ",
			wantText: `unknown field "spec.clusterIp" (did you mean clusterIP?)`,
		},
		{
			name:     "duplicate key",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  name: api\n",
			wantPos:  "svc.yaml:5: document 0: ",
			wantText: `key "name" already defined at line 4`,
		},
		{
			name:     "unknown apiVersion",
			file:     "sts.yaml",
			content:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: apps/v2\nkind: StatefulSet\nmetadata: {name: web}\n",
			wantPos:  "sts.yaml:5: document 1: ",
			wantText: `unknown apiVersion "apps/v2" for StatefulSet`,
		},
		{
			name:     "unknown apiVersion of a core kind",
			file:     "svc.yaml",
			content:  "apiVersion: v2\nkind: Service\nmetadata: {name: web}\n",
			wantPos:  "svc.yaml:1: document 0: ",
			wantText: `unknown apiVersion "v2" for Service`,
		},
		{
			name:     "document that is not an object",
			file:     "list.yaml",
			content:  "# comment\n- a\n- b\n",
			wantPos:  "list.yaml:2: document 0: ",
			wantText: "document is a list, not an object",
		},
		{
			name:     "scalar document",
			file:     "s.yaml",
			content:  "---\n---\njust text\n",
			wantPos:  "s.yaml:3: document 1: ",
			wantText: "document is a string, not an object",
		},
		{
			name:     "missing kind",
			file:     "k.yaml",
			content:  "apiVersion: v1\nmetadata: {name: a}\n",
			wantPos:  "k.yaml:1: document 0: ",
			wantText: "object has no kind",
		},
		{
			name:     "missing apiVersion",
			file:     "k.yaml",
			content:  "kind: Service\nmetadata: {name: a}\n",
			wantPos:  "k.yaml:1: document 0: ",
			wantText: "Service has no apiVersion",
		},
		{
			name:     "missing name",
			file:     "pod.yaml",
			content:  "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: x\n",
			wantPos:  "pod.yaml:3: document 0: ",
			wantText: "Pod has no metadata.name",
		},
		{
			name:     "invalid pod IP",
			file:     "pod.yaml",
			content:  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  phase: Running\n  podIP: 10.0.0.300\n",
			wantPos:  "pod.yaml:6: document 0: ",
			wantText: `Pod default/p: status.podIP: "10.0.0.300" is not a valid IP address`,
		},
		{
			name:     "invalid cluster IP",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 10.96.0.x\n",
			wantPos:  "svc.yaml:5: document 0: ",
			wantText: `spec.clusterIP: "10.96.0.x" is not a valid IP address`,
		},
		{
			name:     "endpoint address not matching addressType",
			file:     "eps.yaml",
			content:  "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv6\nendpoints:\n- addresses:\n  - 192.0.2.1\n",
			wantPos:  "eps.yaml:7: document 0: ",
			wantText: "endpoints[0].addresses[0]: 192.0.2.1 is not an IPv6 address (addressType)",
		},
		{
			name:     "port out of range",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 70000\n",
			wantPos:  "svc.yaml:6: document 0: ",
			wantText: "spec.ports[0].port: port 70000 out of range 1-65535",
		},
		{
			name:     "hostname not a DNS label",
			file:     "pod.yaml",
			content:  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostname: Web_1\n",
			wantPos:  "pod.yaml:5: document 0: ",
			wantText: `spec.hostname: invalid DNS label "Web_1"`,
		},
		{
			name:     "container port in a workload template",
			file:     "sts.yaml",
			content:  "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - containerPort: 0\n",
			wantPos:  "sts.yaml:10: document 0: ",
			wantText: "spec.template.spec.containers[0].ports[0].containerPort: port 0 out of range",
		},
		{
			name:     "quoted number as targetPort",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n    targetPort: \"8080\"\n",
			wantPos:  "svc.yaml:7: document 0: ",
			wantText: `spec.ports[0].targetPort: invalid port name "8080"`,
		},
		{
			name:     "item of a List",
			file:     "list.yaml",
			content:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  status: {podIP: nope}\n",
			wantPos:  "list.yaml:10: document 0: ",
			wantText: `Pod default/b: status.podIP: "nope" is not a valid IP address`,
		},
		{
			name:     "service name not a DNS label",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: Service\nmetadata:\n  name: My_Svc\n",
			wantPos:  "svc.yaml:4: document 0: ",
			wantText: `Service default/My_Svc: metadata.name: invalid DNS label "My_Svc"`,
		},
		{
			name:     "kind with the wrong case",
			file:     "svc.yaml",
			content:  "apiVersion: v1\nkind: service\nmetadata: {name: web}\n",
			wantPos:  "svc.yaml:2: document 0: ",
			wantText: `unknown kind "service" (did you mean Service?)`,
		},
		{
			// A NEL in UTF-16 is a line break the UTF-8 line count once
			// missed (fuzzing found "line 2 of 1").
			name:     "UTF-16 line break before a scalar document",
			file:     "u.yaml",
			content:  string(utf16LE("\u0085a\n")),
			wantPos:  "u.yaml:2: document 0: ",
			wantText: "document is a string, not an object",
		},
		{
			name:     "UTF-16 with an odd number of bytes",
			file:     "odd.yaml",
			content:  string(utf16LE("a: b\n")) + "x",
			wantPos:  "odd.yaml:1: ",
			wantText: "UTF-16 (by its byte order mark) but has an odd number of bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := loadError(t, map[string]string{tt.file: tt.content})
			errs := Errors(err)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), err)
			}
			msg := errs[0].Error()
			if !strings.HasPrefix(msg, tt.wantPos) || !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q\nwant prefix %q containing %q", msg, tt.wantPos, tt.wantText)
			}
			if errs[0].File != tt.file {
				t.Errorf("File = %q, want %q", errs[0].File, tt.file)
			}
		})
	}
}

func TestDuplicateObjectNamesBothPlaces(t *testing.T) {
	err := loadError(t, map[string]string{
		"a.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: None}\n",
		"b.yaml": "# other\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec: {clusterIP: None}\n",
	})
	want := "b.yaml:6: document 1: duplicate Service default/web: already defined at a.yaml:1 (document 0)"
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
}

func TestSameNameOfAnotherKindOrNamespaceIsNoDuplicate(t *testing.T) {
	load(t, docs(
		"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: None}",
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: other}\nspec: {clusterIP: None}",
		"apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}",
	))
}

func TestAllErrorsAreReported(t *testing.T) {
	err := loadError(t, map[string]string{
		"a.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {}\n",
		"b.yaml": "apiVersion: apps/v9\nkind: Deployment\nmetadata: {name: d}\n",
		"c.json": `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"clusterIP": "bad"}}`,
	})
	var got []string
	for _, e := range Errors(err) {
		got = append(got, e.File+":"+strconv.Itoa(e.Line))
	}
	if want := []string{"a.yaml:4", "a.yaml:8", "b.yaml:1", "c.json:1"}; !slices.Equal(got, want) {
		t.Errorf("errors at %v, want %v\n%v", got, want, err)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "m.yaml", Document: 2, Line: 14, Err: errors.New("boom")}
	if got := e.Error(); got != "m.yaml:14: document 2: boom" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, e.Err) {
		t.Errorf("Unwrap does not reach the cause")
	}
	whole := &Error{File: "gone.yaml", Err: errors.New("open: no such file")}
	if got := whole.Error(); got != "gone.yaml: open: no such file" {
		t.Errorf("Error() = %q", got)
	}
}

func TestMultipleDocumentsListsAndEmptyDocuments(t *testing.T) {
	manifest := `# leading comment
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: {clusterIP: None}
- apiVersion: v1
  kind: ServiceList
  items:
  - metadata: {name: b}
    spec: {clusterIP: None}
---
# only a comment
---
apiVersion: v1
kind: PodList
items:
- metadata: {name: p}
`
	objs, err := Decode("m.yaml", []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Kind+" "+o.Name+" doc"+strconv.Itoa(o.Document)+" line"+strconv.Itoa(o.Line))
	}
	want := []string{"Service a doc1 line7", "Service b doc1 line14", "Pod p doc3 line22"}
	if !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	if _, ok := objs[1].Typed.(*corev1.Service); !ok || objs[1].APIVersion != "v1" {
		t.Errorf("typed list item: %T %q", objs[1].Typed, objs[1].APIVersion)
	}
}

func TestDecodeKeepsTypedObjectAndLines(t *testing.T) {
	objs, err := Decode("m.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: http\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := objs[0]
	s, ok := o.Typed.(*corev1.Service)
	if !ok || s.Namespace != "default" || s.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Fatalf("typed = %#v", o.Typed)
	}
	if got := o.FieldLine("spec.ports[0].targetPort"); got != 9 {
		t.Errorf("FieldLine(targetPort) = %d, want 9", got)
	}
	if got := o.FieldLine("spec.selector"); got != 5 {
		t.Errorf("FieldLine(absent selector) = %d, want 5 (spec)", got)
	}
	if o.Ref() != (cluster.ObjectRef{Kind: "Service", Namespace: "default", Name: "web"}) || o.Origin() != (cluster.Origin{File: "m.yaml", Line: 1}) {
		t.Errorf("ref %v origin %v", o.Ref(), o.Origin())
	}
}

func TestUnknownKindsAreSkipped(t *testing.T) {
	st := load(t, docs(
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '* * * * *'}",
		"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: s}\nspec: {rules: []}",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: [goes]}",
	))
	if len(st.Services) != 1 || st.Services[0].Name != "kubernetes" || len(st.Pods)+len(st.EndpointSlices) != 0 {
		t.Errorf("state %+v, want nothing from unknown kinds (only the API server's Service)", st)
	}
}

func TestServiceImportsAndTheirSlicesAreRead(t *testing.T) {
	st := load(t, docs(
		"apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceImport\nmetadata: {name: db, namespace: prod}\nspec: {type: ClusterSetIP, ips: [10.42.0.7], ports: [{name: pg, port: 5432, protocol: TCP}]}",
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: db-east\n  namespace: prod\n  labels: {multicluster.kubernetes.io/service-name: db, multicluster.kubernetes.io/source-cluster: east}\naddressType: IPv4\nendpoints: [{addresses: [10.1.0.5]}]",
	))
	if len(st.ServiceImports) != 1 {
		t.Fatalf("imports %+v, want db", st.ServiceImports)
	}
	si := st.ServiceImports[0]
	if si.Ref() != (cluster.ObjectRef{Kind: "ServiceImport", Namespace: "prod", Name: "db"}) || si.Type != cluster.ServiceImportClusterSetIP ||
		len(si.IPs) != 1 || si.IPs[0].String() != "10.42.0.7" || len(si.Ports) != 1 || si.Ports[0].Port != 5432 || si.Origin.Line == 0 {
		t.Errorf("import %+v", si)
	}
	var found bool
	for _, es := range st.EndpointSlices {
		if es.Name == "db-east" {
			found = es.ImportName == "db" && es.SourceCluster == "east" && es.ServiceName == ""
		}
	}
	if !found {
		t.Errorf("slice db-east not read as an import's slice: %+v", st.EndpointSlices)
	}
}

func TestServiceImportErrorsNameTheField(t *testing.T) {
	_, err := LoadFS(context.Background(), fstest.MapFS{"m.yaml": {Data: []byte("apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceImport\nmetadata: {name: db}\nspec:\n  type: Global\n  ips: [not-an-ip]\n")}}, DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "m.yaml:5") || !strings.Contains(err.Error(), "spec.type") || !strings.Contains(err.Error(), "m.yaml:6") {
		t.Errorf("error %v, want spec.type at m.yaml:5 and spec.ips at m.yaml:6", err)
	}
}

func TestJSONFilesAndStreams(t *testing.T) {
	stream := `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"clusterIP": "None"}}
{
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "b"},
	"spec": {"ports": [{"port": 80.0}]}
}`
	objs, err := Decode("s.json", []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[1].Name != "b" || objs[1].Document != 1 || objs[1].Line != 2 {
		t.Fatalf("objects %+v", objs)
	}
	if got := objs[1].FieldLine("spec.ports[0].port"); got != 6 {
		t.Errorf("FieldLine = %d, want 6", got)
	}
	// JSON without a .json name is recognised by its first character.
	if objs, err := Decode(StdinName, []byte(stream)); err != nil || len(objs) != 2 {
		t.Errorf("stdin JSON: %d objects, %v", len(objs), err)
	}
	// A YAML flow mapping that is not JSON is read as YAML.
	if objs, err := Decode("x", []byte("{apiVersion: v1, kind: Namespace, metadata: {name: a}}")); err != nil || len(objs) != 1 {
		t.Errorf("flow YAML: %d objects, %v", len(objs), err)
	}
}

func TestYAMLAnchorsAndMergeKeys(t *testing.T) {
	st := load(t, `apiVersion: v1
kind: Service
metadata:
  name: web
  labels: &labels
    app: web
spec:
  selector: *labels
  ports:
  - &http {name: http, port: 80}
  - <<: *http
    name: alt
    port: 81
`)
	s := findService(t, st, "default", "web")
	if s.Selector["app"] != "web" || len(s.Ports) != 2 || s.Ports[1].Name != "alt" || s.Ports[1].Port != 81 {
		t.Errorf("service %+v", s)
	}
}

func TestLoadReadsDirectoriesFilesAndStdin(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ns := func(name string) string { return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + "}\n" }
	write("tree/a.yaml", ns("a"))
	write("tree/sub/b.yml", ns("b"))
	write("tree/sub/c.JSON", `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}`)
	write("tree/.hidden/d.yaml", ns("d"))
	write("tree/notes.txt", ns("e"))
	write("single.manifest", ns("f"))
	if err := os.Symlink(filepath.Join(dir, "tree/a.yaml"), filepath.Join(dir, "tree/link.yaml")); err != nil {
		t.Fatal(err)
	}

	files, err := Files([]string{filepath.Join(dir, "tree"), filepath.Join(dir, "single.manifest"), "-", filepath.Join(dir, "tree", "a.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, r)
	}
	if want := []string{"tree/a.yaml", "tree/link.yaml", "tree/sub/b.yml", "tree/sub/c.JSON", "single.manifest"}; !slices.Equal(rel, want) {
		t.Errorf("Files = %v, want %v", rel, want)
	}

	st, err := Load(context.Background(), []string{filepath.Join(dir, "tree/sub"), filepath.Join(dir, "single.manifest"), "-"},
		strings.NewReader(ns("g")), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range st.Namespaces {
		if n.Origin.Derived == "" {
			got = append(got, n.Name+"@"+filepath.Base(n.Origin.File))
		}
	}
	if want := []string{"b@b.yml", "c@c.JSON", "f@single.manifest", "g@" + StdinName}; !slices.Equal(got, want) {
		t.Errorf("namespaces %v, want %v", got, want)
	}

	_, err = Load(context.Background(), []string{filepath.Join(dir, "missing.yaml")}, nil, DefaultOptions())
	if errs := Errors(err); len(errs) != 1 || errs[0].Line != 0 || !strings.HasSuffix(errs[0].File, "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadHonoursCancellation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, []string{dir}, nil, DefaultOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOptionsValidated(t *testing.T) {
	opts := DefaultOptions()
	opts.PodCIDRs = append(opts.PodCIDRs, opts.PodCIDRs[0])
	if _, err := LoadFS(context.Background(), mapFS(), opts); err == nil || !strings.Contains(err.Error(), "more than one IPv4") {
		t.Errorf("err = %v, want two IPv4 pod CIDRs rejected", err)
	}
}

// utf16LE is s in UTF-16, little endian, after its byte order mark.
func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func TestUTF16ManifestsAreRead(t *testing.T) {
	const svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n"
	be := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(svc)) {
		be = binary.BigEndian.AppendUint16(be, u)
	}
	for name, data := range map[string][]byte{"little endian": utf16LE(svc), "big endian": be} {
		t.Run(name, func(t *testing.T) {
			objs, err := Decode("svc.yaml", data)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].Kind != "Service" || objs[0].Name != "web" {
				t.Fatalf("got %+v, want Service web", objs)
			}
			if line := objs[0].FieldLine("spec.ports[0].port"); line != 6 {
				t.Errorf("spec.ports[0].port at line %d, want 6", line)
			}
		})
	}
}
