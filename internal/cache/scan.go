package cache

import (
	"encoding/binary"
	"github.com/clusterdns/clusterdns/internal/dnswire"
	"time"

	"github.com/miekg/dns"
)

// reply is what the store path reads from an upstream's packed reply: the
// facts CoreDNS's response.Typify and dnsutil.MinimalTTL look at, and
// where every record's TTL is.
type reply struct {
	flags  uint16
	rcode  int // with the extended rcode of the OPT record
	qd, an int
	qname  []byte // the first question's name (nil if compressed or absent)
	qtype  uint16
	// ttls are the offsets of every record's TTL except the OPT's.
	ttls []uint16
	// minTTL is the smallest TTL of the records other than OPT, from
	// 3600 s down (MinimalTTL starts at MaximumDefaultTTL).
	minTTL   uint32
	soa      bool // an SOA in the authority section
	ns       int  // NS records in the authority section
	opt      bool
	optDO    bool
	optStart int // offsets of the OPT record, when opt
	optEnd   int
	rrsigs   []int // RDATA offsets of the RRSIG records
	end      int   // just past the last record
}

// maxDefaultTTL is MinimalTTL's starting point (dnsutil.MaximumDefaultTTL).
const maxDefaultTTL = 3600

// scan reads msg into r; ok is false when msg is not a well-formed DNS
// message (a record runs past its end, a name has an extended label type,
// or there are two OPT records).
func (r *reply) scan(msg []byte) (ok bool) {
	if len(msg) < headerLen {
		return false
	}
	r.flags = binary.BigEndian.Uint16(msg[2:])
	r.rcode = int(r.flags & rcodeMask)
	r.qd = int(binary.BigEndian.Uint16(msg[4:]))
	r.an = int(binary.BigEndian.Uint16(msg[6:]))
	ns := int(binary.BigEndian.Uint16(msg[8:]))
	ar := int(binary.BigEndian.Uint16(msg[10:]))
	r.minTTL = maxDefaultTTL
	off := headerLen
	for i := range r.qd {
		end, ok := dnswire.SkipName(msg, off)
		if !ok || end+4 > len(msg) {
			return false
		}
		if i == 0 {
			if msg[end-1] == 0 && end-off <= maxName { // ends in the root label: not compressed
				r.qname = msg[off:end]
			}
			r.qtype = binary.BigEndian.Uint16(msg[end:])
		}
		off = end + 4
	}
	for i := range r.an + ns + ar {
		sec := answer
		switch {
		case i >= r.an+ns:
			sec = additional
		case i >= r.an:
			sec = authority
		}
		var ok bool
		if off, ok = r.record(msg, off, sec); !ok {
			return false
		}
	}
	r.end = off
	return true
}

// section is a message section holding records.
type section uint8

const (
	answer section = iota
	authority
	additional
)

// record reads the record at off, in section sec, and returns the offset
// past it.
func (r *reply) record(msg []byte, off int, sec section) (int, bool) {
	start := off
	off, ok := dnswire.SkipName(msg, off)
	if !ok || off+10 > len(msg) {
		return 0, false
	}
	typ := binary.BigEndian.Uint16(msg[off:])
	ttl := binary.BigEndian.Uint32(msg[off+4:])
	rdata := off + 10
	end := rdata + int(binary.BigEndian.Uint16(msg[off+8:]))
	if end > len(msg) || off+4 > 0xFFFF {
		return 0, false
	}
	if typ == dns.TypeOPT && sec == additional {
		if r.opt {
			return 0, false
		}
		// The OPT TTL holds the extended rcode, the version and DO.
		r.opt, r.optStart, r.optEnd = true, start, end
		r.rcode |= int(ttl>>24) << 4
		r.optDO = ttl&(1<<15) != 0
		return end, true
	}
	r.ttls = append(r.ttls, uint16(off+4))
	r.minTTL = min(r.minTTL, ttl)
	switch {
	case typ == dns.TypeRRSIG:
		if end-rdata < 18 { // up to and including the signer's name
			return 0, false
		}
		r.rrsigs = append(r.rrsigs, rdata)
	case sec == authority && typ == dns.TypeSOA:
		r.soa = true
	case sec == authority && typ == dns.TypeNS:
		r.ns++
	}
	return end, true
}

// msgType is CoreDNS's response.Type.
type msgType uint8

const (
	noError msgType = iota
	nameError
	serverError
	noData
	delegation
	meta
	update
	otherError
)

// typify classifies the reply as CoreDNS 1.14.2's response.Typify does.
// An NXDOMAIN without an SOA is otherError (never cached); an NXDOMAIN
// with answers and an SOA is still a nameError (v1.14.5 stopped caching
// it).
func (r *reply) typify(msg []byte, now time.Time) msgType {
	switch opcode := int(r.flags>>11) & 0xF; {
	case opcode == dns.OpcodeUpdate:
		return update
	case opcode == dns.OpcodeNotify:
		return meta
	case r.qd > 0 && (r.qtype == dns.TypeAXFR || r.qtype == dns.TypeIXFR):
		return meta
	case r.optDO && r.expiredSig(msg, now):
		return otherError
	case r.an > 0 && r.rcode == dns.RcodeSuccess:
		return noError
	case r.soa && r.rcode == dns.RcodeSuccess:
		return noData
	case r.soa && r.rcode == dns.RcodeNameError:
		return nameError
	case r.rcode == dns.RcodeServerFailure || r.rcode == dns.RcodeNotImplemented:
		return serverError
	case r.ns > 0 && r.rcode == dns.RcodeSuccess:
		return delegation
	case r.rcode == dns.RcodeSuccess:
		return noError
	}
	return otherError
}

// expiredSig reports whether an RRSIG is outside its validity period at
// now (Typify checks this when the reply has DO set).
func (r *reply) expiredSig(msg []byte, now time.Time) bool {
	for _, off := range r.rrsigs {
		// RRSIG RDATA: type covered, algorithm, labels, original TTL,
		// then expiration and inception.
		sig := dns.RRSIG{
			Expiration: binary.BigEndian.Uint32(msg[off+8:]),
			Inception:  binary.BigEndian.Uint32(msg[off+12:]),
		}
		if !sig.ValidityPeriod(now) {
			return true
		}
	}
	return false
}

// minimalTTL is dnsutil.MinimalTTL in seconds: 5 s for anything but a
// positive or negative answer and for a message with no records, else the
// smallest TTL of its records (OPT aside), at most 3600 s.
func (r *reply) minimalTTL(mt msgType) uint32 {
	if mt != noError && mt != nameError && mt != noData {
		return uint32(DefaultMinTTL / time.Second)
	}
	if len(r.ttls) == 0 {
		return uint32(DefaultMinTTL / time.Second)
	}
	return r.minTTL
}

// setTTLs sets every record's TTL in msg to ttl, as CoreDNS's cache
// writer does to every reply it passes on.
func (r *reply) setTTLs(msg []byte, ttl uint32) {
	for _, off := range r.ttls {
		binary.BigEndian.PutUint32(msg[off:], ttl)
	}
}
