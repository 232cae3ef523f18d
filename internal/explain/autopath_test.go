package explain

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// autopathExplainer explains a small cluster (namespaces default, other
// and quiet; other/web with a cluster IP, a headless default/peers) for a
// server with autopath on nodes whose search list is corp.internal, quiet
// excluded.
func autopathExplainer(t *testing.T) *Explainer {
	t.Helper()
	ip := netip.MustParseAddr
	st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "default"}, {Name: "other"}, {Name: "quiet"}},
		Services: []cluster.Service{
			{Name: "web", Namespace: "other", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{ip("10.96.0.30")}},
			{Name: "peers", Namespace: "default", Type: cluster.ServiceTypeClusterIP, Headless: true},
		}}
	ex, err := New(st, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.SetAutopath(autopath.Config{NodeSearch: []string{"corp.internal"}, Exclude: []string{"quiet"}}); err != nil {
		t.Fatal(err)
	}
	return ex
}

func autopathCause(r *Result) *Cause {
	for i := range r.Causes {
		if r.Causes[i].Code == CodeAutopath {
			return &r.Causes[i]
		}
	}
	return nil
}

// With autopath on, a name of the first step's shape that is NXDOMAIN is
// explained as the server answers it: the walk's end (a cluster name, from
// the engine), the names it forwards, or why autopath does not expand it
// (Decide's reason). The verdict stays the cluster state's.
func TestExplainSaysWhatAutopathAnswers(t *testing.T) {
	for _, tc := range []struct {
		rule, name string
		qtype      uint16
		want       string // in the autopath cause; "" for none
	}{
		{"another namespace's Service: a CNAME to it, step 1", "web.other.default.svc.cluster.local.", dns.TypeA,
			"answers web.other.default.svc.cluster.local. with a CNAME to web.other.svc.cluster.local. and its A records, where the client's search walk would end (step 1)"},
		{"the walk's end has no records of the type: NODATA", "web.other.default.svc.cluster.local.", dns.TypeAAAA,
			"with NODATA: web.other.svc.cluster.local., where the client's search walk would end (step 1), exists without AAAA records"},
		{"an outside name: the names outside the zone are forwarded", "www.example.com.default.svc.cluster.local.", dns.TypeA,
			"www.example.com.svc.cluster.local., www.example.com.cluster.local. are NXDOMAIN; then it asks www.example.com.corp.internal., www.example.com., outside the cluster zone (forwarded)"},
		{"a name under an existing Service: not expanded", "web-0.peers.default.svc.cluster.local.", dns.TypeA, autopath.UnderService},
		{"a name with ndots dots: not expanded", "a.b.c.d.e.f.default.svc.cluster.local.", dns.TypeA, autopath.TooManyDots},
		{"an unknown namespace: not expanded", "x.nope.svc.cluster.local.", dns.TypeA, autopath.NotNamespace},
		{"an excluded namespace: not expanded", "x.quiet.svc.cluster.local.", dns.TypeA, autopath.Excluded},
		{"a name that exists: nothing to say", "web.other.svc.cluster.local.", dns.TypeA, ""},
		{"a name outside the zone: nothing to say", "www.example.com.", dns.TypeA, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			ex := autopathExplainer(t)
			r := ex.Explain(tc.name, tc.qtype)
			c := autopathCause(r)
			switch {
			case tc.want == "" && c != nil:
				t.Errorf("an autopath cause: %s", c.Message)
			case tc.want != "" && c == nil:
				t.Errorf("no autopath cause in %v", codesOf(r))
			case c != nil && (!strings.Contains(c.Message, tc.want) || c.Severity != SeverityInfo || c.Object != tc.name):
				t.Errorf("%s %s: %s\nwant %q", c.Severity, c.Object, c.Message, tc.want)
			}
			if c != nil && r.Rcode != "NXDOMAIN" {
				t.Errorf("the verdict is not the cluster state's: %s", r.Rcode)
			}
			// An expansion is explained for a pod whose own walk the
			// server has seen, and says so; a refusal needs no such note.
			if learned := strings.Contains(tc.want, "step 1") || strings.Contains(tc.want, "forwarded"); c != nil && strings.Contains(c.Message, "for a pod whose own walk the server has seen") != learned {
				t.Errorf("the note on learning (want %v): %s", learned, c.Message)
			}
		})
	}
	// Off: nothing.
	ex := autopathExplainer(t)
	ex.autopath = nil
	if c := autopathCause(ex.Explain("web.other.default.svc.cluster.local.", dns.TypeA)); c != nil {
		t.Errorf("autopath off: %s", c.Message)
	}
}

// A short name: the first question of its search path that the server
// hands to autopath is the one explained.
func TestExplainShortSaysWhatAutopathDoesWithTheFirstStep(t *testing.T) {
	ex := autopathExplainer(t)
	r := ex.ExplainShort("web.other", dns.TypeA, "default", 5)
	c := autopathCause(r)
	if r.Rcode != "NOERROR" || c == nil || c.Object != "web.other.default.svc.cluster.local." || !strings.Contains(c.Message, "a CNAME to web.other.svc.cluster.local.") {
		t.Errorf("%s %v", r.Rcode, c)
	}
	r = ex.ExplainShort("web-0.peers", dns.TypeA, "default", 5)
	if c := autopathCause(r); c == nil || !strings.Contains(c.Message, autopath.UnderService) {
		t.Errorf("web-0.peers: %v", c)
	}
}
