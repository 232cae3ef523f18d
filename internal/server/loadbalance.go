package server

import (
	"encoding/binary"
	"github.com/clusterdns/clusterdns/internal/dnswire"

	"github.com/miekg/dns"
)

// shuffler reorders the address records of an answer, as CoreDNS's
// loadbalance plugin (policy round_robin) does for every NOERROR reply: in
// each section the A and AAAA records are shuffled, so clients that take
// the first address spread over them.
//
// It works on the packed message in place. Only records whose owner name
// is a compression pointer are moved (every address record this server
// packs, and those of any upstream that compresses), so no name in the
// message changes: a pointer never targets a pointer or address data.
// Unlike CoreDNS it does not move CNAMEs and other types before the
// addresses; the packers already write them first.
type shuffler struct {
	state uint64
	tmp   []byte
	spans [maxShuffled]span
}

// maxShuffled bounds the records of one run that are shuffled; a longer
// run keeps its tail in place.
const maxShuffled = 256

// span is one record's bytes in the message.
type span struct{ start, end int }

func newShuffler(seed uint64) *shuffler { return &shuffler{state: seed | 1} }

// next is xorshift64*: cheap, good enough to spread clients, no locks.
func (sh *shuffler) next() uint64 {
	x := sh.state
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	sh.state = x
	return x * 2685821657736338717
}

// shuffle reorders the address records of resp in place. It leaves a
// message it cannot walk as it is.
func (sh *shuffler) shuffle(resp []byte) {
	if len(resp) < headerLen || binary.BigEndian.Uint16(resp[2:])&0xF != dns.RcodeSuccess {
		return
	}
	off, ok := questionEnd(resp)
	if !ok {
		return
	}
	for _, count := range [3]int{6, 8, 10} {
		if off, ok = sh.section(resp, off, int(binary.BigEndian.Uint16(resp[count:]))); !ok {
			return
		}
	}
}

// section shuffles each run of movable address records among n records
// starting at off, and returns where the section ends.
func (sh *shuffler) section(m []byte, off, n int) (int, bool) {
	run := 0
	for range n {
		end, movable, ok := rrSpan(m, off)
		if !ok {
			return 0, false
		}
		if movable && run < maxShuffled {
			sh.spans[run] = span{off, end}
			run++
		} else {
			sh.permute(m, run)
			run = 0
			if movable {
				sh.spans[0] = span{off, end}
				run = 1
			}
		}
		off = end
	}
	sh.permute(m, run)
	return off, true
}

// rrSpan reads the record at off: where it ends, and whether it is an
// address record with a pointer for its owner.
func rrSpan(m []byte, off int) (end int, movable, ok bool) {
	nameEnd, ok := dnswire.SkipName(m, off)
	if !ok || nameEnd+10 > len(m) {
		return 0, false, false
	}
	t := binary.BigEndian.Uint16(m[nameEnd:])
	end = nameEnd + 10 + int(binary.BigEndian.Uint16(m[nameEnd+8:]))
	if end > len(m) {
		return 0, false, false
	}
	movable = (t == dns.TypeA || t == dns.TypeAAAA) && nameEnd-off == 2
	return end, movable, true
}

// permute shuffles the first n spans' bytes (one contiguous run) with
// Fisher-Yates.
func (sh *shuffler) permute(m []byte, n int) {
	if n < 2 {
		return
	}
	for i := n - 1; i > 0; i-- {
		j := int(sh.next() % uint64(i+1))
		sh.spans[i], sh.spans[j] = sh.spans[j], sh.spans[i]
	}
	lo := sh.spans[0].start
	hi := sh.spans[0].end
	for _, s := range sh.spans[1:n] {
		lo, hi = min(lo, s.start), max(hi, s.end)
	}
	sh.tmp = sh.tmp[:0]
	for _, s := range sh.spans[:n] {
		sh.tmp = append(sh.tmp, m[s.start:s.end]...)
	}
	copy(m[lo:hi], sh.tmp)
}
