package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// scriptMessage is a message a renderer must not let run as markup.
const scriptMessage = `reload failed: <script>alert("x")</script> & retried`

// sampleNames has more names than are drawn: first a node that does not
// exist and no node at all, then every node of the flowchart once.
func sampleNames() []NameAt {
	ns := []NameAt{
		{Name: "_http._tcp.web.default.svc.cluster.local", Type: "SRV", Node: "Z"},
		{Name: "web.default.svc.cluster.local", Type: "AAAA"},
	}
	for i, id := range NodeIDs() {
		ns = append(ns, NameAt{Name: fmt.Sprintf("web-%d.web.default.svc.cluster.local", i), Type: "A", Node: id})
	}
	return ns
}

// sampleReport covers every status and severity: a failing check with a
// threshold, evidence (holding a code fence) and names, a warning, an ok
// check with an info finding, a check that did not run and one that
// crashed. Its nil lists are left nil, as a run would leave them.
func sampleReport() *Report {
	return &Report{
		Cluster:  "https://10.0.0.1:6443",
		DNS:      "Service kube-system/kube-dns, Deployment kube-system/coredns",
		Started:  time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Duration: Duration(1500 * time.Millisecond),
		Checks: []Check{
			{
				ID: "dns.found", Group: GroupClusterDNS, Title: "Cluster DNS found", Status: StatusOK,
				Summary:  "Service kube-system/kube-dns selects 2 pods",
				Duration: Duration(125 * time.Millisecond),
				Findings: []Finding{{
					Code: "dns.found.by-label", Severity: SeverityInfo,
					Objects: []string{"Service/kube-system/kube-dns"},
					Message: "found by label k8s-app=kube-dns",
				}},
			},
			{
				ID: "dns.pods", Group: GroupClusterDNS, Title: "CoreDNS pods Ready", Status: StatusFail,
				Summary:  "1 of 2 pods Ready | 1 restarting",
				Duration: Duration(250 * time.Millisecond),
				Findings: []Finding{
					{
						Code: "dns.pods.not-ready", Severity: SeverityError,
						Objects:   []string{"Pod/kube-system/coredns-b", "Deployment/kube-system/coredns"},
						Message:   "1 of 2 CoreDNS pods is not Ready",
						Evidence:  []string{"coredns-b Ready=False since 5m", "log: [ERROR] plugin/kubernetes: ```timeout```"},
						Threshold: &Threshold{Value: "1 Ready", Limit: "2 replicas", Source: "seed"},
						Fix:       "kubectl -n kube-system describe pod coredns-b",
						Explains:  []string{"intermittent SERVFAIL"},
					},
					{
						Code: "dns.pods.restarts", Severity: SeverityWarning,
						Objects: []string{"Pod/kube-system/coredns-a"},
						Message: "coredns-a restarted 3 times\nlast reason: OOMKilled",
					},
				},
			},
			{
				ID: "config.staleness", Group: GroupConfig, Title: "Corefile reloaded", Status: StatusWarn,
				Summary: "ConfigMap changed 10m ago",
				Findings: []Finding{{
					Code: "config.staleness.not-reloaded", Severity: SeverityWarning,
					Message: scriptMessage,
				}},
			},
			{
				ID: "headless.hostnames", Group: GroupHeadless, Title: "Headless names resolve", Status: StatusFail,
				Summary: "1 headless Service, 13 names",
				Findings: []Finding{{
					Code: "headless.no-ready-endpoints", Severity: SeverityError,
					Objects: []string{"Service/default/web", "EndpointSlice/default/web-abc12"},
					Message: "no Ready endpoints",
					Names:   sampleNames(),
				}},
			},
			{
				ID: "clients.resolv", Group: GroupClients, Title: "Pods' resolv.conf", Status: StatusCrashed,
				Why: "panic: runtime error: index out of range [3] with length 3",
			},
			{
				ID: "metrics.scrape", Group: GroupMetrics, Title: "CoreDNS metrics", Status: StatusNotRun,
				Why: "no permission: pods/proxy is forbidden",
			},
		},
	}
}

// withEmptyLists is what the JSON schema promises for r: every nil
// checks, findings and objects list an empty one. It is written apart
// from render.go's own normalising so the test does not trust it.
func withEmptyLists(r *Report) *Report {
	out := *r
	out.Checks = []Check{}
	for _, c := range r.Checks {
		fs := []Finding{}
		for _, f := range c.Findings {
			if f.Objects == nil {
				f.Objects = []string{}
			}
			fs = append(fs, f)
		}
		c.Findings = fs
		out.Checks = append(out.Checks, c)
	}
	return &out
}

func TestTextOrdersChecksWorstFirstAndEndsWithSummary(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := WriteText(&buf, r, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if got := lines[len(lines)-1]; got != r.Summary() {
		t.Errorf("last line = %q, want the summary %q", got, r.Summary())
	}
	if !strings.Contains(lines[0], r.Cluster) || !strings.Contains(lines[0], r.DNS) {
		t.Errorf("header %q lacks the cluster or the DNS", lines[0])
	}
	var heads []string
	for _, l := range lines {
		if strings.HasPrefix(l, "[") {
			heads = append(heads, l)
		}
	}
	want := []struct{ prefix, id string }{
		{"[☠] crashed", "clients.resolv"},
		{"[✗] fail", "dns.pods"},
		{"[✗] fail", "headless.hostnames"},
		{"[!] warn", "config.staleness"},
		{"[✓] ok", "dns.found"},
		{"[–] not run", "metrics.scrape"},
	}
	if len(heads) != len(want) {
		t.Fatalf("got %d check lines, want %d:\n%s", len(heads), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(heads[i], w.prefix) || !strings.Contains(heads[i], " "+w.id+" ") {
			t.Errorf("check line %d = %q, want %q ... %s", i, heads[i], w.prefix, w.id)
		}
	}
}

func TestTextContent(t *testing.T) {
	tests := []struct {
		name    string
		verbose bool
		want    []string
		absent  []string
	}{
		{
			name:    "failing and warning findings with threshold evidence fix and why",
			verbose: false,
			want: []string{
				"    error dns.pods.not-ready [Pod/kube-system/coredns-b, Deployment/kube-system/coredns]\n",
				"        1 of 2 CoreDNS pods is not Ready\n",
				"        threshold: 1 Ready against 2 replicas (seed)\n",
				"        evidence: coredns-b Ready=False since 5m\n",
				"        fix: kubectl -n kube-system describe pod coredns-b\n",
				"    warning dns.pods.restarts [Pod/kube-system/coredns-a]\n",
				"        coredns-a restarted 3 times\n          last reason: OOMKilled\n",
				"metrics.scrape  CoreDNS metrics: no permission: pods/proxy is forbidden\n",
				"clients.resolv  Pods' resolv.conf: panic: runtime error",
				"        name: web-4.web.default.svc.cluster.local A, goes wrong at step E: Select Ready Endpoints\n",
				"        and 3 more names\n",
			},
			absent: []string{"dns.found.by-label", "\x1b["},
		},
		{
			name:    "verbose adds info findings",
			verbose: true,
			want:    []string{"    info dns.found.by-label [Service/kube-system/kube-dns]\n"},
			absent:  []string{"\x1b["},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteText(&buf, sampleReport(), tt.verbose); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
		})
	}
}

func TestJSONRoundTripsReport(t *testing.T) {
	tests := []struct {
		name string
		r    *Report
	}{
		{"sample", sampleReport()},
		{"empty", &Report{}},
		{"check without findings", &Report{Checks: []Check{{ID: "x", Status: StatusNotRun, Why: "n/a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, tt.r); err != nil {
				t.Fatal(err)
			}
			var got Report
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			want := withEmptyLists(tt.r)
			if !got.Started.Equal(want.Started) {
				t.Errorf("started = %v, want %v", got.Started, want.Started)
			}
			got.Started, want.Started = time.Time{}, time.Time{}
			if !reflect.DeepEqual(&got, want) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", got, *want)
			}
		})
	}
}

func TestJSONWritesEmptyListsNotNull(t *testing.T) {
	tests := []struct {
		name string
		r    *Report
		want []string
	}{
		{"empty report", &Report{}, []string{`"checks": []`}},
		{"nil report", nil, []string{`"checks": []`}},
		{"check without findings", &Report{Checks: []Check{{ID: "x"}}}, []string{`"findings": []`}},
		{"finding without objects", &Report{Checks: []Check{{ID: "x", Findings: []Finding{{Code: "c"}}}}}, []string{`"objects": []`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, tt.r); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
			if strings.Contains(out, "null") {
				t.Errorf("output has null:\n%s", out)
			}
		})
	}
}

func TestJSONFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{
		"{\n  \"cluster\": \"https://10.0.0.1:6443\",\n",
		`"duration": 1.500`,
		`"status": "not-run"`,
		`"severity": "warning"`,
		`<script>alert(\"x\")</script> & retried`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(out, `\u003c`) || strings.Contains(out, `\u0026`) {
		t.Errorf("output is HTML-escaped:\n%s", out)
	}
}

func TestJSONLeavesCallerReportUnchanged(t *testing.T) {
	r := sampleReport()
	if err := WriteJSON(&bytes.Buffer{}, r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, sampleReport()) {
		t.Error("WriteJSON changed its Report")
	}
	if r.Checks[2].Findings[0].Objects != nil || r.Checks[4].Findings != nil {
		t.Error("WriteJSON filled the caller's nil lists")
	}
}

// markdownNodes parses Markdown as GitHub does (GFM) and returns its
// tables, fenced code blocks by language, level-2 heading texts and raw
// HTML blocks.
type markdownNodes struct {
	tables []*east.Table
	fences map[string][]string
	h2     []string
	html   int
}

func parseMarkdown(t *testing.T, src []byte) (markdownNodes, goldmark.Markdown) {
	t.Helper()
	// Raw HTML is rendered, as GitHub renders the <br> of a table cell.
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(ghtml.WithUnsafe()))
	doc := md.Parser().Parse(text.NewReader(src))
	got := markdownNodes{fences: map[string][]string{}}
	err := gast.Walk(doc, func(n gast.Node, entering bool) (gast.WalkStatus, error) {
		if !entering {
			return gast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *east.Table:
			got.tables = append(got.tables, n)
		case *gast.FencedCodeBlock:
			var b strings.Builder
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				b.Write(seg.Value(src))
			}
			lang := string(n.Language(src))
			got.fences[lang] = append(got.fences[lang], b.String())
		case *gast.Heading:
			if n.Level == 2 {
				got.h2 = append(got.h2, renderedText(t, md, src, n))
			}
		case *gast.HTMLBlock:
			got.html++
		}
		return gast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, md
}

// renderedText is the text a reader sees in node n: goldmark's HTML of
// it, tags dropped and entities resolved.
func renderedText(t *testing.T, md goldmark.Markdown, src []byte, n gast.Node) string {
	t.Helper()
	var buf bytes.Buffer
	if err := md.Renderer().Render(&buf, src, n); err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`<br\s*/?>`).ReplaceAllString(buf.String(), "\n")
	s = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, "")
	return strings.TrimSpace(html.UnescapeString(s))
}

// tableRows returns the rendered text of every cell, header first.
func tableRows(t *testing.T, md goldmark.Markdown, src []byte, tbl *east.Table) [][]string {
	var rows [][]string
	for row := tbl.FirstChild(); row != nil; row = row.NextSibling() {
		var cells []string
		for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
			cells = append(cells, renderedText(t, md, src, cell))
		}
		rows = append(rows, cells)
	}
	return rows
}

func TestMarkdownParsesToTableAndCodeBlocks(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	src := buf.Bytes()
	got, md := parseMarkdown(t, src)

	if len(got.tables) != 1 {
		t.Fatalf("got %d tables, want 1:\n%s", len(got.tables), src)
	}
	rows := tableRows(t, md, src, got.tables[0])
	want := [][]string{
		{"Status", "ID", "Check", "Summary"},
		{"✓ ok", "dns.found", "Cluster DNS found", "Service kube-system/kube-dns selects 2 pods"},
		{"✗ fail", "dns.pods", "CoreDNS pods Ready", "1 of 2 pods Ready | 1 restarting"},
		{"! warn", "config.staleness", "Corefile reloaded", "ConfigMap changed 10m ago"},
		{"✗ fail", "headless.hostnames", "Headless names resolve", "1 headless Service, 13 names"},
		{"☠ crashed", "clients.resolv", "Pods' resolv.conf", "panic: runtime error: index out of range [3] with length 3"},
		{"– not run", "metrics.scrape", "CoreDNS metrics", "no permission: pods/proxy is forbidden"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("table rows:\n got %q\nwant %q", rows, want)
	}

	wantH2 := []string{"Checks"}
	for _, g := range Groups {
		if slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Group == g.Group }) {
			wantH2 = append(wantH2, g.Title)
		}
	}
	if !reflect.DeepEqual(got.h2, wantH2) {
		t.Errorf("sections = %q, want %q", got.h2, wantH2)
	}

	if n := len(got.fences["mermaid"]); n != maxNamesDrawn {
		t.Errorf("got %d mermaid blocks, want %d", n, maxNamesDrawn)
	}
	ev := r.Checks[1].Findings[0].Evidence
	if texts := got.fences["text"]; len(texts) != 1 || texts[0] != strings.Join(ev, "\n")+"\n" {
		t.Errorf("evidence blocks = %q, want one holding %q", texts, ev)
	}
	if got.html != 2 {
		t.Errorf("got %d HTML blocks, want <details> and </details>", got.html)
	}
	if !bytes.Contains(src, []byte("and 3 more names.")) {
		t.Error("Markdown does not count the names it does not draw")
	}
}

func TestMarkdownKeepsTextInTableCells(t *testing.T) {
	tests := []struct {
		name, id, title, summary string
	}{
		{"pipe", "a|b", "x | y", "1 | 2"},
		{"markup", "c`d", "*not* _emphasis_ [link](x) ![img](y)", "<b>not bold</b> & \\ ~~no~~ ~one~ a > b"},
		{"entities", "&amp;", "&amp; &#35; &#x41; &copy;", "& ; &; &#; &x;"},
		{"backslash before pipe", `e\`, `f\|g`, `trailing \`},
		{"newline", "h", "two\nlines", "one\ntwo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Checks: []Check{{ID: tt.id, Group: GroupConfig, Title: tt.title, Summary: tt.summary}}}
			var buf bytes.Buffer
			if err := WriteMarkdown(&buf, r); err != nil {
				t.Fatal(err)
			}
			src := buf.Bytes()
			got, md := parseMarkdown(t, src)
			if len(got.tables) != 1 {
				t.Fatalf("got %d tables, want 1:\n%s", len(got.tables), src)
			}
			rows := tableRows(t, md, src, got.tables[0])
			want := [][]string{{"Status", "ID", "Check", "Summary"}, {"✓ ok", tt.id, tt.title, tt.summary}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows:\n got %q\nwant %q\n%s", rows, want, src)
			}
		})
	}
}

func TestMarkdownIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteMarkdown(&a, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("two renderings of one report differ")
	}
}

func TestSectionsKeepChecksOfUnknownGroups(t *testing.T) {
	r := &Report{Checks: []Check{
		{ID: "x", Group: "later"},
		{ID: "y", Group: GroupMetrics},
		{ID: "z", Group: GroupClusterDNS},
		{ID: "w", Group: ""},
	}}
	var got []string
	for _, s := range sections(r) {
		var ids []string
		for _, c := range s.checks {
			ids = append(ids, c.ID)
		}
		got = append(got, s.title+": "+strings.Join(ids, ","))
	}
	want := []string{"The cluster DNS itself: z", "Metrics of the DNS pods: y", "later: x", "Other checks: w"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sections = %q, want %q", got, want)
	}
}

// chart is a mermaid flowchart as the validator read it.
type chart struct {
	nodes     map[string]FlowNode
	order     []string
	edges     []FlowEdge
	highlight []string
}

// The mermaid subset the renderers write, and the seed's own spelling.
const mermaidID = `[A-Za-z][A-Za-z0-9_]*`

var (
	// An endpoint is an ID, maybe with its shape and label: quoted, or
	// plain text without the characters mermaid reads as syntax.
	mermaidEndpoint = `(` + mermaidID + `)(?:\["([^"]*)"\]|\{"([^"]*)"\}|\[([^"\[\]{}()|<>]*)\]|\{([^"\[\]{}()|<>]*)\})?`
	mermaidNodeRe   = regexp.MustCompile(`^` + mermaidEndpoint + `$`)
	mermaidEdgeRe   = regexp.MustCompile(`^` + mermaidEndpoint + ` -->(?:\|(?:"([^"]*)"|([^"|\[\]{}()<>]*))\|)? ` + mermaidEndpoint + `$`)
	mermaidClassDef = regexp.MustCompile(`^classDef (` + mermaidID + `) ([a-z-]+:[^,;\s]+(?:,[a-z-]+:[^,;\s]+)*);?$`)
	mermaidClass    = regexp.MustCompile(`^class (` + mermaidID + `(?:,` + mermaidID + `)*) (` + mermaidID + `)$`)
	mermaidEntity   = regexp.MustCompile(`#(?:[a-z]+|[0-9]+);`)
)

// parseMermaid reads the subset of mermaid the renderers write and
// checks it: "flowchart TD" first, then only node definitions, edges,
// classDef and class lines; brackets and quotes balanced; every node an
// edge or a class names defined once; every class used defined; a "#"
// in a label only as an entity.
func parseMermaid(src string) (*chart, error) {
	lines := strings.Split(strings.TrimRight(src, "\n"), "\n")
	if strings.TrimSpace(lines[0]) != "flowchart TD" {
		return nil, fmt.Errorf("first line %q, want flowchart TD", lines[0])
	}
	ch := &chart{nodes: map[string]FlowNode{}}
	var used []string
	classes := map[string]bool{}
	var classUses [][2]string
	define := func(m []string, at int) error {
		id := m[at]
		if strings.EqualFold(id, "end") {
			return fmt.Errorf("node ID %q is a mermaid keyword", id)
		}
		used = append(used, id)
		labels, shapes := m[at+1:at+5], []Shape{ShapeBox, ShapeDecision, ShapeBox, ShapeDecision}
		for i, l := range labels {
			if l == "" {
				continue
			}
			if strings.Contains(mermaidEntity.ReplaceAllString(l, ""), "#") {
				return fmt.Errorf("label %q has a bare #", l)
			}
			if _, dup := ch.nodes[id]; dup {
				return fmt.Errorf("node %s defined twice", id)
			}
			ch.nodes[id] = FlowNode{ID: id, Label: unescapeMermaid(l), Shape: shapes[i]}
			ch.order = append(ch.order, id)
		}
		return nil
	}
	for i, raw := range lines[1:] {
		l := strings.TrimSpace(raw)
		if err := balanced(l); err != nil {
			return nil, fmt.Errorf("line %d %q: %v", i+2, l, err)
		}
		var err error
		switch {
		case mermaidNodeRe.MatchString(l):
			m := mermaidNodeRe.FindStringSubmatch(l)
			if strings.Join(m[2:], "") == "" {
				return nil, fmt.Errorf("line %d %q: a node without a label", i+2, l)
			}
			err = define(m, 1)
		case mermaidEdgeRe.MatchString(l):
			m := mermaidEdgeRe.FindStringSubmatch(l)
			if err = define(m, 1); err == nil {
				err = define(m, 8)
			}
			ch.edges = append(ch.edges, FlowEdge{From: m[1], To: m[8], Label: unescapeMermaid(m[6] + m[7])})
		case mermaidClassDef.MatchString(l):
			classes[mermaidClassDef.FindStringSubmatch(l)[1]] = true
		case mermaidClass.MatchString(l):
			m := mermaidClass.FindStringSubmatch(l)
			for _, id := range strings.Split(m[1], ",") {
				classUses = append(classUses, [2]string{id, m[2]})
			}
		default:
			err = fmt.Errorf("not a node, edge, classDef or class line")
		}
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %v", i+2, l, err)
		}
	}
	for _, id := range used {
		if _, ok := ch.nodes[id]; !ok {
			return nil, fmt.Errorf("node %s is used but not defined", id)
		}
	}
	for _, u := range classUses {
		if _, ok := ch.nodes[u[0]]; !ok {
			return nil, fmt.Errorf("class %s given to undefined node %s", u[1], u[0])
		}
		if !classes[u[1]] {
			return nil, fmt.Errorf("class %s has no classDef", u[1])
		}
		ch.highlight = append(ch.highlight, u[0])
	}
	return ch, nil
}

// balanced checks that the brackets outside quotes nest and the quotes
// pair.
func balanced(l string) error {
	var stack []rune
	quoted := false
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, r := range l {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case r == ')' || r == ']' || r == '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return fmt.Errorf("unbalanced %q", r)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if quoted {
		return fmt.Errorf("unclosed quote")
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	return nil
}

func unescapeMermaid(s string) string {
	return strings.NewReplacer("#quot;", `"`, "#35;", "#").Replace(s)
}

// seedFlowchart is the seed document's flowchart, verbatim.
const seedFlowchart = `flowchart TD
A[Client queries CoreDNS] --> B{Service clusterIP=None?}
B -->|No| C[Return cluster IP A record]
B -->|Yes| D{Query type?}
D -->|A/AAAA| E[Select Ready Endpoints]
D -->|SRV| F{Named port exists?}
F -->|No| G[Return NXDOMAIN]
F -->|Yes| H[Return SRV record with port and target FQDN]
E --> I{EndpointSlice hostname set?}
I -->|No| J[Return pod IPs at Service name]
I -->|Yes| K[Return hostname.subdomain.namespace.svc.cluster.local]
`

func TestFlowchartIsTheSeeds(t *testing.T) {
	seed, err := parseMermaid(seedFlowchart)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	fc := Flowchart()
	var nodes []FlowNode
	for _, id := range seed.order {
		nodes = append(nodes, seed.nodes[id])
	}
	if !reflect.DeepEqual(fc.Nodes, nodes) {
		t.Errorf("nodes:\n got %v\nwant %v", fc.Nodes, nodes)
	}
	if !reflect.DeepEqual(fc.Edges, seed.edges) {
		t.Errorf("edges:\n got %v\nwant %v", fc.Edges, seed.edges)
	}
	if !reflect.DeepEqual(NodeIDs(), seed.order) {
		t.Errorf("NodeIDs() = %v, want %v", NodeIDs(), seed.order)
	}
	drawn, err := parseMermaid(Mermaid(""))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(drawn.nodes, seed.nodes) || !reflect.DeepEqual(drawn.edges, seed.edges) {
		t.Errorf("Mermaid draws another chart than the seed's:\n%s", Mermaid(""))
	}
}

func TestMermaidIsValid(t *testing.T) {
	type block struct {
		name, src string
		highlight []string
	}
	var blocks []block
	for _, id := range append(NodeIDs(), "", "Z") {
		var hl []string
		if IsNode(id) {
			hl = []string{id}
		}
		blocks = append(blocks, block{"Mermaid(" + id + ")", Mermaid(id), hl})
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	got, _ := parseMarkdown(t, buf.Bytes())
	names := sampleNames()
	for i, src := range got.fences["mermaid"] {
		var hl []string
		if IsNode(names[i].Node) {
			hl = []string{names[i].Node}
		}
		blocks = append(blocks, block{"markdown block " + names[i].Name, src, hl})
	}
	for _, b := range blocks {
		t.Run(b.name, func(t *testing.T) {
			ch, err := parseMermaid(b.src)
			if err != nil {
				t.Fatalf("%v\n%s", err, b.src)
			}
			if !slices.Equal(ch.highlight, b.highlight) {
				t.Errorf("highlighted %v, want %v", ch.highlight, b.highlight)
			}
			if len(ch.nodes) != len(NodeIDs()) || len(ch.edges) != len(Flowchart().Edges) {
				t.Errorf("%d nodes and %d edges, want the whole chart", len(ch.nodes), len(ch.edges))
			}
		})
	}
}

func TestMermaidTextEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`say "hi"`, "say #quot;hi#quot;"},
		{"#1", "#35;1"},
		{"two\nlines", "two lines"},
		{"clusterIP=None?", "clusterIP=None?"},
	}
	for _, tt := range tests {
		if got := mermaidText(tt.in); got != tt.want {
			t.Errorf("mermaidText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if _, err := parseMermaid("flowchart TD\nX[\"" + mermaidText(tt.in) + "\"]\n"); err != nil {
			t.Errorf("%q: %v", tt.in, err)
		}
	}
}

func TestHTMLEscapesText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Errorf("page has a script tag:\n%s", out)
	}
	for _, w := range []string{
		html.EscapeString(scriptMessage),
		"&lt;script&gt;",
		"coredns-a restarted 3 times<br>last reason: OOMKilled",
		"B --&gt;|&#34;No&#34;| C",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestHTMLIsStandaloneWithMarkdownsContent(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "<!DOCTYPE html>\n") || !strings.HasSuffix(out, "</html>\n") {
		t.Error("not a whole page")
	}
	for _, bad := range []string{" src=", "<link", "@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("page loads something: has %q", bad)
		}
	}
	for _, tag := range []string{"table", "details", "pre", "ul", "h3", "h4"} {
		if o, c := strings.Count(out, "<"+tag), strings.Count(out, "</"+tag+">"); o != c {
			t.Errorf("%d <%s> and %d </%s>", o, tag, c, tag)
		}
	}
	if n := strings.Count(out, `<pre class="mermaid">`); n != maxNamesDrawn {
		t.Errorf("%d mermaid blocks, want %d", n, maxNamesDrawn)
	}
	r := sampleReport()
	for _, s := range []string{r.Summary(), "Metrics of the DNS pods", "1 Ready against 2 replicas (seed)", "and 3 more names"} {
		if !strings.Contains(out, html.EscapeString(s)) {
			t.Errorf("page lacks %q", s)
		}
	}
}
