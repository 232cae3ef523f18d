package zone

import (
	"bytes"
	"hash/maphash"
	"iter"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// ptrEntry is one PTR target an address has: an endpoint of a service,
// published under label, or (label "") one of the service's
// spec.clusterIPs. It names the service by key rather than pointing at its
// data, so that an update of a service leaves the entries it did not change
// as they are. A zone holds one per endpoint: the address is kept in 16
// bytes (IPv4 as IPv4-mapped) rather than as a netip.Addr (24, with a
// pointer for the collector to follow).
type ptrEntry struct {
	addr16 [16]byte
	key    string
	label  string
}

func newPTREntry(ip netip.Addr, key, label string) ptrEntry {
	return ptrEntry{addr16: ip.As16(), key: key, label: label}
}

// ip is the address, IPv4 as IPv4 (the zone publishes IPv4-mapped
// addresses as IPv4).
func (e *ptrEntry) ip() netip.Addr { return netip.AddrFrom16(e.addr16).Unmap() }

// is reports whether the entry is of the address.
func (e *ptrEntry) is(ip netip.Addr) bool { return e.addr16 == ip.As16() }

func (e *ptrEntry) clusterIP() bool { return e.label == "" }

// comparePTREntries orders entries by address (its 16 bytes), service and
// label: the order does not depend on the history of updates.
func comparePTREntries(a, b ptrEntry) int {
	if c := bytes.Compare(a.addr16[:], b.addr16[:]); c != 0 {
		return c
	}
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return strings.Compare(a.label, b.label)
}

// ptrTable holds the PTR names of a snapshot: the entries of every address
// that has one, as rows sorted by address and service, in parts grouped
// under a small table; an update copies only the groups and parts it
// touches. A row costs its own size and nothing more (no map entry or set
// per address): a zone has a PTR name per endpoint.
type ptrTable struct {
	seed   maphash.Seed
	groups []*ptrGroup
}

// ptrGroupSize parts a group, ptrGroups groups: about ten rows a part at
// 150k endpoints.
const (
	ptrGroupSize = 32
	ptrGroups    = 512
)

type ptrGroup [ptrGroupSize][]ptrEntry

var emptyPTRGroup ptrGroup

func newPTRTable(seed maphash.Seed) ptrTable {
	t := ptrTable{seed: seed, groups: make([]*ptrGroup, ptrGroups)}
	for i := range t.groups {
		t.groups[i] = &emptyPTRGroup
	}
	return t
}

func (t *ptrTable) part(ip netip.Addr) int {
	return int(maphash.Comparable(t.seed, ip) % (ptrGroups * ptrGroupSize))
}

func (t *ptrTable) rows(p int) []ptrEntry { return t.groups[p/ptrGroupSize][p%ptrGroupSize] }

// lookup returns the entries of an address, sorted; nil if it has no PTR
// name.
func (t *ptrTable) lookup(ip netip.Addr) []ptrEntry {
	rows := t.rows(t.part(ip))
	key := ip.As16()
	i := sort.Search(len(rows), func(k int) bool { return bytes.Compare(rows[k].addr16[:], key[:]) >= 0 })
	j := i
	for j < len(rows) && rows[j].addr16 == key {
		j++
	}
	if i == j {
		return nil
	}
	return rows[i:j:j]
}

// each calls f with every address that has a PTR name and its entries.
func (t *ptrTable) each(f func(netip.Addr, []ptrEntry)) {
	for _, g := range t.groups {
		for _, rows := range g {
			eachRun(rows, f)
		}
	}
}

// eachRun calls f with each run of rows of one address.
func eachRun(rows []ptrEntry, f func(netip.Addr, []ptrEntry)) {
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].addr16 == rows[i].addr16 {
			j++
		}
		f(rows[i].ip(), rows[i:j:j])
		i = j
	}
}

// ptrChange is what an update does to the table: rows to remove and rows
// to add, each by part.
type ptrChange struct {
	remove, add map[int][]ptrEntry
}

// diff records the change from a service's old entries to its new ones
// (either may be nil): an entry in both stays as it is.
func (t *ptrTable) diff(c *ptrChange, old, new *fragment, served func(netip.Addr) bool) {
	var had map[ptrEntry]int
	if old != nil && old.ptrs {
		had = map[ptrEntry]int{}
		old.eachPTR(func(e ptrEntry) { had[e]++ })
	}
	new.eachPTR(func(e ptrEntry) {
		if had[e] > 0 {
			had[e]--
			return
		}
		if served(e.ip()) {
			p := t.part(e.ip())
			c.add[p] = append(c.add[p], e)
		}
	})
	for e, n := range had {
		for range n {
			p := t.part(e.ip())
			c.remove[p] = append(c.remove[p], e)
		}
	}
}

// empty reports whether the table holds no rows (a snapshot being built).
func (t *ptrTable) empty() bool {
	for _, g := range t.groups {
		if g != &emptyPTRGroup {
			return false
		}
	}
	return true
}

// fill returns the empty table t filled with the entries of frags whose
// addresses are served, and counts their PTR names and records in st: a
// full build. It is apply's result for a change that adds all of them,
// made without the change's per-part lists, which a build of 300k
// endpoints spent most of its PTR time growing: each part gets one
// allocation of its exact size (as apply gives it).
func (t ptrTable) fill(frags iter.Seq[*fragment], served func(netip.Addr) bool, st *Stats) ptrTable {
	// Two passes over the entries: the parts' sizes, then the rows.
	// Gathering them into one slice first cost more in its growth than
	// deriving them twice.
	counts := make([]int32, ptrGroups*ptrGroupSize)
	total := 0
	for f := range frags {
		f.eachPTR(func(e ptrEntry) {
			if ip := e.ip(); served(ip) {
				counts[t.part(ip)]++
				total++
			}
		})
	}
	if total == 0 {
		return t
	}
	out := t
	out.groups = append([]*ptrGroup(nil), t.groups...)
	for g := range out.groups {
		var group *ptrGroup
		for i := range ptrGroupSize {
			if n := counts[g*ptrGroupSize+i]; n > 0 {
				if group == nil {
					group = new(ptrGroup)
					out.groups[g] = group
				}
				group[i] = make([]ptrEntry, 0, n)
			}
		}
	}
	for f := range frags {
		f.eachPTR(func(e ptrEntry) {
			if ip := e.ip(); served(ip) {
				p := t.part(ip)
				g := out.groups[p/ptrGroupSize]
				g[p%ptrGroupSize] = append(g[p%ptrGroupSize], e)
			}
		})
	}
	var scratch []item
	for _, g := range out.groups {
		if g == &emptyPTRGroup {
			continue
		}
		for _, rows := range g {
			slices.SortFunc(rows, comparePTREntries)
			countPTRNames(st, rows, 1, nil, &scratch)
		}
	}
	return out
}

// countPTRNames adds sign times the PTR names and records of the
// addresses of rows to st; with ips, only of those addresses (nil: all).
// scratch is reused for the records of one address.
func countPTRNames(st *Stats, rows []ptrEntry, sign int32, ips []netip.Addr, scratch *[]item) {
	eachRun(rows, func(ip netip.Addr, run []ptrEntry) {
		if ips != nil && !slices.Contains(ips, ip) {
			return
		}
		*scratch = ptrItems((*scratch)[:0], run)
		st.Names += sign
		st.Records += sign * int32(len(*scratch))
		st.RecordsByKind[KindReverse] += sign * int32(len(*scratch))
	})
}

// apply returns the table with the change made, and counts the PTR names
// and records of the addresses it touches in st, before (removed) and
// after (added).
func (t ptrTable) apply(c *ptrChange, st *Stats) ptrTable {
	if len(c.add) == 0 && len(c.remove) == 0 {
		return t
	}
	out := t
	out.groups = append([]*ptrGroup(nil), t.groups...)
	copied := map[int]bool{}
	var scratch []item
	parts := map[int]bool{}
	for p := range c.add {
		parts[p] = true
	}
	for p := range c.remove {
		parts[p] = true
	}
	for p := range parts {
		g := p / ptrGroupSize
		if !copied[g] {
			cp := *t.groups[g]
			out.groups[g] = &cp
			copied[g] = true
		}
		prev := t.rows(p)
		// The addresses touched, whose names are counted again (all of
		// them when the part was empty, as in a build). A part holds a
		// few rows and a change touches a few of them: slices, scanned,
		// cost in proportion to the change (maps here cost an allocation
		// per non-empty part, more as the zone fills its parts).
		var ips []netip.Addr
		gone := c.remove[p] // ours: entries are crossed off as found
		if len(prev) > 0 {
			ips = make([]netip.Addr, 0, len(c.remove[p])+len(c.add[p]))
			for _, e := range c.remove[p] {
				if !slices.Contains(ips, e.ip()) {
					ips = append(ips, e.ip())
				}
			}
			for _, e := range c.add[p] {
				if !slices.Contains(ips, e.ip()) {
					ips = append(ips, e.ip())
				}
			}
			countPTRNames(st, prev, -1, ips, &scratch)
		}
		rows := make([]ptrEntry, 0, len(prev)+len(c.add[p]))
		for _, e := range prev {
			if i := slices.Index(gone, e); i >= 0 {
				gone = slices.Delete(gone, i, i+1)
				continue
			}
			rows = append(rows, e)
		}
		rows = append(rows, c.add[p]...)
		// slices.SortFunc, not sort.Slice: the latter allocates (its
		// swapper) on every part with two rows or more, so an update
		// allocated more in a fuller zone.
		slices.SortFunc(rows, comparePTREntries)
		if len(rows) == 0 {
			rows = nil
		}
		out.groups[g][p%ptrGroupSize] = rows
		countPTRNames(st, rows, 1, ips, &scratch)
	}
	return out
}
