package cli

import (
	"errors"
	"strings"
	"testing"
)

// A usage error exits 2 from every command: a flag that does not parse, a
// wrong number of arguments, a value a check refuses, an unknown command.
func TestUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"version", "extra"}, `unknown command "extra"`},
		{[]string{"version", "--nope"}, "unknown flag: --nope"},

		{[]string{"serve", "--nope"}, "unknown flag: --nope"},
		{[]string{"serve", "extra"}, `unknown command "extra"`},
		{[]string{"serve", "--ttl", "x"}, `invalid argument "x" for "--ttl"`},
		{[]string{"serve", "--ttl", "4000"}, "ttl 4000: must be between 0 and 3600"},
		{[]string{"serve", "--pod-records", "maybe"}, "--pod-records"},
		{[]string{"serve", "--zone", "in-addr.arpa"}, "reverse zone"},
		{[]string{"serve", "--gc-percent", "-1"}, "--gc-percent -1"},
		{[]string{"serve", "--heap-margin", "-0.1"}, "--heap-margin -0.1: want 0 (off) or more"},
		{[]string{"serve", "--heap-margin", "NaN"}, "--heap-margin NaN"},
		{[]string{"serve", "--tcp-max-conns", "0"}, "--tcp-max-conns 0"},
		{[]string{"serve", "--manifests", "x", "--kubeconfig", "y"}, "choose one source"},

		{[]string{"explain", "--nope", "web"}, "unknown flag: --nope"},
		{[]string{"explain"}, "accepts between 1 and 2 arg(s)"},
		{[]string{"explain", "--ttl", "4000", "web"}, "ttl 4000"},

		{[]string{"probe", "--nope"}, "unknown flag: --nope"},
		{[]string{"probe"}, "--server is required"},
		{[]string{"probe", "--server", "127.0.0.1:1", "extra"}, `unknown command "extra"`},

		{[]string{"resolve", "--nope", "web"}, "unknown flag: --nope"},
		{[]string{"resolve", "a", "b"}, "resolve takes one NAME, got 2 arguments"},
		{[]string{"resolve", "--ttl", "4000", "web"}, "ttl 4000"},

		{[]string{"lint", "--nope", "examples/"}, "unknown flag: --nope"},
		{[]string{"lint"}, "give at least one PATH"},
		{[]string{"lint", "--zone", "cluster.local", "--zone", "in-addr.arpa", "examples/"}, "reverse zone"}, // every --zone is passed on
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) || !strings.HasPrefix(errOut, "clusterdns: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, exitUsage, c.want)
		}
	}
}

// The answer "no" exits 1, and so does serve when it cannot start
// (documented: a manifest that does not load), unlike a usage error.
func TestExitNo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--manifests", "/nonexistent/path", "--listen", "127.0.0.1:0", "--health-addr", "", "--metrics-addr", ""}, "loading cluster state"},
		{[]string{"serve", "--listen", "256.0.0.1:53", "--health-addr", "", "--metrics-addr", ""}, "256.0.0.1"},
		{[]string{"explain", "cache-0.cache.default.svc.cluster.local"}, "does not resolve as asked"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != exitNo || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, exitNo, c.want)
		}
	}
}

func TestUsageError(t *testing.T) {
	if usageError(nil) != nil {
		t.Error("usageError(nil) is not nil")
	}
	base := errors.New("--x: bad")
	err := usageError(base)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !errors.Is(err, base) || err.Error() != base.Error() {
		t.Errorf("usageError(%v) = %#v", base, err)
	}
}

// lint --zone is repeatable like every other command's, and every zone is
// checked in.
func TestLintZones(t *testing.T) {
	code, out, errOut := lintCLI(t, "", "--zone", "cluster.local", "--zone", "example.org",
		"examples/cluster/web.yaml", "examples/cluster/api.yaml", "examples/cluster/external.yaml", "examples/cluster/legacy.yaml")
	if code != 0 || out != "" {
		t.Errorf("two zones: exit %d:\n%s%s", code, out, errOut)
	}
}
