package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/yaml"
)

const conformanceCases = "../../../../shared/conformance/coredns-cases.json"

// TestConformanceFixturesLoad loads every object set of the shared CoreDNS
// conformance cases, once as YAML documents and once as a JSON stream.
func TestConformanceFixturesLoad(t *testing.T) {
	data, err := os.ReadFile(conformanceCases)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", conformanceCases)
	}
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		Objects  map[string][]json.RawMessage `json:"objects"`
		Fixtures map[string]struct {
			Objects map[string][]json.RawMessage `json:"objects"`
		} `json:"fixtures"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	sets := map[string]map[string][]json.RawMessage{"main": cases.Objects}
	for name, f := range cases.Fixtures {
		sets[name] = f.Objects
	}
	for name, objs := range sets {
		var yamlDocs, jsonStream []byte
		count := 0
		for _, group := range slices.Sorted(maps.Keys(objs)) {
			for _, raw := range objs[group] {
				y, err := yaml.JSONToYAML(raw)
				if err != nil {
					t.Fatal(err)
				}
				yamlDocs = append(append(yamlDocs, "---\n"...), y...)
				jsonStream = append(append(jsonStream, raw...), '\n')
				count++
			}
		}
		for _, file := range []struct {
			name string
			data []byte
		}{{name + ".yaml", yamlDocs}, {name + ".json", jsonStream}} {
			t.Run(file.name, func(t *testing.T) {
				objs, err := Decode(file.name, file.data)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if len(objs) != count {
					t.Errorf("Decode returned %d objects, want %d", len(objs), count)
				}
				st, err := LoadFS(context.Background(), fstest.MapFS{file.name: {Data: file.data}}, DefaultOptions())
				if err != nil {
					t.Fatalf("LoadFS: %v", err)
				}
				if len(st.Services) == 0 {
					t.Errorf("no services loaded")
				}
			})
		}
	}
}
