package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"
	"github.com/miekg/dns"
)

// benchNames are the names the benchmarks ask for.
func benchNames(n int) []Query {
	qs := make([]Query, n)
	for i := range qs {
		qs[i] = mkQuery(fmt.Sprintf("host-%d.example.com.", i), dns.TypeA)
	}
	return qs
}

// filled returns a cache holding an A answer (two records) for the
// queries, and the queries it holds (a set may overflow and lose some).
func filled(b *testing.B, qs []Query, mod func(*Config)) (*Cache, []Query, time.Time) {
	c := newCache(b, mod)
	now := time.Now()
	for i := range qs {
		name := string(mustName(qs[i].Name))
		msg := upstream{an: []string{name + " 300 IN A 192.0.2.1", name + " 300 IN A 192.0.2.2"}}.pack(b, name, dns.TypeA)
		if o := c.Set(&qs[i], msg, now); o != Stored {
			b.Fatal(o)
		}
	}
	var held []Query
	for i := range qs {
		if _, st := c.Get(&qs[i], now, nil); st == Hit {
			held = append(held, qs[i])
		}
	}
	return c, held, now
}

func mustName(wire []byte) []byte {
	name, _, err := dns.UnpackDomainName(wire, 0)
	if err != nil {
		panic(err)
	}
	return []byte(name)
}

// BenchmarkGetHit is the hit path: key, lookup in both tables, copy and
// patch of a two-record answer (79 bytes).
func BenchmarkGetHit(b *testing.B) {
	for _, tc := range []struct {
		name  string
		names int
		mod   func(*Config)
	}{
		{"one-name", 1, nil},
		{"1k-names", 1000, nil},
		{"9k-names", 9000, nil},
		{"1k-names-prefetch-on", 1000, func(c *Config) { c.Prefetch.Amount = 10 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			qs := benchNames(tc.names)
			c, qs, now := filled(b, qs, tc.mod)
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, st := c.Get(&qs[i], now, buf); st != Hit {
					b.Fatal(st)
				}
				if i++; i == len(qs) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkGetHitParallel is BenchmarkGetHit from every core at once.
func BenchmarkGetHitParallel(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("%d-names", n), func(b *testing.B) {
			qs := benchNames(n)
			c, qs, now := filled(b, qs, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 0, 512)
				i := rand.IntN(len(qs))
				for pb.Next() {
					c.Get(&qs[i], now, buf)
					if i++; i == len(qs) {
						i = 0
					}
				}
			})
		})
	}
}

// BenchmarkGetMiss is a lookup that finds nothing (the cost a forwarded
// query pays before it is sent).
func BenchmarkGetMiss(b *testing.B) {
	c, _, now := filled(b, benchNames(1000), nil)
	q := mkQuery("not-there.example.com.", dns.TypeA)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		c.Get(&q, now, buf)
	}
}

// BenchmarkSet is the store path for a full cache: scan, TTL rewrite,
// copy, replace or evict.
func BenchmarkSet(b *testing.B) {
	qs := benchNames(20000)
	c := newCache(b, nil)
	now := time.Now()
	msgs := make([][]byte, len(qs))
	for i := range qs {
		name := string(mustName(qs[i].Name))
		msgs[i] = upstream{an: []string{name + " 300 IN A 192.0.2.1"}, edns: true}.pack(b, name, dns.TypeA)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Set(&qs[i], msgs[i], now)
		if i++; i == len(qs) {
			i = 0
		}
	}
}

// The structure comparison: the same entries, keyed by the same 64-bit
// hash and checked against the full key after a lookup, in this package's
// set-associative table and in the alternatives the issue names. Each
// holds 9984 entries.

type store interface {
	get(k *key) *entry
	put(e *entry)
}

type assocStore struct{ t *table }

func (s assocStore) get(k *key) *entry { return s.t.find(k) }
func (s assocStore) put(e *entry)      { s.t.put(e, 0) }

type otterStore struct{ c *otter.Cache[uint64, *entry] }

func (s otterStore) get(k *key) *entry {
	if e, ok := s.c.GetIfPresent(k.hash); ok && e.sameKey(k) {
		return e
	}
	return nil
}
func (s otterStore) put(e *entry) { s.c.Set(e.hash, e) }

type lruStore struct{ c *lru.Cache[uint64, *entry] }

func (s lruStore) get(k *key) *entry {
	if e, ok := s.c.Get(k.hash); ok && e.sameKey(k) {
		return e
	}
	return nil
}
func (s lruStore) put(e *entry) { s.c.Add(e.hash, e) }

// shardStore is CoreDNS's plugin/pkg/cache: 256 maps behind RWMutexes,
// a random entry evicted from a full shard.
type shardStore struct{ shards [shards]mapShard }

type mapShard struct {
	mu    sync.RWMutex
	items map[uint64]*entry
	size  int
}

func newShardStore(n int) *shardStore {
	s := new(shardStore)
	for i := range s.shards {
		s.shards[i] = mapShard{items: make(map[uint64]*entry), size: max(n/shards, minPerShard)}
	}
	return s
}

func (s *shardStore) get(k *key) *entry {
	sh := &s.shards[k.hash&(shards-1)]
	sh.mu.RLock()
	e := sh.items[k.hash]
	sh.mu.RUnlock()
	if e != nil && e.sameKey(k) {
		return e
	}
	return nil
}

func (s *shardStore) put(e *entry) {
	sh := &s.shards[e.hash&(shards-1)]
	sh.mu.Lock()
	if _, ok := sh.items[e.hash]; !ok && len(sh.items) >= sh.size {
		for k := range sh.items {
			delete(sh.items, k)
			break
		}
	}
	sh.items[e.hash] = e
	sh.mu.Unlock()
}

func stores(b *testing.B) []struct {
	name string
	new  func() store
} {
	n := capacity(DefaultCapacity)
	return []struct {
		name string
		new  func() store
	}{
		{"assoc", func() store { return assocStore{newTable(Success, n, 0)} }},
		{"otter", func() store {
			return otterStore{otter.Must(&otter.Options[uint64, *entry]{MaximumSize: n})}
		}},
		{"golang-lru", func() store {
			c, err := lru.New[uint64, *entry](n)
			if err != nil {
				b.Fatal(err)
			}
			return lruStore{c}
		}},
		{"coredns-shards", func() store { return newShardStore(n) }},
	}
}

// benchEntries returns n entries with their keys, as Set makes them.
func benchEntries(n int) ([]*entry, []key) {
	c, _ := New(DefaultConfig())
	qs := benchNames(n)
	es := make([]*entry, n)
	ks := make([]key, n)
	for i := range qs {
		kb := new(keyBuf)
		ks[i], _ = makeKey(c.seed, &qs[i], kb)
		es[i] = newEntry(&ks[i], nil, nil, Success, 300, 0, 10)
	}
	return es, ks
}

// BenchmarkStore compares the structures on lookups of stored keys (one
// core and all cores), on stores into a full cache, and on the hit ratio
// of a Zipf-distributed workload.
func BenchmarkStore(b *testing.B) {
	hot, hotKeys := benchEntries(5000)
	churn, _ := benchEntries(50000)
	for _, s := range stores(b) {
		b.Run(s.name+"/get", func(b *testing.B) {
			st := s.new()
			hotKeys := held(st, hot, hotKeys)
			i := 0
			for b.Loop() {
				if st.get(&hotKeys[i]) == nil {
					b.Fatal("miss")
				}
				if i++; i == len(hotKeys) {
					i = 0
				}
			}
		})
		b.Run(s.name+"/get-parallel", func(b *testing.B) {
			st := s.new()
			hotKeys := held(st, hot, hotKeys)
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(hotKeys))
				for pb.Next() {
					st.get(&hotKeys[i])
					if i++; i == len(hotKeys) {
						i = 0
					}
				}
			})
		})
		b.Run(s.name+"/put-full", func(b *testing.B) {
			st := s.new()
			i := 0
			for b.Loop() {
				st.put(churn[i])
				if i++; i == len(churn) {
					i = 0
				}
			}
		})
		b.Run(s.name+"/put-parallel", func(b *testing.B) {
			st := s.new()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919)) % len(churn)
				for pb.Next() {
					st.put(churn[i])
					if i++; i == len(churn) {
						i = 0
					}
				}
			})
		})
		b.Run(s.name+"/zipf-hit-ratio", func(b *testing.B) { zipfHitRatio(b, s.new(), churn) })
	}
}

// held stores es in st and returns the keys st kept: a set-associative
// table may lose a few to a full set.
func held(st store, es []*entry, keys []key) []key {
	for _, e := range es {
		st.put(e)
	}
	var out []key
	for i := range keys {
		if st.get(&keys[i]) != nil {
			out = append(out, keys[i])
		}
	}
	return out
}

// BenchmarkFullCacheMemory reports the heap a cache holding 9984 two-record
// answers takes, per entry and in all.
func BenchmarkFullCacheMemory(b *testing.B) {
	qs := benchNames(30000)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, _, _ := filled(b, qs, nil)
		runtime.GC()
		runtime.ReadMemStats(&after)
		n := c.Len(Success)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/entry")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
		runtime.KeepAlive(c)
	}
}

// zipfHitRatio asks for names with a Zipf distribution (s = 1.01, close to
// what DNS query logs show) over 50k names (five times what fits), storing on a miss, and
// reports the share of hits.
func zipfHitRatio(b *testing.B, st store, es []*entry) {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.01, 1, uint64(len(es)-1))
	keys := make([]key, len(es))
	for i, e := range es {
		keys[i] = key{hash: e.hash, bytes: e.key}
	}
	hits, total := 0, 0
	for b.Loop() {
		i := z.Uint64()
		if st.get(&keys[i]) != nil {
			hits++
		} else {
			st.put(es[i])
		}
		total++
	}
	b.ReportMetric(100*float64(hits)/float64(total), "hit%")
}
