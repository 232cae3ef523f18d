package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostile are inputs that once crashed the loader (stack overflow) or
// took gigabytes; each must be an error at a line of its file.
var hostile = []struct {
	name, file, content string
	wantLine            int
	want                string
}{
	{"a sequence that contains itself", "self.yaml",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: &a [*a]\n", 5, "YAML alias cycle: *a refers to a value that contains it"},
	{"metadata whose labels are the metadata", "meta.yaml",
		"apiVersion: v1\nkind: Service\nmetadata: &m\n  name: x\n  labels: *m\n", 5, "YAML alias cycle: *m refers"},
	{"a mapping that merges itself", "merge.yaml",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\n  <<: *m\n", 5, "the merge of *m is inside the mapping it names"},
	{"JSON nested past MaxDepth", "deep.json",
		strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000), 1, "nest deeper than 1000"},
	{"JSON nested past MaxDepth, no extension", "deep",
		strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000), 1, "nest deeper than 1000"},
	{"YAML nested past MaxDepth", "deep.yaml",
		"a: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 1, "nest deeper than 1000"},
	// The anchors' own definitions expand too: l5 (line 11) is the first
	// to pass MaxAliasValues.
	{"an alias bomb", "bomb.yaml", aliasBomb(0, 7), 11, "aliases expand to more than"},
}

// aliasBomb is a ConfigMap whose anchors l1...l(levels-1) each repeat the
// one before ten times, and whose last key repeats the last three times:
// about 3.3*10^levels values from a few hundred bytes.
func aliasBomb(i, levels int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb%d\ndata:\n", i)
	b.WriteString("  l0: &l0 [x,x,x,x,x,x,x,x,x,x]\n")
	for l := 1; l < levels; l++ {
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", l, l, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", l-1), 10), ","))
	}
	fmt.Fprintf(&b, "  top: [*l%d,*l%d,*l%d]\n", levels-1, levels-1, levels-1)
	return b.String()
}

func TestHostileInputsAreErrorsAtALine(t *testing.T) {
	for _, c := range hostile {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.file, []byte(c.content))
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatalf("no error")
			}
			e := errs[0]
			if e.File != c.file || e.Line != c.wantLine || !strings.Contains(e.Err.Error(), c.want) {
				t.Fatalf("got %v, want %s:%d: ...%s", e, c.file, c.wantLine, c.want)
			}
		})
	}
}

// Aliases are bounded over the whole input, not per document: twenty
// bombs each under any per-document bound still stop at MaxAliasValues.
// Before, 20 documents of 8 KB took lint to 2.7 GB.
func TestAliasExpansionIsBoundedPerInput(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		// About 45,000 values made by aliases per file, 900,000 in all.
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("b%02d.yaml", i)), []byte(aliasBomb(i, 4)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(context.Background(), []string{dir}, nil, DefaultOptions())
	errs := Errors(err)
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "aliases expand to more than") {
		t.Fatalf("want the alias bound, got %v", err)
	}
	if !strings.Contains(errs[0].File, "b05.yaml") {
		t.Errorf("the bound was reached in %s, want the sixth file (the files before it hold about 225,000)", errs[0].File)
	}
}

func TestInputLimits(t *testing.T) {
	dir := t.TempDir()
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: s%d\nspec:\n  ports:\n  - port: 80\n"
	for i := range 10 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.yaml", i)), []byte(fmt.Sprintf(svc, i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	load := func(lim Limits) error {
		o := DefaultOptions()
		o.Limits = lim
		_, err := Load(context.Background(), []string{dir}, nil, o)
		return err
	}
	if err := load(Limits{}); err != nil {
		t.Fatalf("default limits: %v", err)
	}
	if err := load(Limits{MaxBytes: 300}); err == nil || !strings.Contains(err.Error(), "larger than 300 bytes in all (--manifest-max-bytes)") {
		t.Errorf("MaxBytes 300: %v", err)
	}
	if err := load(Limits{MaxValues: 50}); err == nil || !strings.Contains(err.Error(), "more than 50 values in all (--manifest-max-values)") {
		t.Errorf("MaxValues 50: %v", err)
	}
	// stdin is bounded as it is read.
	o := DefaultOptions()
	o.Limits.MaxBytes = 1000
	_, err := Load(context.Background(), []string{"-"}, strings.NewReader(strings.Repeat("# comment\n", 1000)), o)
	if err == nil || !strings.Contains(err.Error(), StdinName) || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("stdin over MaxBytes: %v", err)
	}
}

// yaml.v3 reports a tab in indentation at the line where the scalar
// before it started; the error names the tab's own line.
func TestTabIndentationLine(t *testing.T) {
	for _, c := range []struct {
		content string
		line    int
	}{
		{"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n\tnamespace: y\n", 5},
		{"a:\n  b: 1\n\t\n", 3},
		{"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 80\n\t  name: a\n", 8},
	} {
		_, err := Decode("t.yaml", []byte(c.content))
		errs := Errors(err)
		if len(errs) != 1 || errs[0].Line != c.line || !strings.Contains(errs[0].Error(), "tab") {
			t.Errorf("%q: %v, want a tab error at line %d", c.content, err, c.line)
		}
	}
}

// Guard stops what would crash another YAML reader, and nothing else.
func TestGuard(t *testing.T) {
	for _, c := range hostile {
		if strings.HasSuffix(c.file, ".json") || c.file == "deep" {
			continue // not YAML-shaped (JSON is YAML, but the bracket depth is also caught)
		}
		err := NewBudget(Limits{}).Guard(c.file, []byte(c.content))
		errs := Errors(err)
		if len(errs) != 1 || errs[0].Line != c.wantLine {
			t.Errorf("%s: %v, want an error at line %d", c.name, err, c.wantLine)
		}
	}
	for _, ok := range []string{
		"A=b\nC=d\n",                          // a configMapGenerator env file
		"key: [unclosed\n",                    // a syntax error is the reader's to report
		"a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n", // aliases that end
		"",
	} {
		if err := NewBudget(Limits{}).Guard("f", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
