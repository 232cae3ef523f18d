package resolv

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseReadsResolvConfAsWritten(t *testing.T) {
	tests := []struct {
		rule string
		text string
		want Config
	}{
		{"kubelet's ClusterFirst file", "search prod.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
			Config{Nameservers: []string{"10.96.0.10"}, Search: []string{"prod.svc.cluster.local", "svc.cluster.local", "cluster.local"}, Options: []string{"ndots:5"}}},
		{"comments with # and ; are skipped", "# generated\n; old\nnameserver 10.0.0.2\n", Config{Nameservers: []string{"10.0.0.2"}}},
		{"every nameserver line is kept, in order", "nameserver 10.0.0.1\nnameserver fd00::1\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n",
			Config{Nameservers: []string{"10.0.0.1", "fd00::1", "10.0.0.3", "10.0.0.4"}}},
		{"the last search or domain line wins (domain last)", "search a.example b.example\ndomain c.example\n", Config{Search: []string{"c.example"}}},
		{"the last search or domain line wins (search last)", "domain c.example\nsearch a.example b.example\n", Config{Search: []string{"a.example", "b.example"}}},
		{"options of every line, in order", "options ndots:2\noptions timeout:1 rotate\n", Config{Options: []string{"ndots:2", "timeout:1", "rotate"}}},
		{"unknown keywords are ignored like resolvers do", "sortlist 10.0.0.0/8\nlookup file bind\nnameserver 10.0.0.2\n", Config{Nameservers: []string{"10.0.0.2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, err := ParseString(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Nameservers, tt.want.Nameservers) || !reflect.DeepEqual(c.Search, tt.want.Search) || !reflect.DeepEqual(c.Options, tt.want.Options) {
				t.Errorf("got %+v, want %+v", c, tt.want)
			}
			if c.Text() != tt.text {
				t.Errorf("Text() does not give back the file")
			}
		})
	}
}

func TestParseRefusesWhatNoResolverReadsAsMeant(t *testing.T) {
	tests := []struct {
		rule, text, want string
	}{
		{"nameserver without address", "nameserver\n", "line 1"},
		{"nameserver that is a host name", "search x\nnameserver dns.example.com\n", `line 2: "nameserver dns.example.com": nameserver "dns.example.com" is not an IP address`},
		{"ndots that is not a number", "options ndots:five\n", `option ndots: "five" is not a number`},
		{"timeout without value", "options timeout\n", "option timeout needs a value"},
		{"binary file", "nameserver 10.0.0.1\x00\n", "binary data"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := ParseString(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			var pe *ParseError
			if strings.HasPrefix(tt.want, "line") && !errors.As(err, &pe) {
				t.Errorf("want a *ParseError, got %T", err)
			}
		})
	}
}

func TestEachClientReadsTheFileItsOwnWay(t *testing.T) {
	glibc, musl, goRes, dig := Model{Libc: Glibc, Call: GetAddrInfo}, Model{Libc: Musl, Call: GetAddrInfo}, Model{Libc: Go, Call: GoLookup}, Model{Libc: Glibc, Call: Dig}
	long := "search a.example b.example " + strings.Repeat("c", 250) + ".example\nnameserver 10.0.0.1\n"
	tests := []struct {
		rule  string
		text  string
		model Model
		check func(v View) bool
		want  string
	}{
		{"defaults: ndots 1, timeout 5, attempts 2, 127.0.0.1", "", glibc,
			func(v View) bool {
				return v.Ndots == 1 && v.Timeout == 5*time.Second && v.Attempts == 2 && reflect.DeepEqual(v.Nameservers, []string{"127.0.0.1"})
			}, "defaults"},
		{"glibc caps ndots at 15, timeout at 30, attempts at 5", "options ndots:20 timeout:60 attempts:9\n", glibc,
			func(v View) bool { return v.Ndots == 15 && v.Timeout == 30*time.Second && v.Attempts == 5 }, "15/30s/5"},
		{"musl caps ndots at 15, timeout at 60, attempts at 10", "options ndots:20 timeout:90 attempts:19\n", musl,
			func(v View) bool { return v.Ndots == 15 && v.Timeout == 60*time.Second && v.Attempts == 10 }, "15/60s/10"},
		{"Go caps ndots at 15 and keeps large timeouts", "options ndots:20 timeout:90 attempts:19\n", goRes,
			func(v View) bool { return v.Ndots == 15 && v.Timeout == 90*time.Second && v.Attempts == 19 }, "15/90s/19"},
		{"every client uses the first three nameservers", "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n", musl,
			func(v View) bool { return len(v.Nameservers) == 3 && v.Nameservers[2] == "10.0.0.3" }, "3 nameservers"},
		{"glibc keeps a search entry . as the root", "search a.example .\n", glibc,
			func(v View) bool { return reflect.DeepEqual(v.Search, []string{"a.example", ""}) }, "a.example, root"},
		{"Go drops a search entry .", "search a.example .\n", goRes,
			func(v View) bool { return reflect.DeepEqual(v.Search, []string{"a.example"}) }, "a.example"},
		{"musl keeps search entries as written", "search a.example. .\n", musl,
			func(v View) bool { return reflect.DeepEqual(v.Search, []string{"a.example.", "."}) }, "a.example. and ."},
		{"musl ignores a line of 255 characters or more", long, musl,
			func(v View) bool {
				return len(v.Search) == 0 && len(v.Notes) == 1 && strings.Contains(v.Notes[0], "musl ignores line 1")
			}, "no search list"},
		{"glibc reads the same long line", long, glibc,
			func(v View) bool { return len(v.Search) == 3 }, "3 search domains"},
		{"glibc options: single-request-reopen, no-aaaa, no-tld-query, use-vc, rotate", "options single-request-reopen no-aaaa no-tld-query use-vc rotate\n", glibc,
			func(v View) bool {
				return v.SingleRequestReopen && v.NoAAAA && v.NoTLDQuery && v.UseTCP && v.Rotate && strings.Join(v.Options, " ") == "timeout:5 attempts:2 rotate single-request-reopen use-vc no-aaaa no-tld-query"
			}, "all set"},
		{"musl ignores every option but ndots, timeout, attempts", "nameserver 10.0.0.1\noptions rotate single-request-reopen ndots:2\n", musl,
			func(v View) bool { return v.Ndots == 2 && !v.Rotate && !v.SingleRequestReopen && len(v.Notes) == 2 }, "ndots only"},
		{"Go takes single-request-reopen for single-request", "options single-request-reopen\n", goRes,
			func(v View) bool { return v.SingleRequest && !v.SingleRequestReopen }, "single-request"},
		{"Go notes an option it does not know (cgo fallback)", "nameserver 10.0.0.1\noptions no-aaaa\n", goRes,
			func(v View) bool { return len(v.Notes) == 1 && strings.Contains(v.Notes[0], "hands lookups to libc") }, "a note"},
		{"dig tries 3 times by default", "options ndots:3\n", dig,
			func(v View) bool { return v.Attempts == 3 && v.Ndots == 3 }, "3 tries"},
		{"the last domain/search line wins for every client", "search a.example\ndomain b.example\n", musl,
			func(v View) bool { return reflect.DeepEqual(v.Search, []string{"b.example"}) }, "b.example"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, err := ParseString(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if v := c.View(tt.model); !tt.check(v) {
				t.Errorf("%s view: %+v; want %s", tt.model, v, tt.want)
			}
		})
	}
}

func TestConfigOverridesActLikeDNSConfig(t *testing.T) {
	c := ClusterFirst("prod", "cluster.local", "10.96.0.10")
	c = c.WithOption("ndots", "2").WithOption("single-request-reopen", "")
	if got := strings.Join(c.Options, " "); got != "ndots:2 single-request-reopen" {
		t.Errorf("options %q", got)
	}
	if v, ok := c.Option("ndots"); !ok || v != "2" {
		t.Errorf("Option(ndots) = %q, %v", v, ok)
	}
	c = c.WithSearch([]string{"corp.example"})
	want := "search corp.example\nnameserver 10.96.0.10\noptions ndots:2 single-request-reopen\n"
	if c.String() != want || c.Text() != want {
		t.Errorf("rendered\n%s\nwant\n%s", c.String(), want)
	}
}
