package autopath

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// guardSlots is the size of the guard's table: 64 Ki slots of 8 bytes.
const guardSlots = 1 << 16

// Guard remembers, per client address, the questions that may be the next
// step of a walk the server did not end: a table of expiry times indexed
// by a hash of (client, name). Two marks that hash alike share a slot, which
// keeps the later expiry: a collision can only guard a question that was
// not marked (no expansion, the client walks on its own), never unguard
// one that was. Its memory is fixed (512 KiB); it takes no lock.
type Guard struct {
	d     int64
	epoch time.Time
	slots []atomic.Int64 // expiry, nanoseconds since epoch
}

// NewGuard returns a guard whose marks last d.
func NewGuard(d time.Duration) *Guard {
	return &Guard{d: int64(d), epoch: time.Now(), slots: make([]atomic.Int64, guardSlots)}
}

// Mark marks the name a+b (given in two parts, hashed as one) for client
// until now plus the guard's duration.
func (g *Guard) Mark(client netip.Addr, a, b string, now time.Time) {
	s := &g.slots[slot(client, a, b)]
	exp := int64(now.Sub(g.epoch)) + g.d
	for {
		old := s.Load()
		if old >= exp || s.CompareAndSwap(old, exp) {
			return
		}
	}
}

// Marked reports whether name is marked for client at now.
func (g *Guard) Marked(client netip.Addr, name string, now time.Time) bool {
	return g.slots[slot(client, name, "")].Load() > int64(now.Sub(g.epoch))
}

// slot hashes the client's address and the name (FNV-1a, 64 bits).
func slot(client netip.Addr, a, b string) uint64 {
	h := uint64(14695981039346656037)
	const prime = 1099511628211
	ip := client.Unmap().As16()
	for _, c := range ip {
		h = (h ^ uint64(c)) * prime
	}
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	return h & (guardSlots - 1)
}
