//go:build linux

package resolv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/clusterdns/clusterdns/internal/outside"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/clusterdns/clusterdns/test/e2e/upstream"
	"github.com/miekg/dns"
)

// Autopath (issue 14) with real clients: each case is run by glibc's
// getaddrinfo (getent ahosts), musl's and Go's resolver in a private
// namespace (inNetnsErr), against clusterdns on 127.0.0.1:53 served by its
// own listeners, forwarding to unbound (test/e2e/upstream, started in the
// namespace), once without autopath and once with it. The server's Observer
// records what the client sent; the steps the Expander asks itself
// (Server.Ask) must not be among them.

// The child's server for a run whose Server is set.
const (
	// serverUpstream forwards what the cluster does not hold to unbound.
	serverUpstream = "upstream"
	// serverAutopath is serverUpstream with an autopath Expander.
	serverAutopath = "autopath"
	// serverAutopathTrusted trusts the client's search list to be the
	// kubelet's without seeing it walk (--autopath-trust-client).
	serverAutopathTrusted = "autopath-trusted"
)

// NewExpander makes the autopath Expander of srv, for the cluster zones and
// the nodes' search domains, trusting every client or not, calling
// expanded with the questions each expanded answer saved. The external test package sets it (package
// autopath imports resolv, so these tests cannot import it); the namespace
// child is this test binary, so it is set there too.
var NewExpander func(srv *server.Server, zones, nodeSearch []string, trust bool, expanded func(saved int)) (server.Expander, error)

// autopathManifests is the cluster of the autopath runs: the pod asks from
// prod, which has db and a headless Service peers without endpoints (a
// StatefulSet's, not ready yet); other has web (dual-stack). Namespace
// test has no Service: it is there because
// `www.example.test.svc.cluster.local`, the second step of a walk for an
// external name, then looks exactly like the first step of a pod in test
// asking `www.example`.
const autopathManifests = `
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Namespace
metadata: {name: test}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec:
  clusterIP: 10.96.1.10
  clusterIPs: [10.96.1.10, "fd00::1:10"]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: PreferDualStack
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: peers, namespace: prod}
spec:
  clusterIP: None
  selector: {app: peers}
  ports: [{name: http, port: 80}]
`

var autopathSnapshot = sync.OnceValues(func() (*zone.Snapshot, error) {
	st, err := manifest.LoadFS(context.Background(), fstest.MapFS{"m.yaml": {Data: []byte(autopathManifests)}}, manifest.DefaultOptions())
	if err != nil {
		return nil, err
	}
	return zone.Build(st, zone.DefaultOptions())
})

// serveReal serves the autopath cluster on 127.0.0.1:53 through the server's
// own listeners, names outside it forwarded to unbound (started here, in
// dir, on a free port) through a cache, as `serve --upstream --cache 30s`
// does; for serverAutopath with an Expander. finish adds what reached the
// upstream and what autopath saved to the result, and stops it all; reset
// forgets what the server, the upstream and autopath saw so far.
func serveReal(r nsRun, dir string, rec *recorder) (finish func(*nsResult), reset func(), err error) {
	snap, err := autopathSnapshot()
	if err != nil {
		return nil, nil, err
	}
	up, err := upstream.Start(dir)
	if err != nil {
		return nil, nil, err
	}
	// Its readiness probe is out of the log.
	if err := syncLog(up); err != nil {
		up.Stop()
		return nil, nil, err
	}
	up.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	var fw *forward.Forwarder
	stop := func() {
		cancel()
		if fw != nil {
			fw.Close()
		}
		up.Stop()
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	if fw, err = forward.New(forward.DefaultConfig(up.Addr)); err != nil {
		return nil, nil, err
	}
	fw.Start(ctx)
	ccfg := cache.DefaultConfig()
	ccfg.SuccessMaxTTL, ccfg.DenialMaxTTL = 30*time.Second, 30*time.Second
	c, err := cache.New(ccfg)
	if err != nil {
		return nil, nil, err
	}
	res, err := outside.New([]outside.Route{{Zone: ".", Cache: c, Forward: fw}}, nil)
	if err != nil {
		return nil, nil, err
	}
	srv := server.New(server.Config{Observer: rec, Outside: res})
	srv.Swap(snap, true)
	var mu sync.Mutex
	var saved []int
	switch r.Server {
	case serverUpstream:
	case serverAutopath, serverAutopathTrusted:
		if NewExpander == nil {
			return nil, nil, errors.New("NewExpander is not set (the external test package sets it)")
		}
		x, err := NewExpander(srv, zone.DefaultOptions().Zones, r.NodeSearch, r.Server == serverAutopathTrusted, func(n int) {
			mu.Lock()
			saved = append(saved, n)
			mu.Unlock()
		})
		if err != nil {
			return nil, nil, err
		}
		srv.SetExpander(x)
	default:
		return nil, nil, fmt.Errorf("unknown server %q", r.Server)
	}
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- srv.ListenAndServe(ctx, "127.0.0.1:53", func(net.Addr, net.Addr) { close(ready) })
	}()
	select {
	case <-ready:
	case err = <-errc:
		return nil, nil, err
	}
	reset = func() {
		syncLog(up)
		up.Reset()
		rec.reset()
		mu.Lock()
		saved = nil
		mu.Unlock()
	}
	return func(res *nsResult) {
		if err := syncLog(up); err != nil {
			res.Upstream = append(res.Upstream, err.Error())
		}
		for _, q := range up.Queries() {
			if q.Name != logMarker {
				res.Upstream = append(res.Upstream, q.Name+" "+q.Type)
			}
		}
		mu.Lock()
		res.Expanded = append([]int(nil), saved...)
		mu.Unlock()
		stop()
		<-errc
	}, reset, nil
}

// logMarker is asked of the upstream to know that its log holds every
// question it got before.
const logMarker = "log-marker." + upstream.Zone

// syncLog asks the upstream the marker and waits until it is logged: the
// upstream logs questions in the order it reads them (one thread), and
// its log is read apart from its answers.
func syncLog(up *upstream.Server) error {
	m := new(dns.Msg)
	m.SetQuestion(logMarker, dns.TypeTXT)
	n := up.Count(logMarker, "TXT")
	if _, err := dns.Exchange(m, up.Addr); err != nil {
		// Seen once in CI ("connection refused" mid-test): say whether
		// unbound was still running, and what it last logged.
		return fmt.Errorf("asking the upstream's log marker: %w (%s)", err, up.State())
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if up.Count(logMarker, "TXT") > n {
			return nil
		}
	}
	return errors.New("the upstream did not log its marker question within 5s")
}

// apNode is the nodes' search domain: one the upstream holds, so that it
// answers NXDOMAIN under it, as a VPC's resolver does under
// us-east-2.compute.internal (the test upstream REFUSES every name outside
// example.test, which ends a walk: the case "a node domain the upstream
// refuses").
const apNode = "us-east-2.compute.example.test"

// apConf is a kubelet's ClusterFirst file for a pod in prod on a node
// searching node.
func apConf(node, opts string) string {
	return "search prod.svc.cluster.local svc.cluster.local cluster.local " + node + "\nnameserver 127.0.0.1\noptions " + opts + "\n"
}

// apOpts are the kubelet's options: the resolvers' own timeout (5 s) and
// attempts (2), longer than autopath's budget, as in a pod; with a
// shorter timeout the client would ask the first step again while a slow
// walk is under way.
const apOpts = "ndots:5"

var apStdConf = apConf(apNode, apOpts)

// customConf is a dnsPolicy None pod's file: its own search list only.
func customConf(search string) string {
	return "search " + search + "\nnameserver 127.0.0.1\noptions " + apOpts + "\n"
}

// apWarmup is the pod's first lookup: a name that exists nowhere, so
// that its walk goes through the whole search list.
const apWarmup = "learn.example.test"

// apWant is what autopath must change for a case.
type apWant int

const (
	// firstOnly: with autopath the server sees the walk's first step only,
	// A and AAAA, each answered NOERROR.
	firstOnly apWant = iota
	// sameQuestions: the server sees the same questions, with the same
	// rcodes, as without.
	sameQuestions
	// sameResult: only the client's result is compared (the first step is
	// a NODATA instead of an NXDOMAIN; the client walks on or stops, as it
	// does at the NODATA without autopath).
	sameResult
)

type apCase struct {
	rule string
	name string
	conf string
	// node is the nodes' search domain the Expander is given.
	node string
	want apWant
	// resolves: the lookup must succeed both ways (else the results are
	// only compared).
	resolves bool
}

var apCases = []apCase{
	{"an external name is answered at the first step", "www.example.test", apStdConf, apNode, firstOnly, true},
	{"an external name behind a CNAME chain", "alias.example.test", apStdConf, apNode, firstOnly, true},
	{"an external name with A only (NODATA for AAAA)", "m1.miss.example.test", apStdConf, apNode, firstOnly, true},
	{"another namespace's Service", "web.other", apStdConf, apNode, firstOnly, true},
	{"a Service of the pod's own namespace", "db", apStdConf, apNode, firstOnly, true},
	{"a missing external name stays NXDOMAIN and its second step, shaped as namespace test's first, is not expanded", "nope.example.test", apStdConf, apNode, sameQuestions, false},
	// Without the guard, `web.other.test.svc.cluster.local` (the second
	// step) would be answered as the first step of a pod in test asking
	// `web.other`: the client would get web's addresses.
	{"the second step of a walk is not expanded as namespace test's first, whose walk would find web.other", "web.other.test", apStdConf, apNode, sameQuestions, false},
	{"an external name without addresses (TXT only)", "txtonly.example.test", apStdConf, apNode, sameResult, false},
	// The node domain is the upstream's wildcard: the walk ends there,
	// with or without autopath, but autopath must leave the NXDOMAIN of a
	// name under peers alone.
	{"a name under an existing Service is not expanded", "peer-0.peers", apConf("miss.example.test", apOpts), "miss.example.test", sameQuestions, true},
	{"a custom search list (dnsPolicy None)", "www", customConf("example.test"), apNode, sameQuestions, true},
	{"a custom search list of two domains", "www", customConf("corp.example.test example.test"), apNode, sameQuestions, true},
	// The kubelet walk would find web.other.svc.cluster.local, which this
	// pod's own walk never asks: its first lookup showed the server that
	// its walk differs, and it is not expanded.
	{"a custom search list starting with the namespace's domain, whose own walk does not find the name", "web.other", customConf("prod.svc.cluster.local example.test"), apNode, sameQuestions, false},
	{"a custom search list starting with the namespace's domain, whose own walk finds the name", "www", customConf("prod.svc.cluster.local example.test"), apNode, sameQuestions, true},
	{"a name with ndots dots, found as is", "a.b.c.d.miss.example.test", apStdConf, apNode, sameQuestions, true},
	{"a name with more than ndots dots, missing: its search questions are not expanded", "a.b.c.d.nope.example.test", apStdConf, apNode, sameQuestions, false},
	{"ndots 1 with a dotted name, found as is", "www.example.test", apConf(apNode, "ndots:1"), apNode, sameQuestions, true},
	{"ndots 1 with a missing dotted name: the search walk after it finds nothing", "nope.example.test", apConf(apNode, "ndots:1"), apNode, sameQuestions, false},
	// glibc and Go walk on after REFUSED, musl waits for its timeout.
	{"a node domain the upstream refuses ends the walk: the client walks on its own", "www.example.test", apConf("us-east-2.compute.internal", apOpts), "us-east-2.compute.internal", sameQuestions, false},
}

// apRun is one client's runs of a case, without autopath and with it
// (after the warm-up lookup), and for a firstOnly case, with autopath
// trusting the client, as its first lookup.
type apRun struct {
	plain, auto, trusted          nsResult
	plainErr, autoErr, trustedErr string
}

func runAutopathCases(t *testing.T, client, bin string) {
	needUnbound(t)
	runs := make([]apRun, len(apCases))
	var wg sync.WaitGroup
	for i, c := range apCases {
		for _, srv := range []string{serverUpstream, serverAutopath, serverAutopathTrusted} {
			if srv == serverAutopathTrusted && c.want != firstOnly {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				netnsSlots <- struct{}{}
				defer func() { <-netnsSlots }()
				// The pod's first lookup (of a name that walks the whole
				// list) shows the server its walk; the case is the next,
				// with or without autopath alike. A trusting server
				// expands the first lookup.
				warmup := apWarmup
				if srv == serverAutopathTrusted {
					warmup = ""
				}
				res, err := inNetnsErr(nsRun{Client: client, Name: c.name, Conf: c.conf, Bin: bin, Server: srv, NodeSearch: []string{c.node}, Warmup: warmup})
				switch srv {
				case serverAutopath:
					runs[i].auto, runs[i].autoErr = res, err
				case serverAutopathTrusted:
					runs[i].trusted, runs[i].trustedErr = res, err
				default:
					runs[i].plain, runs[i].plainErr = res, err
				}
			}()
		}
	}
	wg.Wait()
	for i, c := range apCases {
		t.Run(c.rule, func(t *testing.T) {
			checkAutopathCase(t, client, c, runs[i])
		})
		if c.want == firstOnly {
			t.Run(c.rule+", trusted, first lookup", func(t *testing.T) {
				run := runs[i]
				checkAutopathCase(t, client, c, apRun{plain: run.plain, plainErr: run.plainErr, auto: run.trusted, autoErr: run.trustedErr})
			})
		}
	}
}

func checkAutopathCase(t *testing.T, client string, c apCase, run apRun) {
	for _, e := range []string{run.plainErr, run.autoErr} {
		if e != "" {
			t.Fatal(e)
		}
	}
	plain, auto := readOrder(run.plain.Queries), readOrder(run.auto.Queries)
	pu, au := setOf(run.plain.Upstream), setOf(run.auto.Upstream)
	t.Logf("%s %q without autopath: exit %d, %d questions:\n    %s\n  upstream asked: %s", client, c.name, run.plain.Exit, len(plain), strings.Join(plain, "\n    "), strings.Join(pu, ", "))
	t.Logf("with autopath: exit %d, %d questions, answers expanded saving %v:\n    %s\n  upstream asked: %s", run.auto.Exit, len(auto), run.auto.Expanded, strings.Join(auto, "\n    "), strings.Join(au, ", "))
	first := dns.Fqdn(c.name) + "prod.svc.cluster.local."
	firstStep := []string{first + " A NOERROR", first + " AAAA NOERROR"}
	if c.resolves && (run.plain.Exit != 0 || run.auto.Exit != 0) {
		t.Errorf("%s %q must resolve both ways: without autopath exit %d (%s), with it exit %d (%s)", client, c.name,
			run.plain.Exit, strings.TrimSpace(run.plain.Output), run.auto.Exit, strings.TrimSpace(run.auto.Output))
	}
	if run.plain.Exit != run.auto.Exit || clientResult(client, run.plain.Output) != clientResult(client, run.auto.Output) {
		t.Errorf("%s %q ends otherwise with autopath:\n  without (exit %d): %s\n  with (exit %d):    %s", client, c.name,
			run.plain.Exit, strings.TrimSpace(run.plain.Output), run.auto.Exit, strings.TrimSpace(run.auto.Output))
	}
	switch c.want {
	case firstOnly:
		if !slices.Equal(auto, firstStep) {
			t.Errorf("with autopath the server saw\n    %s\nwant the first step only\n    %s", strings.Join(auto, "\n    "), strings.Join(firstStep, "\n    "))
		}
		// The walk's steps were asked (an expansion says how many, and
		// what they forwarded reached the upstream, below) but not
		// observed.
		if len(plain) > len(firstStep) && len(run.auto.Expanded) != 2 {
			t.Errorf("with autopath %d answers were expanded, want 2 (A and AAAA)", len(run.auto.Expanded))
		}
	case sameQuestions:
		if !slices.Equal(auto, plain) {
			t.Errorf("with autopath the server saw\n    %s\nwithout it\n    %s", strings.Join(auto, "\n    "), strings.Join(plain, "\n    "))
		}
	}
	// The steps go where the client's own questions go: the upstream is
	// asked what the client makes it asked without autopath.
	if !slices.Equal(pu, au) {
		t.Errorf("the upstream was asked\n    %s\nwith autopath, and without it\n    %s", strings.Join(au, "\n    "), strings.Join(pu, "\n    "))
	}
}

// readOrder renders the questions in the order the server read them: its
// Observer hears of an answer after sending it, by which time the client
// may have asked on (Go sends A and AAAA from two sockets, which two of the
// server's UDP workers answer), and questions read together in order of
// their names.
func readOrder(qs []seen) []string {
	qs = slices.Clone(qs)
	slices.SortStableFunc(qs, func(a, b seen) int { return a.Start.Compare(b.Start) })
	return byName(realSeq(qs))
}

// clientResult is what the client printed, Go's addresses in order: it
// keeps them in the order the replies came (A and AAAA are asked at once)
// when RFC 6724 cannot rank them, as here, where no address is routed.
func clientResult(client, out string) string {
	if client != "go" {
		return out
	}
	f := strings.Fields(out)
	slices.Sort(f)
	return strings.Join(f, " ")
}

func setOf(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// needUnbound skips without unbound, outside CI (.ci/run installs it).
func needUnbound(t *testing.T) {
	t.Helper()
	if _, err := upstream.Binary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("skipping the autopath check with a real upstream: " + err.Error())
	}
}

func TestAutopathGlibcGetaddrinfo(t *testing.T) {
	needNetns(t)
	t.Parallel()
	needGetent(t)
	runAutopathCases(t, "getent-ahosts", "")
}

func TestAutopathMuslGetaddrinfo(t *testing.T) {
	needNetns(t)
	t.Parallel()
	runAutopathCases(t, "musl-gai", needMusl(t))
}

func TestAutopathGoResolver(t *testing.T) {
	needNetns(t)
	t.Parallel()
	runAutopathCases(t, "go", "")
}
