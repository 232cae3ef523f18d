package lint

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// aliasBomb is a ConfigMap whose anchors each repeat the one before ten
// times: about 45,000 values made by aliases from a few hundred bytes.
func aliasBomb(i int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: bomb%d
data:
  l0: &l0 [x,x,x,x,x,x,x,x,x,x]
  l1: &l1 [*l0,*l0,*l0,*l0,*l0,*l0,*l0,*l0,*l0,*l0]
  l2: &l2 [*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1]
  l3: &l3 [*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2]
  top: [*l3,*l3,*l3]
`, i)
}

// Alias expansion is bounded over everything lint reads, not per file:
// twenty small bombs stop at the sixth. Before, each file had its own
// bound, and 20 documents of 8 KB took lint to 2.7 GB.
func TestLintBoundsAliasesOverTheWholeInput(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		write(t, dir, fmt.Sprintf("b%02d.yaml", i), aliasBomb(i))
	}
	rep, err := Lint(context.Background(), []string{dir}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) == 0 || !strings.Contains(rep.Errors[0].Message, "aliases expand to more than") {
		t.Fatalf("want the alias bound, got %v", rep.Errors)
	}
}

// A resource that would crash kustomize's YAML library (an alias inside
// the value it names) or make it expand without bound is refused before
// kustomize reads it, with its file and line. Before, lint died of a
// stack overflow, or grew past 20 GB.
func TestLintGuardsKustomize(t *testing.T) {
	for name, content := range map[string]string{
		"self-alias":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: &a [*a]\n",
		"self-metadata": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\n  labels: *m\n",
		"bomb":          strings.Replace(aliasBomb(0), "  top: [*l3,*l3,*l3]\n", "  l4: &l4 [*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3]\n  top: [*l4,*l4,*l4]\n", 1),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "kustomization.yaml", "resources:\n- cm.yaml\n")
			write(t, dir, "cm.yaml", content)
			rep, err := Lint(context.Background(), []string{dir}, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Errors) != 1 || !strings.HasSuffix(rep.Errors[0].File, "cm.yaml") || rep.Errors[0].Line == 0 {
				t.Fatalf("want one error at a line of cm.yaml, got %+v", rep.Errors)
			}
		})
	}
}
