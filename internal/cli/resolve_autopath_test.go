package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/autopath"
)

// otherWebManifest adds namespace other with a Service web to the
// example cluster (which has default/web, a headless StatefulSet's).
const otherWebManifest = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec: {clusterIP: 10.96.0.30, ports: [{name: http, port: 80}]}
`

// resolve --server-autopath predicts what a pod sends when the server
// expands first steps: the first question of the walk gets the walk's end,
// unless autopath declines it (and says why), with the server's own
// decision and walk (package autopath's model).
func TestResolveServerAutopath(t *testing.T) {
	extra := writeResolveFile(t, t.TempDir(), "other.yaml", otherWebManifest)
	state := []string{"--manifests", exampleManifests, "--manifests", extra}
	for _, tc := range []struct {
		rule    string
		args    []string
		with    int    // queries the pod sends with server autopath (0: as many as without)
		without int    // and without
		why     string // a reason autopath gives for one of the questions
		// muslAsIs: musl asks a name with ndots dots as it is only (2
		// queries), so it never reaches the search list.
		muslAsIs bool
	}{
		{"an external name saves 8 queries", []string{"www.example.com", "--node-search", "us-east-2.compute.internal"}, 2, 10, "", false},
		{"an external name without node domains saves 6 queries", []string{"www.example.com"}, 2, 8, "", false},
		{"web.other: 2 questions", []string{"web.other"}, 2, 4, "", false},
		{"a name with ndots dots: unchanged", []string{"a.b.c.d.e.f", "--upstream", "nxdomain"}, 0, 8, autopath.TooManyDots, true},
		{"a custom search list: unchanged", []string{"www.example.com", "--search", "corp.example.com,example.net"}, 0, 6, "", false},
		{"a custom search list that starts as the kubelet's: unchanged, its walk differs", []string{"www.example.com", "--search", "default.svc.cluster.local,corp.example"}, 0, 6, autopath.Differs, false},
		{"a name under an existing Service: unchanged", []string{"web-2.web"}, 0, 8, autopath.UnderService, false},
		{"a name of another namespace that is nowhere: unchanged, its second step guarded", []string{"x.other"}, 0, 8, autopath.SecondStep, false},
	} {
		for _, libc := range []string{"glibc", "musl", "go"} {
			t.Run(tc.rule+"/"+libc, func(t *testing.T) {
				args := append(append(append([]string{}, tc.args...), state...), "--libc", libc, "-o", "json")
				without, why := tc.without, tc.why
				if tc.muslAsIs && libc == "musl" {
					without, why = 2, ""
				}
				_, outWithout, errOut := runResolveCLI(t, args...)
				_, plain := decodeResolveJSON(t, outWithout)
				_, outWith, errWith := runResolveCLI(t, append(args, "--server-autopath")...)
				loose, with := decodeResolveJSON(t, outWith)
				if plain.Autopath != nil || with.Autopath == nil {
					t.Fatalf("autopath in the output without the flag, or not with it:\n%s%s", outWith, errOut+errWith)
				}
				if len(plain.Queries) != without {
					t.Errorf("without: %d queries, want %d", len(plain.Queries), without)
				}
				want := tc.with
				if want == 0 {
					want = len(plain.Queries)
					if !reflect.DeepEqual(with.Queries, plain.Queries) {
						t.Errorf("changed:\nwith    %+v\nwithout %+v", with.Queries, plain.Queries)
					}
				}
				ap := with.Autopath
				if len(with.Queries) != want || ap.QueriesWithout != len(plain.Queries) || ap.Saved != len(plain.Queries)-want {
					t.Errorf("%d queries (want %d), without %d, saved %d", len(with.Queries), want, ap.QueriesWithout, ap.Saved)
				}
				if tc.with > 0 && (!ap.Questions[0].Expanded || ap.Questions[0].Query != 0 || with.ResolvedBy == nil || *with.ResolvedBy != with.Queries[0].Name) {
					t.Errorf("the first question is not answered by the walk's end: %s", outWith)
				}
				found := why == ""
				for _, q := range ap.Questions {
					found = found || q.Reason == why
					if w := with.Queries[q.Query]; w.Name != q.Name || w.Type != q.Type {
						t.Errorf("autopath question %+v is not query %d %+v", q, q.Query, w)
					}
					if q.Expanded && q.Reason != "" {
						t.Errorf("expanded with a reason: %+v", q)
					}
				}
				if !found {
					t.Errorf("no question says %q: %+v", why, ap.Questions)
				}
				if _, ok := loose["autopath"]; !ok {
					t.Error("no autopath key")
				}
			})
		}
	}
}

// The text report: a column with what autopath did with each question,
// the saving, and what the walks cost the server.
func TestResolveServerAutopathText(t *testing.T) {
	code, out, errOut := runResolveCLI(t, "www.example.com", "--node-search", "us-east-2.compute.internal", "--server-autopath")
	for _, want := range []string{
		"dry run, answered by the record engine as a server with autopath",
		"server autopath",
		"expanded: a CNAME to www.example.com. and its 1 record(s), step 4 of the walk",
		"server autopath: 2 queries instead of 10 without it, 8 saved",
		"after the pod's first lookup in its namespace (10 queries), which shows the server the pod's own walk; again every 10m0s",
		"asking 8 name(s) itself, 4 of them outside the cluster zone (forwarded)",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want %q in\n%s%s", code, want, out, errOut)
		}
	}
	code, out, _ = runResolveCLI(t, "web-2.web", "--server-autopath")
	if code != 1 || !strings.Contains(out, "not expanded: "+autopath.UnderService) || !strings.Contains(out, "8 queries instead of 8 without it, 0 saved") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestResolveServerAutopathFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"web", "--server-autopath", "--server", "127.0.0.1:53"}, "a live run (--server) shows what that server does"},
		{[]string{"web", "--autopath-ndots", "3"}, "--autopath-ndots goes with --server-autopath"},
		{[]string{"web", "--autopath-exclude-namespace", "kube-system"}, "--autopath-exclude-namespace goes with --server-autopath"},
		{[]string{"web", "--server-autopath", "--autopath-ndots", "16"}, "ndots 16 out of range"},
	} {
		code, out, errOut := runResolveCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %q in %s%s", tc.args, code, tc.want, out, errOut)
		}
	}
}
