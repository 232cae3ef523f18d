package hosts

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// rrset is the records of one answer, as dns.RRs and packed.
type rrset struct {
	rrs []dns.RR
	// wire is the records packed one after the other, each owner a
	// compression pointer to the question name (offset 12).
	wire []byte
	// ends[i] is the length of the first i+1 records in wire.
	ends []int
}

// ownerPointer points at the question name, right after the header.
const ownerPointer = 0xC000 | 12

// appendRR appends the packed form of one record whose owner is the
// question name.
func appendRR(b []byte, rrtype uint16, ttl uint32, rdata []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, ownerPointer)
	b = binary.BigEndian.AppendUint16(b, rrtype)
	b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

// addrSet is hosts.go:89-110: one A or AAAA record per address.
func addrSet(owner string, rrtype uint16, ttl uint32, addrs []netip.Addr) *rrset {
	s := &rrset{rrs: make([]dns.RR, len(addrs)), ends: make([]int, len(addrs))}
	for i, a := range addrs {
		hdr := dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
		if rrtype == dns.TypeA {
			s.rrs[i] = &dns.A{Hdr: hdr, A: a.AsSlice()}
		} else {
			s.rrs[i] = &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()}
		}
		s.wire = appendRR(s.wire, rrtype, ttl, a.AsSlice())
		s.ends[i] = len(s.wire)
	}
	return s
}

// ptrSet is hosts.go:113-122: one PTR record per name.
func ptrSet(owner string, ttl uint32, names []string) *rrset {
	s := &rrset{rrs: ptrRecords(owner, ttl, names), ends: make([]int, len(names))}
	var buf [256]byte
	for i, n := range names {
		// The builder kept valid names only, which always pack.
		l, _ := dns.PackDomainName(n, buf[:], 0, nil, false)
		s.wire = appendRR(s.wire, dns.TypePTR, ttl, buf[:l])
		s.ends[i] = len(s.wire)
	}
	return s
}

func ptrRecords(owner string, ttl uint32, names []string) []dns.RR {
	rrs := make([]dns.RR, len(names))
	for i, n := range names {
		rrs[i] = &dns.PTR{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: n}
	}
	return rrs
}

// AppendAnswer appends the packed answer records to msg, which must hold
// the response's header and its one question (the question Lookup was
// asked, in any case) and nothing after it: each record's owner is a
// compression pointer to the question name at offset 12. It appends as
// many whole records as keep msg within max octets, in order, and returns
// how many: the caller puts that in ANCOUNT and, when it is short of
// len(r.Records), truncates (TC) as it chooses. It allocates only when
// msg lacks capacity.
func (r Result) AppendAnswer(msg []byte, max int) ([]byte, int) {
	if r.set == nil {
		return msg, 0
	}
	room := max - len(msg)
	if room <= 0 {
		return msg, 0
	}
	// n is the count of records that end within room.
	n, found := slices.BinarySearch(r.set.ends, room)
	if found {
		n++
	}
	if n == 0 {
		return msg, 0
	}
	return append(msg, r.set.wire[:r.set.ends[n-1]]...), n
}
