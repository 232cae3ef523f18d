package hosts

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/miekg/dns"
)

// testFile is the hosts file most cases read.
const testFile = `# comment line 10.9.9.9 commented.example.org
127.0.0.1       localhost
10.0.0.1        web.example.org www.example.org   # trailing comment gone.example.org
10.0.0.2        Mixed.Example.ORG
10.0.0.3        dup.example.org
10.0.0.3        dup.example.org
10.0.0.4        outside.example.net web.example.org
fdfc::1         web.example.org
fe80::1%eth0    zoned.example.org
::ffff:10.0.0.5 mapped.example.org
10.0.0.6%eth0   v4zone.example.org
10.0.0.7
not-an-ip       bad.example.org
010.0.0.8       leadingzero.example.org
10.0.0.9	tab.example.org	other.example.org
10.0.0.10       a..b.example.org
`

// newTestHosts writes file (when not "") and builds Hosts from h, whose
// File it sets; zero fields take the CoreDNS defaults.
func newTestHosts(t testing.TB, file string, h corefile.Hosts) *Hosts {
	t.Helper()
	h.File = filepath.Join(t.TempDir(), "hosts")
	if file != "" {
		if err := os.WriteFile(h.File, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if h.Zones == nil {
		h.Zones = []string{"example.org."}
	}
	if h.TTL == 0 {
		h.TTL = corefile.DefaultHostsTTL
	}
	hs, err := New(&h, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func inline(addr string, names ...string) corefile.HostsEntry {
	return corefile.HostsEntry{Addr: netip.MustParseAddr(addr), Names: names}
}

// values is the answer's records as "TYPE owner value ttl" lines.
func values(r Result) []string {
	var out []string
	for _, rr := range r.Records {
		h := rr.Header()
		v := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, dns.TypeToString[h.Rrtype]+" "+h.Name+" "+v+" "+strconv.FormatUint(uint64(h.Ttl), 10))
	}
	return out
}

type lookupCase struct {
	rule   string
	qname  string
	qtype  uint16
	action Action
	want   []string
}

func runLookups(t *testing.T, h *Hosts, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			r := h.Lookup(c.qname, c.qtype)
			if r.Action != c.action {
				t.Fatalf("Lookup(%s, %s): action %v, want %v", c.qname, dns.TypeToString[c.qtype], r.Action, c.action)
			}
			if got := values(r); !slices.Equal(got, c.want) {
				t.Fatalf("Lookup(%s, %s) records:\n got %q\nwant %q", c.qname, dns.TypeToString[c.qtype], got, c.want)
			}
		})
	}
}

func TestLookupFileAndInline(t *testing.T) {
	h := newTestHosts(t, testFile, corefile.Hosts{Entries: []corefile.HostsEntry{
		inline("10.1.0.1", "inline.example.org."),
		inline("10.1.0.2", "web.example.org."),
		inline("::ffff:10.1.0.3", "inlinemapped.example.org."),
	}})
	A, AAAA := dns.TypeA, dns.TypeAAAA
	runLookups(t, h, []lookupCase{
		{"inline entry answered", "inline.example.org.", A, ActionAnswer, []string{"A inline.example.org. 10.1.0.1 3600"}},
		{"file entry answered", "www.example.org.", A, ActionAnswer, []string{"A www.example.org. 10.0.0.1 3600"}},
		{"file entries then inline, each in order (hostsfile.go:224-229)", "web.example.org.", A, ActionAnswer, []string{
			"A web.example.org. 10.0.0.1 3600", "A web.example.org. 10.0.0.4 3600", "A web.example.org. 10.1.0.2 3600"}},
		{"AAAA from an IPv6 line", "web.example.org.", AAAA, ActionAnswer, []string{"AAAA web.example.org. fdfc::1 3600"}},
		{"names are lower-cased (plugin.Name.Normalize)", "mixed.example.org.", A, ActionAnswer, []string{"A mixed.example.org. 10.0.0.2 3600"}},
		{"the question is lower-cased (request.Name)", "MIXED.Example.org.", A, ActionAnswer, []string{"A mixed.example.org. 10.0.0.2 3600"}},
		{"a name without trailing dot is fully qualified", "www.example.org", A, ActionAnswer, []string{"A www.example.org. 10.0.0.1 3600"}},
		{"duplicate lines give duplicate records", "dup.example.org.", A, ActionAnswer, []string{
			"A dup.example.org. 10.0.0.3 3600", "A dup.example.org. 10.0.0.3 3600"}},
		{"comment text is no name", "gone.example.org.", A, ActionServFail, nil},
		{"a commented line is no entry", "commented.example.org.", A, ActionServFail, nil},
		{"tabs separate fields", "other.example.org.", A, ActionAnswer, []string{"A other.example.org. 10.0.0.9 3600"}},
		{"IPv6 zone cut off (parseIP)", "zoned.example.org.", AAAA, ActionAnswer, []string{"AAAA zoned.example.org. fe80::1 3600"}},
		{"IPv4 with a zone cut off too", "v4zone.example.org.", A, ActionAnswer, []string{"A v4zone.example.org. 10.0.0.6 3600"}},
		{"IPv4-mapped IPv6 is an A record (To4)", "mapped.example.org.", A, ActionAnswer, []string{"A mapped.example.org. 10.0.0.5 3600"}},
		{"IPv4-mapped IPv6 has no AAAA", "mapped.example.org.", AAAA, ActionAnswer, nil},
		{"inline IPv4-mapped is an A record", "inlinemapped.example.org.", A, ActionAnswer, []string{"A inlinemapped.example.org. 10.1.0.3 3600"}},
		{"a line with an address only is skipped", "10.0.0.7.example.org.", A, ActionServFail, nil},
		{"a line whose address does not parse is skipped", "bad.example.org.", A, ActionServFail, nil},
		{"leading zeros are no IPv4 address (net.ParseIP)", "leadingzero.example.org.", A, ActionServFail, nil},
		{"an invalid domain name is dropped", "a..b.example.org.", A, ActionServFail, nil},
		{"names outside the zones are dropped: next, whatever fallthrough", "outside.example.net.", A, ActionNext, nil},
		{"localhost is outside the zones", "localhost.", A, ActionNext, nil},
	})
}

func TestLookupNoDataAndNXDomain(t *testing.T) {
	file := "10.0.0.1 v4only.example.org\nfdfc::1 v6only.example.org\n10.0.0.2 host.sub.example.org\n"
	A, AAAA, MX := dns.TypeA, dns.TypeAAAA, dns.TypeMX
	t.Run("no fallthrough", func(t *testing.T) {
		h := newTestHosts(t, file, corefile.Hosts{})
		runLookups(t, h, []lookupCase{
			{"AAAA for an IPv4-only name is NODATA (otherRecordsExist)", "v4only.example.org.", AAAA, ActionAnswer, nil},
			{"A for an IPv6-only name is NODATA", "v6only.example.org.", A, ActionAnswer, nil},
			{"another type for a known name is NODATA", "v4only.example.org.", MX, ActionAnswer, nil},
			{"an unknown name is SERVFAIL, not NXDOMAIN (hosts.go:61-63)", "nope.example.org.", A, ActionServFail, nil},
			{"an unknown name's other types are SERVFAIL", "nope.example.org.", MX, ActionServFail, nil},
			{"an empty non-terminal is unknown: SERVFAIL", "sub.example.org.", A, ActionServFail, nil},
			{"the zone apex is unknown: SERVFAIL", "example.org.", dns.TypeSOA, ActionServFail, nil},
			{"outside the zones: next", "nope.example.com.", A, ActionNext, nil},
		})
	})
	t.Run("fallthrough", func(t *testing.T) {
		h := newTestHosts(t, file, corefile.Hosts{Fallthrough: []string{"."}})
		runLookups(t, h, []lookupCase{
			{"an unknown name falls through", "nope.example.org.", A, ActionNext, nil},
			{"NODATA does not fall through (only NXDOMAIN does)", "v4only.example.org.", AAAA, ActionAnswer, nil},
			{"a known name is answered", "v4only.example.org.", A, ActionAnswer, []string{"A v4only.example.org. 10.0.0.1 3600"}},
		})
	})
	t.Run("fallthrough zones", func(t *testing.T) {
		h := newTestHosts(t, file, corefile.Hosts{Fallthrough: []string{"sub.example.org."}})
		runLookups(t, h, []lookupCase{
			{"an unknown name under a fallthrough zone falls through", "nope.sub.example.org.", A, ActionNext, nil},
			{"an unknown name elsewhere is SERVFAIL", "nope.example.org.", A, ActionServFail, nil},
		})
	})
}

func TestLookupPTR(t *testing.T) {
	file := "10.0.0.1 web.example.org www.example.org outside.example.net\n" +
		"fdfc::1 web.example.org\n::ffff:10.0.0.5 mapped.example.org\n10.0.0.9 only.example.net\n"
	entries := []corefile.HostsEntry{inline("10.0.0.1", "inline.example.org.")}
	PTR := dns.TypePTR
	v6 := "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.d.f.ip6.arpa."
	mapped6 := "5.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."
	t.Run("reverse", func(t *testing.T) {
		h := newTestHosts(t, file, corefile.Hosts{Entries: entries})
		runLookups(t, h, []lookupCase{
			{"PTR for every name of the address, file then inline (hostsfile.go:248-258)", "1.0.0.10.in-addr.arpa.", PTR, ActionAnswer, []string{
				"PTR 1.0.0.10.in-addr.arpa. web.example.org. 3600", "PTR 1.0.0.10.in-addr.arpa. www.example.org. 3600",
				"PTR 1.0.0.10.in-addr.arpa. inline.example.org. 3600"}},
			{"PTR for an IPv6 address", v6, PTR, ActionAnswer, []string{"PTR " + v6 + " web.example.org. 3600"}},
			{"PTR for an IPv4-mapped address is its IPv4 one", "5.0.0.10.in-addr.arpa.", PTR, ActionAnswer, []string{
				"PTR 5.0.0.10.in-addr.arpa. mapped.example.org. 3600"}},
			{"PTR in ip6.arpa. for an IPv4-mapped address, owned by the question", mapped6, PTR, ActionAnswer, []string{
				"PTR " + mapped6 + " mapped.example.org. 3600"}},
			{"PTR question lower-cased", "1.0.0.10.IN-ADDR.ARPA.", PTR, ActionAnswer, []string{
				"PTR 1.0.0.10.in-addr.arpa. web.example.org. 3600", "PTR 1.0.0.10.in-addr.arpa. www.example.org. 3600",
				"PTR 1.0.0.10.in-addr.arpa. inline.example.org. 3600"}},
			{"no PTR for names outside the zones: next", "9.0.0.10.in-addr.arpa.", PTR, ActionNext, nil},
			{"an unknown address is next, not SERVFAIL (hosts.go:41-45)", "2.0.0.10.in-addr.arpa.", PTR, ActionNext, nil},
			{"a partial reverse name is next", "0.10.in-addr.arpa.", PTR, ActionNext, nil},
			{"PTR for a forward name in the zones is next", "web.example.org.", PTR, ActionNext, nil},
			{"A for a reverse name outside the zones is next", "1.0.0.10.in-addr.arpa.", dns.TypeA, ActionNext, nil},
		})
	})
	t.Run("no_reverse", func(t *testing.T) {
		h := newTestHosts(t, file, corefile.Hosts{Entries: entries, NoReverse: true, Fallthrough: nil})
		runLookups(t, h, []lookupCase{
			{"no_reverse: no PTR, next", "1.0.0.10.in-addr.arpa.", PTR, ActionNext, nil},
			{"no_reverse keeps A", "web.example.org.", dns.TypeA, ActionAnswer, []string{"A web.example.org. 10.0.0.1 3600"}},
		})
	})
	t.Run("reverse zone served", func(t *testing.T) {
		h := newTestHosts(t, file, corefile.Hosts{Zones: []string{"example.org.", "in-addr.arpa."}})
		runLookups(t, h, []lookupCase{
			{"an unknown address in a served reverse zone is still next", "2.0.0.10.in-addr.arpa.", PTR, ActionNext, nil},
			{"other types for a reverse name in the zones are SERVFAIL", "2.0.0.10.in-addr.arpa.", dns.TypeA, ActionServFail, nil},
		})
	})
}

func TestLookupTTL(t *testing.T) {
	h := newTestHosts(t, "10.0.0.1 web.example.org\n", corefile.Hosts{TTL: 30})
	runLookups(t, h, []lookupCase{
		{"ttl applies to A", "web.example.org.", dns.TypeA, ActionAnswer, []string{"A web.example.org. 10.0.0.1 30"}},
		{"ttl applies to PTR", "1.0.0.10.in-addr.arpa.", dns.TypePTR, ActionAnswer, []string{"PTR 1.0.0.10.in-addr.arpa. web.example.org. 30"}},
	})
}

func TestZonesFilter(t *testing.T) {
	h := newTestHosts(t, "10.0.0.1 a.example.org b.example.net c.example.com\n", corefile.Hosts{
		Zones: []string{"example.org.", "example.net."}, Fallthrough: []string{"."}})
	runLookups(t, h, []lookupCase{
		{"a name in the first zone is kept", "a.example.org.", dns.TypeA, ActionAnswer, []string{"A a.example.org. 10.0.0.1 3600"}},
		{"a name in the second zone is kept", "b.example.net.", dns.TypeA, ActionAnswer, []string{"A b.example.net. 10.0.0.1 3600"}},
		{"a name outside the zones is dropped", "c.example.com.", dns.TypeA, ActionNext, nil},
		{"PTR names only those kept", "1.0.0.10.in-addr.arpa.", dns.TypePTR, ActionAnswer, []string{
			"PTR 1.0.0.10.in-addr.arpa. a.example.org. 3600", "PTR 1.0.0.10.in-addr.arpa. b.example.net. 3600"}},
		{"a suffix that is not a label boundary is outside", "aexample.org.", dns.TypeA, ActionNext, nil},
	})
}

func TestNewErrors(t *testing.T) {
	t.Run("a missing file serves the inline entries (setup.go:97-103)", func(t *testing.T) {
		h := newTestHosts(t, "", corefile.Hosts{Entries: []corefile.HostsEntry{inline("10.0.0.1", "a.example.org.")}})
		if got := values(h.Lookup("a.example.org.", dns.TypeA)); len(got) != 1 {
			t.Fatalf("inline entry: %q", got)
		}
	})
	t.Run("no zones", func(t *testing.T) {
		if _, err := New(&corefile.Hosts{File: "/nonexistent"}, nil); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a directory is an error", func(t *testing.T) {
		if _, err := New(&corefile.Hosts{File: t.TempDir(), Zones: []string{"."}}, nil); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a file over MaxFileSize is an error", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "hosts")
		bigFile(t, p)
		if _, err := New(&corefile.Hosts{File: p, Zones: []string{"."}}, nil); err == nil {
			t.Fatal("no error")
		}
	})
}

// bigFile makes a sparse file one byte over MaxFileSize.
func bigFile(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
}

func TestEntriesAndModTime(t *testing.T) {
	h := newTestHosts(t, "10.0.0.1 a.example.org b.example.org\nfdfc::1 a.example.org\n", corefile.Hosts{
		Entries: []corefile.HostsEntry{inline("10.0.0.2", "c.example.org.")}})
	// Map.Len (hostsfile.go:73-85): 4 addresses per name plus 4 names per address.
	if got := h.Entries(); got != 8 {
		t.Errorf("Entries() = %d, want 8", got)
	}
	if h.ModTime().IsZero() || time.Since(h.ModTime()) > time.Hour {
		t.Errorf("ModTime() = %v", h.ModTime())
	}
}
