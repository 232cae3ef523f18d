package zone

import (
	"net/netip"
	"strings"
)

// The content digest says whether two snapshots hold the same records, so
// that the SOA serial changes when, and only when, the zone's content does
// (a secondary transfers the zone again on a new serial; an update that
// changes nothing a name answers, a re-list of unchanged objects, must not
// make it). It is a sum of one hash per part (fragment, namespace, pod
// name), so that Update keeps it by subtracting what it replaces and adding
// what it puts, never by walking the zone.

// fnv64 is FNV-1a, 64 bits: a hash of a part's content, the same in every
// process.
type fnv64 uint64

func newFNV() fnv64 { return 14695981039346656037 }

func (h fnv64) byte(b byte) fnv64 { return (h ^ fnv64(b)) * 1099511628211 }

func (h fnv64) str(s string) fnv64 {
	for i := 0; i < len(s); i++ {
		h = h.byte(s[i])
	}
	return h.byte(0) // a separator: "ab","c" is not "a","bc"
}

func (h fnv64) num(v uint64) fnv64 {
	for i := 0; i < 8; i++ {
		h = h.byte(byte(v >> (8 * i)))
	}
	return h
}

func (h fnv64) addr(a netip.Addr) fnv64 {
	b := a.As16()
	for _, x := range b {
		h = h.byte(x)
	}
	return h
}

// digest is the hash of what a service's records are made of: its kind,
// target, cluster IPs and ports, and each ready address with its label,
// its slice and the slice's ports (and its topology zone, which zonal names
// answer by). Two fragments with one digest answer alike.
func (d *serviceData) digest(zonal bool) uint64 {
	h := newFNV().str(d.key).str(string(d.svc.Type)).str(d.externalName)
	if d.exists {
		h = h.byte(1)
	}
	if d.headless() {
		h = h.byte(2)
	}
	for _, ip := range d.svc.ClusterIPs {
		h = h.addr(ip.Unmap())
	}
	for _, p := range d.svc.Ports {
		h = h.str(strings.ToLower(p.Name)).str(string(p.Protocol)).num(uint64(p.Port))
	}
	var last *readySlice
	for i := range d.ready {
		r := &d.ready[i]
		if r.slice != last {
			last = r.slice
			h = h.str(r.slice.es.Name)
			for _, p := range r.slice.ports {
				h = h.str(p.name).str(p.proto).num(uint64(p.port))
			}
		}
		h = h.addr(r.addr()).str(r.label)
		if zonal {
			h = h.str(r.topology())
		}
	}
	return uint64(h)
}

// nameDigest is the hash of a name-only part: a namespace, a pod name.
func nameDigest(kind byte, s string) uint64 { return uint64(newFNV().byte(kind).str(s)) }

// Digest kinds of name-only parts.
const (
	digestNamespace byte = 'n'
	digestPod       byte = 'p'
)

// SameContent reports whether s and o hold the same records (their serials
// aside): the digests of their parts agree. A collision of two 64-bit
// sums is what it would take to miss a change.
func (s *Snapshot) SameContent(o *Snapshot) bool {
	return o != nil && s.digest == o.digest
}

// WithSerial is the snapshot with another SOA serial: same names and
// records, new SOA (and the negative answers and apex that carry it).
func (s *Snapshot) WithSerial(serial uint32) *Snapshot {
	if serial == s.Serial {
		return s
	}
	n := *s
	n.renumber(serial)
	n.rebuildStatic()
	return &n
}

// renumber gives the snapshot's zones the serial.
func (s *Snapshot) renumber(serial uint32) {
	s.Serial = serial
	zones := make([]*servedZone, 0, len(s.zones))
	for _, z := range s.zones {
		zones = append(zones, newServedZone(z.name, z.reverse, s.opts, serial))
	}
	s.zones = zones
}
