package resolv

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A live run against a real server (the fixture, with faults) sends the
// model's questions in the model's order, stops where the model stops,
// and times each answer.
func TestLiveRunSendsWhatTheModelSays(t *testing.T) {
	cfg, _ := ParseString(simConf)
	getent := Model{Libc: Glibc, Call: GetentHosts}
	tests := []struct {
		rule   string
		name   string
		faults faults
	}{
		{"a short name in another namespace", "data.test", nil},
		{"an external name walks every domain", "www.example.com", faults{"www.example.com.": "addr"}},
		{"NODATA in the search list", "default", nil},
		{"SERVFAIL on the first candidate", "db", faults{"db.prod.svc.cluster.local.": "servfail"}},
		{"REFUSED on the first candidate", "data.test", faults{"data.test.prod.svc.cluster.local.": "refused"}},
		{"a lost AAAA reply", "db", faults{"db.prod.svc.cluster.local.|AAAA": "drop"}},
		{"NXDOMAIN for AAAA beside A data", "db", faults{"db.prod.svc.cluster.local.|AAAA": "nxdomain"}},
	}
	snap := fixture(t)
	for _, m := range []Model{mGlibc, mMusl, mGo, mDig, getent} {
		for _, tt := range tests {
			t.Run(m.String()+"/"+tt.rule, func(t *testing.T) {
				t.Parallel()
				ts := startTestServer(t, tt.faults)
				const timeout = 400 * time.Millisecond
				live := RunLive(cfg, tt.name, m, ts.addr, timeout)
				v := cfg.View(m)
				v.Timeout = timeout
				v.Nameservers = []string{ts.addr}
				dry := SimulateView(v, tt.name, m, oracle(snap, tt.faults))
				if got, want := seqOf(live), seqOf(dry); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("live run\n    %s\ndry run\n    %s", strings.Join(got, "\n    "), strings.Join(want, "\n    "))
				}
				wire, want := realSeq(ts.rec.list()), modelSeq(dry.Queries, tt.faults, false)
				if m.Libc == Go {
					wire, want = byName(wire), byName(want)
				}
				if strings.Join(wire, "\n") != strings.Join(want, "\n") {
					t.Errorf("the server saw\n    %s\nwant\n    %s", strings.Join(wire, "\n    "), strings.Join(want, "\n    "))
				}
				if live.Resolved != dry.Resolved || live.ResolvedBy != dry.ResolvedBy || live.Wasted != dry.Wasted {
					t.Errorf("live: resolved by %q, %d wasted; dry: %q, %d", live.ResolvedBy, live.Wasted, dry.ResolvedBy, dry.Wasted)
				}
				wait := timeout
				if m.Libc == Musl {
					wait = timeout / time.Duration(v.Attempts) // musl resends every timeout/attempts
				}
				for _, q := range live.Queries {
					switch {
					case q.Rcode == Timeout && q.Elapsed < wait:
						t.Errorf("%s %s: timed out after %s, before the timeout", q.Name, dns.TypeToString[q.Type], q.Elapsed)
					case q.Rcode != Timeout && (q.Elapsed <= 0 || q.Elapsed >= timeout):
						t.Errorf("%s %s: answered after %s", q.Name, dns.TypeToString[q.Type], q.Elapsed)
					}
				}
			})
		}
	}
}

// The sockets are the client's: glibc sends A and AAAA from one port (the
// 5-tuple of the conntrack race), single-request-reopen from two; Go from
// a socket each; musl from one.
func TestLiveRunUsesTheClientsSockets(t *testing.T) {
	tests := []struct {
		rule     string
		model    Model
		opts     string
		samePort bool
	}{
		{"glibc: A and AAAA from one socket", mGlibc, "", true},
		{"glibc single-request: one socket, one after the other", mGlibc, "single-request", true},
		{"glibc single-request-reopen: a new socket for AAAA", mGlibc, "single-request-reopen", false},
		{"musl: one socket", mMusl, "", true},
		{"Go: a socket per question", mGo, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			ts := startTestServer(t, nil)
			cfg, _ := ParseString("search prod.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5 " + tt.opts + "\n")
			r := RunLive(cfg, "db", tt.model, ts.addr, time.Second)
			seen := ts.rec.list()
			if !r.Resolved || len(seen) != 2 {
				t.Fatalf("resolved %v, server saw %+v", r.Resolved, seen)
			}
			if same := seen[0].Port == seen[1].Port; same != tt.samePort {
				t.Errorf("ports %d and %d: same=%v, want %v", seen[0].Port, seen[1].Port, same, tt.samePort)
			}
		})
	}
}

func TestLiveRunAsksATruncatedReplyAgainOverTCP(t *testing.T) {
	cfg, _ := ParseString("search prod.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
	tests := []struct {
		rule  string
		model Model
		want  []string
	}{
		{"glibc asks the whole pair again over TCP", mGlibc, []string{
			"db.prod.svc.cluster.local. A NOERROR", "db.prod.svc.cluster.local. AAAA NOERROR",
			"db.prod.svc.cluster.local. A NOERROR tcp", "db.prod.svc.cluster.local. AAAA NOERROR tcp"}},
		{"Go asks only the truncated question again", mGo, []string{
			"db.prod.svc.cluster.local. A NOERROR", "db.prod.svc.cluster.local. A NOERROR tcp", "db.prod.svc.cluster.local. AAAA NOERROR"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			ts := startTestServer(t, faults{"db.prod.svc.cluster.local.|A": "tc"})
			r := RunLive(cfg, "db", tt.model, ts.addr, time.Second)
			if !r.Resolved || !r.Queries[0].TCP {
				t.Errorf("resolved %v, first reply over TCP %v", r.Resolved, r.Queries[0].TCP)
			}
			if got := byName(realSeq(ts.rec.list())); strings.Join(got, "\n") != strings.Join(byName(tt.want), "\n") {
				t.Errorf("the server saw\n    %s\nwant\n    %s", strings.Join(got, "\n    "), strings.Join(tt.want, "\n    "))
			}
		})
	}
}

func TestLiveRunTimesOutOnASilentServer(t *testing.T) {
	ts := startTestServer(t, faults{"db.": "drop"})
	cfg, _ := ParseString("nameserver 10.96.0.10\noptions attempts:1\n")
	start := time.Now()
	r := RunLive(cfg, "db", mGlibc, ts.addr, 100*time.Millisecond)
	if el := time.Since(start); el < 100*time.Millisecond || el > 2*time.Second {
		t.Errorf("took %s, want about the 100ms timeout", el)
	}
	if r.Resolved || !hasFlag(r, "timeout") || r.Error != "EAI_AGAIN" {
		t.Errorf("got %+v", r)
	}
}
