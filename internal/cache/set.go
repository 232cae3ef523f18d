package cache

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/miekg/dns"
)

// Outcome is what Set did with a reply.
type Outcome uint8

const (
	// Stored: the reply is cached.
	Stored Outcome = iota
	// NotCacheable: CoreDNS never caches this reply: truncated; REFUSED,
	// FORMERR and other errors (an NXDOMAIN without SOA among them); a
	// DNSSEC reply with an expired signature; zone transfers, NOTIFY and
	// UPDATE; a SERVFAIL when servfail is 0.
	NotCacheable
	// Disabled: the name is in a `disable success|denial` zone.
	Disabled
	// Mismatch: the reply's question is not the query's
	// (coredns_cache_drops_total).
	Mismatch
	// Malformed: the reply could not be read; it was left untouched.
	Malformed
)

var outcomeNames = [...]string{"stored", "not-cacheable", "disabled", "mismatch", "malformed"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome?"
}

// Set handles msg, the upstream's packed reply to q received at now, as
// CoreDNS's cache ResponseWriter does:
//
//   - msg is rewritten in place into the reply to pass on: every TTL
//     (the OPT's aside) becomes the cache TTL, and AD is cleared unless
//     the client set DO or AD. CoreDNS does this to every reply, also the
//     ones it does not store (`disable` zones, truncated replies), so that
//     the TTL a client sees never jumps (1799 → 8).
//   - a copy is stored when the reply is cacheable, its TTL is above zero,
//     its question matches q's and its zone is not disabled.
//
// The cache TTL is the smallest TTL of the message (its SOA's for a
// denial: the SOA's own TTL, not its MINIMUM field) clamped to the
// configured range; ServfailTTL for SERVFAIL and NOTIMP; the minimum for a
// referral or a reply with no records.
//
// msg's OPT record is left in place; CoreDNS replaces it with one built
// from the client's, and the caller should do the same. Set may allocate.
func (c *Cache) Set(q *Query, msg []byte, now time.Time) Outcome {
	var r reply
	if !r.scan(msg) {
		return Malformed
	}
	mt := r.typify(msg, now)
	ttl := c.ttlFor(mt, r.minimalTTL(mt))
	r.setTTLs(msg, ttl)
	if !q.DO && q.Flags&flagAD == 0 {
		binary.BigEndian.PutUint16(msg[2:], r.flags&^flagAD)
	}
	if r.flags&flagTC != 0 || mt == otherError || mt == meta || mt == update || ttl == 0 {
		return NotCacheable
	}
	var kb keyBuf
	k, ok := makeKey(c.seed, q, &kb)
	if !ok || !r.matches(q, k.name()) {
		c.rec.Drop()
		return Mismatch
	}
	kind := Success
	if mt == nameError || mt == noData || mt == serverError {
		kind = Denial
	}
	if inZones(k.name(), c.disabled[kind]) {
		return Disabled
	}
	stored, ttls, ok := storedCopy(msg, &r)
	if !ok {
		return Malformed
	}
	t := c.now(now)
	e := newEntry(&k, stored, ttls, kind, ttl, t, c.percentage)
	tab := c.table(kind)
	if tab.put(e, t) {
		c.rec.Eviction(kind)
	}
	if kind == Success {
		// A stale denial would otherwise keep shadowing the new answer.
		// CoreDNS removes it only when a prefetch stores the answer; a
		// serve_stale verify refresh then re-asks on every query until
		// the denial leaves the stale window.
		c.denial.remove(&k)
	}
	c.rec.Entries(Success, c.success.len())
	c.rec.Entries(Denial, c.denial.len())
	return Stored
}

// ttlFor is the cache TTL of a reply of type mt whose smallest TTL is
// msgTTL (CoreDNS's computeTTL with the bounds of its kind).
func (c *Cache) ttlFor(mt msgType, msgTTL uint32) uint32 {
	switch mt {
	case nameError, noData:
		return min(max(msgTTL, c.denialMin), c.denialMax)
	case serverError:
		return c.servfail
	}
	return min(max(msgTTL, c.successMin), c.successMax)
}

// matches is CoreDNS's request.Match: a response with one question whose
// name (case aside) and type are the query's. The class is not compared,
// as in CoreDNS.
func (r *reply) matches(q *Query, lname []byte) bool {
	if r.flags&flagQR == 0 || r.qd != 1 || len(r.qname) != len(lname) || r.qtype != q.Type {
		return false
	}
	var buf [maxName]byte
	got := buf[:len(r.qname)]
	lower(got, r.qname)
	return bytes.Equal(got, lname)
}

// inZones reports whether the wire name is at or below one of zones
// (all lower-cased wire names).
func inZones(name []byte, zones [][]byte) bool {
	for _, z := range zones {
		for off := 0; off < len(name); off += 1 + int(name[off]) {
			if bytes.Equal(name[off:], z) {
				return true
			}
		}
	}
	return false
}

// storedCopy returns the bytes to store for the reply in msg: the message
// up to its last record, without the OPT record, with the question name
// lower-cased; and the offsets of its TTLs. The OPT record is almost
// always the last record, and is then cut off; elsewhere the message is
// unpacked and packed again, since the records after it may point into
// each other.
func storedCopy(msg []byte, r *reply) (stored []byte, ttls []uint16, ok bool) {
	switch {
	case !r.opt:
		stored = bytes.Clone(msg[:r.end])
		ttls = r.ttls
	case r.optEnd == r.end:
		stored = bytes.Clone(msg[:r.optStart])
		binary.BigEndian.PutUint16(stored[10:], binary.BigEndian.Uint16(stored[10:])-1)
		ttls = r.ttls
	default:
		var m dns.Msg
		if m.Unpack(msg) != nil {
			return nil, nil, false
		}
		extra := m.Extra[:0]
		for _, rr := range m.Extra {
			if rr.Header().Rrtype != dns.TypeOPT {
				extra = append(extra, rr)
			}
		}
		m.Extra = extra
		m.Compress = true
		packed, err := m.Pack()
		var again reply
		if err != nil || !again.scan(packed) {
			return nil, nil, false
		}
		stored, ttls = packed, again.ttls
	}
	lower(stored[headerLen:headerLen+len(r.qname)], r.qname)
	return stored, ttls, true
}
