package resolv

import (
	"strings"
	"testing"
)

func TestAdviceIsSpecificToTheCase(t *testing.T) {
	snap := fixture(t)
	std, _ := ParseString(simConf)
	reopen, _ := ParseString(podSearch + "options ndots:5 timeout:1 single-request-reopen\n")
	long, _ := ParseString("search prod.svc.cluster.local " + strings.Repeat("x", 250) + ".example\nnameserver 10.96.0.10\noptions ndots:5\n")
	lostAAAA := faults{"db.prod.svc.cluster.local.|AAAA": "drop"}
	tests := []struct {
		rule   string
		cfg    Config
		model  Model
		name   string
		faults faults
		codes  []string
		says   []string // in the messages or fixes
	}{
		{"a short name answered by its first candidate needs nothing", std, mGlibc, "db", nil, nil, nil},
		{"a name with a trailing dot needs nothing", std, mGlibc, "db.prod.svc.cluster.local.", nil, nil, nil},
		{"a short name answered further down: write it in full", std, mGlibc, "data.test", nil,
			[]string{"search-path-expansion", "fqdn"}, []string{"data.test cost 4 queries: 2 went to 1 name(s)", `use "data.test.svc.cluster.local."`, "2 queries instead of 4"}},
		{"an external name: a trailing dot, or ndots", std, mGlibc, "www.example.com", faults{"www.example.com.": "addr"},
			[]string{"search-path-expansion", "trailing-dot", "ndots"}, []string{"2 queries instead of 10", `use "www.example.com."`, `value: "2"`}},
		{"a full cluster name without its trailing dot", std, mMusl, "kubernetes.default.svc.cluster.local", nil,
			[]string{"search-path-expansion", "trailing-dot", "ndots"}, []string{"4 dot(s), fewer than ndots:5", `value: "4"`}},
		{"nothing answers: explain the name the pod most likely meant", std, mGlibc, "nosuch", nil,
			[]string{"search-path-expansion", "not-found"}, []string{"clusterdns explain nosuch.prod.svc.cluster.local."}},
		{"musl stops on NODATA where glibc goes on", std, mMusl, "default", nil,
			[]string{"stops-early"}, []string{"The walk ended at default.svc.cluster.local. on NODATA", "3 more candidate(s) never asked"}},
		{"glibc lost reply: single-request-reopen", std, mGlibc, "db", lostAAAA,
			[]string{"timeout"}, []string{"conntrack race", "single-request-reopen", "waited 3s"}},
		{"glibc already on single-request-reopen: no such fix", reopen, mGlibc, "db", lostAAAA,
			[]string{"timeout"}, nil},
		{"musl lost reply: no option, EAI_AGAIN", std, mMusl, "db", lostAAAA,
			[]string{"stops-early", "timeout"}, []string{"musl has no single-request option"}},
		{"a server that answers NXDOMAIN for one type", std, mGlibc, "db", faults{"db.prod.svc.cluster.local.|AAAA": "nxdomain"},
			[]string{"inconsistent-rcodes"}, []string{"answer NODATA"}},
		{"SERVFAIL from the server", std, mGo, "db", faults{"db.prod.svc.cluster.local.": "servfail"},
			[]string{"search-path-expansion", "not-found", "server-error"}, []string{"SERVFAIL for A db.prod.svc.cluster.local."}},
		{"musl ignores a long search line", long, mMusl, "db", nil,
			[]string{"client-ignores"}, []string{"musl ignores line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r := Simulate(tt.cfg, tt.name, tt.model, oracle(snap, tt.faults))
			tips := Advice(r)
			var codes []string
			var text strings.Builder
			for _, tip := range tips {
				codes = append(codes, tip.Code)
				text.WriteString(tip.Message + " | " + tip.Fix + "\n")
			}
			if strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Errorf("codes %v, want %v\n%s", codes, tt.codes, text.String())
			}
			for _, s := range tt.says {
				if !strings.Contains(text.String(), s) {
					t.Errorf("advice does not say %q:\n%s", s, text.String())
				}
			}
			if tt.rule == "glibc already on single-request-reopen: no such fix" && strings.Contains(text.String(), "| spec.dnsConfig") {
				t.Errorf("suggests an option already set:\n%s", text.String())
			}
		})
	}
}
