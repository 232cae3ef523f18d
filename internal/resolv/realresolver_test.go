//go:build linux

package resolv

import (
	"strings"
	"sync"
	"testing"
)

// Each case is run by the real client in a private namespace against the
// fixture on 127.0.0.1:53 (faults applied), and by the model against the
// same answers; the questions the server saw must be the model's, in the
// same order, with the same rcodes, and the client must succeed exactly
// when the model says it resolves.

// podConf is the usual ClusterFirst file of a pod in prod on an AWS node,
// with a short timeout so that lost replies cost a second, not five.
func podConf(opts string) string {
	return "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal\nnameserver 127.0.0.1\noptions " + opts + "\n"
}

var stdConf = podConf("ndots:5 timeout:1 attempts:2")

type realCase struct {
	rule   string
	name   string
	conf   string
	faults faults
}

// commonCases hold for every client: the names (0 to 5 dots, trailing
// dots), ndots 1/2/5, search lists with the cluster and node domains, and
// each rcode outcome on the first candidate or on one type.
var commonCases = []realCase{
	{"short name answered by the namespace domain", "db", stdConf, nil},
	{"two labels walk to the second domain", "data.test", stdConf, nil},
	{"external name walks every domain then goes as is", "www.example.com", stdConf, faults{"www.example.com.": "addr"}},
	{"full cluster name without trailing dot is searched first (4 dots < ndots 5)", "kubernetes.default.svc.cluster.local", stdConf, nil},
	{"trailing dot asks only the name", "kubernetes.default.svc.cluster.local.", stdConf, nil},
	{"trailing dot on a missing name fails at once", "nosuch.example.", stdConf, nil},
	{"five dots reach ndots 5 and go as is first", "a.b.c.d.e.f", stdConf, nil},
	{"three dots with ndots 2 go as is first", "web-0.web.prod.svc", podConf("ndots:2 timeout:1"), nil},
	{"one dot with ndots 1 goes as is first", "data.test", podConf("ndots:1 timeout:1"), nil},
	{"one dot with ndots 2 is searched first", "data.test", podConf("ndots:2 timeout:1"), nil},
	{"every candidate NXDOMAIN", "nosuch", stdConf, nil},
	{"NODATA in the search list (a namespace name)", "default", stdConf, nil},
	{"NODATA for A, data for AAAA (IPv6-only service)", "six", stdConf, nil},
	{"SERVFAIL for both types of the first candidate", "db", stdConf, faults{"db.prod.svc.cluster.local.": "servfail"}},
	{"SERVFAIL for A only", "db", stdConf, faults{"db.prod.svc.cluster.local.|A": "servfail"}},
	{"SERVFAIL for the name as is, last", "nosuch", stdConf, faults{"nosuch.": "servfail"}},
	{"REFUSED for both types of the first candidate", "data.test", stdConf, faults{"data.test.prod.svc.cluster.local.": "refused"}},
	{"REFUSED for A only", "db", stdConf, faults{"db.prod.svc.cluster.local.|A": "refused"}},
	{"NXDOMAIN for AAAA only while A has data", "db", stdConf, faults{"db.prod.svc.cluster.local.|AAAA": "nxdomain"}},
	{"lost AAAA reply while A has data", "db", stdConf, faults{"db.prod.svc.cluster.local.|AAAA": "drop"}},
	{"lost AAAA reply while A is NXDOMAIN", "data.test", stdConf, faults{"data.test.prod.svc.cluster.local.|AAAA": "drop"}},
	{"lost A reply while AAAA is NODATA", "data.test", stdConf, faults{"data.test.prod.svc.cluster.local.|A": "drop", "data.test.prod.svc.cluster.local.|AAAA": "nodata"}},
	{"both replies lost on the first candidate", "data.test", stdConf, faults{"data.test.prod.svc.cluster.local.": "drop"}},
	{"no search line", "db", "nameserver 127.0.0.1\noptions timeout:1\n", nil},
	{"root in the search list", "nosuch", "search prod.svc.cluster.local .\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n", nil},
	{"search entry with a trailing dot", "nosuch", "search prod.svc.cluster.local. svc.cluster.local\nnameserver 127.0.0.1\noptions timeout:1\n", nil},
	{"domain line is the search list", "db", "domain prod.svc.cluster.local\nnameserver 127.0.0.1\noptions timeout:1\n", nil},
	{tcRule, "db", stdConf, faults{"db.prod.svc.cluster.local.|A": "tc"}},
}

var glibcCases = []realCase{
	{"no-aaaa asks A only", "data.test", podConf("ndots:5 no-aaaa timeout:1"), nil},
	{"single-request with a lost AAAA reply falls back to reopen only", "db", podConf("ndots:5 single-request timeout:1"), faults{"db.prod.svc.cluster.local.|AAAA": "drop"}},
	{"single-request-reopen with a lost AAAA reply asks once", "db", podConf("ndots:5 single-request-reopen timeout:1"), faults{"db.prod.svc.cluster.local.|AAAA": "drop"}},
	{"no-tld-query never asks a dot-less name as is", "nosuch", podConf("ndots:5 no-tld-query timeout:1"), nil},
	{"attempts 1 asks a lost pair once", "data.test", podConf("ndots:5 timeout:1 attempts:1"), faults{"data.test.prod.svc.cluster.local.": "drop"}},
	{"seven search domains are all used (glibc >= 2.26)", "nosuch", "search a.example b.example c.example d.example e.example f.example g.example\nnameserver 127.0.0.1\noptions timeout:1\n", nil},
}

var muslCases = []realCase{
	{"a search line of 255 characters or more is ignored", "db",
		"search prod.svc.cluster.local svc.cluster.local cluster.local " + strings.Repeat("x", 200) + ".example\nnameserver 127.0.0.1\noptions ndots:5 timeout:1\n", nil},
}

var goCases = []realCase{
	{"single-request sends A then AAAA", "data.test", podConf("ndots:5 single-request timeout:1"), nil},
}

type realClient struct {
	client string
	model  Model
	// skip maps a rule to why this client does not run it.
	skip map[string]string
}

const tcRule = "truncated reply is asked again over TCP"

// muslSkips: Debian's musl is 1.2.3.
var muslSkips = map[string]string{
	tcRule: "Debian's musl 1.2.3 keeps the truncated UDP reply; the model and the live run follow musl 1.2.4 and later, which ask again over TCP",
}

// netnsSlots bounds the namespaces alive at once, across the tests: the
// children mostly wait for timeouts, so many more than GOMAXPROCS.
var netnsSlots = make(chan struct{}, 16)

func runRealCases(t *testing.T, rc realClient, cases []realCase, bin string) {
	snap := fixture(t)
	// Run every client first, concurrently; then compare case by case.
	results := make([]nsResult, len(cases))
	errs := make([]string, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		if rc.skip[c.rule] != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			netnsSlots <- struct{}{}
			defer func() { <-netnsSlots }()
			results[i], errs[i] = inNetnsErr(nsRun{Client: rc.client, Name: c.name, Conf: c.conf, Faults: c.faults, Bin: bin})
		}()
	}
	wg.Wait()
	for i, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			if why := rc.skip[c.rule]; why != "" {
				t.Skip(why)
			}
			if errs[i] != "" {
				t.Fatal(errs[i])
			}
			real := results[i]
			cfg, err := ParseString(c.conf)
			if err != nil {
				t.Fatal(err)
			}
			model := Simulate(cfg, c.name, rc.model, oracle(snap, c.faults))
			got := realSeq(real.Queries)
			want := modelSeq(model.Queries, c.faults, rc.model.SendMode(cfg.View(rc.model)) == Together && rc.model.Libc == Glibc)
			// Go sends A and AAAA from two goroutines, and the test server
			// reads UDP and TCP apart: within a name, the order the server
			// sees them in is chance.
			if rc.model.Libc == Go || c.rule == tcRule {
				got, want = byName(got), byName(want)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s for %q sent\n    %s\nthe model says\n    %s", rc.client, c.name, strings.Join(got, "\n    "), strings.Join(want, "\n    "))
			}
			if ok := real.Exit == 0; ok != model.Resolved {
				t.Errorf("%s for %q: resolved=%v (exit %d: %s), the model says resolved=%v (%s: %s)", rc.client, c.name, ok, real.Exit, strings.TrimSpace(real.Output), model.Resolved, model.Error, model.Stop)
			}
		})
	}
}

func TestGlibcGetaddrinfoMatchesGlibc(t *testing.T) {
	needNetns(t)
	t.Parallel()
	needGetent(t)
	runRealCases(t, realClient{"getent-ahosts", Model{Libc: Glibc, Call: GetAddrInfo}, nil}, append(append([]realCase{}, commonCases...), glibcCases...), "")
}

func TestGlibcGetentHostsMatchesGlibc(t *testing.T) {
	needNetns(t)
	t.Parallel()
	needGetent(t)
	runRealCases(t, realClient{"getent-hosts", Model{Libc: Glibc, Call: GetentHosts}, nil}, append(append([]realCase{}, commonCases...), glibcCases...), "")
}

func TestMuslGetaddrinfoMatchesMusl(t *testing.T) {
	needNetns(t)
	t.Parallel()
	bin := needMusl(t)
	runRealCases(t, realClient{"musl-gai", Model{Libc: Musl, Call: GetAddrInfo}, muslSkips}, append(append([]realCase{}, commonCases...), muslCases...), bin)
}

func TestMuslGethostbynameMatchesMusl(t *testing.T) {
	needNetns(t)
	t.Parallel()
	bin := needMusl(t)
	runRealCases(t, realClient{"musl-ghbn", Model{Libc: Musl, Call: GetHostByName}, muslSkips}, commonCases, bin)
}

func TestGoResolverModelMatchesGo(t *testing.T) {
	needNetns(t)
	t.Parallel()
	runRealCases(t, realClient{"go", Model{Libc: Go, Call: GoLookup}, nil}, append(append([]realCase{}, commonCases...), goCases...), "")
}
