package zone

import (
	"hash/maphash"
	"net/netip"
	"sort"
)

// ptrTable holds the PTR names of a snapshot: the entries of every address
// that has one, as rows sorted by address and service, in parts that an
// update copies only when it touches them. A row costs its own size and
// nothing more (no map entry or set per address): a zone has a PTR name
// per endpoint.
type ptrTable struct {
	seed  maphash.Seed
	parts [][]ptrEntry
}

// ptrParts is the number of parts: about ten rows each at 150k endpoints,
// so that an update of a 1,000-endpoint service copies little besides the
// part table.
const ptrParts = 16384

func newPTRTable(seed maphash.Seed) ptrTable {
	return ptrTable{seed: seed, parts: make([][]ptrEntry, ptrParts)}
}

func (t *ptrTable) part(ip netip.Addr) int {
	return int(maphash.Comparable(t.seed, ip) % uint64(len(t.parts)))
}

// lookup returns the entries of an address, sorted by service; nil if it
// has no PTR name.
func (t *ptrTable) lookup(ip netip.Addr) []ptrEntry {
	rows := t.parts[t.part(ip)]
	i := sort.Search(len(rows), func(k int) bool { return rows[k].ip.Compare(ip) >= 0 })
	j := i
	for j < len(rows) && rows[j].ip == ip {
		j++
	}
	if i == j {
		return nil
	}
	return rows[i:j:j]
}

// each calls f with every address that has a PTR name and its entries.
func (t *ptrTable) each(f func(netip.Addr, []ptrEntry)) {
	for _, rows := range t.parts {
		eachRun(rows, f)
	}
}

// eachRun calls f with each run of rows of one address.
func eachRun(rows []ptrEntry, f func(netip.Addr, []ptrEntry)) {
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].ip == rows[i].ip {
			j++
		}
		f(rows[i].ip, rows[i:j:j])
		i = j
	}
}

// update returns the table with the entries of the changed services (by
// key) replaced by those of their new fragments (added: nil for a service
// gone), and counts the PTR names and records it removes and adds in st.
// old are the changed services' previous fragments, whose addresses say
// which parts hold their entries. served says whether an address's
// reverse name is in a served zone.
func (t ptrTable) update(changed map[string]bool, old, added []*fragment, served func(netip.Addr) bool, st *Stats) ptrTable {
	touched := map[int][]ptrEntry{}
	for _, f := range old {
		f.eachPTR(func(e ptrEntry) {
			if p := t.part(e.ip); touched[p] == nil {
				touched[p] = []ptrEntry{}
			}
		})
	}
	for _, f := range added {
		f.eachPTR(func(e ptrEntry) {
			if served(e.ip) {
				p := t.part(e.ip)
				touched[p] = append(touched[p], e)
			}
		})
	}
	if len(touched) == 0 {
		return t
	}
	out := t
	out.parts = append([][]ptrEntry(nil), t.parts...)
	var scratch []item
	count := func(rows []ptrEntry, sign int) {
		eachRun(rows, func(_ netip.Addr, run []ptrEntry) {
			scratch = ptrItems(scratch[:0], run)
			st.Names += sign
			st.Records += sign * len(scratch)
			st.RecordsByKind[KindReverse] += sign * len(scratch)
		})
	}
	for p, adds := range touched {
		prev := t.parts[p]
		count(prev, -1)
		rows := make([]ptrEntry, 0, len(prev)+len(adds))
		for _, e := range prev {
			if !changed[e.d.key] {
				rows = append(rows, e)
			}
		}
		rows = append(rows, adds...)
		// Stable: a service's entries for one address keep their order.
		sort.SliceStable(rows, func(i, j int) bool {
			if c := rows[i].ip.Compare(rows[j].ip); c != 0 {
				return c < 0
			}
			return rows[i].d.key < rows[j].d.key
		})
		if len(rows) == 0 {
			rows = nil
		}
		out.parts[p] = rows
		count(rows, 1)
	}
	return out
}
