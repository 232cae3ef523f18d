package server

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// fakeHosts knows db.example. (A 192.0.2.7) in the zone example.; other
// names there are unknown (SERVFAIL), names elsewhere pass on.
type fakeHosts struct{}

func (fakeHosts) AnswerHosts(qname string, qtype uint16, msg []byte, max int) (HostsAction, []byte, int, bool) {
	switch {
	case qname == "db.example." && qtype == dns.TypeA:
		rr := &dns.A{Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: net.IPv4(192, 0, 2, 7)}
		buf := make([]byte, 64)
		n, _ := dns.PackRR(rr, buf, 0, nil, false)
		return HostsAnswer, append(msg, buf[:n]...), 1, false
	case qname == "db.example.":
		return HostsAnswer, msg, 0, false
	case len(qname) > 8 && qname[len(qname)-8:] == "example.":
		return HostsServFail, msg, 0, false
	}
	return HostsNext, msg, 0, false
}

// hosts before the zones, as CoreDNS's hosts plugin before kubernetes:
// its names are answered from it (records, NODATA, SERVFAIL for an unknown
// name in its zones); every other name is the zones'.
func TestHostsBeforeTheZones(t *testing.T) {
	s := newTestServer(t, 3)
	s.SetHosts(fakeHosts{})
	m := new(dns.Msg)
	m.SetQuestion("DB.example.", dns.TypeA)
	m.SetEdns0(1232, false)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 || r.IsEdns0() == nil || r.Question[0].Name != "DB.example." {
		t.Fatalf("hosts name: %v", r)
	}
	m.SetQuestion("db.example.", dns.TypeAAAA)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("NODATA: %v", r)
	}
	m.SetQuestion("other.example.", dns.TypeA)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("unknown name in the hosts zones: %s", dns.RcodeToString[r.Rcode])
	}
	m.SetQuestion("big.default.svc.cluster.local.", dns.TypeA)
	if r := exchange(t, s, m, UDP); len(r.Answer) != 3 {
		t.Errorf("a cluster name: %v", r)
	}
}
