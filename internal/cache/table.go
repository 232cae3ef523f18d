package cache

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// ways is the number of entries a set holds: eight 8-byte tags fill one
// cache line, so a lookup reads one line of tags and then the one entry.
const ways = 8

// lockStripes is the number of writer locks; a set's writer takes the
// stripe of its index. Readers take no lock.
const lockStripes = 64

// table is one of the two caches: a set-associative array of entries
// with a fixed capacity. A key hashes to one set of eight ways; a new key
// takes a free way, else one whose entry can no longer be served, else a
// random one (CoreDNS evicts a random entry of the full shard).
//
// Readers load a way's tag and entry with atomic loads and no lock: an
// entry is immutable, and a reader that meets a way being replaced sees
// either entry whole (it checks the entry's own key) or misses, which only
// costs a forward. Nothing is purged at expiry, as in CoreDNS: an expired
// entry stays servable by serve_stale, and is the first to go when its
// set is full.
type table struct {
	kind  Kind
	sets  []set
	locks [lockStripes]sync.Mutex
	// stale is serve_stale's window in seconds (0: off), which decides
	// which entries can still be served.
	stale int64
	n     atomic.Int64
}

type set struct {
	tags  [ways]atomic.Uint64 // each way's entry's hash, for a scan of one line
	items [ways]atomic.Pointer[entry]
}

func newTable(kind Kind, capacity int, stale int64) *table {
	return &table{kind: kind, sets: make([]set, capacity/ways), stale: stale}
}

// set returns the set of hash h and its index: h's top 32 bits scaled to
// the number of sets (a multiply instead of a division).
func (t *table) set(h uint64) (*set, int) {
	i := int((h >> 32) * uint64(len(t.sets)) >> 32)
	return &t.sets[i], i
}

// find returns the entry stored under k, or nil.
func (t *table) find(k *key) *entry {
	s, _ := t.set(k.hash)
	for w := range ways {
		if s.tags[w].Load() != k.hash {
			continue
		}
		if e := s.items[w].Load(); e != nil && e.hash == k.hash && e.sameKey(k) {
			return e
		}
	}
	return nil
}

// servable reports whether e may answer at now: unexpired, or expired for
// less than the serve_stale window (CoreDNS's getIfNotStale).
func (t *table) servable(e *entry, now int64) bool {
	ttl := e.ttl(now)
	return ttl > 0 || (t.stale > 0 && -ttl < t.stale)
}

// put stores e, replacing an entry with its key, and reports whether
// another entry was evicted to make room.
func (t *table) put(e *entry, now int64) (evicted bool) {
	s, i := t.set(e.hash)
	mu := &t.locks[i%lockStripes]
	mu.Lock()
	defer mu.Unlock()
	same, free, dead := -1, -1, -1
	for w := range ways {
		old := s.items[w].Load()
		switch {
		case old == nil:
			if free < 0 {
				free = w
			}
		case old.hash == e.hash && string(old.key) == string(e.key):
			same = w
		case dead < 0 && !t.servable(old, now):
			dead = w
		}
	}
	w := same
	switch {
	case same >= 0:
		e.inherit(s.items[same].Load())
	case free >= 0:
		w = free
		t.n.Add(1)
	case dead >= 0:
		w, evicted = dead, true
	default:
		w, evicted = rand.IntN(ways), true
	}
	// The entry goes in before its tag: a reader that sees the new tag
	// finds the new entry, and one that sees the old tag rejects the new
	// entry by its key.
	s.items[w].Store(e)
	s.tags[w].Store(e.hash)
	return evicted
}

// remove deletes the entry stored under k, if any.
func (t *table) remove(k *key) {
	s, i := t.set(k.hash)
	mu := &t.locks[i%lockStripes]
	mu.Lock()
	defer mu.Unlock()
	for w := range ways {
		if e := s.items[w].Load(); e != nil && e.hash == k.hash && e.sameKey(k) {
			s.tags[w].Store(0)
			s.items[w].Store(nil)
			t.n.Add(-1)
			return
		}
	}
}

// len is the number of entries stored.
func (t *table) len() int { return int(t.n.Load()) }
