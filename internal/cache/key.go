package cache

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
)

// Query is what the cache reads from a client's query.
type Query struct {
	ID uint16
	// Flags is the query's header flags word; the opcode and the RD, AD
	// and CD bits are read.
	Flags uint16
	// Name is the question name in wire form as the client sent it:
	// uncompressed, at most 255 octets. The answer carries it unchanged.
	Name  []byte
	Type  uint16
	Class uint16
	// DO is the query's EDNS DO bit.
	DO bool
}

// DNS header flag bits.
const (
	flagQR     = 1 << 15
	flagOpcode = 0xF << 11
	flagAA     = 1 << 10
	flagTC     = 1 << 9
	flagRD     = 1 << 8
	flagRA     = 1 << 7
	flagAD     = 1 << 5
	flagCD     = 1 << 4
	rcodeMask  = 0xF

	headerLen = 12
	maxName   = 255
	// keyPrefix is the part of the key before the name: the DO/CD byte,
	// the type and the class.
	keyPrefix = 5
)

// keyBuf holds a key's bytes: DO and CD, type, class, lower-cased name. It
// lives on the caller's stack, so that a lookup allocates nothing.
type keyBuf [keyPrefix + maxName]byte

// key is a query's cache key: CoreDNS's (DO, CD, qtype, lower-cased
// qname), with the class too as CoreDNS has it from v1.14.7. Keys are
// hashed with a per-cache seed rather than CoreDNS's unseeded FNV-64, so
// that nobody can pick names that collide and evict each other.
type key struct {
	hash  uint64
	bytes []byte // into a keyBuf: all of the key
}

// name is the lower-cased question name in wire form.
func (k *key) name() []byte { return k.bytes[keyPrefix:] }

// makeKey fills buf with q's key; ok is false for a name the cache cannot
// hold (over 255 octets).
func makeKey(seed maphash.Seed, q *Query, buf *keyBuf) (k key, ok bool) {
	if len(q.Name) > maxName {
		return key{}, false
	}
	var f byte
	if q.DO {
		f |= 1
	}
	if q.Flags&flagCD != 0 {
		f |= 2
	}
	buf[0] = f
	binary.BigEndian.PutUint16(buf[1:], q.Type)
	binary.BigEndian.PutUint16(buf[3:], q.Class)
	n := keyPrefix + len(q.Name)
	lower(buf[keyPrefix:n], q.Name)
	b := buf[:n]
	return key{hash: maphash.Bytes(seed, b), bytes: b}, true
}

// lower writes src with ASCII letters lower-cased to dst (len(dst) ==
// len(src); they may be the same slice). DNS names compare case-insensitively
// in ASCII only (RFC 4343); a wire name's length octets are below 64, so
// they pass unchanged. Eight bytes go at a time: a byte gets 0x20 added when
// it is in 'A'..'Z'.
func lower(dst, src []byte) {
	const ones = 0x0101010101010101
	i := 0
	for ; i+8 <= len(src); i += 8 {
		x := binary.LittleEndian.Uint64(src[i:])
		low := x & (0x7F * ones)                 // each byte's low seven bits
		geA := low + (0x80-'A')*ones             // bit 7 set where byte >= 'A'
		gtZ := low + (0x80-'Z'-1)*ones           // bit 7 set where byte > 'Z'
		upper := geA &^ gtZ &^ x & (0x80 * ones) // and not >= 0x80
		binary.LittleEndian.PutUint64(dst[i:], x|upper>>2)
	}
	for ; i < len(src); i++ {
		c := src[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
}

// sameKey reports whether e was stored under k (the hash is already equal;
// this rules out a collision).
func (e *entry) sameKey(k *key) bool { return bytes.Equal(e.key, k.bytes) }
