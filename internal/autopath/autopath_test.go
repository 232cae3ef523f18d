package autopath

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// elsewhere stands for forward: a few names exist outside the cluster.
type elsewhere struct {
	mu    sync.Mutex
	asked []string
	hang  string // never answered
}

var outsideA = map[string]string{
	"www.example.com.":         "192.0.2.1",
	"corp-host.corp.internal.": "192.0.2.2",
	"x.":                       "192.0.2.3",
	"broken.corp.internal.":    "SERVFAIL",
}

func (o *elsewhere) Cached(*server.Question, []byte) ([]byte, bool) { return nil, false }

func (o *elsewhere) Resolve(q *server.Question, reply func([]byte)) {
	o.mu.Lock()
	o.asked = append(o.asked, q.Name)
	o.mu.Unlock()
	if q.Name == o.hang {
		return
	}
	req := new(dns.Msg)
	req.Unpack(q.Msg)
	m := new(dns.Msg)
	m.SetReply(req)
	m.Extra = nil
	switch a, ok := outsideA[q.Name]; {
	case a == "SERVFAIL":
		m.Rcode = dns.RcodeServerFailure
	case !ok:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{soa("example.")}
	case q.Qtype == dns.TypeA:
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.ParseIP(a)}}
	default:
		m.Ns = []dns.RR{soa("example.")}
	}
	b, _ := m.Pack()
	reply(b)
}

func soa(z string) dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: z, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 30}, Ns: "ns." + z, Mbox: "h." + z, Minttl: 30}
}

type savedCount struct {
	mu    sync.Mutex
	saved []int
}

func (c *savedCount) Expanded(n int) { c.mu.Lock(); c.saved = append(c.saved, n); c.mu.Unlock() }

// fixture is a server over a small cluster (namespaces default and other;
// default/api, other/web, a headless default/peers), forwarding to
// elsewhere, with an Expander on a node whose search list is
// corp.internal, trusting every client's search list to be the kubelet's
// unless change says otherwise.
type fixture struct {
	s   *server.Server
	x   *Expander
	out *elsewhere
	rec *savedCount
}

func newFixture(t *testing.T, change func(*Config)) *fixture {
	t.Helper()
	ip := netip.MustParseAddr
	st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "default"}, {Name: "other"}},
		Services: []cluster.Service{
			{Name: "api", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{ip("10.96.0.20")}},
			{Name: "web", Namespace: "other", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{ip("10.96.0.30")}},
			{Name: "peers", Namespace: "default", Type: cluster.ServiceTypeClusterIP, Headless: true},
		}}
	snap, err := zone.Build(st, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{out: &elsewhere{}, rec: &savedCount{}}
	f.s = server.New(server.Config{Outside: f.out})
	f.s.Swap(snap, true)
	// Trust: these tests are about the walk and the guards; what the
	// Book learns of a client's walk is tested in learn_test.go.
	cfg := Config{Zones: []string{"cluster.local."}, NodeSearch: []string{"corp.internal"}, GuardFor: 10 * time.Second, Recorder: f.rec, Trust: true}
	if change != nil {
		change(&cfg)
	}
	f.x, err = New(cfg, f.s)
	if err != nil {
		t.Fatal(err)
	}
	f.s.SetExpander(f.x)
	return f
}

var pod = netip.MustParseAddrPort("10.244.1.5:40000")

func (f *fixture) ask(t *testing.T, name string, qtype uint16, from netip.AddrPort) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	wire, _ := m.Pack()
	out := f.s.RespondFrom(wire, nil, server.UDP, from)
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if r.Id != m.Id || len(r.Question) != 1 || r.Question[0].Name != name {
		t.Fatalf("%s: reply to another question: %v", name, r)
	}
	if r.IsEdns0() == nil {
		t.Errorf("%s: the client's OPT is missing", name)
	}
	return r
}

func rrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		h := rr.Header()
		out = append(out, h.Name+" "+dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	return out
}

// The walk ends where the client's would: the first name of the rest of
// the kubelet search list, then the name itself, that exists, as a CNAME
// from the asked name followed by its records.
func TestWalkEndsWhereTheClientsWould(t *testing.T) {
	for _, tc := range []struct {
		rule, name string
		qtype      uint16
		rcode      int
		want       []string
		recorded   []int // what the recorder was told was saved
	}{
		{"another namespace's Service (web.other)", "web.other.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			[]string{"web.other.default.svc.cluster.local. CNAME web.other.svc.cluster.local.", "web.other.svc.cluster.local. A 10.96.0.30"}, []int{1}},
		{"a name in a node search domain", "corp-host.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			[]string{"corp-host.default.svc.cluster.local. CNAME corp-host.corp.internal.", "corp-host.corp.internal. A 192.0.2.2"}, []int{3}},
		{"an external name, asked last", "www.example.com.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			[]string{"www.example.com.default.svc.cluster.local. CNAME www.example.com.", "www.example.com. A 192.0.2.1"}, []int{4}},
		{"the first name that exists has no records of the type: NODATA, no CNAME", "www.example.com.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil, []int{0}}, // glibc and Go ask on after a NODATA
		{"nothing anywhere: the original NXDOMAIN", "nothing.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
		{"a step fails: the original NXDOMAIN, the client walks on its own", "broken.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
		{"the client's case is kept", "Web.Other.Default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			[]string{"Web.Other.Default.svc.cluster.local. CNAME web.other.svc.cluster.local.", "web.other.svc.cluster.local. A 10.96.0.30"}, []int{1}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			f := newFixture(t, nil)
			r := f.ask(t, tc.name, tc.qtype, pod)
			if r.Rcode != tc.rcode || strings.Join(rrs(r), "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("%s %s:\n got %s %v\nwant %s %v", tc.name, dns.TypeToString[tc.qtype], dns.RcodeToString[r.Rcode], rrs(r), dns.RcodeToString[tc.rcode], tc.want)
			}
			if tc.rcode == dns.RcodeNameError && (len(r.Ns) != 1 || r.Ns[0].Header().Name != "cluster.local.") {
				t.Errorf("the NXDOMAIN is not the cluster zone's own: %v", r.Ns)
			}
			if got := f.rec.saved; !slices.Equal(got, tc.recorded) {
				t.Errorf("recorded %v, want %v", got, tc.recorded)
			}
		})
	}
}

// Expands declines, with its reason, every question that is not surely
// the first step of a kubelet walk.
func TestExpandsOnlyFirstSteps(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Clients = []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}
		c.Exclude = []string{"other"}
	})
	node := netip.MustParseAddrPort("192.168.1.10:5353")
	for _, tc := range []struct {
		rule, name string
		from       netip.AddrPort
		why        string
	}{
		{"first step", "www.example.com.default.svc.cluster.local.", pod, ""},
		{"not under <ns>.svc", "www.example.com.cluster.local.", pod, NotFirstStepShape},
		{"the namespace alone", "default.svc.cluster.local.", pod, NotFirstStepShape},
		{"client outside the networks", "www.example.com.default.svc.cluster.local.", node, NotClient},
		{"no such namespace", "www.example.com.nope.svc.cluster.local.", pod, NotNamespace},
		{"excluded namespace", "www.example.com.other.svc.cluster.local.", pod, Excluded},
		{"ndots dots or more", "a.b.c.d.e.f.default.svc.cluster.local.", pod, TooManyDots},
		{"four dots is still a first step", "a.b.c.d.e.default.svc.cluster.local.", pod, ""},
		{"under an existing Service (a StatefulSet peer not ready)", "web-0.peers.default.svc.cluster.local.", pod, UnderService},
	} {
		q := &server.Question{Name: tc.name, Qtype: dns.TypeA, Remote: tc.from}
		if _, why := f.x.Decide(q, f.s.Snapshot()); why != tc.why {
			t.Errorf("%s: %s: %q, want %q", tc.rule, tc.name, why, tc.why)
		}
	}
}

// The hole: a pod in default asking x.other sends x.other.default.svc,
// then x.other.svc, which looks like the first step of a pod in other
// asking x (and x exists outside). After an NXDOMAIN for the first, the
// second is not expanded for that client; another client's is.
func TestSecondStepOfAnotherWalkIsNotExpanded(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.ask(t, "x.other.default.svc.cluster.local.", dns.TypeA, pod); r.Rcode != dns.RcodeNameError {
		t.Fatalf("first step: %v", rrs(r))
	}
	if r := f.ask(t, "x.other.svc.cluster.local.", dns.TypeA, pod); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
		t.Errorf("second step of the same client expanded: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
	other := netip.MustParseAddrPort("10.244.2.9:40000")
	if r := f.ask(t, "x.other.svc.cluster.local.", dns.TypeA, other); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("another client's first step not expanded: %s %v", dns.RcodeToString[r.Rcode], rrs(r))
	}
	// A first step that is not expanded (its namespace is excluded) marks
	// its successor too.
	g := newFixture(t, func(c *Config) { c.Exclude = []string{"default"} })
	g.ask(t, "x.other.default.svc.cluster.local.", dns.TypeA, pod)
	q := &server.Question{Name: "x.other.svc.cluster.local.", Qtype: dns.TypeA, Remote: pod}
	if _, why := g.x.Decide(q, g.s.Snapshot()); why != SecondStep {
		t.Errorf("successor of an unexpanded step: %q, want %q", why, SecondStep)
	}
}

// A walk that takes longer than the budget ends with the original NXDOMAIN.
func TestWalkOverBudgetIsTheOriginalNXDOMAIN(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Budget = 200 * time.Millisecond })
	f.out.hang = "slow.corp.internal."
	start := time.Now()
	r := f.ask(t, "slow.default.svc.cluster.local.", dns.TypeA, pod)
	if r.Rcode != dns.RcodeNameError || time.Since(start) > 2*time.Second {
		t.Errorf("%s after %v", dns.RcodeToString[r.Rcode], time.Since(start))
	}
}

// The steps are not expanded again, and a cluster name that exists is
// answered as before (no expansion, no asking elsewhere).
func TestExistingNamesAreUntouched(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.ask(t, "api.default.svc.cluster.local.", dns.TypeA, pod); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeA {
		t.Errorf("api: %v", rrs(r))
	}
	if len(f.out.asked) != 0 || len(f.rec.saved) != 0 {
		t.Errorf("asked elsewhere %v, expanded %v", f.out.asked, f.rec.saved)
	}
}

func TestGuardCollisionsOnlyGuard(t *testing.T) {
	g := NewGuard(time.Second)
	now := time.Now()
	a := netip.MustParseAddr("10.0.0.1")
	g.Mark(a, "x.other", ".svc.cluster.local.", now)
	if !g.Marked(a, "x.other.svc.cluster.local.", now) {
		t.Error("a name marked in two parts is not marked as one")
	}
	if g.Marked(a, "x.other.svc.cluster.local.", now.Add(2*time.Second)) {
		t.Error("still marked after its time")
	}
	g.Mark(a, "x.other", ".svc.cluster.local.", now.Add(-time.Hour)) // an older mark does not shorten it
	if !g.Marked(a, "x.other.svc.cluster.local.", now.Add(500*time.Millisecond)) {
		t.Error("an older mark shortened a newer one")
	}
}

// Deciding allocates nothing: it runs on the query path of every
// NXDOMAIN of the cluster zone.
func TestDecideAllocatesNothing(t *testing.T) {
	f := newFixture(t, nil)
	q := &server.Question{Name: "www.example.com.default.svc.cluster.local.", Qtype: dns.TypeA, Remote: pod}
	snap := f.s.Snapshot()
	if n := testing.AllocsPerRun(100, func() { f.x.Decide(q, snap) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
