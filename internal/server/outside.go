package server

import (
	"encoding/binary"
	"github.com/clusterdns/clusterdns/internal/dnswire"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Outside answers the questions the served zones do not hold: forwarding
// and its cache. The server asks it only for a name outside every served
// zone, and for a name a served reverse zone answers NXDOMAIN when that
// zone is listed in Config.Fallthrough (kubeadm's `fallthrough in-addr.arpa
// ip6.arpa`). An answer from a served zone never reaches it, so the
// cluster zone's query path stays what it was.
type Outside interface {
	// Responses carry no OPT record: the server adds its own, as it does
	// to every answer (CoreDNS builds the client's OPT anew too).
	//
	// Cached appends a ready response for q to out (the client's ID and
	// question, its flags) and reports whether it had one. It runs on the
	// query path: it must not block, and should not allocate. q and its
	// slices are valid only during the call.
	Cached(q *Question, out []byte) ([]byte, bool)
	// Resolve answers q from elsewhere. It calls reply exactly once, from
	// any goroutine, with the whole response (nil: send nothing); the
	// server fits it to the client's UDP size and may reorder it in place
	// (LoadBalance), so the buffer is the server's until reply returns. q is
	// the server's own copy, Resolve may keep it.
	Resolve(q *Question, reply func(resp []byte))
}

// WithoutOPT is extra without its OPT record, reusing its array: an
// Outside's responses carry none.
func WithoutOPT(extra []dns.RR) []dns.RR {
	out := extra[:0]
	for _, rr := range extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// Question is a query handed to Outside.
type Question struct {
	// Msg is the query message as the client sent it.
	Msg []byte
	// Name is the question name, lower case, fully qualified.
	Name          string
	Qtype, Qclass uint16
	ID            uint16
	// RD, CD and DO are the client's recursion desired, checking disabled
	// and DNSSEC OK bits.
	RD, CD, DO bool
	// UDPSize is the client's EDNS buffer size; 0 without EDNS.
	UDPSize   uint16
	Transport Transport
	Remote    netip.AddrPort
}

// question describes the parsed request for Outside. The name aliases the
// request's buffer.
func (r *request) outsideQuestion(msg []byte, t Transport, q *Question) {
	*q = Question{Msg: msg, Name: unsafeString(r.canon), Qtype: r.qtype, Qclass: r.qclass, ID: r.id,
		RD: r.flags&flagRD != 0, CD: r.flags&flagCD != 0, DO: r.ednsDO, Transport: t}
	if r.edns {
		q.UDPSize = r.ednsSize
	}
}

// outsideState is the Outside in use and the zones falling through to it.
type outsideState struct {
	o     Outside
	zones []string // falling through, canonical
}

// SetOutside replaces the Outside and the fallthrough zones (nil: names
// outside the zones are REFUSED again). Queries under way finish with the
// one they started with.
func (s *Server) SetOutside(o Outside, fallthroughZones []string) {
	if o == nil {
		s.outside.Store(nil)
		return
	}
	s.outside.Store(&outsideState{o: o, zones: canonicalZones(fallthroughZones)})
}

// SetLoadBalance turns the shuffle of address records on or off.
func (s *Server) SetLoadBalance(on bool) { s.loadBalance.Store(on) }

// goOutside answers from Outside's cache, or marks the request as deferred
// (r.deferred) for the caller to hand to Outside.Resolve.
func (s *Server) goOutside(o Outside, r *request, msg, out []byte, t Transport) []byte {
	var q Question
	r.outsideQuestion(msg, t, &q)
	if resp, ok := o.Cached(&q, out); ok && len(resp) >= headerLen {
		resp = r.appendOPT(resp, int(binary.BigEndian.Uint16(resp[2:])&0xF), s.cfg.MaxUDPSize)
		return s.fitOutside(r.limit(t, s.cfg.MaxUDPSize), resp)
	}
	r.deferred, r.via = true, o
	return nil
}

// fallsThrough reports whether an NXDOMAIN of the served zone z goes to
// Outside.
func (s *Server) fallsThrough(z string) bool {
	ost := s.outside.Load()
	return ost != nil && slices.Contains(ost.zones, z)
}

// canonicalZones lower-cases and fully qualifies zone names.
func canonicalZones(zs []string) []string {
	out := make([]string, 0, len(zs))
	for _, z := range zs {
		out = append(out, strings.ToLower(dns.Fqdn(strings.TrimSpace(z))))
	}
	return out
}

// resolveOutside hands a deferred request to Outside with its own copy of
// the query (the rewritten one, if the question was rewritten), and sends
// the reply with send. The reply is observed when it is sent.
func (s *Server) resolveOutside(sc *scratch, msg []byte, t Transport, remote netip.AddrPort, worker int, send func([]byte)) {
	r := &sc.r
	rw := sc.rw
	if rw != nil {
		msg = rw.msg
	}
	q := &Question{}
	r.outsideQuestion(slices.Clone(msg), t, q)
	q.Name = strings.Clone(q.Name)
	q.Remote = remote
	limit := r.limit(t, s.cfg.MaxUDPSize)
	edns, do := r.edns, r.ednsDO
	start := time.Now()
	o := r.via
	if o == nil {
		send(r.errorResponse(nil, dns.RcodeRefused, false, s.cfg.MaxUDPSize))
		return
	}
	observe := s.cfg.Observer != nil && !r.sub
	o.Resolve(q, func(resp []byte) {
		if len(resp) < headerLen {
			return
		}
		if edns {
			resp = appendOPT(resp, do, int(binary.BigEndian.Uint16(resp[2:])&0xF), s.cfg.MaxUDPSize)
		}
		resp = s.fitOutside(limit, resp)
		if rw != nil {
			resp = s.restore(rw, resp, limit)
		}
		if s.loadBalance.Load() {
			newShuffler(uint64(time.Now().UnixNano())).shuffle(resp)
		}
		send(resp)
		if observe {
			s.observeOutside(q, resp, remote, start, worker)
		}
	})
}

// fitOutside fits an Outside answer to limit bytes as CoreDNS's scrub
// writer does (dns.Msg.Truncate): as many whole records as fit, with TC
// set, so a client that cannot retry over TCP still gets some. Only an
// answer too large takes this path (and allocates); one that cannot be
// read is cut to its question.
func (s *Server) fitOutside(limit int, resp []byte) []byte {
	if len(resp) <= limit {
		return resp
	}
	m := new(dns.Msg)
	if m.Unpack(resp) != nil {
		return s.fit(limit, resp)
	}
	m.Truncate(limit)
	out, err := m.PackBuffer(resp[:0:0])
	if err != nil || len(out) > limit {
		return s.fit(limit, resp)
	}
	return out
}

// fit returns resp when it fits in limit bytes; else the header and
// question alone with TC set, so the client asks again over TCP.
func (s *Server) fit(limit int, resp []byte) []byte {
	if len(resp) <= limit || len(resp) < headerLen {
		return resp
	}
	end, ok := questionEnd(resp)
	if !ok {
		end = headerLen
		binary.BigEndian.PutUint16(resp[4:], 0)
	}
	binary.BigEndian.PutUint16(resp[2:], binary.BigEndian.Uint16(resp[2:])|flagTC)
	binary.BigEndian.PutUint16(resp[6:], 0)
	binary.BigEndian.PutUint16(resp[8:], 0)
	binary.BigEndian.PutUint16(resp[10:], 0)
	return resp[:end]
}

// questionEnd is the offset just past the first question of a message:
// its name (dnswire.SkipName) and type and class.
func questionEnd(m []byte) (int, bool) {
	if binary.BigEndian.Uint16(m[4:]) == 0 {
		return headerLen, true
	}
	end, ok := dnswire.SkipName(m, headerLen)
	if !ok || end+4 > len(m) {
		return 0, false
	}
	return end + 4, true
}

// observeOutside tells the observer about a query Outside answered.
func (s *Server) observeOutside(q *Question, resp []byte, remote netip.AddrPort, start time.Time, worker int) {
	var ev QueryEvent
	ev.Name = []byte(q.Name)
	ev.Qtype, ev.Transport, ev.Remote, ev.Worker = q.Qtype, q.Transport, remote, worker
	ev.RequestSize, ev.ResponseSize = len(q.Msg), len(resp)
	if len(resp) >= headerLen {
		flags := binary.BigEndian.Uint16(resp[2:])
		ev.Rcode = int(flags & 0xF)
		ev.Truncated, ev.Authoritative = flags&flagTC != 0, flags&flagAA != 0
	}
	ev.Start, ev.Duration = start, time.Since(start)
	s.cfg.Observer.ObserveQuery(&ev)
}

// unsafeString views a byte slice as a string without copying; the bytes
// must not change while the string is used.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Expander expands the first question of a pod's search-path walk
// (autopath): an NXDOMAIN of a served zone that it Expands is answered by
// its Resolve instead, which may ask the server the walk's other names
// (Ask). Nothing else reaches it.
type Expander interface {
	Outside
	// Expands reports whether the NXDOMAIN for q, from snap, is to be
	// expanded. It runs on the query path: it must not block, and should
	// not allocate. q is valid only during the call.
	Expands(q *Question, snap *zone.Snapshot) bool
	// Observe sees every question of a client (not the steps asked
	// through Ask), canonical, before it is answered: a client's own walk
	// tells the Expander whether its guess of the client's search list is
	// right. It runs on the query path: it must not block, should not
	// allocate, and must not keep name.
	Observe(client netip.Addr, name string)
}

type expanderBox struct{ x Expander }

// Expandable reports whether an answer of the zones goes to the Expander
// (when one is set and the state is synced): an NXDOMAIN of a served zone.
func Expandable(ans *zone.Answer) bool { return ans.Rcode == dns.RcodeNameError && ans.Zone != "" }

// SetExpander replaces the Expander (nil: none).
func (s *Server) SetExpander(x Expander) {
	if x == nil {
		s.expander.Store(nil)
		return
	}
	s.expander.Store(&expanderBox{x: x})
}
