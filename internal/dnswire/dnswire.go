// Package dnswire reads DNS messages in place, for the paths that must not
// unpack them (the server's parser, the cache's scanner, the shuffle of
// address records). It only measures; it does not follow compression
// pointers or decode names.
package dnswire

// SkipName returns the offset just past the name at off in msg. A
// compression pointer ends the name (it is not followed); ok is false for
// a name that runs past msg or uses an extended label type.
func SkipName(msg []byte, off int) (end int, ok bool) {
	for {
		if off >= len(msg) {
			return 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xC0 == 0xC0:
			if off+2 > len(msg) {
				return 0, false
			}
			return off + 2, true
		case l > 63:
			return 0, false
		}
		off += 1 + l
	}
}
