package zone

import "hash/maphash"

// shards is a copy-on-write map split in parts. An update copies only the
// parts it touches, so its cost is about size/parts per touched key plus
// the part table, rather than the size of the zone.
type shards[K comparable, V any] struct {
	seed maphash.Seed
	m    []map[K]V
	n    int
}

// newShards returns an empty map of n parts. Choose n so that a typical
// update (the keys of one service) touches few of them or few keys each:
// the addresses of a 1,000-endpoint service are spread over every part.
func newShards[K comparable, V any](seed maphash.Seed, n int) shards[K, V] {
	return shards[K, V]{seed: seed, m: make([]map[K]V, n)}
}

func (s *shards[K, V]) shard(k K) int {
	return int(maphash.Comparable(s.seed, k) % uint64(len(s.m)))
}

func (s *shards[K, V]) get(k K) V {
	var zero V
	m := s.m[s.shard(k)]
	if m == nil {
		return zero
	}
	return m[k]
}

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
	out.m = append([]map[K]V(nil), s.m...)
	copied := make([]bool, len(s.m))
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
	case *podSet:
		return x == nil
	case []string:
		return x == nil
	}
	return false
}
