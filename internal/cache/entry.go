package cache

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"time"
)

// entry is one stored reply. Everything but the prefetch bookkeeping at
// the end is immutable once the entry is published, so readers need no
// lock: a refresh stores a new entry in its place.
type entry struct {
	hash uint64
	key  []byte // the key's bytes: DO/CD, type, class, lower-cased name
	// msg is the reply as it is served: header (ID and flags are
	// rewritten per reply), the question with its name lower-cased (it
	// is overwritten with the client's name, which has the same length),
	// then the records with the OPT record left out (EDNS is hop by hop:
	// the caller adds its own).
	msg []byte
	// ttls are the offsets in msg of every record's TTL: CoreDNS serves
	// one TTL for the whole message.
	ttls []uint16
	kind Kind
	// origTTL is the TTL stored, in seconds: the message's minimum clamped
	// to the configured range.
	origTTL int64
	// stored is when the entry was stored, in nanoseconds since the
	// cache's epoch (the monotonic clock when the caller's times have it).
	stored int64
	// prefetchAt is the remaining TTL (seconds) at or below which a
	// popular entry is refreshed: ⌈percentage × origTTL⌉.
	prefetchAt int64

	// hits and last are CoreDNS's freq.Freq: the hits seen with no gap of
	// the prefetch duration, and the time of the last one.
	hits atomic.Int64
	last atomic.Int64
	// claim is when a caller was last asked to refresh the entry (noClaim
	// if never): one refresh at a time, as CoreDNS since v1.14.3.
	claim atomic.Int64
}

const (
	noClaim = math.MinInt64
	// claimFor is how long a refresh claim holds: forward's deadline for
	// one query is 5 s, so a refresh that has not stored its reply by then
	// has failed, and the next hit may try again.
	claimFor = int64(5 * time.Second)
)

func newEntry(k *key, msg []byte, ttls []uint16, kind Kind, ttl uint32, stored int64, pct int) *entry {
	e := &entry{
		hash: k.hash, key: append([]byte(nil), k.bytes...), msg: msg, ttls: ttls, kind: kind,
		origTTL: int64(ttl), stored: stored,
		// CoreDNS's own float arithmetic, so that the edge is the same
		// (28% of 25 s is 7.000000000000001, so 8).
		prefetchAt: int64(math.Ceil(float64(pct) / 100 * float64(ttl))),
	}
	e.last.Store(math.MinInt64)
	e.claim.Store(noClaim)
	return e
}

// ttl is the remaining TTL in whole seconds at now (nanoseconds since the
// epoch): CoreDNS's origTTL − ⌊now − stored⌋, negative once expired.
func (e *entry) ttl(now int64) int64 {
	return e.origTTL - max(now-e.stored, 0)/int64(time.Second)
}

// rcode is the stored reply's rcode.
func (e *entry) rcode() int { return int(e.msg[3] & rcodeMask) }

// write appends the reply to q to buf[:0] with every TTL set to ttl. The
// header is CoreDNS's for a cached reply (item.toMsg after SetReply): the
// client's ID, opcode, RD and CD; AA always set (old glibc drops
// non-authoritative answers); RA and the rcode as stored; AD as stored,
// but only for a client that set DO or AD.
func (e *entry) write(q *Query, buf []byte, ttl uint32) []byte {
	out := append(buf[:0], e.msg...)
	stored := binary.BigEndian.Uint16(e.msg[2:])
	flags := flagQR | flagAA | q.Flags&(flagOpcode|flagRD|flagCD) | stored&(flagRA|rcodeMask)
	if q.DO || q.Flags&flagAD != 0 {
		flags |= stored & flagAD
	}
	binary.BigEndian.PutUint16(out, q.ID)
	binary.BigEndian.PutUint16(out[2:], flags)
	copy(out[headerLen:], q.Name)
	for _, off := range e.ttls {
		binary.BigEndian.PutUint32(out[off:], ttl)
	}
	return out
}

// due counts a hit as CoreDNS's freq.Update does (a gap of gap or more
// restarts the count) and reports whether the entry is popular and its
// TTL low enough to prefetch. Concurrent hits may race on the count; a
// count off by one is harmless, a lock on every hit is not.
func (e *entry) due(now, gap int64, amount int, ttl int64) bool {
	var hits int64
	if last := e.last.Swap(now); last < now-gap {
		e.hits.Store(1)
		hits = 1
	} else {
		hits = e.hits.Add(1)
	}
	return hits >= int64(amount) && ttl <= e.prefetchAt
}

// tryClaim reports whether the caller should refresh e: true for one
// caller until the refresh stores a new entry or claimFor passes.
func (e *entry) tryClaim(now int64) bool {
	old := e.claim.Load()
	if old != noClaim && now-old < claimFor {
		return false
	}
	return e.claim.CompareAndSwap(old, now)
}

// inherit takes over old's popularity when e is the refresh old asked
// for, as CoreDNS copies the hits into the prefetched item: a popular
// entry stays popular across refreshes.
func (e *entry) inherit(old *entry) {
	if old.claim.Load() == noClaim {
		return
	}
	e.hits.Store(old.hits.Load())
	e.last.Store(old.last.Load())
}
