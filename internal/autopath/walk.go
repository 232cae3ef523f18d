package autopath

import (
	"context"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

// walk asks q's candidates in the client's order and builds the reply:
// the first that exists, or the NXDOMAIN the client would have got.
func (e *Expander) walk(ctx context.Context, q *server.Question) []byte {
	req := new(dns.Msg)
	st, ok := e.parse(q.Name)
	if err := req.Unpack(q.Msg); err != nil || len(req.Question) != 1 || !ok {
		// The server parsed it before handing it over: cannot happen.
		e.log.Warn("autopath: a question it cannot read", "name", q.Name, "err", err)
		return nil
	}
	orig := e.ask(ctx, q, req, q.Name)
	if orig == nil {
		return nil
	}
	for i, name := range e.Candidates(st) {
		if len(name) > 254 {
			continue // no such name: the client's resolver skips it too
		}
		resp := e.ask(ctx, q, req, name)
		if resp == nil {
			break // out of time
		}
		switch resp.Rcode {
		case dns.RcodeNameError:
			continue
		case dns.RcodeSuccess:
			return e.answer(q, req, st, resp, i+1)
		}
		// SERVFAIL, REFUSED, ...: what the client makes of it depends on
		// its resolver; it gets the first answer and walks on its own.
		break
	}
	e.mark(q.Remote.Addr(), st)
	return pack(req, orig)
}

// answer is the reply for a walk that ended at step `saved`: its records
// after a CNAME from the asked name, or its NODATA, under the client's
// question.
func (e *Expander) answer(q *server.Question, req *dns.Msg, st Step, resp *dns.Msg, saved int) []byte {
	if len(resp.Answer) > 0 {
		first := resp.Answer[0].Header()
		cname := &dns.CNAME{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: first.Ttl}, Target: first.Name}
		resp.Answer = append([]dns.RR{cname}, resp.Answer...)
	} else {
		// NODATA: glibc asks on, so the next question is marked.
		e.mark(q.Remote.Addr(), st)
	}
	if e.cfg.Recorder != nil {
		e.cfg.Recorder.Expanded(saved)
	}
	return pack(req, resp)
}

// ask answers req with its name replaced by name, as the server answers the
// client, within ctx. nil: out of time, or no answer.
func (e *Expander) ask(ctx context.Context, q *server.Question, req *dns.Msg, name string) *dns.Msg {
	m := req.Copy()
	m.Question[0].Name = name
	wire, err := m.Pack()
	if err != nil {
		return nil
	}
	done := make(chan []byte, 1)
	go func() { done <- e.asker.Ask(wire, q.Transport, q.Remote) }()
	var b []byte
	select {
	case b = <-done:
	case <-ctx.Done():
		return nil
	}
	resp := new(dns.Msg)
	if len(b) == 0 || resp.Unpack(b) != nil {
		return nil
	}
	return resp
}

// pack is resp under the client's ID and question, without OPT (the server
// adds the client's own); nil when it cannot be packed.
func pack(req, resp *dns.Msg) []byte {
	resp.Id = req.Id
	resp.Question = req.Question
	extra := resp.Extra[:0]
	for _, rr := range resp.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	resp.Extra = extra
	resp.Compress = true
	b, err := resp.Pack()
	if err != nil {
		return nil
	}
	return b
}
