package autopath

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

// learning is a fixture whose Expander acts only on what it has seen of a
// client's own walk (the default).
func learning(t *testing.T, change func(*Config)) *fixture {
	return newFixture(t, func(c *Config) {
		c.Trust = false
		if change != nil {
			change(c)
		}
	})
}

// walk sends the client's questions, A and AAAA each, as a resolver does
// (the first of them included), and returns the rcode of the last A.
func (f *fixture) walk(t *testing.T, from netip.AddrPort, names ...string) int {
	t.Helper()
	rc := -1
	for _, n := range names {
		rc = f.ask(t, n, dns.TypeA, from).Rcode
		f.ask(t, n, dns.TypeAAAA, from)
	}
	return rc
}

func (f *fixture) why(from netip.AddrPort, name string) string {
	_, why := f.x.Decide(&server.Question{Name: name, Qtype: dns.TypeA, Remote: from}, f.s.Snapshot())
	return why
}

// kubeletWalk is the walk of a pod in default (node search corp.internal)
// for www.example.com, which exists only outside.
var kubeletWalk = []string{
	"www.example.com.default.svc.cluster.local.",
	"www.example.com.svc.cluster.local.",
	"www.example.com.cluster.local.",
	"www.example.com.corp.internal.",
	"www.example.com.",
}

// A client's first walk in a namespace is not expanded; once the server
// has seen it walk the kubelet's list, its next first steps are.
func TestExpandsOnceTheClientsOwnWalkIsSeen(t *testing.T) {
	f := learning(t, nil)
	first := kubeletWalk[0]
	if why := f.why(pod, first); why != Unverified {
		t.Fatalf("before any walk: %q, want %q", why, Unverified)
	}
	if rc := f.walk(t, pod, kubeletWalk...); rc != dns.RcodeSuccess {
		t.Fatalf("the client's own walk ended %s", dns.RcodeToString[rc])
	}
	if why := f.why(pod, first); why != "" {
		t.Fatalf("after the walk: %q", why)
	}
	r := f.ask(t, first, dns.TypeA, pod)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("after the walk: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
	// Another client, and the same client in another namespace, are not
	// known.
	if why := f.why(netip.MustParseAddrPort("10.244.9.9:1"), first); why != Unverified {
		t.Errorf("another client: %q", why)
	}
	if why := f.why(pod, "www.example.com.other.svc.cluster.local."); why != Unverified {
		t.Errorf("another namespace: %q", why)
	}
}

// A walk is expanded only as far as the client was seen to walk: a client
// seen to ask one step (its walk for web.other ended there) gets the
// expansion of names found at that step, and the NXDOMAIN for names found
// further, until it has walked further on its own.
func TestExpandsOnlyAsFarAsSeen(t *testing.T) {
	f := learning(t, nil)
	f.walk(t, pod, "web.other.default.svc.cluster.local.", "web.other.svc.cluster.local.")
	if r := f.ask(t, "web.other.default.svc.cluster.local.", dns.TypeA, pod); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("found at step 1, seen 1 step: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
	if r := f.ask(t, kubeletWalk[0], dns.TypeA, pod); r.Rcode != dns.RcodeNameError {
		t.Errorf("found at step 4, seen 1 step: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
	// That NXDOMAIN sends the client on its own walk, which teaches the rest.
	f.walk(t, pod, kubeletWalk[1:]...)
	if r := f.ask(t, kubeletWalk[0], dns.TypeA, pod); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("found at step 4, seen 4 steps: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
}

// A pod with a custom search list that starts like the kubelet's
// (`dnsPolicy: None`, search default.svc.cluster.local corp.example) is
// never expanded: its own walk differs at its second name.
func TestCustomSearchListIsNeverExpanded(t *testing.T) {
	for _, tc := range []struct {
		rule string
		walk []string
	}{
		{"a custom domain second", []string{"www.example.com.default.svc.cluster.local.", "www.example.com.corp.example."}},
		{"the name itself second", []string{"www.example.com.default.svc.cluster.local.", "www.example.com."}},
		{"the cluster's domains, then another node domain", []string{"www.example.com.default.svc.cluster.local.", "www.example.com.svc.cluster.local.", "www.example.com.cluster.local.", "www.example.com.other.internal."}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			f := learning(t, nil)
			f.walk(t, pod, tc.walk...)
			for i := 0; i < 3; i++ {
				if why := f.why(pod, kubeletWalk[0]); why != Differs {
					t.Fatalf("after a walk that differs: %q, want %q", why, Differs)
				}
				if r := f.ask(t, kubeletWalk[0], dns.TypeA, pod); r.Rcode != dns.RcodeNameError {
					t.Errorf("expanded: %v", rrs(r))
				}
				f.walk(t, pod, tc.walk[1:]...)
			}
		})
	}
	// Known first, then a walk that differs from the same address
	// (another pod behind NodeLocal DNSCache): expansion stops.
	f := learning(t, nil)
	f.walk(t, pod, kubeletWalk...)
	if why := f.why(pod, kubeletWalk[0]); why != "" {
		t.Fatalf("after the kubelet walk: %q", why)
	}
	f.walk(t, pod, "db.default.svc.cluster.local.", "db.corp.example.")
	if why := f.why(pod, kubeletWalk[0]); why != Differs {
		t.Errorf("after another pod's custom walk: %q, want %q", why, Differs)
	}
	// And a later kubelet walk does not undo it while it lasts.
	f.walk(t, pod, "x.default.svc.cluster.local.", "x.svc.cluster.local.", "x.cluster.local.", "x.corp.internal.", "x.")
	if why := f.why(pod, kubeletWalk[0]); why != Differs {
		t.Errorf("a kubelet walk undid the difference: %q", why)
	}
}

// A walk that skips a step (the client's list lacks it, or a cache in
// front answered it) is one that differs: another pod behind the same
// address may have that shorter list.
func TestASkippedStepDiffers(t *testing.T) {
	f := learning(t, nil)
	f.walk(t, pod, kubeletWalk[0], kubeletWalk[1], kubeletWalk[3], kubeletWalk[4])
	if why := f.why(pod, kubeletWalk[0]); why != Differs {
		t.Errorf("%q, want %q", why, Differs)
	}
}

// Questions of other walks of the same client, in flight at once, are
// not taken for steps that differ: `web.other.svc...` is a step of the
// walk for web.other, not of the walk for web; `web.x.default.svc...` is a
// first step.
func TestConcurrentWalksDoNotDiffer(t *testing.T) {
	f := learning(t, nil)
	f.walk(t, pod, "web.default.svc.cluster.local.", "web.other.default.svc.cluster.local.", "web.x.default.svc.cluster.local.")
	f.walk(t, pod, "web.other.svc.cluster.local.", "web.svc.cluster.local.")
	st, _ := f.x.parse("web.default.svc.cluster.local.")
	if n, why := f.x.book.Steps(pod.Addr(), st); why != "" || n < 1 {
		t.Errorf("known %d steps (%q)", n, why)
	}
}

// What was seen lasts TrustFor; then the client walks on its own again.
func TestWhatWasSeenExpires(t *testing.T) {
	f := learning(t, func(c *Config) { c.TrustFor = 100 * time.Millisecond })
	f.walk(t, pod, kubeletWalk...)
	if why := f.why(pod, kubeletWalk[0]); why != "" {
		t.Fatalf("after the walk: %q", why)
	}
	time.Sleep(150 * time.Millisecond)
	if why := f.why(pod, kubeletWalk[0]); why != Unverified {
		t.Errorf("after TrustFor: %q, want %q", why, Unverified)
	}
}

// The server and its dry-run model agree question by question while the
// model's client learns and then is expanded.
func TestModelLearnsAsTheServer(t *testing.T) {
	f := learning(t, nil)
	snap := f.s.Snapshot()
	m, err := NewModel(Config{Zones: []string{"cluster.local."}, NodeSearch: []string{"corp.internal"}}, snap, func(name string, qtype uint16) (int, int) {
		if a := snap.Lookup(name, qtype); a.Zone != "" {
			return a.Rcode, len(a.Answer)
		}
		a, ok := outsideA[name]
		switch {
		case !ok:
			return dns.RcodeNameError, 0
		case a == "SERVFAIL":
			return dns.RcodeServerFailure, 0
		case qtype == dns.TypeA:
			return dns.RcodeSuccess, 1
		}
		return dns.RcodeSuccess, 0
	})
	if err != nil {
		t.Fatal(err)
	}
	client := modelClient
	var whys []string
	for _, name := range append(append(slices.Clone(kubeletWalk), kubeletWalk[0], "db.default.svc.cluster.local.", "db.corp.example."), kubeletWalk[0]) {
		live := f.ask(t, name, dns.TypeA, client)
		rc, n := m.Answer(name, dns.TypeA)
		if rc != live.Rcode || n != len(live.Answer) {
			t.Errorf("%s: model %s %d, server %s %d", name, dns.RcodeToString[rc], n, dns.RcodeToString[live.Rcode], len(live.Answer))
		}
		whys = append(whys, m.Events[len(m.Events)-1].Why)
	}
	// The steps after the first are not first steps (the cluster zone's
	// NXDOMAINs get a reason, the rest are not considered); db's walk is
	// expanded and finds nothing, and its client's next step differs.
	want := []string{Unverified, NotNamespace, NotFirstStepShape, "", "", "", "", "", Differs}
	if fmt.Sprint(whys) != fmt.Sprint(want) {
		t.Errorf("reasons %q\nwant %q", whys, want)
	}
}

// The Book's memory is bounded: clients walking at once, walks per
// client, (client, namespace) pairs known.
func TestBookIsBounded(t *testing.T) {
	b := NewBook(time.Hour)
	st := Step{Name: "x.default.svc.cluster.local.", Base: "x", Namespace: "default", Zone: "cluster.local."}
	suffixes := []string{"svc.cluster.local.", "cluster.local.", ""}
	for i := 0; i < 100000; i++ {
		c := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		b.Begin(c, st, suffixes)
		b.Observe(c, "x.svc.cluster.local.")
	}
	pending, known := 0, 0
	for i := range b.shards {
		for _, w := range b.shards[i].pending {
			pending += len(w)
		}
		known += len(b.shards[i].known)
	}
	if pending > bookShards*shardClients*maxPending || known > bookShards*shardKnown {
		t.Errorf("%d walks followed, %d known", pending, known)
	}
	counted := 0
	for i := range b.walking {
		counted += int(b.walking[i].Load())
	}
	if pending != counted {
		t.Errorf("walks counted %d, walks %d", counted, pending)
	}
	b = NewBook(time.Hour)
	c := netip.MustParseAddr("10.200.0.1")
	for i := 0; i < 50; i++ {
		b.Begin(c, Step{Name: fmt.Sprintf("x%d.default.svc.cluster.local.", i), Base: fmt.Sprintf("x%d", i), Namespace: "default", Zone: "cluster.local."}, suffixes)
	}
	if n := len(b.shard(c).pending[c]); n != maxPending {
		t.Errorf("%d walks followed for one client, want %d", n, maxPending)
	}
}

// Observe runs on every question when autopath is on: it allocates
// nothing, with walks being followed or none.
func TestObserveAllocatesNothing(t *testing.T) {
	b := NewBook(time.Hour)
	c := netip.MustParseAddr("10.244.0.1")
	if n := testing.AllocsPerRun(100, func() { b.Observe(c, "api.default.svc.cluster.local.") }); n != 0 {
		t.Errorf("no walk: %v allocations", n)
	}
	st := Step{Name: "x.default.svc.cluster.local.", Base: "x", Namespace: "default", Zone: "cluster.local."}
	b.Begin(c, st, []string{"svc.cluster.local.", "cluster.local.", ""})
	if n := testing.AllocsPerRun(100, func() { b.Observe(c, "api.default.svc.cluster.local.") }); n != 0 {
		t.Errorf("a walk followed: %v allocations", n)
	}
}

// Clients in the trusted networks (NodeLocal DNSCache's address) are
// expanded at once; the others still learn.
func TestTrustedClientsExpandAtOnce(t *testing.T) {
	nodeCache := netip.MustParseAddrPort("169.254.20.10:40000")
	f := learning(t, func(c *Config) { c.Trusted = []netip.Prefix{netip.MustParsePrefix("169.254.20.10/32")} })
	if r := f.ask(t, kubeletWalk[0], dns.TypeA, nodeCache); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("trusted: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
	if why := f.why(pod, kubeletWalk[0]); why != Unverified {
		t.Errorf("a pod: %q, want %q", why, Unverified)
	}
}

// FuzzBook: any questions, in any order, after any first step: the Book
// neither panics nor knows more steps than the walk has.
func FuzzBook(f *testing.F) {
	f.Add("www.example.com.default.svc.cluster.local.", "www.example.com.svc.cluster.local.\nwww.example.com.cluster.local.\nwww.example.com.corp.internal.\nwww.example.com.")
	f.Add("x.default.svc.cluster.local.", "x.corp.example.\nx.")
	f.Add("a.b.default.svc.cluster.local.", "a.b.c.default.svc.cluster.local.\na.b.svc.cluster.local.\na.\n.\n")
	// One Expander (its guard is a 512 KiB table: one per input made
	// every run slow), a fresh Book per input.
	x, err := New(Config{Zones: []string{"cluster.local."}, NodeSearch: []string{"corp.internal"}, GuardFor: time.Second}, nil)
	if err != nil {
		f.Fatal(err)
	}
	client := netip.MustParseAddr("10.244.0.1")
	f.Fuzz(func(t *testing.T, first, next string) {
		x.book = NewBook(time.Hour)
		st, ok := x.parse(strings.ToLower(first))
		if !ok {
			return
		}
		x.follow(client, st)
		lines := strings.Split(next, "\n")
		for _, n := range lines[:min(len(lines), 64)] {
			x.Observe(client, strings.ToLower(n))
		}
		if n, _ := x.book.Steps(client, st); n < 0 || n > len(x.suffixesOf(st)) {
			t.Errorf("%d steps known of a walk of %d", n, len(x.suffixesOf(st)))
		}
	})
}

// BenchmarkObserve: what every question costs with autopath on, when no
// walk is followed, and when other clients' walks are.
func BenchmarkObserve(b *testing.B) {
	book := NewBook(time.Hour)
	c := netip.MustParseAddr("10.244.0.1")
	b.Run("no walk", func(b *testing.B) {
		for b.Loop() {
			book.Observe(c, "api.default.svc.cluster.local.")
		}
	})
	st := Step{Name: "x.default.svc.cluster.local.", Base: "x", Namespace: "default", Zone: "cluster.local."}
	for i := range 1000 {
		book.Begin(netip.AddrFrom4([4]byte{10, 245, byte(i >> 8), byte(i)}), st, []string{"svc.cluster.local.", "cluster.local.", ""})
	}
	b.Run("other clients walking", func(b *testing.B) {
		for b.Loop() {
			book.Observe(c, "api.default.svc.cluster.local.")
		}
	})
	book.Begin(c, st, []string{"svc.cluster.local.", "cluster.local.", ""})
	b.Run("this client walking", func(b *testing.B) {
		for b.Loop() {
			book.Observe(c, "api.default.svc.cluster.local.")
		}
	})
}
