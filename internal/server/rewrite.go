package server

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// Rewriter rewrites question names before they are answered, as CoreDNS's
// rewrite plugin does (package rewrite). The server asks it for every
// query when one is set.
type Rewriter interface {
	// Question returns the name to answer instead of name (canonical:
	// lower case, fully qualified), what maps the answer back, and whether
	// a rule matched. A matched rule with an empty name means the result
	// is not a valid name: the query is answered SERVFAIL. name may alias
	// a buffer the server reuses: when no rule matches it must not be
	// kept (the server asks again with a copy when one does).
	Question(name string) (rewritten string, back Restorer, ok bool)
}

// Restorer maps an answer to a rewritten question back to the client's
// question (the rewrite plugin's reverter).
type Restorer interface {
	Restore(m *dns.Msg)
}

// SetRewriter sets (or, with nil, removes) the rewriter.
func (s *Server) SetRewriter(rw Rewriter) {
	if rw == nil {
		s.rewriter.Store(nil)
		return
	}
	s.rewriter.Store(&rw)
}

// rewritten is the state of a rewritten query: the query to answer, and
// how to turn its answer into the answer to the client.
type rewritten struct {
	msg      []byte // the query with the rewritten name
	back     Restorer
	question dns.Question // the client's, as sent
	limit    int
}

// rewrite rewrites msg's question if a rule matches. ok false: answer msg
// as it is. A nil rewritten with ok: answer the question SERVFAIL.
func (s *Server) rewrite(rw Rewriter, r *request, msg []byte) (rw2 *rewritten, ok bool) {
	// A miss must not allocate: ask with the name in the request's
	// buffer, and again with a copy on a match, since the restorer keeps
	// the name and the buffer is reused for the rewritten query.
	if _, _, matched := rw.Question(unsafeString(r.canon)); !matched {
		return nil, false
	}
	name, back, _ := rw.Question(string(r.canon))
	if name == "" {
		return nil, true
	}
	m := new(dns.Msg)
	if m.Unpack(msg) != nil || len(m.Question) != 1 {
		return nil, false
	}
	orig := m.Question[0]
	m.Question[0].Name = name
	packed, err := m.Pack()
	if err != nil {
		return nil, true
	}
	return &rewritten{msg: packed, back: back, question: orig}, true
}

// restore maps an answer to the rewritten query back: the reverter's
// changes, then the client's question as sent. The answer is fitted to
// limit again, since names may have grown.
func (s *Server) restore(rw *rewritten, resp []byte, limit int) []byte {
	m := new(dns.Msg)
	if len(resp) < headerLen {
		return resp
	}
	if m.Unpack(resp) != nil {
		return resp
	}
	rw.back.Restore(m)
	if len(m.Question) == 1 {
		m.Question[0] = rw.question
	}
	out, err := m.Pack()
	if err != nil {
		return resp
	}
	return s.fitOutside(limit, out)
}

// answerRewritten answers a rewritten query into out; deferred questions
// keep rw in the scratch for resolveOutside.
func (s *Server) answerRewritten(sc *scratch, rw *rewritten, msg, out []byte, t Transport) []byte {
	if rw == nil {
		sc.r = request{}
		if ok, _ := parse(msg, &sc.r, sc.canon[:0]); !ok {
			return nil
		}
		return sc.r.errorResponse(out, dns.RcodeServerFailure, false, s.cfg.MaxUDPSize)
	}
	sc.r = request{}
	resp := s.respond(rw.msg, out, t, &sc.r, sc.canon[:0], &sc.zone)
	rw.limit = sc.r.limit(t, s.cfg.MaxUDPSize)
	if sc.r.deferred {
		sc.rw = rw
		return nil
	}
	if resp == nil {
		return nil
	}
	if binary.BigEndian.Uint16(resp[4:]) == 0 {
		return resp // an error without a question: nothing to map back
	}
	return s.restore(rw, resp, rw.limit)
}
