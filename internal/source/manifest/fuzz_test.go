package manifest

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/examples"
)

// FuzzDecode feeds arbitrary bytes to the manifest decoder as YAML
// (multi-document) and as JSON: it must return, never panic or overflow
// the stack, and every error must name the file and a line within it.
func FuzzDecode(f *testing.F) {
	for _, c := range hostile {
		if len(c.content) > 4096 {
			continue // large seeds slow every mutation; smaller ones below
		}
		f.Add([]byte(c.content), strings.HasSuffix(c.file, ".json"))
	}
	f.Add([]byte(strings.Repeat("[", MaxDepth+1)+strings.Repeat("]", MaxDepth+1)), true)
	f.Add([]byte("a: "+strings.Repeat("{b: ", MaxDepth+1)+"x"+strings.Repeat("}", MaxDepth+1)), false)
	sub, err := fs.Sub(examples.Cluster, "cluster")
	if err != nil {
		f.Fatal(err)
	}
	files, _ := fs.Glob(sub, "*.yaml")
	for _, name := range files {
		data, err := fs.ReadFile(sub, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80}]}}`), true)
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}]}`+"\n"+`{"kind":"x"}`), true)
	f.Add([]byte("---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n[1, 2]\n"), false)
	f.Add(utf16LE("\u0085a\nb: c\n"), false)
	f.Add([]byte("a: &x {b: 1}\nc:\n  <<: [*x, *x]\n\td: 2\n"), false)

	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		file := "in.yaml"
		if asJSON {
			file = "in.json"
		}
		// Lines as the decoder counts them: of the text as UTF-8 (a
		// UTF-16 file is converted first).
		text, err := utf8Text(data)
		if err != nil {
			text = data
		}
		lines := yamlLines(text)
		_, err = Decode(file, data)
		for _, e := range Errors(err) {
			if e.File != file {
				t.Fatalf("error names %q, not %q: %v", e.File, file, e)
			}
			if e.Line < 0 || e.Line > lines {
				t.Fatalf("error at line %d of %d: %v", e.Line, lines, e)
			}
		}
	})
}
