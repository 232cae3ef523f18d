package server

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// HostsAction is what a hosts table decides for a question.
type HostsAction uint8

// What a hosts table does with a question (CoreDNS's hosts plugin).
const (
	// HostsNext: not the table's name; the zones answer it.
	HostsNext HostsAction = iota
	// HostsAnswer: an authoritative NOERROR with the table's records (none:
	// NODATA).
	HostsAnswer
	// HostsServFail: a name in the table's zones it does not know, and no
	// fallthrough.
	HostsServFail
)

// HostsTable answers names from a hosts file and inline entries before the
// zones do, as CoreDNS's hosts plugin sits before kubernetes (package
// hosts). It runs on the query path: it must not block or allocate.
type HostsTable interface {
	// AnswerHosts decides the question. For HostsAnswer it appends the
	// answer records to msg (which holds the header and the question) as
	// long as they fit in max bytes, and returns how many it appended and
	// whether some did not fit.
	AnswerHosts(qname string, qtype uint16, msg []byte, max int) (action HostsAction, out []byte, n int, truncated bool)
}

// SetHosts sets (or, with nil, removes) the hosts table.
func (s *Server) SetHosts(h HostsTable) {
	if h == nil {
		s.hosts.Store(nil)
		return
	}
	s.hosts.Store(&h)
}

// answerHosts answers from the hosts table; done false: the zones answer.
func (s *Server) answerHosts(h HostsTable, r *request, out []byte, t Transport) (resp []byte, done bool) {
	maxUDP := s.cfg.MaxUDPSize
	resp = append(out[:0], make([]byte, headerLen)...)
	r.header(resp, 0, true, 0, 0, 0)
	resp = append(resp, r.question...)
	limit := r.limit(t, maxUDP)
	if r.edns {
		limit -= 11 // the OPT record appended below
	}
	action, resp, n, truncated := h.AnswerHosts(unsafeString(r.canon), r.qtype, resp, limit)
	switch action {
	case HostsNext:
		return nil, false
	case HostsServFail:
		return r.errorResponse(resp, dns.RcodeServerFailure, false, maxUDP), true
	}
	binary.BigEndian.PutUint16(resp[6:], uint16(n))
	if truncated {
		binary.BigEndian.PutUint16(resp[2:], binary.BigEndian.Uint16(resp[2:])|flagTC)
	}
	r.zone = "hosts"
	return r.appendOPT(resp, 0, maxUDP), true
}
