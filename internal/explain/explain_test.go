package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/examples"
	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

type expectation struct {
	// Short: ask the name as a pod in Namespace (default "default") would,
	// through its search path.
	Short bool `json:"short,omitempty"`
	// Autopath: the server runs with --autopath (its defaults).
	Autopath  bool     `json:"autopath,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Rcode     string   `json:"rcode"`
	Codes     []string `json:"codes"`
}

func codesOf(r *Result) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range r.Causes {
		if !seen[c.Code] {
			seen[c.Code] = true
			out = append(out, c.Code)
		}
	}
	sort.Strings(out)
	return out
}

// TestCauseCatalogue runs every case of testdata/explain: one manifest set
// per cause of the seed's table and per cause code, with the codes each
// question must produce (exactly), in text and JSON.
func TestCauseCatalogue(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/explain/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	covered := map[string]bool{}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			state, err := manifest.Load(context.Background(), []string{filepath.Join(dir, "manifests.yaml")}, nil, manifest.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			var exps []expectation
			b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &exps); err != nil {
				t.Fatal(err)
			}
			opts := caseOptions(t, dir)
			ex, err := New(state, opts)
			if err != nil {
				t.Fatal(err)
			}
			full, err := zone.Build(state, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, exp := range exps {
				ex.autopath = nil
				if exp.Autopath {
					if err := ex.SetAutopath(autopath.Config{}); err != nil {
						t.Fatal(err)
					}
				}
				r := ex.Explain(exp.Name, dns.StringToType[exp.Type])
				if exp.Short {
					ns := exp.Namespace
					if ns == "" {
						ns = "default"
					}
					r = ex.ExplainShort(exp.Name, dns.StringToType[exp.Type], ns, 5)
					if len(r.Queries) < 2 {
						t.Errorf("%s: short name explained without its search path", exp.Name)
					}
				}
				var text bytes.Buffer
				r.WriteText(&text)
				if r.Rcode != exp.Rcode {
					t.Errorf("%s %s: rcode %s, want %s\n%s", exp.Name, exp.Type, r.Rcode, exp.Rcode, text.String())
				}
				want := append([]string{}, exp.Codes...)
				sort.Strings(want)
				if got := codesOf(r); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s %s: codes %v, want %v\n%s", exp.Name, exp.Type, got, want, text.String())
				}
				for _, c := range exp.Codes {
					covered[c] = true
					if !strings.Contains(text.String(), c) {
						t.Errorf("text output lacks %s", c)
					}
				}
				if len(exp.Codes) == 0 && r.HasErrors() {
					t.Errorf("%s: a healthy name has an error cause", exp.Name)
				}
				// The verdict is the engine's: the whole cluster's snapshot
				// gives the same answer.
				if whole := full.Lookup(r.Name, dns.StringToType[exp.Type]); dns.RcodeToString[whole.Rcode] != r.Rcode || len(whole.Answer) != len(r.Answer) {
					t.Errorf("%s: explain says %s %d records, the full snapshot %s %d", exp.Name, r.Rcode, len(r.Answer), dns.RcodeToString[whole.Rcode], len(whole.Answer))
				}
				js, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				var generic map[string]any
				if err := json.Unmarshal(js, &generic); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"name", "type", "rcode", "answer", "path", "causes"} {
					if _, ok := generic[k]; !ok {
						t.Errorf("JSON lacks %q: %s", k, js)
					}
				}
				for _, c := range r.Causes {
					if c.Message == "" || c.Severity == "" {
						t.Errorf("cause without message or severity: %+v", c)
					}
					if c.Severity == SeverityError && c.Fix == "" {
						t.Errorf("error cause without a fix: %+v", c)
					}
				}
			}
		})
	}
	// Codes that need a live server or a resolver model are covered by
	// their own tests.
	others := map[string]bool{CodeServerDisagrees: true, CodeServerUnreachable: true}
	for _, c := range Codes {
		if !covered[c] && !others[c] {
			t.Errorf("no testdata case produces %s", c)
		}
	}
}

// caseOptions are the zone options of a catalogue case: the defaults, or
// what its options.json says (zones, zonal, multicluster zones).
func caseOptions(t *testing.T, dir string) zone.Options {
	t.Helper()
	o := zone.DefaultOptions()
	b, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return o
	}
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Zones        []string `json:"zones"`
		Zonal        bool     `json:"zonal"`
		Multicluster []string `json:"multicluster"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s/options.json: %v", dir, err)
	}
	if len(c.Zones) > 0 {
		o.Zones = c.Zones
	}
	o.Zonal, o.MulticlusterZones = c.Zonal, c.Multicluster
	return o
}

// exampleExplainer explains the embedded example cluster.
func exampleExplainer(t *testing.T) (*Explainer, *cluster.State) {
	t.Helper()
	sub, err := fs.Sub(examples.Cluster, "cluster")
	if err != nil {
		t.Fatal(err)
	}
	state, err := manifest.LoadFS(context.Background(), sub, manifest.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := New(state, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return ex, state
}

// The search-path cause says in which order the resolver tries the name:
// a name with as many dots as ndots is asked as it is first. It used to
// say "fewer than 5 dots" of a name with five.
func TestSearchPathCauseSaysTheOrder(t *testing.T) {
	ex, _ := exampleExplainer(t)
	for name, want := range map[string]string{
		"a.b.c.d.e.f": `"a.b.c.d.e.f" has 5 dots, at least ndots (5), so the resolver asks it as it is first`,
		"nope.web":    `"nope.web" has 1 dot, fewer than ndots (5), so the resolver tries the search path first`,
	} {
		r := ex.ExplainShort(name, dns.TypeA, "default", 5)
		found := false
		for _, c := range r.Causes {
			if c.Code == CodeSearchPathExpansion {
				found = strings.Contains(c.Message, want)
				if !found {
					t.Errorf("%s: %q, want %q", name, c.Message, want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s cause in %v", name, CodeSearchPathExpansion, codesOf(r))
		}
	}
}

// explain counts wasted queries as resolve does (the resolver model's
// Wasted), for a name that resolves and one that does not.
func TestSearchPathWastedIsResolves(t *testing.T) {
	ex, state := exampleExplainer(t)
	full, err := zone.Build(state, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ask := func(name string, qt uint16) (int, int) {
		a := full.Lookup(name, qt)
		if a.Zone == "" {
			return dns.RcodeRefused, 0
		}
		return a.Rcode, len(a.Answer)
	}
	for _, name := range []string{"kubernetes", "kubernetes.default", "nope.example.com", "nope"} {
		cfg := resolv.ClusterFirst("default", "cluster.local", resolv.DefaultClusterDNS)
		want := resolv.Simulate(cfg, name, resolv.Model{Libc: resolv.Glibc, Call: resolv.GetAddrInfo}, ask)
		r := ex.ExplainShort(name, dns.TypeA, "default", 5)
		msg := ""
		for _, c := range r.Causes {
			if c.Code == CodeSearchPathExpansion {
				msg = c.Message
			}
		}
		if wantText := fmt.Sprintf("%d queries for one lookup, %d of them wasted", len(want.Queries), want.Wasted); want.Wasted > 0 && !strings.Contains(msg, wantText) {
			t.Errorf("%s: %q, want %q (as resolve counts)", name, msg, wantText)
		}
	}
}
