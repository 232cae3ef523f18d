package server

import (
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// externalChain answers an A or AAAA question whose answer in the zones
// is an ExternalName's CNAME chain to a name outside them: the chain,
// followed by the target's records of the type as Outside (the cache,
// then forwarding) has them, as CoreDNS's kubernetes plugin adds them
// through its upstream. The target's answer is added whatever its rcode
// (an NXDOMAIN or a failure adds nothing: the answer is the chain,
// NOERROR), and its TC bit is kept. It is an Outside for the server's
// deferral path only.
type externalChain struct {
	o      Outside
	chain  []zone.Record
	target string
}

// Cached reports no answer: the chain is put together in Resolve.
func (*externalChain) Cached(*Question, []byte) ([]byte, bool) { return nil, false }

// Resolve asks Outside for the target and replies with the chain and the
// target's records.
func (e *externalChain) Resolve(q *Question, reply func([]byte)) {
	req := new(dns.Msg)
	if err := req.Unpack(q.Msg); err != nil || len(req.Question) != 1 {
		reply(nil)
		return
	}
	tq := new(dns.Msg)
	tq.SetQuestion(e.target, q.Qtype)
	tq.Id, tq.RecursionDesired, tq.CheckingDisabled = q.ID, q.RD, q.CD
	if q.UDPSize > 0 {
		tq.SetEdns0(q.UDPSize, q.DO)
	}
	packed, err := tq.Pack()
	if err != nil {
		reply(nil)
		return
	}
	sub := &Question{Msg: packed, Name: e.target, Qtype: q.Qtype, Qclass: dns.ClassINET, ID: q.ID,
		RD: q.RD, CD: q.CD, DO: q.DO, UDPSize: q.UDPSize, Transport: q.Transport, Remote: q.Remote}
	if b, ok := e.o.Cached(sub, nil); ok {
		reply(e.merge(req, b))
		return
	}
	e.o.Resolve(sub, func(b []byte) { reply(e.merge(req, b)) })
}

// merge is the response to req: the chain (its first owner in the
// question's case), then the answer records of the target's response.
func (e *externalChain) merge(req *dns.Msg, target []byte) []byte {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true // a zone answer: AA, no RA, as the zones' own
	qname := req.Question[0].Name
	for i, r := range e.chain {
		rr := dns.Copy(r.RR)
		if i == 0 {
			rr.Header().Name = qname
		}
		m.Answer = append(m.Answer, rr)
	}
	t := new(dns.Msg)
	if target != nil && t.Unpack(target) == nil {
		m.Answer = append(m.Answer, t.Answer...)
		m.Truncated = t.Truncated
	}
	out, err := m.Pack()
	if err != nil {
		return nil
	}
	return out
}
