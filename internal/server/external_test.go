package server

import (
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// addrOutside answers A for db.example.com. (from its cache once told
// to), NXDOMAIN for anything else.
type addrOutside struct {
	mu     sync.Mutex
	cached bool
	asked  []string
}

func (o *addrOutside) reply(q *Question) []byte {
	req := new(dns.Msg)
	if err := req.Unpack(q.Msg); err != nil {
		panic(err)
	}
	m := new(dns.Msg)
	m.SetReply(req)
	if q.Name == "db.example.com." && q.Qtype == dns.TypeA {
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 42}, A: []byte{192, 0, 2, 7}}}
	} else if q.Name != "db.example.com." {
		m.Rcode = dns.RcodeNameError
	}
	b, _ := m.Pack()
	return b
}

func (o *addrOutside) Cached(q *Question, out []byte) ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.cached || q.Name != "db.example.com." {
		return out, false
	}
	o.asked = append(o.asked, "cache:"+q.Name)
	return o.reply(q), true
}

func (o *addrOutside) Resolve(q *Question, reply func([]byte)) {
	o.mu.Lock()
	o.asked = append(o.asked, q.Name)
	o.mu.Unlock()
	go reply(o.reply(q))
}

// An ExternalName whose target is outside the zones answers A and AAAA
// with the CNAME and the target's records from Outside (cache first), as
// CoreDNS's kubernetes plugin does through its upstream; a target that
// does not exist leaves the CNAME alone, NOERROR; other types and servers
// without Outside get the CNAME only.
func TestExternalNameTargetIsResolvedThroughOutside(t *testing.T) {
	st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "prod"}}, Services: []cluster.Service{
		{Name: "db", Namespace: "prod", Type: cluster.ServiceTypeExternalName, ExternalName: "db.example.com"},
		{Name: "gone", Namespace: "prod", Type: cluster.ServiceTypeExternalName, ExternalName: "gone.example.com"},
		{Name: "alias", Namespace: "prod", Type: cluster.ServiceTypeExternalName, ExternalName: "db.prod.svc.cluster.local"},
	}}
	snap, err := zone.Build(st, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	o := &addrOutside{}
	s := New(Config{Outside: o})
	s.Swap(snap, true)
	ask := func(name string, qt uint16) string {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		wire, _ := m.Pack()
		r := new(dns.Msg)
		if err := r.Unpack(s.RespondFrom(wire, nil, UDP, netip.MustParseAddrPort("10.0.0.1:5000"))); err != nil {
			t.Fatal(err)
		}
		var rrs []string
		for _, rr := range r.Answer {
			rrs = append(rrs, strings.ReplaceAll(rr.String(), "\t", " "))
		}
		return dns.RcodeToString[r.Rcode] + " aa=" + map[bool]string{true: "1", false: "0"}[r.Authoritative] + ": " + strings.Join(rrs, " | ")
	}
	tests := []struct {
		name string
		qt   uint16
		want string
	}{
		{"db.prod.svc.cluster.local.", dns.TypeA, "NOERROR aa=1: db.prod.svc.cluster.local. 5 IN CNAME db.example.com. | db.example.com. 42 IN A 192.0.2.7"},
		{"DB.prod.svc.cluster.local.", dns.TypeA, "NOERROR aa=1: DB.prod.svc.cluster.local. 5 IN CNAME db.example.com. | db.example.com. 42 IN A 192.0.2.7"},
		{"db.prod.svc.cluster.local.", dns.TypeAAAA, "NOERROR aa=1: db.prod.svc.cluster.local. 5 IN CNAME db.example.com."},
		{"gone.prod.svc.cluster.local.", dns.TypeA, "NOERROR aa=1: gone.prod.svc.cluster.local. 5 IN CNAME gone.example.com."},
		{"alias.prod.svc.cluster.local.", dns.TypeA, "NOERROR aa=1: alias.prod.svc.cluster.local. 5 IN CNAME db.prod.svc.cluster.local. | db.prod.svc.cluster.local. 5 IN CNAME db.example.com. | db.example.com. 42 IN A 192.0.2.7"},
		{"db.prod.svc.cluster.local.", dns.TypeCNAME, "NOERROR aa=1: db.prod.svc.cluster.local. 5 IN CNAME db.example.com."},
	}
	for _, tt := range tests {
		if got := ask(tt.name, tt.qt); got != tt.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tt.name, dns.TypeToString[tt.qt], got, tt.want)
		}
	}
	if got := strings.Join(o.asked, " "); !strings.Contains(got, "db.example.com.") || strings.Contains(got, "cluster.local") {
		t.Errorf("Outside asked %q: want the targets only", got)
	}
	o.cached, o.asked = true, nil
	if got := ask("db.prod.svc.cluster.local.", dns.TypeA); !strings.HasSuffix(got, "db.example.com. 42 IN A 192.0.2.7") || len(o.asked) != 1 || o.asked[0] != "cache:db.example.com." {
		t.Errorf("with the target cached: %s, asked %v", got, o.asked)
	}
	s.SetOutside(nil, nil)
	if got := ask("db.prod.svc.cluster.local.", dns.TypeA); got != "NOERROR aa=1: db.prod.svc.cluster.local. 5 IN CNAME db.example.com." {
		t.Errorf("without Outside: %s", got)
	}
}
