// Package server answers DNS queries over UDP and TCP from the current
// zone.Snapshot, which it holds behind an atomic pointer and swaps whole.
//
// Per query it parses the header and the one question, looks the name up,
// and copies a pre-packed answer: ID, flags, the question's case, EDNS and
// the size limit are all it decides. It derives no record itself (package
// zone does), does not forward names outside its zones (it refuses them),
// and never panics on a malformed packet: what cannot be parsed is answered
// FORMERR when the header can be read, and dropped otherwise.
package server

import (
	"encoding/binary"
	"github.com/clusterdns/clusterdns/internal/dnswire"
	"net/netip"

	"github.com/miekg/dns"
)

// Transport is the protocol a query came in on; it decides the size limit.
type Transport int

// Transports.
const (
	UDP Transport = iota
	TCP
)

const (
	headerLen = 12
	// minUDPSize is the RFC 1035 limit without EDNS.
	minUDPSize = 512
	// DefaultMaxUDPSize is the ceiling on UDP answers even when the client
	// offers more: the DNS flag day 2020 value, which avoids IP fragmentation.
	DefaultMaxUDPSize = 1232
	maxTCPSize        = 65535

	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagCD = 1 << 4
)

// request is what Respond reads from a query.
type request struct {
	id       uint16
	flags    uint16
	opcode   int
	qname    []byte // wire form of the question name, as sent
	canon    []byte // presentation form, lower case, with trailing dot
	qtype    uint16
	qclass   uint16
	question []byte // name + type + class, as sent
	edns     bool
	ednsSize uint16
	ednsDO   bool
	ednsVer  uint8
	zone     string // the served zone of the answer, once looked up
	// deferred: the question goes to via (Config.Outside, or the
	// Expander), which answers later.
	deferred bool
	via      Outside
	// remote is the client; sub marks a step of an expansion (Ask), which
	// is not expanded itself.
	remote netip.AddrPort
	sub    bool
}

// parse reads the header and question. ok is false when the packet must be
// dropped (too short to answer, or itself a response); rcode is non-zero
// when it must be answered with an error.
func parse(msg []byte, r *request, canonBuf []byte) (ok bool, rcode int) {
	if len(msg) < headerLen {
		return false, 0
	}
	r.id = binary.BigEndian.Uint16(msg)
	r.flags = binary.BigEndian.Uint16(msg[2:])
	if r.flags&flagQR != 0 {
		return false, 0
	}
	r.opcode = int(r.flags>>11) & 0xF
	qd := binary.BigEndian.Uint16(msg[4:])
	an := binary.BigEndian.Uint16(msg[6:])
	ns := binary.BigEndian.Uint16(msg[8:])
	ar := binary.BigEndian.Uint16(msg[10:])
	if qd != 1 {
		return true, dns.RcodeFormatError
	}
	off, ok := r.parseQuestion(msg, canonBuf)
	if !ok {
		return true, dns.RcodeFormatError
	}
	if an != 0 || ns != 0 {
		// A query has nothing in these sections. Other opcodes may (an
		// UPDATE, a NOTIFY); they are answered NOTIMP whatever they carry.
		if r.opcode == dns.OpcodeQuery {
			return true, dns.RcodeFormatError
		}
		return true, 0
	}
	if !r.parseAdditional(msg, off, int(ar)) {
		return true, dns.RcodeFormatError
	}
	return true, 0
}

// parseQuestion reads the question, which follows the header, into r and
// returns the offset just past it. It sets nothing when the question is
// malformed, so that a FORMERR answer does not echo it.
//
// r.canon is the name in the form the zone looks names up by: lower case,
// with the trailing dot, and with the bytes that are not plain printable
// ASCII escaped as \DDD (a dot inside a label too, so that it cannot pass
// for a label boundary). The name is read here, not by a helper of its
// own: one more call per query costs a measurable share of parse.
func (r *request) parseQuestion(msg []byte, canonBuf []byte) (end int, ok bool) {
	canon := canonBuf[:0]
	off := headerLen
	for {
		if off >= len(msg) {
			return 0, false
		}
		l := int(msg[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 || off+1+l > len(msg) {
			// Compression pointers and extended label types have no place
			// in a question we answer.
			return 0, false
		}
		for _, c := range msg[off+1 : off+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				canon = append(canon, c+'a'-'A')
			case c == '.' || c == '\\' || c < 0x21 || c > 0x7e:
				canon = append(canon, '\\', '0'+c/100, '0'+(c/10)%10, '0'+c%10)
			default:
				canon = append(canon, c)
			}
		}
		canon = append(canon, '.')
		off += 1 + l
		if off-headerLen > 255 {
			return 0, false
		}
	}
	if off-headerLen > 255 {
		// 255 octets with the root label is the most a name may have
		// (RFC 1035 3.1).
		return 0, false
	}
	if len(canon) == 0 {
		canon = append(canon, '.') // the root
	}
	if off+4 > len(msg) {
		return 0, false
	}
	r.qname = msg[headerLen:off]
	r.canon = canon
	r.qtype = binary.BigEndian.Uint16(msg[off:])
	r.qclass = binary.BigEndian.Uint16(msg[off+2:])
	off += 4
	r.question = msg[headerLen:off]
	return off, true
}

// parseAdditional reads the count records of the additional section, which
// starts at off, for the EDNS OPT record among them; it skips the others.
// ok is false when a record does not fit in msg or there is more than one
// OPT (RFC 6891 6.1.1).
func (r *request) parseAdditional(msg []byte, off, count int) (ok bool) {
	for range count {
		if off, ok = dnswire.SkipName(msg, off); !ok || off+10 > len(msg) {
			return false
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		class := binary.BigEndian.Uint16(msg[off+2:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			return false
		}
		off += rdlen
		if typ == dns.TypeOPT {
			if r.edns {
				return false
			}
			// The OPT record keeps the client's UDP size in its class and
			// the extended rcode, version and DO bit in its TTL.
			r.edns = true
			r.ednsSize = class
			r.ednsVer = uint8(ttl >> 16)
			r.ednsDO = ttl&(1<<15) != 0
		}
	}
	return true
}

// limit is the largest answer the client can take over the transport.
func (r *request) limit(t Transport, maxUDP int) int {
	if t == TCP {
		return maxTCPSize
	}
	if !r.edns {
		return minUDPSize
	}
	n := int(r.ednsSize)
	if n < minUDPSize {
		n = minUDPSize
	}
	if n > maxUDP {
		n = maxUDP
	}
	return n
}

// header writes the response header for the request into out[0:12].
func (r *request) header(out []byte, rcode int, authoritative bool, an, ns, ar uint16) {
	binary.BigEndian.PutUint16(out, r.id)
	flags := uint16(flagQR) | uint16(r.opcode&0xF)<<11 | r.flags&(flagRD|flagCD) | uint16(rcode&0xF)
	if authoritative {
		flags |= flagAA
	}
	binary.BigEndian.PutUint16(out[2:], flags)
	qd := uint16(0)
	if r.question != nil {
		qd = 1
	}
	binary.BigEndian.PutUint16(out[4:], qd)
	binary.BigEndian.PutUint16(out[6:], an)
	binary.BigEndian.PutUint16(out[8:], ns)
	binary.BigEndian.PutUint16(out[10:], ar)
}

// appendOPT adds the EDNS OPT record of the response and counts it.
func (r *request) appendOPT(out []byte, rcode int, maxUDP int) []byte {
	if !r.edns {
		return out
	}
	return appendOPT(out, r.ednsDO, rcode, maxUDP)
}

// appendOPT adds an OPT record advertising maxUDP, with the DO bit and the
// extended rcode, and counts it in the header.
func appendOPT(out []byte, do bool, rcode int, maxUDP int) []byte {
	out = append(out, 0) // root owner
	out = binary.BigEndian.AppendUint16(out, dns.TypeOPT)
	out = binary.BigEndian.AppendUint16(out, uint16(maxUDP))
	ttl := uint32(rcode>>4) << 24 // extended rcode; version 0
	if do {
		ttl |= 1 << 15
	}
	out = binary.BigEndian.AppendUint32(out, ttl)
	out = binary.BigEndian.AppendUint16(out, 0)
	binary.BigEndian.PutUint16(out[10:], binary.BigEndian.Uint16(out[10:])+1)
	return out
}

// errorResponse is header + question (if any) + OPT, with rcode.
func (r *request) errorResponse(out []byte, rcode int, authoritative bool, maxUDP int) []byte {
	out = append(out[:0], make([]byte, headerLen)...)
	r.header(out, rcode, authoritative, 0, 0, 0)
	out = append(out, r.question...)
	return r.appendOPT(out, rcode, maxUDP)
}
