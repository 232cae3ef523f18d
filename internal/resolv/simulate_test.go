package resolv

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// simConf is a ClusterFirst pod in prod on an AWS node, one nameserver,
// timeout 1 s, 2 attempts.
const simConf = podSearch + "options ndots:5 timeout:1 attempts:2\n"

var (
	mGlibc = Model{Libc: Glibc, Call: GetAddrInfo}
	mMusl  = Model{Libc: Musl, Call: GetAddrInfo}
	mGo    = Model{Libc: Go, Call: GoLookup}
	mDig   = Model{Libc: Glibc, Call: Dig, Type: dns.TypeA}
)

func q(name, typ, rcode string) string { return name + " " + typ + " " + rcode }

// pair is one candidate asked for A and AAAA.
func pair(name, a, aaaa string) []string { return []string{q(name, "A", a), q(name, "AAAA", aaaa)} }

func rep(n int, s []string) []string {
	var out []string
	for range n {
		out = append(out, s...)
	}
	return out
}

// nxPairs is every pod-search expansion of name from the index from, plus
// the name as is, all NXDOMAIN.
func nxPairs(name string, from int) []string {
	var out []string
	for _, c := range expansions(name)[from:] {
		out = append(out, pair(c, "NXDOMAIN", "NXDOMAIN")...)
	}
	return append(out, pair(name+".", "NXDOMAIN", "NXDOMAIN")...)
}

func seqOf(r Result) []string {
	var out []string
	for _, x := range r.Queries {
		out = append(out, q(x.Name, dns.TypeToString[x.Type], x.RcodeString()))
	}
	return out
}

func hasFlag(r Result, kind string) bool {
	for _, f := range r.Flags {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

type stopCase struct {
	rule     string
	model    Model
	name     string
	faults   faults
	want     []string
	resolved string // ResolvedBy, "" for not resolved
	err      string // prefix of Error when not resolved
	stall    time.Duration
	flags    []string
}

func TestEachRcodeContinuesOrStopsTheWalkPerClient(t *testing.T) {
	dtProd := "data.test.prod.svc.cluster.local."
	dtSvc := "data.test.svc.cluster.local."
	dbProd := "db.prod.svc.cluster.local."
	defProd, defSvc := "default.prod.svc.cluster.local.", "default.svc.cluster.local."
	servfail := faults{dbProd: "servfail"}
	refused := faults{dtProd: "refused"}
	dropped := faults{dtProd: "drop"}
	aaaaNX := faults{dbProd + "|AAAA": "nxdomain"}
	aaaaLost := faults{dbProd + "|AAAA": "drop"}
	tests := []stopCase{
		// NXDOMAIN: every client moves on.
		{"NXDOMAIN moves glibc on", mGlibc, "data.test", nil, list(pair(dtProd, "NXDOMAIN", "NXDOMAIN"), pair(dtSvc, "NOERROR", "NODATA")), dtSvc, "", 0, nil},
		{"NXDOMAIN moves musl on", mMusl, "data.test", nil, list(pair(dtProd, "NXDOMAIN", "NXDOMAIN"), pair(dtSvc, "NOERROR", "NODATA")), dtSvc, "", 0, nil},
		{"NXDOMAIN moves Go on", mGo, "data.test", nil, list(pair(dtProd, "NXDOMAIN", "NXDOMAIN"), pair(dtSvc, "NOERROR", "NODATA")), dtSvc, "", 0, nil},
		{"NXDOMAIN moves dig +search on", mDig, "data.test", nil, list(q(dtProd, "A", "NXDOMAIN"), q(dtSvc, "A", "NOERROR")), dtSvc, "", 0, nil},
		{"every candidate NXDOMAIN: glibc asks all, EAI_NONAME", mGlibc, "nosuch", nil, nxPairs("nosuch", 0), "", "EAI_NONAME", 0, nil},

		// NODATA: glibc and Go move on, musl and dig stop.
		{"NODATA moves glibc on", mGlibc, "default", nil, list(pair(defProd, "NXDOMAIN", "NXDOMAIN"), pair(defSvc, "NODATA", "NODATA"), nxPairs("default", 2)), "", "EAI_NONAME", 0, nil},
		{"NODATA moves Go on", mGo, "default", nil, list(pair(defProd, "NXDOMAIN", "NXDOMAIN"), pair(defSvc, "NODATA", "NODATA"), nxPairs("default", 2)), "", "no such host", 0, nil},
		{"NODATA stops musl", mMusl, "default", nil, list(pair(defProd, "NXDOMAIN", "NXDOMAIN"), pair(defSvc, "NODATA", "NODATA")), "", "EAI_NODATA", 0, []string{"gives-up-early"}},
		{"NODATA stops dig +search", mDig, "default", nil, list(q(defProd, "A", "NXDOMAIN"), q(defSvc, "A", "NODATA")), "", "NODATA", 0, []string{"gives-up-early"}},
		{"NODATA for A, addresses for AAAA: an answer for everyone", mMusl, "six", nil, pair("six.prod.svc.cluster.local.", "NODATA", "NOERROR"), "six.prod.svc.cluster.local.", "", 0, nil},

		// SERVFAIL: glibc and Go retry, then move on; musl retries at once,
		// waits out the timeout and gives up; dig stops.
		{"SERVFAIL: glibc asks again (attempts), then moves on", mGlibc, "db", servfail, list(rep(2, pair(dbProd, "SERVFAIL", "SERVFAIL")), nxPairs("db", 1)), "", "EAI_AGAIN", 0, []string{"server-error"}},
		{"SERVFAIL: Go asks again (attempts), then moves on", mGo, "db", servfail, list(rep(2, pair(dbProd, "SERVFAIL", "SERVFAIL")), nxPairs("db", 1)), "", "no such host", 0, nil},
		{"SERVFAIL: musl resends at once, twice per question per round, then gives up", mMusl, "db", servfail, rep(6, pair(dbProd, "SERVFAIL", "SERVFAIL")), "", "EAI_AGAIN", time.Second, []string{"gives-up-early"}},
		{"SERVFAIL stops dig +search", mDig, "db", servfail, list(q(dbProd, "A", "SERVFAIL")), "", "SERVFAIL", 0, []string{"gives-up-early"}},
		{"SERVFAIL for A beside NODATA for AAAA: glibc drops the error and moves on", mGlibc, "db", faults{dbProd + "|A": "servfail"}, list(pair(dbProd, "SERVFAIL", "NODATA"), nxPairs("db", 1)), "", "EAI_NONAME", 0, nil},

		// REFUSED: glibc ends the search list and asks the name as is; Go
		// moves on; musl ignores it, waits, gives up; dig stops.
		{"REFUSED ends glibc's search list", mGlibc, "data.test", refused, list(rep(2, pair(dtProd, "REFUSED", "REFUSED")), pair("data.test.", "NXDOMAIN", "NXDOMAIN")), "", "EAI_NONAME", 0, []string{"gives-up-early"}},
		{"REFUSED moves Go on", mGo, "data.test", refused, list(rep(2, pair(dtProd, "REFUSED", "REFUSED")), pair(dtSvc, "NOERROR", "NODATA")), dtSvc, "", 0, nil},
		{"REFUSED is ignored by musl: timeout, EAI_AGAIN", mMusl, "data.test", refused, rep(2, pair(dtProd, "REFUSED", "REFUSED")), "", "EAI_AGAIN", time.Second, []string{"gives-up-early"}},
		{"REFUSED stops dig +search", mDig, "data.test", refused, list(q(dtProd, "A", "REFUSED")), "", "an error reply", 0, nil},

		// Timeouts.
		{"no reply ends glibc's search list after attempts", mGlibc, "data.test", dropped, list(rep(2, pair(dtProd, "TIMEOUT", "TIMEOUT")), pair("data.test.", "NXDOMAIN", "NXDOMAIN")), "", "EAI_NONAME", 2 * time.Second, []string{"timeout", "gives-up-early"}},
		{"no reply moves Go on after attempts", mGo, "data.test", dropped, list(rep(2, pair(dtProd, "TIMEOUT", "TIMEOUT")), pair(dtSvc, "NOERROR", "NODATA")), dtSvc, "", 2 * time.Second, []string{"timeout"}},
		{"no reply makes musl give up after its timeout", mMusl, "data.test", dropped, rep(2, pair(dtProd, "TIMEOUT", "TIMEOUT")), "", "EAI_AGAIN", time.Second, []string{"timeout", "gives-up-early"}},
		{"no reply stops dig +search after its tries", mDig, "data.test", dropped, rep(2, []string{q(dtProd, "A", "TIMEOUT")}), "", "no reply", 2 * time.Second, []string{"timeout"}},
		{"a lost AAAA reply: glibc asks the pair 3 times (together, single-request, reopen), then uses A", mGlibc, "db", aaaaLost, rep(3, pair(dbProd, "NOERROR", "TIMEOUT")), dbProd, "", 3 * time.Second, []string{"timeout"}},
		{"a lost AAAA reply: Go asks AAAA again, A answers", mGo, "db", aaaaLost, list(pair(dbProd, "NOERROR", "TIMEOUT"), q(dbProd, "AAAA", "TIMEOUT")), dbProd, "", 2 * time.Second, []string{"timeout"}},
		{"a lost AAAA reply: musl fails although A answered", mMusl, "db", aaaaLost, list(pair(dbProd, "NOERROR", "TIMEOUT"), q(dbProd, "AAAA", "TIMEOUT")), "", "EAI_AGAIN", time.Second, []string{"timeout", "gives-up-early"}},

		// One type NXDOMAIN, the other addresses.
		{"NXDOMAIN for AAAA beside A data: glibc answers", mGlibc, "db", aaaaNX, pair(dbProd, "NOERROR", "NXDOMAIN"), dbProd, "", 0, []string{"inconsistent-rcodes"}},
		{"NXDOMAIN for AAAA beside A data: Go answers", mGo, "db", aaaaNX, pair(dbProd, "NOERROR", "NXDOMAIN"), dbProd, "", 0, []string{"inconsistent-rcodes"}},
		{"NXDOMAIN for AAAA beside A data: musl drops the addresses and moves on", mMusl, "db", aaaaNX, list(pair(dbProd, "NOERROR", "NXDOMAIN"), nxPairs("db", 1)), "", "EAI_NONAME", 0, []string{"skips-family", "inconsistent-rcodes"}},
	}
	snap := fixture(t)
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, err := ParseString(simConf)
			if err != nil {
				t.Fatal(err)
			}
			r := Simulate(c, tt.name, tt.model, oracle(snap, tt.faults))
			if got := seqOf(r); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("%s %q sent\n    %s\nwant\n    %s", tt.model, tt.name, strings.Join(got, "\n    "), strings.Join(tt.want, "\n    "))
			}
			if r.ResolvedBy != tt.resolved || r.Resolved != (tt.resolved != "") {
				t.Errorf("resolved by %q (%v), want %q", r.ResolvedBy, r.Resolved, tt.resolved)
			}
			if tt.resolved == "" && !strings.HasPrefix(r.Error, tt.err) {
				t.Errorf("error %q, want %q", r.Error, tt.err)
			}
			if r.Stall != tt.stall {
				t.Errorf("stall %s, want %s", r.Stall, tt.stall)
			}
			for _, f := range tt.flags {
				if !hasFlag(r, f) {
					t.Errorf("no %s flag in %+v", f, r.Flags)
				}
			}
		})
	}
}

// The worked examples of resolver-behaviour.md §4: a ClusterFirst pod in
// prod with one node search domain and ndots:5.
func TestWorkedExamplesOfTheReference(t *testing.T) {
	snap := fixture(t)
	www := faults{"www.example.com.": "addr"}
	getent := Model{Libc: Glibc, Call: GetentHosts}
	tests := []struct {
		rule    string
		model   Model
		name    string
		conf    string
		faults  faults
		packets int
		wasted  int
		by      string
	}{
		{"getaddrinfo(db), Service in the pod's namespace: 2 packets", mGlibc, "db", simConf, nil, 2, 0, "db.prod.svc.cluster.local."},
		{"getaddrinfo(data.test), Service in another namespace: 4 packets", mMusl, "data.test", simConf, nil, 4, 2, "data.test.svc.cluster.local."},
		{"getaddrinfo(www.example.com), glibc: 10 packets", mGlibc, "www.example.com", simConf, www, 10, 8, "www.example.com."},
		{"getaddrinfo(www.example.com), musl: 10 packets", mMusl, "www.example.com", simConf, www, 10, 8, "www.example.com."},
		{"getaddrinfo(www.example.com), Go: 10 packets", mGo, "www.example.com", simConf, www, 10, 8, "www.example.com."},
		{"dig +search www.example.com: the same order, one type", mDig, "www.example.com", simConf, www, 5, 4, "www.example.com."},
		{"kubernetes.default.svc.cluster.local (4 dots < 5): 10 packets", mGlibc, "kubernetes.default.svc.cluster.local", simConf, nil, 10, 8, "kubernetes.default.svc.cluster.local."},
		{"kubernetes.default.svc.cluster.local. (trailing dot): 2 packets", mMusl, "kubernetes.default.svc.cluster.local.", simConf, nil, 2, 0, "kubernetes.default.svc.cluster.local."},
		{"a.b.c.d.e.f (5 dots), glibc: as is, then 4 expansions", mGlibc, "a.b.c.d.e.f", simConf, nil, 10, 8, ""},
		{"a.b.c.d.e.f (5 dots), musl: as is only", mMusl, "a.b.c.d.e.f", simConf, nil, 2, 0, ""},
		{"getent hosts db: an AAAA walk, then A: 6 packets", getent, "db", simConf, nil, 6, 4, "db.prod.svc.cluster.local."},
		{"dig +search dns-test-service.dns-1 (e2e PQDN)", mDig, "dns-test-service.dns-1", "search dns-1.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
			faults{"dns-test-service.dns-1.svc.cluster.local.": "addr"}, 2, 1, "dns-test-service.dns-1.svc.cluster.local."},
		{"dnsPolicy None, searches resolv.conf.local, ndots:2 (e2e)", mGlibc, "notexistname", "search resolv.conf.local\nnameserver 1.1.1.1\noptions ndots:2\n",
			faults{"notexistname.resolv.conf.local.": "addr"}, 2, 0, "notexistname.resolv.conf.local."},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, _ := ParseString(tt.conf)
			r := Simulate(c, tt.name, tt.model, oracle(snap, tt.faults))
			if len(r.Queries) != tt.packets || r.Wasted != tt.wasted || r.ResolvedBy != tt.by {
				t.Errorf("%d packets, %d wasted, resolved by %q; want %d, %d, %q\n%s", len(r.Queries), r.Wasted, r.ResolvedBy, tt.packets, tt.wasted, tt.by, strings.Join(seqOf(r), "\n"))
			}
		})
	}
}

func TestWastedCountsEverythingButTheAnsweringName(t *testing.T) {
	snap := fixture(t)
	c, _ := ParseString(simConf)
	tests := []struct {
		rule   string
		model  Model
		name   string
		faults faults
		wasted int
	}{
		{"nothing wasted when the first candidate answers", mGlibc, "db", nil, 0},
		{"two wasted per junk expansion with A and AAAA", mGlibc, "data.test", nil, 2},
		{"retries of the answering name are wasted too", mGlibc, "db", faults{"db.prod.svc.cluster.local.|AAAA": "drop"}, 4},
		{"not resolved: all but the name as is (the definitive answer)", mGlibc, "nosuch", nil, 8},
		{"not resolved with a trailing dot: nothing wasted", mGlibc, "nosuch.", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r := Simulate(c, tt.name, tt.model, oracle(snap, tt.faults))
			if r.Wasted != tt.wasted {
				t.Errorf("wasted %d, want %d\n%s", r.Wasted, tt.wasted, strings.Join(seqOf(r), "\n"))
			}
		})
	}
}

func TestInvalidNameSendsNothing(t *testing.T) {
	c, _ := ParseString(simConf)
	r := Simulate(c, "a..b", mGlibc, oracle(fixture(t), nil))
	if len(r.Queries) != 0 || r.Resolved || !strings.Contains(r.Error, "empty label") {
		t.Errorf("got %+v", r)
	}
}

func TestMuslGethostbynameLooksUpALongNameTwice(t *testing.T) {
	snap := fixture(t)
	c, _ := ParseString(simConf)
	m := Model{Libc: Musl, Call: GetHostByName}
	short := Simulate(c, "db", m, oracle(snap, nil))
	if len(short.Queries) != 1 {
		t.Errorf("db: %d queries, want 1:\n%s", len(short.Queries), strings.Join(seqOf(short), "\n"))
	}
	long := Simulate(c, "kubernetes.default.svc.cluster.local.", m, oracle(snap, nil))
	if len(long.Queries) != 2 || !strings.Contains(long.Stop, "looks the name up again") {
		t.Errorf("kubernetes.default.svc.cluster.local.: %d queries (%s), want 2", len(long.Queries), long.Stop)
	}
}
