package resolv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// The search list of a pod in prod on an AWS node: three cluster domains
// and one node domain.
const podSearch = "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal\nnameserver 10.96.0.10\n"

// expansions of name over podSearch.
func expansions(name string) []string {
	var out []string
	for _, d := range []string{"prod.svc.cluster.local", "svc.cluster.local", "cluster.local", "us-east-2.compute.internal"} {
		out = append(out, name+"."+d+".")
	}
	return out
}

func list(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			out = append(out, p)
		case []string:
			out = append(out, p...)
		}
	}
	return out
}

func TestCandidatesFollowEachClientsSearchRules(t *testing.T) {
	glibc, musl, goRes, dig := Model{Libc: Glibc, Call: GetAddrInfo}, Model{Libc: Musl, Call: GetAddrInfo}, Model{Libc: Go, Call: GoLookup}, Model{Libc: Glibc, Call: Dig}
	type row struct {
		rule  string
		conf  string
		name  string
		model Model
		want  []string
	}
	var tests []row
	// Names with 0 to 5 dots under ndots:5: below ndots every client walks
	// the search list first and asks the name as is last; at ndots glibc,
	// Go and dig ask it first and then walk, musl asks only it.
	for _, n := range []string{"db", "data.test", "www.example.com", "web-0.web.prod.svc", "kubernetes.default.svc.cluster.local"} {
		for _, m := range []Model{glibc, musl, goRes, dig} {
			tests = append(tests, row{fmt.Sprintf("%d dots < ndots 5: search list, then as is (%s)", dots(n), m.Libc+"/"+Libc(m.Call)), podSearch + "options ndots:5\n", n, m, list(expansions(n), n+".")})
		}
	}
	for _, m := range []Model{glibc, goRes, dig} {
		tests = append(tests, row{"5 dots = ndots 5: as is first, then the search list (" + string(m.Libc) + "/" + string(m.Call) + ")", podSearch + "options ndots:5\n", "a.b.c.d.e.f", m, list("a.b.c.d.e.f.", expansions("a.b.c.d.e.f"))})
	}
	tests = append(tests,
		row{"5 dots = ndots 5: musl asks only the name as is", podSearch + "options ndots:5\n", "a.b.c.d.e.f", musl, list("a.b.c.d.e.f.")},
		// ndots 1 and 2.
		row{"ndots 1: one dot goes as is first (glibc)", podSearch + "options ndots:1\n", "data.test", glibc, list("data.test.", expansions("data.test"))},
		row{"ndots 1: one dot, musl never searches", podSearch + "options ndots:1\n", "data.test", musl, list("data.test.")},
		row{"ndots 1: no dot is searched first (Go)", podSearch + "options ndots:1\n", "db", goRes, list(expansions("db"), "db.")},
		row{"ndots 2: one dot is searched first (glibc)", podSearch + "options ndots:2\n", "data.test", glibc, list(expansions("data.test"), "data.test.")},
		row{"ndots 2: two dots go as is first (Go)", podSearch + "options ndots:2\n", "www.example.com", goRes, list("www.example.com.", expansions("www.example.com"))},
		row{"ndots 2: two dots, musl asks only the name", podSearch + "options ndots:2\n", "www.example.com", musl, list("www.example.com.")},
		row{"ndots 0: even a single label goes as is first", podSearch + "options ndots:0\n", "db", glibc, list("db.", expansions("db"))},
		row{"ndots default 1 without options", podSearch, "web.prod", glibc, list("web.prod.", expansions("web.prod"))},
	)
	// Trailing dots: the name only, for everyone.
	for _, m := range []Model{glibc, musl, goRes, dig} {
		tests = append(tests, row{"trailing dot: the name only (" + string(m.Libc) + "/" + string(m.Call) + ")", podSearch + "options ndots:5\n", "db.prod.svc.cluster.local.", m, list("db.prod.svc.cluster.local.")})
	}
	tests = append(tests,
		row{"no search list: the name as is only", "nameserver 10.0.0.1\noptions ndots:5\n", "db", glibc, list("db.")},
		row{"glibc no-tld-query: a dot-less name is never asked as is", podSearch + "options ndots:5 no-tld-query\n", "db", glibc, list(expansions("db"))},
		row{"glibc no-tld-query: a name with a dot still is", podSearch + "options ndots:5 no-tld-query\n", "data.test", glibc, list(expansions("data.test"), "data.test.")},
		row{"glibc root in the search list: asked in its place, not again at the end", "search prod.svc.cluster.local . cluster.local\n", "nosuch", glibc, list("nosuch.prod.svc.cluster.local.", "nosuch.", "nosuch.cluster.local.")},
		row{"Go drops the root from the search list", "search prod.svc.cluster.local . cluster.local\n", "nosuch", goRes, list("nosuch.prod.svc.cluster.local.", "nosuch.cluster.local.", "nosuch.")},
		row{"musl appends the root as written: an unencodable name", "search prod.svc.cluster.local .\n", "nosuch", musl, list("nosuch.prod.svc.cluster.local.", "nosuch..", "nosuch.")},
		row{"search entries with a trailing dot", "search prod.svc.cluster.local. svc.cluster.local.\n", "db", glibc, list("db.prod.svc.cluster.local.", "db.svc.cluster.local.", "db.")},
		row{"musl: search entries with a trailing dot", "search prod.svc.cluster.local. svc.cluster.local.\n", "db", musl, list("db.prod.svc.cluster.local.", "db.svc.cluster.local.", "db.")},
		row{"dnsPolicy None with one search domain and ndots 2", "search resolv.conf.local\nnameserver 1.1.1.1\noptions ndots:2\n", "notexistname", glibc, list("notexistname.resolv.conf.local.", "notexistname.")},
	)
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, err := ParseString(tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cand := range Candidates(c.View(tt.model), tt.name, tt.model) {
				got = append(got, cand.Name)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s %q:\n got  %s\n want %s", tt.model, tt.name, strings.Join(got, " "), strings.Join(tt.want, " "))
			}
		})
	}
}

func TestExpandAsksTheTypesOfTheCall(t *testing.T) {
	conf := "search prod.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
	tests := []struct {
		rule  string
		conf  string
		model Model
		want  string
	}{
		{"getaddrinfo asks A and AAAA per name", conf, Model{Libc: Glibc, Call: GetAddrInfo},
			"db.prod.svc.cluster.local. A, db.prod.svc.cluster.local. AAAA, db. A, db. AAAA"},
		{"glibc no-aaaa asks A only", conf + "options no-aaaa\n", Model{Libc: Glibc, Call: GetAddrInfo},
			"db.prod.svc.cluster.local. A, db. A"},
		{"musl ignores no-aaaa", conf + "options no-aaaa\n", Model{Libc: Musl, Call: GetAddrInfo},
			"db.prod.svc.cluster.local. A, db.prod.svc.cluster.local. AAAA, db. A, db. AAAA"},
		{"AF_INET asks A only", conf, Model{Libc: Musl, Call: GetAddrInfo, Family: 4},
			"db.prod.svc.cluster.local. A, db. A"},
		{"AF_INET6 asks AAAA only", conf, Model{Libc: Go, Call: GoLookup, Family: 6},
			"db.prod.svc.cluster.local. AAAA, db. AAAA"},
		{"gethostbyname asks A only", conf, Model{Libc: Glibc, Call: GetHostByName},
			"db.prod.svc.cluster.local. A, db. A"},
		{"getent hosts walks AAAA, then A", conf, Model{Libc: Glibc, Call: GetentHosts},
			"db.prod.svc.cluster.local. AAAA, db. AAAA, db.prod.svc.cluster.local. A, db. A"},
		{"dig asks its one type", conf, Model{Libc: Glibc, Call: Dig, Type: dns.TypeSRV},
			"db.prod.svc.cluster.local. SRV, db. SRV"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, _ := ParseString(tt.conf)
			var got []string
			for _, q := range Expand(c, "db", tt.model) {
				got = append(got, q.Name+" "+dns.TypeToString[q.Type])
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
		})
	}
}

func TestSendModeFollowsTheOptions(t *testing.T) {
	tests := []struct {
		rule  string
		opts  string
		model Model
		want  SendMode
	}{
		{"glibc sends A and AAAA together from one socket", "", Model{Libc: Glibc, Call: GetAddrInfo}, Together},
		{"glibc single-request: one after the other", "single-request", Model{Libc: Glibc, Call: GetAddrInfo}, Sequential},
		{"glibc single-request-reopen: a new socket each", "single-request-reopen", Model{Libc: Glibc, Call: GetAddrInfo}, Reopen},
		{"musl always together", "single-request-reopen", Model{Libc: Musl, Call: GetAddrInfo}, Together},
		{"Go: a socket each, in parallel", "", Model{Libc: Go, Call: GoLookup}, Apart},
		{"Go single-request(-reopen): sequential", "single-request-reopen", Model{Libc: Go, Call: GoLookup}, Sequential},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, _ := ParseString("nameserver 10.0.0.1\noptions " + tt.opts + "\n")
			if got := tt.model.SendMode(c.View(tt.model)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseModelRefusesWhatDoesNotExist(t *testing.T) {
	ok := []struct{ libc, call string }{{"glibc", ""}, {"musl", "getaddrinfo"}, {"go", ""}, {"GLIBC", "getent-hosts"}, {"musl", "dig"}, {"musl", "gethostbyname"}}
	for _, c := range ok {
		if _, err := ParseModel(c.libc, c.call); err != nil {
			t.Errorf("ParseModel(%q, %q): %v", c.libc, c.call, err)
		}
	}
	bad := []struct{ libc, call, want string }{
		{"uclibc", "", "want glibc, musl or go"},
		{"go", "getaddrinfo", "use --call go"},
		{"glibc", "go", "needs --libc go"},
		{"musl", "getent-hosts", "glibc only"},
		{"glibc", "nslookup", "want getaddrinfo"},
	}
	for _, c := range bad {
		if _, err := ParseModel(c.libc, c.call); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseModel(%q, %q) = %v, want an error containing %q", c.libc, c.call, err, c.want)
		}
	}
}

func TestCheckNameRefusesWhatNoResolverSends(t *testing.T) {
	for _, n := range []string{"db", "db.", "a.b.c.d.e.f", strings.Repeat("a.", 126) + "a"} {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "a..b", "a b", strings.Repeat("x", 64), strings.Repeat("a.", 127) + "a"} {
		if err := CheckName(n); err == nil {
			t.Errorf("CheckName(%q) accepted it", n)
		}
	}
}
