package zone

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
)

// Wire templates: the positive answers of stored names are packed once, when
// first asked for, and kept with the name (shared by the snapshots that share
// its service), and those of the names answered from an index (per-endpoint and
// PTR names, see leaf) per query into the server's Scratch, with the
// question in canonical (lower) case. A server answering a query copies the
// template, sets the ID and flags, and copies the question name as the client
// sent it over the canonical one. Names in the answer refer to the question's
// zone through compression pointers (or, where compression is not allowed, as
// literal copies listed in patches), so the zone part of every synthesized
// name takes the query's case, and owners equal to the question take it
// whole; the other labels keep the object's case. That is CoreDNS's
// behaviour (its TestPreserveCase), at the cost of one copy per query.

// template is a packed answer.
type template struct {
	buf []byte
	// qnameLen is the length of the question name in wire form.
	qnameLen int
	// zoneOff is the offset in buf of the zone part of the question name.
	zoneOff int
	// patches are offsets of literal copies of the question's zone, to be
	// overwritten with the query's bytes.
	patches []int
}

// Wire is a packed answer ready for the server: Buf holds a whole message
// (ID 0, QR and AA set, the rcode, the question in canonical case).
type Wire struct {
	Buf      []byte
	QnameLen int
	// ZoneOff is the offset of the question's zone part in Buf.
	ZoneOff int
	ZoneLen int
	Patches []int
}

// Wire returns the packed form of the answer for the canonical question
// (qname lower case, fully qualified). Precomputed answers return their
// template; others are packed now.
func (a *Answer) Wire(qname string, qtype uint16) Wire {
	t := a.wire
	if t == nil {
		t = packTemplate(qname, qtype, a)
	}
	zl := 0
	if a.Zone != "" {
		zl = wireLen(a.Zone)
	}
	return Wire{Buf: t.buf, QnameLen: t.qnameLen, ZoneOff: t.zoneOff, ZoneLen: zl, Patches: t.patches}
}

// Precomputed reports whether the answer's wire form is kept with the
// snapshot rather than packed for this answer.
func (a *Answer) Precomputed() bool { return a.wire != nil }

func wireLen(name string) int {
	if name == "." {
		return 1
	}
	return len(name) + 1
}

type packer struct {
	buf     []byte
	qname   string
	zone    string
	dict    map[string]int
	patches []int
}

func packTemplate(qname string, qtype uint16, a *Answer) *template {
	p := &packer{buf: make([]byte, 12, 512), qname: qname, zone: a.Zone, dict: map[string]int{}}
	binary.BigEndian.PutUint16(p.buf[2:], 1<<15|1<<10|uint16(a.Rcode&0xF)) // QR, AA, rcode
	binary.BigEndian.PutUint16(p.buf[4:], 1)
	binary.BigEndian.PutUint16(p.buf[6:], uint16(len(a.Answer)))
	binary.BigEndian.PutUint16(p.buf[8:], uint16(len(a.Ns)))
	binary.BigEndian.PutUint16(p.buf[10:], uint16(len(a.Extra)))
	p.literal(qname)
	t := &template{qnameLen: len(p.buf) - 12}
	if p.zone != "" && dns.IsSubDomain(p.zone, qname) {
		t.zoneOff = 12 + wireLen(qname) - wireLen(p.zone)
		p.dict[p.zone] = t.zoneOff
	}
	p.buf = binary.BigEndian.AppendUint16(p.buf, qtype)
	p.buf = binary.BigEndian.AppendUint16(p.buf, dns.ClassINET)
	for _, sec := range [][]Record{a.Answer, a.Ns, a.Extra} {
		for _, r := range sec {
			p.rr(r.RR)
		}
	}
	// Keep only what the answer uses: the packer grows its buffer generously.
	t.buf = append(make([]byte, 0, len(p.buf)), p.buf...)
	t.patches = slices.Clip(p.patches)
	return t
}

// literal writes a name without compression and without remembering it.
func (p *packer) literal(n string) {
	for _, l := range splitLabels(n) {
		p.buf = append(p.buf, byte(len(l)))
		p.buf = append(p.buf, l...)
	}
	p.buf = append(p.buf, 0)
}

func splitLabels(n string) []string {
	n = strings.TrimSuffix(n, ".")
	if n == "" {
		return nil
	}
	return strings.Split(n, ".")
}

func (p *packer) pointer(off int) {
	p.buf = binary.BigEndian.AppendUint16(p.buf, 0xC000|uint16(off))
}

// name writes a domain name. Owners equal to the question point at it;
// compressible names point at the longest suffix already written; the
// question's zone, written literally where compression is not allowed, is
// recorded as a patch.
func (p *packer) name(n string, compress, owner bool) {
	n = strings.ToLower(n)
	if owner && n == p.qname {
		p.pointer(12)
		return
	}
	for n != "" && n != "." {
		if compress {
			if off, ok := p.dict[n]; ok {
				p.pointer(off)
				return
			}
		}
		if n == p.zone {
			p.patches = append(p.patches, len(p.buf))
		}
		if len(p.buf) < 0x3FFF {
			if _, ok := p.dict[n]; !ok {
				p.dict[n] = len(p.buf)
			}
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			i = len(n)
		}
		p.buf = append(p.buf, byte(i))
		p.buf = append(p.buf, n[:i]...)
		if i == len(n) {
			break
		}
		n = n[i+1:]
	}
	p.buf = append(p.buf, 0)
}

func (p *packer) rr(rr dns.RR) {
	h := rr.Header()
	p.name(h.Name, true, true)
	p.buf = binary.BigEndian.AppendUint16(p.buf, h.Rrtype)
	p.buf = binary.BigEndian.AppendUint16(p.buf, h.Class)
	p.buf = binary.BigEndian.AppendUint32(p.buf, h.Ttl)
	lenAt := len(p.buf)
	p.buf = append(p.buf, 0, 0)
	switch v := rr.(type) {
	case *dns.A:
		p.buf = append(p.buf, v.A.To4()...)
	case *dns.AAAA:
		p.buf = append(p.buf, v.AAAA.To16()...)
	case *dns.SRV:
		p.buf = binary.BigEndian.AppendUint16(p.buf, v.Priority)
		p.buf = binary.BigEndian.AppendUint16(p.buf, v.Weight)
		p.buf = binary.BigEndian.AppendUint16(p.buf, v.Port)
		// RFC 2782: the target is not compressed.
		p.name(v.Target, false, false)
	case *dns.CNAME:
		p.name(v.Target, true, false)
	case *dns.PTR:
		p.name(v.Ptr, true, false)
	case *dns.NS:
		p.name(v.Ns, true, false)
	case *dns.SOA:
		p.name(v.Ns, true, false)
		p.name(v.Mbox, true, false)
		for _, x := range []uint32{v.Serial, v.Refresh, v.Retry, v.Expire, v.Minttl} {
			p.buf = binary.BigEndian.AppendUint32(p.buf, x)
		}
	case *dns.TXT:
		for _, s := range v.Txt {
			if len(s) > 255 {
				s = s[:255]
			}
			p.buf = append(p.buf, byte(len(s)))
			p.buf = append(p.buf, s...)
		}
	default:
		// Only the types above are ever synthesized.
		panic("zone: cannot pack " + dns.TypeToString[h.Rrtype])
	}
	binary.BigEndian.PutUint16(p.buf[lenAt:], uint16(len(p.buf)-lenAt-2))
}

// negativeTemplate is the zone SOA as it appears in the authority section of
// a negative answer, with its names pointing at the zone part of the
// question; the pointers are filled in per query.
type negativeTemplate struct {
	buf  []byte
	ptrs []int
}

func newNegativeTemplate(soa *dns.SOA, zone string) *negativeTemplate {
	t := &negativeTemplate{}
	b := []byte{0xC0, 0}
	t.ptrs = append(t.ptrs, 0)
	b = binary.BigEndian.AppendUint16(b, dns.TypeSOA)
	b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
	b = binary.BigEndian.AppendUint32(b, soa.Hdr.Ttl)
	rdl := len(b)
	b = append(b, 0, 0)
	b = append(b, 2, 'n', 's', 3, 'd', 'n', 's', 0xC0, 0)
	t.ptrs = append(t.ptrs, len(b)-2)
	b = append(b, 10)
	b = append(b, "hostmaster"...)
	b = append(b, 0xC0, 0)
	t.ptrs = append(t.ptrs, len(b)-2)
	for _, x := range []uint32{soa.Serial, soa.Refresh, soa.Retry, soa.Expire, soa.Minttl} {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	binary.BigEndian.PutUint16(b[rdl:], uint16(len(b)-rdl-2))
	t.buf = b
	return t
}

// AppendNegative appends the authority SOA of a negative answer in zone to
// buf, for a question whose zone part starts at zoneOff.
func (s *Snapshot) AppendNegative(buf []byte, zone string, zoneOff int) []byte {
	z := s.zoneByName(zone)
	if z == nil {
		return buf
	}
	start := len(buf)
	buf = append(buf, z.negative.buf...)
	for _, o := range z.negative.ptrs {
		binary.BigEndian.PutUint16(buf[start+o:], 0xC000|uint16(zoneOff))
	}
	return buf
}

func (s *Snapshot) zoneByName(name string) *servedZone {
	for _, z := range s.zones {
		if z.name == name {
			return z
		}
	}
	return nil
}

// itemPacker packs answers made of items (see item) in the form
// packTemplate gives: owners equal to the question point at it, SRV and PTR
// targets are written out (RFC 2782: an SRV target is not compressed) with
// the question's zone part patched per query, and glue points at the
// target it is the address of. Its buffers are reused, so packing allocates
// nothing once they have grown.
type itemPacker struct {
	buf     []byte
	patches []int
	// targets holds the offset of each written SRV target by its label
	// ("" for the service name), for glue to point at.
	targets map[string]int
}

func (p *itemPacker) pack(qname string, qtype uint16, z *servedZone, o Options, items []item) {
	an := answerCount(items)
	b := append(p.buf[:0], 0, 0, 0x84, 0, 0, 1) // ID 0, QR and AA, one question
	b = binary.BigEndian.AppendUint16(b, uint16(an))
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(items)-an))
	b = appendLabels(b, qname)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
	p.patches = p.patches[:0]
	if len(p.targets) > 0 {
		clear(p.targets)
	}
	for _, extra := range [2]bool{false, true} {
		for i := range items {
			it := &items[i]
			if it.extra != extra {
				continue
			}
			if !it.extra || it.targetIs(qname, z.name) {
				b = append(b, 0xC0, 12)
			} else if off, ok := p.targets[it.targetLabel()]; ok {
				b = binary.BigEndian.AppendUint16(b, 0xC000|uint16(off))
			} else {
				b = p.appendTarget(b, it, z.name, z.name)
			}
			b = binary.BigEndian.AppendUint16(b, it.qtype)
			b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
			b = binary.BigEndian.AppendUint32(b, o.TTL)
			lenAt := len(b)
			b = append(b, 0, 0)
			switch it.qtype {
			case dns.TypeA:
				a := it.addr().As4()
				b = append(b, a[:]...)
			case dns.TypeAAAA:
				a := it.addr().As16()
				b = append(b, a[:]...)
			case dns.TypeSRV:
				b = append(b, 0, 0) // priority
				b = binary.BigEndian.AppendUint16(b, it.weight)
				b = binary.BigEndian.AppendUint16(b, it.port)
				// Glue of a target that is the question points at it.
				if _, ok := p.targets[it.targetLabel()]; !ok && len(b) < 0x3FFF && !it.targetIs(qname, z.name) {
					if p.targets == nil {
						p.targets = map[string]int{}
					}
					p.targets[it.targetLabel()] = len(b)
				}
				b = p.appendTarget(b, it, z.name, z.name)
			case dns.TypePTR:
				b = p.appendTarget(b, it, o.Zones[0], z.name)
			}
			binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-lenAt-2))
		}
	}
	p.buf = b
}

// appendTarget writes the item's target in zone; if zone is the question's
// zone, its part is recorded as a patch.
func (p *itemPacker) appendTarget(b []byte, it *item, zone, qzone string) []byte {
	key, label := it.keyLabel()
	if label != "" {
		b = appendLabels(b, label)
		b = b[:len(b)-1]
	}
	b = appendLabels(b, key)
	b = append(b[:len(b)-1], 3, 's', 'v', 'c')
	if zone == qzone && zone != "." {
		p.patches = append(p.patches, len(b))
	}
	return appendLabels(b, zone)
}

// targetIs reports whether the item's target in zone is name, without
// making the target.
func (it *item) targetIs(name, zone string) bool {
	k, l := it.keyLabel()
	if l != "" {
		if len(name) <= len(l) || name[:len(l)] != l || name[len(l)] != '.' {
			return false
		}
		name = name[len(l)+1:]
	}
	return schema.IsServiceFromKey(name, k, zone)
}

// packItems packs the answer of a name the snapshot does not store (items
// in sc, see leaf) into sc.tmpl.
func (sc *Scratch) packItems(qname string, qtype uint16, z *servedZone, o Options) {
	sc.packer.pack(qname, qtype, z, o, sc.items)
	sc.tmpl = template{buf: sc.packer.buf, qnameLen: wireLen(qname), zoneOff: 12 + wireLen(qname) - wireLen(z.name), patches: sc.packer.patches}
}

// itemTemplate packs a stored answer made of items.
func itemTemplate(qname string, qtype uint16, z *servedZone, o Options, items []item) *template {
	var p itemPacker
	p.pack(qname, qtype, z, o, items)
	return &template{
		buf:      append([]byte(nil), p.buf...),
		qnameLen: wireLen(qname),
		zoneOff:  12 + wireLen(qname) - wireLen(z.name),
		patches:  slices.Clone(p.patches),
	}
}

// appendLabels writes a name (dotted, with or without the final dot) in
// wire form, ending with the root label.
func appendLabels(b []byte, name string) []byte {
	for name != "" && name != "." {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			i = len(name)
		}
		b = append(b, byte(i))
		b = append(b, name[:i]...)
		if i == len(name) {
			break
		}
		name = name[i+1:]
	}
	return append(b, 0)
}
