package cache

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const soa120 = "example.com. 120 IN SOA ns.example.com. host.example.com. 1 7200 3600 1209600 60"

// TestStoredTTL pins which TTL a reply is stored with and passed on with
// (cache.go computeTTL, dnsutil.MinimalTTL): the message minimum clamped
// to [min, max], a denial's from its SOA header TTL, SERVFAIL's from
// `servfail`, 5 s for referrals and replies without records.
func TestStoredTTL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		qtype uint16
		up    upstream
		kind  Kind
		ttl   uint32
	}{
		{"TTL 0 raised to the 5 s minimum", cache30, dns.TypeA,
			upstream{an: []string{"www.example.com. 0 IN A 192.0.2.1"}}, Success, 5},
		{"TTL 300 capped by cache 30", cache30, dns.TypeA,
			upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}, Success, 30},
		{"one TTL: the minimum over answer, authority and additional", cache30, dns.TypeA,
			upstream{an: []string{"www.example.com. 100 IN A 192.0.2.1", "www.example.com. 20 IN A 192.0.2.2"},
				ns: []string{"example.com. 300 IN NS ns.example.com."}}, Success, 20},
		{"additional records count", nil, dns.TypeA,
			upstream{an: []string{"www.example.com. 100 IN A 192.0.2.1"},
				ex: []string{"ns.example.com. 7 IN A 192.0.2.9"}, edns: true}, Success, 7},
		{"OPT TTL does not count", nil, dns.TypeA,
			upstream{an: []string{"www.example.com. 100 IN A 192.0.2.1"}, edns: true, do: true}, Success, 100},
		{"minimum starts at 3600 s", func(c *Config) { c.SuccessMaxTTL = 7200 * time.Second }, dns.TypeA,
			upstream{an: []string{"www.example.com. 7200 IN A 192.0.2.1"}}, Success, 3600},
		{"default max for answers is 3600 s", nil, dns.TypeA,
			upstream{an: []string{"www.example.com. 3600 IN A 192.0.2.1"}}, Success, 3600},
		{"NXDOMAIN: SOA TTL 120 capped by cache 30", cache30, dns.TypeA,
			upstream{rcode: dns.RcodeNameError, ns: []string{soa120}}, Denial, 30},
		{"NXDOMAIN: the SOA header TTL, not MINIMUM", nil, dns.TypeA,
			upstream{rcode: dns.RcodeNameError, ns: []string{soa120}}, Denial, 120},
		{"denial max is 1800 s", nil, dns.TypeA,
			upstream{rcode: dns.RcodeNameError,
				ns: []string{"example.com. 86400 IN SOA ns.example.com. host.example.com. 1 7200 3600 1209600 60"}}, Denial, 1800},
		{"NODATA: SOA TTL", nil, dns.TypeAAAA,
			upstream{ns: []string{soa120}}, Denial, 120},
		{"NODATA: denial minimum", func(c *Config) { c.DenialMinTTL = 60 * time.Second }, dns.TypeAAAA,
			upstream{ns: []string{"example.com. 2 IN SOA ns.example.com. host.example.com. 1 7200 3600 1209600 60"}}, Denial, 60},
		{"NXDOMAIN with a CNAME answer and SOA is cached (until v1.14.5)", nil, dns.TypeA,
			upstream{rcode: dns.RcodeNameError, an: []string{"www.example.com. 300 IN CNAME gone.example.com."},
				ns: []string{soa120}}, Denial, 120},
		{"SERVFAIL: 5 s", cache30, dns.TypeA, upstream{rcode: dns.RcodeServerFailure}, Denial, 5},
		{"NOTIMP: servfail TTL", func(c *Config) { c.ServfailTTL = 20 * time.Second }, dns.TypeA,
			upstream{rcode: dns.RcodeNotImplemented}, Denial, 20},
		{"referral: 5 s whatever its TTLs", nil, dns.TypeA,
			upstream{ns: []string{"example.com. 86400 IN NS ns.example.com."}}, Success, 5},
		{"empty NOERROR without SOA: 5 s", nil, dns.TypeA, upstream{}, Success, 5},
		{"success min above max: max wins", func(c *Config) { c.SuccessMinTTL, c.SuccessMaxTTL = 60*time.Second, 30*time.Second }, dns.TypeA,
			upstream{an: []string{"www.example.com. 10 IN A 192.0.2.1"}}, Success, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, tc.cfg)
			clk := newClock()
			q := mkQuery("www.example.com.", tc.qtype)
			msg := tc.up.pack(t, "www.example.com.", tc.qtype)
			if got := c.Set(&q, msg, clk.at(0)); got != Stored {
				t.Fatalf("Set = %v, want stored", got)
			}
			if m := unpack(t, msg); len(ttls(m)) > 0 && !allTTL(m, tc.ttl) {
				t.Errorf("passed-on TTLs %v, want all %d", ttls(m), tc.ttl)
			}
			if c.Len(tc.kind) != 1 {
				t.Errorf("%v cache has %d entries, want 1", tc.kind, c.Len(tc.kind))
			}
			resp, st := c.Get(&q, clk.at(0), nil)
			if st != Hit {
				t.Fatalf("Get = %v, want hit", st)
			}
			m := unpack(t, resp)
			if len(ttls(m)) > 0 && !allTTL(m, tc.ttl) {
				t.Errorf("served TTLs %v, want all %d", ttls(m), tc.ttl)
			}
			if m.Rcode != tc.up.rcode {
				t.Errorf("rcode %d, want %d", m.Rcode, tc.up.rcode)
			}
			// Expired one second after the TTL.
			if _, st := c.Get(&q, clk.at(time.Duration(tc.ttl)*time.Second), nil); st != Miss {
				t.Errorf("at +TTL: %v, want miss", st)
			}
		})
	}
}

// TestNotCached pins the replies CoreDNS 1.14.2 never stores (cache.go
// key(), response.Typify): they are still passed on with the TTL rewrite.
func TestNotCached(t *testing.T) {
	expiredSig := "www.example.com. 300 IN RRSIG A 8 3 300 20200101000000 20191201000000 12345 example.com. AAAA"
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		qtype uint16
		up    upstream
		want  Outcome
	}{
		{"truncated", nil, dns.TypeTXT, upstream{tc: true, an: []string{`www.example.com. 300 IN TXT "x"`}}, NotCacheable},
		{"REFUSED", nil, dns.TypeA, upstream{rcode: dns.RcodeRefused}, NotCacheable},
		{"FORMERR", nil, dns.TypeA, upstream{rcode: dns.RcodeFormatError}, NotCacheable},
		{"NXDOMAIN without SOA", nil, dns.TypeA, upstream{rcode: dns.RcodeNameError}, NotCacheable},
		{"NXDOMAIN with answers and no SOA", nil, dns.TypeA,
			upstream{rcode: dns.RcodeNameError, an: []string{"www.example.com. 300 IN CNAME gone.example.com."}}, NotCacheable},
		{"NOERROR with answers but YXDOMAIN", nil, dns.TypeA,
			upstream{rcode: dns.RcodeYXDomain, an: []string{"www.example.com. 300 IN A 192.0.2.1"}}, NotCacheable},
		{"extended rcode BADVERS", nil, dns.TypeA, upstream{edns: true, extRcode: dns.RcodeBadVers}, NotCacheable},
		{"SERVFAIL with servfail 0", func(c *Config) { c.ServfailTTL = 0 }, dns.TypeA,
			upstream{rcode: dns.RcodeServerFailure}, NotCacheable},
		{"AXFR", nil, dns.TypeAXFR, upstream{an: []string{soa120}}, NotCacheable},
		{"NOTIFY", nil, dns.TypeSOA, upstream{opcode: dns.OpcodeNotify}, NotCacheable},
		{"UPDATE", nil, dns.TypeSOA, upstream{opcode: dns.OpcodeUpdate}, NotCacheable},
		{"expired RRSIG with DO", nil, dns.TypeA,
			upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1", expiredSig}, edns: true, do: true}, NotCacheable},
		{"expired RRSIG without DO is cached", nil, dns.TypeA,
			upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1", expiredSig}, edns: true}, Stored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, tc.cfg)
			clk := newClock()
			q := mkQuery("www.example.com.", tc.qtype)
			msg := tc.up.pack(t, "www.example.com.", tc.qtype)
			if got := c.Set(&q, msg, clk.at(0)); got != tc.want {
				t.Fatalf("Set = %v, want %v", got, tc.want)
			}
			_, st := c.Get(&q, clk.at(0), nil)
			if want := tc.want == Stored; st.Serve() != want {
				t.Errorf("Get = %v, want served %v", st, want)
			}
		})
	}
}

// TestTTLRewrittenWhenNotStored pins that the cache writer rewrites the
// TTLs of every reply it passes on (cache.go:435-439), stored or not.
func TestTTLRewrittenWhenNotStored(t *testing.T) {
	c := newCache(t, cache30)
	q := mkQuery("big.example.com.", dns.TypeTXT)
	msg := upstream{tc: true, an: []string{`big.example.com. 0 IN TXT "x"`}}.pack(t, "big.example.com.", dns.TypeTXT)
	if got := c.Set(&q, msg, time.Now()); got != NotCacheable {
		t.Fatalf("Set = %v", got)
	}
	if m := unpack(t, msg); !allTTL(m, 5) {
		t.Errorf("TTLs %v, want 5", ttls(m))
	}
}

// TestMismatchIsDropped pins request.Match: a reply for another name or
// type, or not a response, is not stored and counts as a drop.
func TestMismatchIsDropped(t *testing.T) {
	ok := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}
	for _, tc := range []struct {
		name string
		msg  func(t *testing.T) []byte
	}{
		{"other name", func(t *testing.T) []byte { return ok.pack(t, "ww2.example.com.", dns.TypeA) }},
		{"other type", func(t *testing.T) []byte { return ok.pack(t, "www.example.com.", dns.TypeAAAA) }},
		{"not a response", func(t *testing.T) []byte {
			m := ok.msg("www.example.com.", dns.TypeA)
			m.Response = false
			b, _ := m.Pack()
			return b
		}},
		{"no question", func(t *testing.T) []byte {
			m := ok.msg("www.example.com.", dns.TypeA)
			m.Question = nil
			b, _ := m.Pack()
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := new(counter)
			c := newCache(t, func(c *Config) { c.Recorder = rec })
			q := mkQuery("www.example.com.", dns.TypeA)
			if got := c.Set(&q, tc.msg(t), time.Now()); got != Mismatch {
				t.Fatalf("Set = %v, want mismatch", got)
			}
			if rec.get("drops") != 1 || c.Len(Success) != 0 {
				t.Errorf("drops %d, entries %d", rec.get("drops"), c.Len(Success))
			}
		})
	}
}

// TestKeyKeepsDOAndCDApart pins the key: DO, CD, type and class separate
// entries; the AD bit and the name's case do not.
func TestKeyKeepsDOAndCDApart(t *testing.T) {
	base := mkQuery("www.example.com.", dns.TypeA)
	for _, tc := range []struct {
		name string
		mod  func(q *Query)
		hit  bool
	}{
		{"same query", func(q *Query) {}, true},
		{"DO set", func(q *Query) { q.DO = true }, false},
		{"CD set", func(q *Query) { q.Flags |= flagCD }, false},
		{"other type", func(q *Query) { q.Type = dns.TypeAAAA }, false},
		{"other class", func(q *Query) { q.Class = dns.ClassCHAOS }, false},
		{"AD set", func(q *Query) { q.Flags |= flagAD }, true},
		{"RD clear", func(q *Query) { q.Flags &^= flagRD }, true},
		{"other case", func(q *Query) { q.Name = mkQuery("WWW.Example.COM.", dns.TypeA).Name }, true},
		{"other name", func(q *Query) { q.Name = mkQuery("ww2.example.com.", dns.TypeA).Name }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, nil)
			now := time.Now()
			q := base
			msg := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA)
			if got := c.Set(&q, msg, now); got != Stored {
				t.Fatal(got)
			}
			q2 := base
			tc.mod(&q2)
			if _, st := c.Get(&q2, now, nil); st.Serve() != tc.hit {
				t.Errorf("Get = %v, want hit %v", st, tc.hit)
			}
		})
	}
}

// TestReplyKeepsClientCase pins SetReply: the question of a cached reply
// is the client's, byte for byte, whatever the case of the query that
// filled the cache.
func TestReplyKeepsClientCase(t *testing.T) {
	c := newCache(t, nil)
	now := time.Now()
	fill := mkQuery("www.example.com.", dns.TypeA)
	msg := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2"}}.
		pack(t, "www.example.com.", dns.TypeA)
	c.Set(&fill, msg, now)
	q := mkQuery("wWw.eXaMpLe.cOm.", dns.TypeA)
	resp, st := c.Get(&q, now, nil)
	if st != Hit {
		t.Fatal(st)
	}
	if !bytes.Equal(resp[headerLen:headerLen+len(q.Name)], q.Name) {
		t.Errorf("question %q, want %q", resp[headerLen:headerLen+len(q.Name)], q.Name)
	}
	m := unpack(t, resp)
	if m.Question[0].Name != "wWw.eXaMpLe.cOm." || len(m.Answer) != 2 {
		t.Errorf("reply %v", m)
	}
	// The upstream compressed the owners to the question, which now holds
	// the client's name: they read in the client's case. (CoreDNS repacks
	// and shows the first filler's case; DNS names compare
	// case-insensitively, so both are the same names.)
	for _, rr := range m.Answer {
		if rr.Header().Name != "wWw.eXaMpLe.cOm." {
			t.Errorf("owner %q", rr.Header().Name)
		}
	}
}

// TestTTLCountsDown pins item.ttl: origTTL − whole seconds since the store,
// the same TTL on every record, and a miss once it reaches 0 (without
// serve_stale).
func TestTTLCountsDown(t *testing.T) {
	c := newCache(t, cache30)
	clk := newClock()
	q := mkQuery("mixed.example.com.", dns.TypeA)
	msg := upstream{
		an: []string{"mixed.example.com. 100 IN A 192.0.2.1", "mixed.example.com. 20 IN A 192.0.2.2"},
		ns: []string{"example.com. 300 IN NS ns.example.com."},
		ex: []string{"ns.example.com. 300 IN A 192.0.2.53"},
	}.pack(t, "mixed.example.com.", dns.TypeA)
	c.Set(&q, msg, clk.at(0))
	for _, tc := range []struct {
		at   time.Duration
		want int // -1: miss
	}{
		{0, 20}, {999 * time.Millisecond, 20}, {time.Second, 19}, {2500 * time.Millisecond, 18},
		{19 * time.Second, 1}, {19999 * time.Millisecond, 1}, {20 * time.Second, -1}, {time.Hour, -1},
		{-time.Second, 20}, // a clock read before the store
	} {
		resp, st := c.Get(&q, clk.at(tc.at), nil)
		if tc.want < 0 {
			if st != Miss {
				t.Errorf("+%v: %v, want miss", tc.at, st)
			}
			continue
		}
		if st != Hit {
			t.Fatalf("+%v: %v, want hit", tc.at, st)
		}
		if m := unpack(t, resp); !allTTL(m, uint32(tc.want)) || len(ttls(m)) != 4 {
			t.Errorf("+%v: TTLs %v, want all %d", tc.at, ttls(m), tc.want)
		}
	}
}

// TestKeepTTL pins keepttl: the stored TTL is served until expiry.
func TestKeepTTL(t *testing.T) {
	c := newCache(t, func(c *Config) { cache30(c); c.KeepTTL = true })
	clk := newClock()
	q := mkQuery("www.example.com.", dns.TypeA)
	c.Set(&q, upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), clk.at(0))
	resp, st := c.Get(&q, clk.at(25*time.Second), nil)
	if st != Hit || !allTTL(unpack(t, resp), 30) {
		t.Errorf("%v %v", st, ttls(unpack(t, resp)))
	}
	if _, st := c.Get(&q, clk.at(30*time.Second), nil); st != Miss {
		t.Errorf("after expiry: %v", st)
	}
}

// TestHitHeader pins the header of a cached reply (item.toMsg): the
// client's ID, opcode, RD and CD; AA always; RA and rcode as stored; AD as
// stored only for a client that set DO or AD; no OPT record.
func TestHitHeader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		storedAD bool
		mod      func(q *Query)
		wantAD   bool
	}{
		{"plain", true, func(q *Query) {}, false},
		{"client AD", true, func(q *Query) { q.Flags |= flagAD }, true},
		{"client DO", true, func(q *Query) { q.DO = true }, true},
		{"client DO, stored without AD", false, func(q *Query) { q.DO = true }, false},
		{"RD clear", false, func(q *Query) { q.Flags &^= flagRD }, false},
		{"CD set", true, func(q *Query) { q.Flags |= flagCD }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, nil)
			now := time.Now()
			q := mkQuery("www.example.com.", dns.TypeA)
			tc.mod(&q)
			fill := q
			fill.Flags |= flagAD // the filler keeps AD in the stored reply
			up := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}, ad: tc.storedAD, edns: true}
			if got := c.Set(&fill, up.pack(t, "www.example.com.", dns.TypeA), now); got != Stored {
				t.Fatal(got)
			}
			q.ID = 0x1234
			resp, st := c.Get(&q, now, nil)
			if st != Hit {
				t.Fatal(st)
			}
			m := unpack(t, resp)
			if m.Id != 0x1234 || !m.Response || !m.Authoritative || !m.RecursionAvailable || m.Truncated {
				t.Errorf("header %+v", m.MsgHdr)
			}
			if m.RecursionDesired != (q.Flags&flagRD != 0) || m.CheckingDisabled != (q.Flags&flagCD != 0) {
				t.Errorf("RD/CD not the client's: %+v", m.MsgHdr)
			}
			if m.AuthenticatedData != tc.wantAD {
				t.Errorf("AD %v, want %v", m.AuthenticatedData, tc.wantAD)
			}
			if m.IsEdns0() != nil || len(m.Extra) != 0 {
				t.Errorf("extra %v, want none", m.Extra)
			}
		})
	}
}

// TestSetClearsAD pins the writer's AD rule on the reply passed on: AD is
// cleared unless the client set DO or AD.
func TestSetClearsAD(t *testing.T) {
	for _, tc := range []struct {
		do, ad, want bool
	}{{false, false, false}, {true, false, true}, {false, true, true}} {
		t.Run(fmt.Sprintf("DO=%v AD=%v", tc.do, tc.ad), func(t *testing.T) {
			c := newCache(t, nil)
			q := mkQuery("www.example.com.", dns.TypeA)
			q.DO = tc.do
			if tc.ad {
				q.Flags |= flagAD
			}
			msg := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}, ad: true}.pack(t, "www.example.com.", dns.TypeA)
			c.Set(&q, msg, time.Now())
			if got := unpack(t, msg).AuthenticatedData; got != tc.want {
				t.Errorf("AD %v, want %v", got, tc.want)
			}
		})
	}
}
