package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDisableZones pins `disable success|denial ZONES` (PR #5540): only
// storing is skipped, for names at or below the zones; the TTL rewrite
// still happens; the other cache and other zones are unaffected.
func TestDisableZones(t *testing.T) {
	kubeadm := func(c *Config) {
		cache30(c)
		c.DisableSuccess = []string{"cluster.local"}
		c.DisableDenial = []string{"Cluster.Local."}
	}
	nx := func(zone string) upstream {
		return upstream{rcode: dns.RcodeNameError,
			ns: []string{zone + " 120 IN SOA ns.dns." + zone + " host. 1 7200 3600 1209600 30"}}
	}
	for _, tc := range []struct {
		name, qname string
		cfg         func(*Config)
		up          upstream
		want        Outcome
	}{
		{"answer in a disabled zone, TTL 0", "api.default.svc.cluster.local.", kubeadm,
			upstream{an: []string{"api.default.svc.cluster.local. 0 IN A 10.96.0.1"}}, Disabled},
		{"the zone apex", "cluster.local.", kubeadm,
			upstream{an: []string{"cluster.local. 0 IN A 10.96.0.1"}}, Disabled},
		{"upper-case query name", "API.Default.SVC.Cluster.Local.", kubeadm,
			upstream{an: []string{"API.Default.SVC.Cluster.Local. 0 IN A 10.96.0.1"}}, Disabled},
		{"denial in a disabled zone", "nope.default.svc.cluster.local.", kubeadm, nx("cluster.local."), Disabled},
		{"a name that only ends like the zone", "xcluster.local.", kubeadm,
			upstream{an: []string{"xcluster.local. 0 IN A 10.0.0.1"}}, Stored},
		{"reverse zone still cached", "1.0.96.10.in-addr.arpa.", kubeadm,
			upstream{an: []string{"1.0.96.10.in-addr.arpa. 0 IN PTR kubernetes.default.svc.cluster.local."}}, Stored},
		{"denial cached when only success is disabled", "nope.default.svc.cluster.local.",
			func(c *Config) { cache30(c); c.DisableSuccess = []string{"cluster.local."} }, nx("cluster.local."), Stored},
		{"root disables everything", "www.example.com.", func(c *Config) { c.DisableSuccess = []string{"."} },
			upstream{an: []string{"www.example.com. 0 IN A 192.0.2.1"}}, Disabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, tc.cfg)
			now := time.Now()
			q := mkQuery(tc.qname, dns.TypeA)
			msg := tc.up.pack(t, tc.qname, dns.TypeA)
			if got := c.Set(&q, msg, now); got != tc.want {
				t.Fatalf("Set = %v, want %v", got, tc.want)
			}
			if m := unpack(t, msg); !allTTL(m, 5) && !allTTL(m, 30) {
				t.Errorf("passed-on TTLs %v, want the rewrite", ttls(m))
			}
			if _, st := c.Get(&q, now, nil); st.Serve() != (tc.want == Stored) {
				t.Errorf("Get = %v", st)
			}
		})
	}
	if _, err := New(Config{DisableSuccess: []string{"bad..zone"}}); err == nil {
		t.Error("a malformed zone was accepted")
	}
}

// TestCapacity pins the size CoreDNS keeps (256 shards of max(n/256, 4))
// and that the cache never holds more, evicting (and counting) when full.
func TestCapacity(t *testing.T) {
	for n, want := range map[int]int{10000: 9984, 2048: 2048, 2049: 2048, 100: 1024, 0: 1024} {
		if got := capacity(n); got != want {
			t.Errorf("capacity(%d) = %d, want %d", n, got, want)
		}
	}
	rec := new(counter)
	c := newCache(t, func(c *Config) { c.SuccessCapacity = 1024; c.Recorder = rec })
	now := time.Now()
	const names = 5000
	for i := range names {
		name := fmt.Sprintf("h%d.example.com.", i)
		q := mkQuery(name, dns.TypeA)
		c.Set(&q, upstream{an: []string{name + " 300 IN A 192.0.2.1"}}.pack(t, name, dns.TypeA), now)
	}
	n := c.Len(Success)
	if n > 1024 || n < 900 {
		t.Errorf("%d entries, want at most 1024 and most of it used", n)
	}
	if ev := rec.get("evictions/success"); ev != names-n {
		t.Errorf("%d evictions, want %d", ev, names-n)
	}
	if rec.get("entries/success") != n {
		t.Errorf("entries gauge %d, want %d", rec.get("entries/success"), n)
	}
	// Storing a name again replaces it: no eviction, no new entry.
	q := mkQuery("h4999.example.com.", dns.TypeA)
	c.Set(&q, upstream{an: []string{"h4999.example.com. 300 IN A 192.0.2.2"}}.pack(t, "h4999.example.com.", dns.TypeA), now)
	if c.Len(Success) != n || rec.get("evictions/success") != names-n {
		t.Errorf("replace changed the count: %d entries", c.Len(Success))
	}
}

// TestEvictionPrefersDeadEntries: a full set gives up an entry that can no
// longer be served before a live one (CoreDNS evicts at random).
func TestEvictionPrefersDeadEntries(t *testing.T) {
	c := newCache(t, func(c *Config) { c.SuccessCapacity = 1024 })
	clk := newClock()
	// Fill well past capacity with short-lived entries, then with live ones.
	put := func(prefix string, n int, ttl int, at time.Duration) {
		for i := range n {
			name := fmt.Sprintf("%s%d.example.com.", prefix, i)
			q := mkQuery(name, dns.TypeA)
			c.Set(&q, upstream{an: []string{fmt.Sprintf("%s %d IN A 192.0.2.1", name, ttl)}}.pack(t, name, dns.TypeA), clk.at(at))
		}
	}
	put("old", 2000, 5, 0)
	put("new", 500, 300, 10*time.Second)
	// Every new name is kept unless its set got more than eight of them.
	perSet := map[int]int{}
	live := 0
	for i := range 500 {
		q := mkQuery(fmt.Sprintf("new%d.example.com.", i), dns.TypeA)
		var kb keyBuf
		k, _ := makeKey(c.seed, &q, &kb)
		_, idx := c.success.set(k.hash)
		perSet[idx]++
		if _, st := c.Get(&q, clk.at(10*time.Second), nil); st == Hit {
			live++
		}
	}
	want := 500
	for _, n := range perSet {
		want -= max(n-ways, 0)
	}
	if live != want {
		t.Errorf("%d of 500 new entries kept, want %d", live, want)
	}
}

// TestPrefetch pins prefetch AMOUNT DURATION PERCENTAGE: popular after
// AMOUNT hits with no gap of DURATION, refreshed when the TTL is at most
// ⌈PERCENTAGE × stored TTL⌉, one refresh at a time; the refreshed entry
// keeps the popularity.
func TestPrefetch(t *testing.T) {
	rec := new(counter)
	c := newCache(t, func(c *Config) {
		cache30(c)
		c.Prefetch = Prefetch{Amount: 3, Duration: time.Minute, Percentage: 10}
		c.Recorder = rec
	})
	clk := newClock()
	q := mkQuery("www.example.com.", dns.TypeA)
	set := func(at time.Duration) {
		msg := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA)
		if got := c.Set(&q, msg, clk.at(at)); got != Stored {
			t.Fatal(got)
		}
	}
	set(0)
	for i, step := range []struct {
		at   time.Duration
		want Status
	}{
		{0, Hit},                        // 1 hit, TTL 30
		{25 * time.Second, Hit},         // 2 hits, TTL 5
		{26 * time.Second, Hit},         // 3 hits, but TTL 4 > ⌈0.1 × 30⌉ = 3
		{27 * time.Second, HitPrefetch}, // 4 hits, TTL 3
		{28 * time.Second, Hit},         // already claimed
	} {
		if _, st := c.Get(&q, clk.at(step.at), nil); st != step.want {
			t.Errorf("step %d (+%v): %v, want %v", i, step.at, st, step.want)
		}
	}
	if rec.get("prefetch") != 1 {
		t.Errorf("prefetch count %d", rec.get("prefetch"))
	}
	set(28 * time.Second) // the refresh
	// The new entry is popular from its first hit (a fresh one would need
	// three), due again at TTL ≤ 3.
	if _, st := c.Get(&q, clk.at(55*time.Second), nil); st != HitPrefetch {
		t.Errorf("refreshed entry: %v, want prefetch", st)
	}
}

// TestPrefetchGapResetsPopularity pins freq.Update: a gap of more than
// DURATION between hits starts the count again (exactly DURATION does not:
// the code tests last.Before(now − DURATION)).
func TestPrefetchGapResetsPopularity(t *testing.T) {
	c := newCache(t, func(c *Config) {
		cache30(c)
		c.Prefetch = Prefetch{Amount: 2, Duration: 10 * time.Second, Percentage: 90}
	})
	clk := newClock()
	q := mkQuery("www.example.com.", dns.TypeA)
	c.Set(&q, upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), clk.at(0))
	for _, step := range []struct {
		at   time.Duration
		want Status
	}{{time.Second, Hit}, {12 * time.Second, Hit}, {13 * time.Second, HitPrefetch}} {
		if _, st := c.Get(&q, clk.at(step.at), nil); st != step.want {
			t.Errorf("+%v: %v, want %v", step.at, st, step.want)
		}
	}
}

// TestPrefetchClaimLapses: a refresh that never stores a reply (the
// upstream failed) gives up its claim after claimFor, and the next hit
// asks again.
func TestPrefetchClaimLapses(t *testing.T) {
	c := newCache(t, func(c *Config) {
		cache30(c)
		c.Prefetch = Prefetch{Amount: 1, Duration: time.Minute, Percentage: 90}
	})
	clk := newClock()
	q := mkQuery("www.example.com.", dns.TypeA)
	c.Set(&q, upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), clk.at(0))
	for _, step := range []struct {
		at   time.Duration
		want Status
	}{{time.Second, Hit}, {3 * time.Second, HitPrefetch}, {7 * time.Second, Hit}, {8 * time.Second, HitPrefetch}} {
		if _, st := c.Get(&q, clk.at(step.at), nil); st != step.want {
			t.Errorf("+%v: %v, want %v", step.at, st, step.want)
		}
	}
}

// TestServeStale pins serve_stale: an expired entry is served with TTL 0
// for DURATION after expiry, refreshed once in the background (immediate)
// or only after the upstream failed (verify); an entry at TTL exactly 0
// is a plain hit in 1.14.2.
func TestServeStale(t *testing.T) {
	for _, verify := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			rec := new(counter)
			c := newCache(t, func(c *Config) {
				cache30(c)
				c.ServeStale = ServeStale{Duration: time.Minute, Verify: verify}
				c.Recorder = rec
			})
			clk := newClock()
			q := mkQuery("www.example.com.", dns.TypeA)
			c.Set(&q, upstream{an: []string{"www.example.com. 10 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), clk.at(0))
			resp, st := c.Get(&q, clk.at(10*time.Second), nil)
			if st != Hit || !allTTL(unpack(t, resp), 0) {
				t.Errorf("TTL 0: %v", st)
			}
			want := []Status{StaleRefresh, Stale}
			if verify {
				want = []Status{Verify, Verify}
			}
			for i, w := range want {
				resp, st := c.Get(&q, clk.at(11*time.Second+time.Duration(i)*time.Second), nil)
				if st != w {
					t.Errorf("expired, get %d: %v, want %v", i, st, w)
				}
				if verify {
					if resp != nil {
						t.Error("verify wrote a reply")
					}
					resp, _ = c.GetStale(&q, clk.at(11*time.Second), nil)
				}
				if m := unpack(t, resp); !allTTL(m, 0) {
					t.Errorf("stale TTLs %v, want 0", ttls(m))
				}
			}
			if rec.get("served_stale") != 2 {
				t.Errorf("served_stale %d", rec.get("served_stale"))
			}
			// Expired for DURATION: gone.
			if _, st := c.Get(&q, clk.at(10*time.Second+time.Minute), nil); st != Miss {
				t.Errorf("after the window: %v", st)
			}
			if _, ok := c.GetStale(&q, clk.at(10*time.Second+time.Minute), nil); ok {
				t.Error("GetStale after the window")
			}
		})
	}
	c := newCache(t, cache30)
	q := mkQuery("www.example.com.", dns.TypeA)
	now := time.Now()
	c.Set(&q, upstream{an: []string{"www.example.com. 10 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), now)
	if _, st := c.Get(&q, now.Add(10*time.Second), nil); st != Miss {
		t.Errorf("without serve_stale, TTL 0: %v, want miss", st)
	}
}

// TestServfailDoesNotShadowSuccess pins v1.14.4's #8003: a cached SERVFAIL
// does not hide a servable answer for the same key, while an NXDOMAIN
// does (the denial cache is looked at first).
func TestServfailDoesNotShadowSuccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rcode int
		want  int
	}{
		{"SERVFAIL", dns.RcodeServerFailure, dns.RcodeSuccess},
		{"NXDOMAIN", dns.RcodeNameError, dns.RcodeNameError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, nil)
			now := time.Now()
			q := mkQuery("www.example.com.", dns.TypeA)
			c.Set(&q, upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), now)
			c.Set(&q, upstream{rcode: tc.rcode, ns: []string{soa120}}.pack(t, "www.example.com.", dns.TypeA), now)
			resp, st := c.Get(&q, now, nil)
			if st != Hit || unpack(t, resp).Rcode != tc.want {
				t.Errorf("%v rcode %d, want %d", st, unpack(t, resp).Rcode, tc.want)
			}
		})
	}
}

// TestAnswerReplacesDenial: storing an answer removes a denial for the
// same key, which a stale window would otherwise keep serving.
func TestAnswerReplacesDenial(t *testing.T) {
	c := newCache(t, func(c *Config) { c.ServeStale.Duration = time.Hour })
	clk := newClock()
	q := mkQuery("new.example.com.", dns.TypeA)
	c.Set(&q, upstream{rcode: dns.RcodeNameError, ns: []string{soa120}}.pack(t, "new.example.com.", dns.TypeA), clk.at(0))
	c.Set(&q, upstream{an: []string{"new.example.com. 300 IN A 192.0.2.1"}}.pack(t, "new.example.com.", dns.TypeA), clk.at(200*time.Second))
	resp, st := c.Get(&q, clk.at(201*time.Second), nil)
	if st != Hit || unpack(t, resp).Rcode != dns.RcodeSuccess || c.Len(Denial) != 0 {
		t.Errorf("%v %v, denial entries %d", st, unpack(t, resp).Rcode, c.Len(Denial))
	}
}

// TestStoredWithoutOPT: the upstream's OPT record is not stored, wherever
// it is in the additional section.
func TestStoredWithoutOPT(t *testing.T) {
	c := newCache(t, nil)
	now := time.Now()
	q := mkQuery("www.example.com.", dns.TypeMX)
	m := upstream{an: []string{"www.example.com. 300 IN MX 10 mx.example.com."}, edns: true}.msg("www.example.com.", dns.TypeMX)
	// OPT first, then glue that compresses against the answer.
	m.Extra = append(m.Extra, rrs([]string{"mx.example.com. 300 IN A 192.0.2.25", "mx.example.com. 300 IN AAAA 2001:db8::25"})...)
	msg, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Set(&q, msg, now); got != Stored {
		t.Fatal(got)
	}
	resp, _ := c.Get(&q, now, nil)
	r := unpack(t, resp)
	if len(r.Extra) != 2 || r.IsEdns0() != nil || r.Extra[0].Header().Name != "mx.example.com." {
		t.Errorf("extra %v", r.Extra)
	}
}

// TestMalformedReply: a reply that cannot be read is left untouched.
func TestMalformedReply(t *testing.T) {
	c := newCache(t, nil)
	q := mkQuery("www.example.com.", dns.TypeA)
	msg := upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA)
	for n := range len(msg) - 1 {
		cut := bytes.Clone(msg[:n])
		if got := c.Set(&q, cut, time.Now()); got != Malformed {
			t.Errorf("cut at %d: %v", n, got)
		}
		if !bytes.Equal(cut, msg[:n]) {
			t.Errorf("cut at %d: modified", n)
		}
	}
}

// TestGetAllocatesNothing pins the hit path at zero allocations, fresh,
// prefetching and stale, with the Recorder called.
func TestGetAllocatesNothing(t *testing.T) {
	c := newCache(t, func(c *Config) {
		c.Prefetch.Amount = 1
		c.ServeStale.Duration = time.Hour
		c.Recorder = nopRecorder{}
	})
	clk := newClock()
	q := mkQuery("www.example.com.", dns.TypeA)
	c.Set(&q, upstream{an: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), clk.at(0))
	buf := make([]byte, 0, 512)
	for _, at := range []time.Duration{0, 290 * time.Second, 400 * time.Second} {
		var st Status
		if n := testing.AllocsPerRun(100, func() { _, st = c.Get(&q, clk.at(at), buf) }); n != 0 {
			t.Errorf("+%v (%v): %v allocations", at, st, n)
		}
	}
	miss := mkQuery("nope.example.com.", dns.TypeA)
	if n := testing.AllocsPerRun(100, func() { c.Get(&miss, clk.at(0), buf) }); n != 0 {
		t.Errorf("miss: %v allocations", n)
	}
}

// TestConcurrentGetSet runs readers against writers that replace and evict
// (for the race detector): every hit must be a whole, well-formed reply
// for the name asked.
func TestConcurrentGetSet(t *testing.T) {
	c := newCache(t, func(c *Config) { c.SuccessCapacity = 1024 })
	now := time.Now()
	const names = 3000
	msgs := make([][]byte, names)
	for i := range names {
		name := fmt.Sprintf("n%d.example.com.", i)
		msgs[i] = upstream{an: []string{name + " 300 IN A 192.0.2.1"}}.pack(t, name, dns.TypeA)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			buf := make([]byte, 0, 512)
			for range 5000 {
				i := rand.IntN(names)
				q := mkQuery(fmt.Sprintf("n%d.example.com.", i), dns.TypeA)
				if w%2 == 0 {
					c.Set(&q, bytes.Clone(msgs[i]), now)
					continue
				}
				resp, st := c.Get(&q, now, buf)
				if st == Hit {
					m := new(dns.Msg)
					if err := m.Unpack(resp); err != nil || m.Answer[0].Header().Name != fmt.Sprintf("n%d.example.com.", i) {
						t.Errorf("bad hit for n%d: %v %v", i, err, m)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestLower checks the eight-at-a-time lower-casing against the byte rule.
func TestLower(t *testing.T) {
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(i)
	}
	for n := range len(src) {
		for off := range 8 {
			if off+n > len(src) {
				break
			}
			in := src[off : off+n]
			got := make([]byte, n)
			lower(got, in)
			for i, c := range in {
				want := c
				if c >= 'A' && c <= 'Z' {
					want += 32
				}
				if got[i] != want {
					t.Fatalf("lower(%d..%d)[%d] = %#x, want %#x", off, off+n, i, got[i], want)
				}
			}
		}
	}
}

// TestConfigChecks pins setup.go's rejections.
func TestConfigChecks(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"zero max TTL":         func(c *Config) { c.SuccessMaxTTL = 0 },
		"negative min TTL":     func(c *Config) { c.DenialMinTTL = -time.Second },
		"servfail over 5m":     func(c *Config) { c.ServfailTTL = 6 * time.Minute },
		"negative servfail":    func(c *Config) { c.ServfailTTL = -1 },
		"negative prefetch":    func(c *Config) { c.Prefetch.Amount = -1 },
		"prefetch percent 5":   func(c *Config) { c.Prefetch = Prefetch{Amount: 1, Duration: time.Minute, Percentage: 5} },
		"prefetch percent 91":  func(c *Config) { c.Prefetch = Prefetch{Amount: 1, Duration: time.Minute, Percentage: 91} },
		"negative serve_stale": func(c *Config) { c.ServeStale.Duration = -time.Second },
	} {
		cfg := DefaultConfig()
		mod(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestUnclaimAfterFailedRefresh: a refresh that failed gives up its claim,
// and the next stale hit is asked to refresh again.
func TestUnclaimAfterFailedRefresh(t *testing.T) {
	c := newCache(t, func(c *Config) {
		cache30(c)
		c.ServeStale = ServeStale{Duration: time.Minute}
	})
	clk := newClock()
	q := mkQuery("www.example.com.", dns.TypeA)
	c.Set(&q, upstream{an: []string{"www.example.com. 10 IN A 192.0.2.1"}}.pack(t, "www.example.com.", dns.TypeA), clk.at(0))
	if _, st := c.Get(&q, clk.at(11*time.Second), nil); st != StaleRefresh {
		t.Fatalf("first stale hit: %v", st)
	}
	if _, st := c.Get(&q, clk.at(12*time.Second), nil); st != Stale {
		t.Fatalf("while claimed: %v", st)
	}
	c.Unclaim(&q, clk.at(12*time.Second))
	if _, st := c.Get(&q, clk.at(12*time.Second), nil); st != StaleRefresh {
		t.Errorf("after Unclaim: %v, want %v", st, StaleRefresh)
	}
}
