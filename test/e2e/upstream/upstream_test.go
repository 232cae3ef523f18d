package upstream

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The upstream answers what the forwarding tests rely on, and logs it.
func TestUpstreamServesTheTestZone(t *testing.T) {
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ask := func(name string, qtype uint16, network string, size uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if size > 0 {
			m.SetEdns0(size, false)
		}
		r, _, err := (&dns.Client{Net: network}).Exchange(m, s.Addr)
		if err != nil {
			t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
		}
		return r
	}
	if r := ask(Alias, dns.TypeA, "udp", 1232); len(r.Answer) != 3 || r.Answer[2].(*dns.A).A.String() != "192.0.2.10" {
		t.Errorf("CNAME chain: %v", r.Answer)
	}
	if r := ask(WWW, dns.TypeAAAA, "udp", 0); len(r.Answer) != 1 {
		t.Errorf("AAAA: %v", r.Answer)
	}
	if r := ask(Missing, dns.TypeA, "udp", 0); r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
		t.Errorf("NXDOMAIN: %v", r)
	}
	if r := ask(TXTOnly, dns.TypeA, "udp", 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Errorf("NODATA: %v", r)
	}
	if r := ask(BigTXT, dns.TypeTXT, "udp", 1232); !r.Truncated {
		t.Errorf("big TXT over UDP not truncated")
	}
	if r := ask(BigTXT, dns.TypeTXT, "tcp", 0); len(r.Answer) != 12 {
		t.Errorf("big TXT over TCP: %d records", len(r.Answer))
	}
	if r := ask(PTRName, dns.TypePTR, "udp", 0); len(r.Answer) != 1 {
		t.Errorf("PTR: %v", r.Answer)
	}
	if r := ask("other.org.", dns.TypeA, "udp", 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("outside the test zones: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if n := s.Count(Alias, "A"); n != 1 {
		t.Errorf("the log counts %d queries for %s A, want 1 (%v)", n, Alias, s.Queries())
	}
	s.Stop()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Queries()); n != 0 {
		t.Errorf("log not reset by Restart: %v", s.Queries())
	}
}

// The benchmark's names: bulk records, a wildcard for misses, no log.
func TestUpstreamBenchmarkNames(t *testing.T) {
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := StartWith(t.TempDir(), Options{Bulk: 300, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		r, _, err := (&dns.Client{}).Exchange(m, s.Addr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	if r := ask(fmt.Sprintf(BulkFormat, 299), dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "198.18.1.43" {
		t.Errorf("bulk A: %v", r.Answer)
	}
	if r := ask(fmt.Sprintf(BulkFormat, 299), dns.TypeAAAA); len(r.Answer) != 1 || r.Answer[0].(*dns.AAAA).AAAA.String() != "2001:db8:1::12b" {
		t.Errorf("bulk AAAA: %v", r.Answer)
	}
	if r := ask(fmt.Sprintf(BulkFormat, 300), dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("past the bulk: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := ask(fmt.Sprintf(MissFormat, 123456), dns.TypeA); len(r.Answer) != 1 || r.Answer[0].Header().Name != fmt.Sprintf(MissFormat, 123456) {
		t.Errorf("wildcard: %v", r.Answer)
	}
	time.Sleep(200 * time.Millisecond)
	if q := s.Queries(); len(q) != 0 {
		t.Errorf("quiet upstream logged %v", q)
	}
}
