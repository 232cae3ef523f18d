package zone

import "hash/maphash"

// shards is a persistent (copy-on-write) hash map: a hash trie of 32-way
// nodes whose leaves hold a few entries. An update copies the nodes on the
// path to each key it touches, one per level, and the leaf: its cost is
// the change times the depth (log32 of the size), not the size of the
// zone, so updating one service of a 50,000-service zone allocates what it
// does in a zone of 1,000 (BenchmarkUpdateOneService). A lookup hashes the
// key once and follows at most a few pointers.
type shards[K comparable, V any] struct {
	seed maphash.Seed
	root *trieNode[K, V]
	n    int
}

// trieBits is the hash bits each level consumes (32 children); a leaf holds
// up to trieLeaf entries before it splits, except at the last level, where
// only keys of equal hashes remain and the leaf holds them all.
const (
	trieBits     = 5
	trieWidth    = 1 << trieBits
	trieLeaf     = 8
	trieMaxDepth = 64 / trieBits
)

// trieNode is an inner node (children set) or a leaf (entries).
type trieNode[K comparable, V any] struct {
	children *[trieWidth]*trieNode[K, V]
	entries  []trieEntry[K, V]
}

// trieEntry keeps the key's hash, so that a leaf is searched by comparing
// integers and the key is compared once.
type trieEntry[K comparable, V any] struct {
	hash uint64
	key  K
	val  V
}

// newShards returns an empty map. The size hint of the former sharded
// map is not needed: the trie grows with its contents.
func newShards[K comparable, V any](seed maphash.Seed, _ int) shards[K, V] {
	return shards[K, V]{seed: seed}
}

func (s *shards[K, V]) hash(k K) uint64 { return maphash.Comparable(s.seed, k) }

func (s *shards[K, V]) get(k K) V {
	var zero V
	h := s.hash(k)
	n := s.root
	for depth := 0; n != nil; depth++ {
		if n.children == nil {
			for i := range n.entries {
				if e := &n.entries[i]; e.hash == h && e.key == k {
					return e.val
				}
			}
			return zero
		}
		n = n.children[(h>>(depth*trieBits))&(trieWidth-1)]
	}
	return zero
}

func (s *shards[K, V]) each(f func(K, V)) { s.root.each(f) }

func (n *trieNode[K, V]) each(f func(K, V)) {
	if n == nil {
		return
	}
	if n.children == nil {
		for i := range n.entries {
			f(n.entries[i].key, n.entries[i].val)
		}
		return
	}
	for _, c := range n.children {
		c.each(f)
	}
}

// with returns a copy with the updates applied; a nil value (per isNil)
// deletes the key. Nodes not on the path of an updated key are shared
// with the receiver; each node on a path is copied once per call.
func (s shards[K, V]) with(upd map[K]V) shards[K, V] {
	if len(upd) == 0 {
		return s
	}
	out := s
	fresh := map[*trieNode[K, V]]bool{} // nodes this call made: changed in place
	for k, v := range upd {
		var delta int
		out.root, delta = out.root.set(fresh, s.hash(k), k, v, isNil(v), 0)
		out.n += delta
	}
	return out
}

// set returns the node with k set to v (or removed), copying it unless
// this call made it, and how the count changed.
func (n *trieNode[K, V]) set(fresh map[*trieNode[K, V]]bool, h uint64, k K, v V, remove bool, depth int) (*trieNode[K, V], int) {
	if n == nil {
		if remove {
			return nil, 0
		}
		c := &trieNode[K, V]{entries: []trieEntry[K, V]{{hash: h, key: k, val: v}}}
		fresh[c] = true
		return c, 1
	}
	c := n
	if !fresh[n] {
		c = &trieNode[K, V]{}
		if n.children != nil {
			ch := *n.children
			c.children = &ch
		} else {
			c.entries = append(make([]trieEntry[K, V], 0, len(n.entries)+1), n.entries...)
		}
		fresh[c] = true
	}
	if c.children != nil {
		i := (h >> (depth * trieBits)) & (trieWidth - 1)
		child, delta := c.children[i].set(fresh, h, k, v, remove, depth+1)
		c.children[i] = child
		if delta < 0 && c.empty() {
			return nil, delta
		}
		return c, delta
	}
	for i := range c.entries {
		if e := &c.entries[i]; e.hash == h && e.key == k {
			if remove {
				c.entries = append(c.entries[:i], c.entries[i+1:]...)
				if len(c.entries) == 0 {
					return nil, -1
				}
				return c, -1
			}
			e.val = v
			return c, 0
		}
	}
	if remove {
		return c, 0
	}
	c.entries = append(c.entries, trieEntry[K, V]{hash: h, key: k, val: v})
	if len(c.entries) > trieLeaf && depth < trieMaxDepth {
		c.split(fresh, depth)
	}
	return c, 1
}

// split turns a full leaf (made by this call) into an inner node.
func (n *trieNode[K, V]) split(fresh map[*trieNode[K, V]]bool, depth int) {
	entries := n.entries
	n.entries, n.children = nil, new([trieWidth]*trieNode[K, V])
	for _, e := range entries {
		i := (e.hash >> (depth * trieBits)) & (trieWidth - 1)
		c := n.children[i]
		if c == nil {
			c = &trieNode[K, V]{}
			fresh[c] = true
			n.children[i] = c
		}
		c.entries = append(c.entries, e)
	}
	for _, c := range n.children {
		if c != nil && len(c.entries) > trieLeaf && depth+1 < trieMaxDepth {
			c.split(fresh, depth+1)
		}
	}
}

// empty reports whether an inner node has no child left.
func (n *trieNode[K, V]) empty() bool {
	for _, c := range n.children {
		if c != nil {
			return false
		}
	}
	return true
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
