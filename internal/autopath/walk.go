package autopath

import (
	"context"
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

// NoAnswer is the rcode of a step without an answer: out of time or a
// reply that cannot be read (live), a name a dry run cannot answer. It is
// resolv.Timeout, so a dry run's AnswerFunc can say it.
const NoAnswer = resolv.Timeout

// StepFunc answers one step of a walk: name, asked with the client's
// question type. ok is false when there is no answer (out of time, a reply
// it cannot read; in a dry run, a name it cannot answer).
type StepFunc func(name string) (rcode, answers int, ok bool)

// Outcome is where a walk ends.
type Outcome struct {
	// Saved is the step that ended the walk (1: the name after the asked
	// one): the questions per type the client does not send. 0 when the
	// client gets the original NXDOMAIN.
	Saved int
	// Name is the candidate that ended the walk, or the step that failed
	// or had no answer; "" when every step was NXDOMAIN.
	Name string
	// Rcode (NoAnswer for none) and Answers (answer records) are that
	// step's.
	Rcode, Answers int
}

// Expanded reports whether the client gets the walk's end instead of the
// original NXDOMAIN.
func (o Outcome) Expanded() bool { return o.Saved > 0 }

// CNAME reports whether the reply is a CNAME from the asked name to Name
// followed by Name's records; an expanded reply without it is Name's
// NODATA, without a CNAME as CoreDNS answers it (musl's walk stops at it;
// glibc and Go ask on, and get what they would have got).
func (o Outcome) CNAME() bool { return o.Expanded() && o.Answers > 0 }

// Reply is the rcode and number of answer records the client's question
// gets after the walk, given the original answer (rcode, answers).
func (o Outcome) Reply(rcode, answers int) (int, int) {
	switch {
	case o.CNAME():
		return dns.RcodeSuccess, o.Answers + 1
	case o.Expanded():
		return dns.RcodeSuccess, 0
	}
	return rcode, answers
}

// Walk asks the names the client would ask after st (Candidates), in its
// order, through ask, and says where the client's walk would end: at the
// first name that exists (NOERROR, with records or without); at the
// original NXDOMAIN when none does, or when a step fails (SERVFAIL,
// REFUSED, ...: what the client makes of it depends on its resolver) or
// has no answer. The live Expander asks the server (Resolve); a dry run
// asks the record engine (Model).
func (e *Expander) Walk(st Step, ask StepFunc) Outcome {
	names := e.Candidates(st)
	if st.Known >= 0 && st.Known < len(names) {
		names = names[:st.Known] // the client has not been seen to ask further
	}
	for i, name := range names {
		if len(name) > maxName {
			continue // no such name: the client's resolver skips it too
		}
		rcode, answers, ok := ask(name)
		if !ok {
			return Outcome{Name: name, Rcode: NoAnswer}
		}
		switch rcode {
		case dns.RcodeNameError:
			continue
		case dns.RcodeSuccess:
			return Outcome{Saved: i + 1, Name: name, Rcode: rcode, Answers: answers}
		}
		return Outcome{Name: name, Rcode: rcode, Answers: answers}
	}
	return Outcome{}
}

// ended is what follows a walk for client: an expansion is counted (as
// saving questions only when it ends with records: after a NODATA glibc
// and Go ask on), and when the client may ask st's successor next (it got
// the NXDOMAIN, or a NODATA), the successor is marked.
func (e *Expander) ended(client netip.Addr, st Step, o Outcome) {
	if !o.CNAME() {
		e.mark(client, st)
		e.follow(client, st)
	}
	if o.Expanded() && e.cfg.Recorder != nil {
		saved := 0
		if o.CNAME() {
			saved = o.Saved
		}
		e.cfg.Recorder.Expanded(saved)
	}
}

// walk asks q's candidates through the server and builds the reply: the
// first that exists, or the NXDOMAIN the client would have got.
func (e *Expander) walk(ctx context.Context, q *server.Question) []byte {
	req := new(dns.Msg)
	st, ok := e.parse(q.Name)
	if err := req.Unpack(q.Msg); err != nil || len(req.Question) != 1 || !ok {
		// The server parsed it before handing it over: cannot happen.
		e.log.Warn("autopath: a question it cannot read", "name", q.Name, "err", err)
		return nil
	}
	st.Known, _ = e.known(q.Remote.Addr(), st) // as Decide found it
	orig := e.ask(ctx, q, req, q.Name)
	if orig == nil {
		return nil
	}
	var last *dns.Msg
	o := e.Walk(st, func(name string) (int, int, bool) {
		last = e.ask(ctx, q, req, name)
		if last == nil {
			return NoAnswer, 0, false // out of time
		}
		return last.Rcode, len(last.Answer), true
	})
	e.ended(q.Remote.Addr(), st, o)
	if !o.Expanded() {
		return pack(req, orig)
	}
	return answer(req, last, o)
}

// answer is the reply for a walk that ended with resp: its records after a
// CNAME from the asked name, or its NODATA, under the client's question.
func answer(req, resp *dns.Msg, o Outcome) []byte {
	if o.CNAME() {
		first := resp.Answer[0].Header()
		cname := &dns.CNAME{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: first.Ttl}, Target: first.Name}
		resp.Answer = append([]dns.RR{cname}, resp.Answer...)
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
	resp.Extra = server.WithoutOPT(resp.Extra)
	resp.Compress = true
	b, err := resp.Pack()
	if err != nil {
		return nil
	}
	return b
}
