package zone

import (
	"errors"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

// ErrNotTransferable is Transfer's answer for a name that is not a served
// forward zone's apex: reverse zones are not transferred (their names are
// every address of the cluster, as CoreDNS does not transfer PTRs either).
var ErrNotTransferable = errors.New("not a forward zone this server is authoritative for")

// Transfer calls f with every record of a forward zone as a zone transfer
// (AXFR) carries it, from this one snapshot: the SOA, the apex NS set and
// its addresses, then each service's records, and the SOA again. The
// records are CoreDNS's (plugin/kubernetes/xfr.go): a ClusterIP service's
// addresses, an SRV per port at the service name and one per named port
// at _port._proto (weight 100); a headless service's ready addresses at
// the service name and at each endpoint's name, with an SRV per named
// port of the endpoint's slice (weight split over the slice's addresses);
// an ExternalName's CNAME. Pod records, PTRs and zonal names are not
// transferred. Two differences from CoreDNS, for a secondary's sake: a
// record is sent once even where CoreDNS repeats it (two endpoints of one
// hostname; RFC 2181 §5), and the apex NS addresses carry the zone's TTL
// (CoreDNS sends them with TTL 0).
//
// Services come in namespace/name order. f's error stops the transfer and
// is returned.
func (s *Snapshot) Transfer(zoneName string, f func(dns.RR) error) error {
	name := lowerASCII(dns.Fqdn(zoneName))
	var z *servedZone
	for _, c := range s.zones {
		if c.name == name && !c.reverse {
			z = c
		}
	}
	if z == nil {
		return ErrNotTransferable
	}
	t := &transferWriter{f: f, seen: map[string]bool{}}
	t.put(z.soa.RR)
	if apex := s.static[z.name]; apex != nil {
		if ns := apex.answers.get(dns.TypeNS); ns != nil {
			for _, r := range ns.Answer {
				t.put(r.RR)
			}
			for _, r := range ns.Extra {
				t.put(r.RR)
			}
		}
	}
	var frags []*fragment
	s.table(z).each(func(_ string, fr *fragment) {
		if fr.data.exists {
			frags = append(frags, fr)
		}
	})
	slices.SortFunc(frags, func(a, b *fragment) int {
		return strings.Compare(a.data.svc.Namespace+"/"+a.data.svc.Name, b.data.svc.Namespace+"/"+b.data.svc.Name)
	})
	for _, fr := range frags {
		fr.data.transfer(t, z.name, s.opts.TTL)
		if t.err != nil {
			return t.err
		}
	}
	t.put(z.soa.RR)
	return t.err
}

// transferWriter hands records to Transfer's f once each, and keeps its
// first error.
type transferWriter struct {
	f    func(dns.RR) error
	seen map[string]bool // records of the current service, as text
	err  error
}

func (t *transferWriter) put(rr dns.RR) {
	if t.err != nil {
		return
	}
	t.err = t.f(rr)
}

// putOnce puts rr unless the same record was put for this service.
func (t *transferWriter) putOnce(rr dns.RR) {
	k := rr.String()
	if t.seen[k] {
		return
	}
	t.seen[k] = true
	t.put(rr)
}

// transfer writes the service's records for a zone transfer.
func (d *serviceData) transfer(t *transferWriter, zoneName string, ttl uint32) {
	clear(t.seen)
	owner := schema.ServiceFromKey(d.key, zoneName)
	switch {
	case d.external():
		t.putOnce(d.cname(owner, ttl).RR)
	case !d.headless():
		for _, ip := range d.svc.ClusterIPs {
			t.putOnce(addrRR(owner, ip.Unmap(), ttl))
		}
		for _, p := range d.svc.Ports {
			if p.Port <= 0 || p.Port > 65535 {
				continue
			}
			t.putOnce(srvRR(owner, owner, uint16(p.Port), 100, ttl))
			if p.Name == "" {
				continue // the specification gives unnamed ports no SRV name
			}
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			t.putOnce(srvRR(schema.Port(strings.ToLower(p.Name), proto, owner), owner, uint16(p.Port), 100, ttl))
		}
	default:
		// Per EndpointSlice, as CoreDNS weighs them: 100 over the
		// slice's ready addresses.
		perSlice := map[*readySlice]int{}
		for i := range d.ready {
			perSlice[d.ready[i].slice]++
		}
		for i := range d.ready {
			r := &d.ready[i]
			t.putOnce(addrRR(owner, r.addr(), ttl))
			target := schema.Endpoint(r.label, owner)
			t.putOnce(addrRR(target, r.addr(), ttl))
			w := max(srvWeight(perSlice[r.slice]), 1)
			for _, p := range r.ports() {
				if p.name == "" {
					continue
				}
				t.putOnce(srvRR(schema.Port(p.name, p.proto, owner), target, p.port, w, ttl))
			}
		}
	}
}

// srvRR is an SRV record of priority 0.
func srvRR(owner, target string, port, weight uint16, ttl uint32) dns.RR {
	return &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Priority: 0, Weight: weight, Port: port, Target: target}
}
