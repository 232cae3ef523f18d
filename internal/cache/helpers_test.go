package cache

import (
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// clock gives the test's times: t0 plus an offset, with t0's monotonic
// reading.
type clock struct{ t0 time.Time }

func newClock() clock { return clock{time.Now()} }

func (c clock) at(d time.Duration) time.Time { return c.t0.Add(d) }

// newCache returns a cache with CoreDNS's defaults changed by mod.
func newCache(t testing.TB, mod func(*Config)) *Cache {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cache30 is kubeadm's `cache 30`.
func cache30(cfg *Config) { cfg.SuccessMaxTTL, cfg.DenialMaxTTL = 30*time.Second, 30*time.Second }

func mkQuery(name string, qtype uint16) Query {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		panic(err)
	}
	return Query{ID: 0xBEEF, Flags: flagRD, Name: buf[:n], Type: qtype, Class: dns.ClassINET}
}

// upstream is a reply as an upstream would send it.
type upstream struct {
	rcode      int
	an, ns, ex []string
	tc, ad     bool
	opcode     int
	edns       bool // an OPT record at the end
	extRcode   int  // with edns: the extended rcode's upper bits
	do         bool
}

func (u upstream) msg(qname string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Id = 0xBEEF
	m.Response, m.RecursionAvailable, m.RecursionDesired = true, true, true
	m.Rcode, m.Truncated, m.AuthenticatedData, m.Opcode = u.rcode, u.tc, u.ad, u.opcode
	m.Answer, m.Ns, m.Extra = rrs(u.an), rrs(u.ns), rrs(u.ex)
	if u.edns {
		m.SetEdns0(1232, u.do)
		if u.extRcode != 0 {
			m.IsEdns0().SetExtendedRcode(uint16(u.extRcode))
			m.Rcode = u.extRcode
		}
	}
	m.Compress = true
	return m
}

func (u upstream) pack(t testing.TB, qname string, qtype uint16) []byte {
	t.Helper()
	b, err := u.msg(qname, qtype).Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rrs(ss []string) []dns.RR {
	var out []dns.RR
	for _, s := range ss {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		out = append(out, rr)
	}
	return out
}

func unpack(t testing.TB, b []byte) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	return m
}

// ttls returns the TTL of every record but OPT.
func ttls(m *dns.Msg) []uint32 {
	var out []uint32
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if rr.Header().Rrtype != dns.TypeOPT {
				out = append(out, rr.Header().Ttl)
			}
		}
	}
	return out
}

// allTTL reports whether every record of m has TTL ttl (and there is one).
func allTTL(m *dns.Msg, ttl uint32) bool {
	ts := ttls(m)
	for _, t := range ts {
		if t != ttl {
			return false
		}
	}
	return len(ts) > 0
}

// counter is a Recorder that counts calls by name.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(name string, d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name] += d
}

func (c *counter) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *counter) Request()        { c.add("requests", 1) }
func (c *counter) Hit(k Kind)      { c.add("hits/"+k.String(), 1) }
func (c *counter) Miss()           { c.add("misses", 1) }
func (c *counter) Prefetch()       { c.add("prefetch", 1) }
func (c *counter) ServedStale()    { c.add("served_stale", 1) }
func (c *counter) Drop()           { c.add("drops", 1) }
func (c *counter) Eviction(k Kind) { c.add("evictions/"+k.String(), 1) }
func (c *counter) Entries(k Kind, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n["entries/"+k.String()] = n
}
