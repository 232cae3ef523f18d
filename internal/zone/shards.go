package zone

import "hash/maphash"

// nShards is the number of shards of a snapshot map. An update copies only
// the shards it touches, so its cost is about size/nShards per touched key
// rather than the size of the zone.
const nShards = 256

// shards is a copy-on-write map split in nShards parts. The zero value is an
// empty map (once seed is set).
type shards[K comparable, V any] struct {
	seed maphash.Seed
	m    [nShards]map[K]V
	n    int
}

func (s *shards[K, V]) shard(k K) int {
	return int(maphash.Comparable(s.seed, k) % nShards)
}

func (s *shards[K, V]) get(k K) V {
	var zero V
	m := s.m[s.shard(k)]
	if m == nil {
		return zero
	}
	return m[k]
}

func (s *shards[K, V]) len() int { return s.n }

func (s *shards[K, V]) each(f func(K, V)) {
	for _, m := range s.m {
		for k, v := range m {
			f(k, v)
		}
	}
}

// with returns a copy with the updates applied; a nil value (per isNil)
// deletes the key. Untouched shards are shared with the receiver.
func (s shards[K, V]) with(upd map[K]V) shards[K, V] {
	if len(upd) == 0 {
		return s
	}
	out := s
	copied := [nShards]bool{}
	for k, v := range upd {
		i := s.shard(k)
		if !copied[i] {
			c := make(map[K]V, len(s.m[i])+1)
			for kk, vv := range s.m[i] {
				c[kk] = vv
			}
			out.m[i] = c
			copied[i] = true
		}
		_, had := out.m[i][k]
		if isNil(v) {
			if had {
				delete(out.m[i], k)
				out.n--
			}
			continue
		}
		if !had {
			out.n++
		}
		out.m[i][k] = v
	}
	return out
}

// isNil reports whether v is a nil pointer, slice or map: the deletion marker.
func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *fragment:
		return x == nil
	case *ptrSet:
		return x == nil
	case *podSet:
		return x == nil
	case []string:
		return x == nil
	}
	return false
}
