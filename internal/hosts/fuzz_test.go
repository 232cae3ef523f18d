package hosts

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The oracles below restate CoreDNS 1.14.2's code with the standard
// library it uses (net.ParseIP, maps of strings), so that the fuzz targets
// can hold the package to it on any input.

// coreMap is hostsfile.go's Map with addresses as net.IP.String().
type coreMap struct {
	name4, name6, addr map[string][]string
}

// coreParse restates Hostsfile.parse (hostsfile.go:155-203).
func coreParse(data string, origins []string, autoReverse bool) coreMap {
	m := coreMap{map[string][]string{}, map[string][]string{}, map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		s := f[0]
		if i := strings.Index(s, "%"); i >= 0 {
			s = s[:i]
		}
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		for _, n := range f[1:] {
			name := strings.ToLower(dns.Fqdn(n))
			if !coreMatches(origins, name) {
				continue
			}
			if ip.To4() != nil {
				m.name4[name] = append(m.name4[name], ip.String())
			} else {
				m.name6[name] = append(m.name6[name], ip.String())
			}
			if autoReverse {
				m.addr[ip.String()] = append(m.addr[ip.String()], name)
			}
		}
	}
	return m
}

// coreMatches is plugin.Zones(origins).Matches(name) != "".
func coreMatches(origins []string, name string) bool {
	for _, z := range origins {
		if dns.IsSubDomain(z, name) {
			return true
		}
	}
	return false
}

// coreReverse restates dnsutil.ExtractAddressFromReverse and the parse in
// LookupStaticAddr: the key CoreDNS looks a PTR question up by ("<nil>"
// for none).
func coreReverse(qname string) string {
	var search string
	v6 := false
	switch {
	case strings.HasSuffix(qname, ".in-addr.arpa."):
		search = strings.TrimSuffix(qname, ".in-addr.arpa.")
	case strings.HasSuffix(qname, ".ip6.arpa."):
		search, v6 = strings.TrimSuffix(qname, ".ip6.arpa."), true
	default:
		return net.ParseIP("").String()
	}
	l := strings.Split(search, ".")
	slices.Reverse(l)
	var s string
	if !v6 {
		s = net.ParseIP(strings.Join(l, ".")).To4().String()
	} else {
		var g []string
		for i := 0; i+4 <= len(l); i += 4 {
			g = append(g, strings.Join(l[i:i+4], ""))
		}
		s = net.ParseIP(strings.Join(g, ":")).To16().String()
	}
	return net.ParseIP(s).String()
}

// kept is the names of list this package keeps.
func kept(list []string) []string {
	var out []string
	for _, n := range list {
		if queryable(n) {
			out = append(out, n)
		}
	}
	return out
}

func addrStrings(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// checkAgainstCore compares the table built from data with coreParse's.
func checkAgainstCore(t *testing.T, data string, zones []string) {
	b := newBuilder(zones, true)
	if err := parseHostsFile(strings.NewReader(data), b); err != nil {
		return // a line over 64 KiB: the oracle would read on
	}
	core := coreParse(data, zones, true)
	want := map[string]bool{}
	for _, m := range []map[string][]string{core.name4, core.name6} {
		for n := range m {
			if queryable(n) {
				want[n] = true
			}
		}
	}
	if len(b.t.names) != len(want) {
		t.Fatalf("%d names, CoreDNS %d", len(b.t.names), len(want))
	}
	for n, h := range b.t.names {
		if !want[n] || !slices.Equal(addrStrings(h.v4), core.name4[n]) || !slices.Equal(addrStrings(h.v6), core.name6[n]) {
			t.Fatalf("%q: v4 %v v6 %v, CoreDNS %v %v", n, h.v4, h.v6, core.name4[n], core.name6[n])
		}
	}
	for a, names := range core.addr {
		got := b.t.addrs[netip.MustParseAddr(a)]
		if k := kept(names); len(k) > 0 && (got == nil || !slices.Equal(got.names, k)) {
			t.Fatalf("PTR %s: %v, CoreDNS %v", a, got, k)
		}
	}
}

// checkAnswers looks every name and address of h up and checks the packed
// answer against the records.
func checkAnswers(t *testing.T, h *Hosts) {
	tab := h.tab.Load()
	for name := range tab.names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			r := h.Lookup(name, qt)
			if r.Action != ActionAnswer {
				t.Fatalf("%s %d: %v", name, qt, r.Action)
			}
			checkPacked(t, name, qt, r)
		}
	}
	for a := range tab.addrs {
		q, _ := dns.ReverseAddr(a.String())
		r := h.Lookup(q, dns.TypePTR)
		if r.Action != ActionAnswer {
			t.Fatalf("PTR %s: %v", q, r.Action)
		}
		checkPacked(t, q, dns.TypePTR, r)
	}
}

func checkPacked(t *testing.T, qname string, qtype uint16, r Result) {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	q, err := m.Pack()
	if err != nil {
		t.Fatalf("pack %q: %v", qname, err)
	}
	out, n := r.AppendAnswer(q, 65535)
	if n != len(r.Records) && len(out) < 65000 {
		t.Fatalf("%s: %d of %d records", qname, n, len(r.Records))
	}
	binary.BigEndian.PutUint16(out[6:], uint16(n))
	if err := m.Unpack(out); err != nil || len(m.Answer) != n {
		t.Fatalf("%s: unpack: %v (%d answers)", qname, err, len(m.Answer))
	}
	// Compare with the records as miekg/dns packs them: a name with octets
	// outside printable ASCII is spelt escaped once unpacked.
	exp := new(dns.Msg)
	exp.SetQuestion(qname, qtype)
	exp.Answer = r.Records[:n]
	eb, err := exp.Pack()
	if err != nil {
		t.Fatalf("%s: pack records: %v", qname, err)
	}
	if err := exp.Unpack(eb); err != nil {
		t.Fatal(err)
	}
	for i, rr := range m.Answer {
		if !dns.IsDuplicate(rr, exp.Answer[i]) {
			t.Fatalf("%s: record %d packed as %v, want %v", qname, i, rr, exp.Answer[i])
		}
	}
}

func FuzzParseHostsFile(f *testing.F) {
	f.Add(testFile)
	f.Add("10.0.0.1 a.example.org A.Example.Org. b\n::1 a\tc.b.  # x\n")
	f.Add("fe80::1%eth0 z.example.org\n::ffff:1.2.3.4 m.b\n1.2.3.4%x y.b\n")
	f.Add("1.2.3.4 a\\.example.org a\\\\.example.org \\046.b a..b . \xff.b\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		for _, zones := range [][]string{{"."}, {"example.org.", "b."}} {
			checkAgainstCore(t, data, zones)
		}
		h := &Hosts{zones: []string{"."}, ttl: 60, reverse: true}
		tab, err := h.build(strings.NewReader(data), time.Time{})
		if err != nil && tab == nil {
			return
		}
		h.tab.Store(tab)
		checkAnswers(t, h)
	})
}

func FuzzReverseAddr(f *testing.F) {
	for _, s := range []string{
		"1.0.0.10.in-addr.arpa.", "256.0.0.10.in-addr.arpa.", "01.0.0.10.in-addr.arpa.", "0.10.in-addr.arpa.",
		"4.3.2.::ffff:1.in-addr.arpa.", "x.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.d.f.ip6.arpa.",
		"5.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", "00.00.00.00.00.00.00.01.ip6.arpa.",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.d.f.ip6.arpa.", "in-addr.arpa.", ".in-addr.arpa.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, qname string) {
		qname = strings.ToLower(qname)
		want := coreReverse(qname)
		a, ok := reverseAddr(qname)
		got := net.IP(nil).String()
		if ok {
			got = a.String()
		}
		if got != want {
			t.Fatalf("reverseAddr(%q) = %s, CoreDNS %s", qname, got, want)
		}
	})
}
