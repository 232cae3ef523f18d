package transfer

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// ---- targets ----

func TestParseTarget(t *testing.T) {
	v4 := netip.MustParseAddr("10.0.0.5")
	v6 := netip.MustParseAddr("fd00::5")
	tests := []struct {
		name   string
		in     string
		want   Target
		str    string // String(); the input when empty
		errHas string // non-empty: an error containing this is expected
	}{
		{name: "star is anyone", in: "*", want: Target{Any: true}},
		{name: "star with spaces", in: "  * ", want: Target{Any: true}, str: "*"},
		{name: "IPv4 address gets port 53", in: "10.0.0.5",
			want: Target{Prefix: netip.PrefixFrom(v4, 32), Notify: netip.AddrPortFrom(v4, 53)}, str: "10.0.0.5:53"},
		{name: "IPv4 address with port", in: "10.0.0.5:5353",
			want: Target{Prefix: netip.PrefixFrom(v4, 32), Notify: netip.AddrPortFrom(v4, 5353)}},
		{name: "IPv4 address with the highest port", in: "10.0.0.5:65535",
			want: Target{Prefix: netip.PrefixFrom(v4, 32), Notify: netip.AddrPortFrom(v4, 65535)}},
		{name: "IPv6 address gets port 53", in: "fd00::5",
			want: Target{Prefix: netip.PrefixFrom(v6, 128), Notify: netip.AddrPortFrom(v6, 53)}, str: "[fd00::5]:53"},
		{name: "bracketed IPv6 address gets port 53", in: "[fd00::5]",
			want: Target{Prefix: netip.PrefixFrom(v6, 128), Notify: netip.AddrPortFrom(v6, 53)}, str: "[fd00::5]:53"},
		{name: "bracketed IPv6 address with port", in: "[fd00::5]:5353",
			want: Target{Prefix: netip.PrefixFrom(v6, 128), Notify: netip.AddrPortFrom(v6, 5353)}},
		{name: "IPv4-mapped IPv6 address is the IPv4 address", in: "::ffff:10.0.0.5",
			want: Target{Prefix: netip.PrefixFrom(v4, 32), Notify: netip.AddrPortFrom(v4, 53)}, str: "10.0.0.5:53"},
		{name: "IPv4-mapped IPv6 address with port", in: "[::ffff:10.0.0.5]:54",
			want: Target{Prefix: netip.PrefixFrom(v4, 32), Notify: netip.AddrPortFrom(v4, 54)}, str: "10.0.0.5:54"},
		{name: "IPv4 CIDR has no NOTIFY", in: "10.0.0.0/24",
			want: Target{Prefix: netip.MustParsePrefix("10.0.0.0/24")}},
		{name: "CIDR with host bits is masked", in: "10.0.0.77/24",
			want: Target{Prefix: netip.MustParsePrefix("10.0.0.0/24")}, str: "10.0.0.0/24"},
		{name: "IPv6 CIDR", in: "fd00::/64",
			want: Target{Prefix: netip.MustParsePrefix("fd00::/64")}},
		{name: "single-address CIDR is a range: no NOTIFY", in: "10.0.0.5/32",
			want: Target{Prefix: netip.MustParsePrefix("10.0.0.5/32")}},

		{name: "port 0 is no port", in: "10.0.0.5:0", errHas: "port"},
		{name: "port past 65535", in: "10.0.0.5:65536", errHas: "port"},
		{name: "port with a leading zero", in: "10.0.0.5:053", errHas: "port"},
		{name: "port with a sign", in: "10.0.0.5:+53", errHas: "port"},
		{name: "port not a number", in: "10.0.0.5:dns", errHas: "port"},
		{name: "empty port", in: "10.0.0.5:", errHas: "port"},
		{name: "IPv6 port not a number", in: "[fd00::5]:x", errHas: "port"},
		{name: "zone-scoped IPv6", in: "fe80::1%eth0", errHas: "fe80::1%eth0"},
		{name: "zone-scoped IPv6 with port", in: "[fe80::1%eth0]:53", errHas: "not an IP address"},
		{name: "host name", in: "ns1.example.com", errHas: "not an address"},
		{name: "host name with port", in: "ns1.example.com:53", errHas: "not an IP address"},
		{name: "garbage", in: "not a target", errHas: "not an address"},
		{name: "empty", in: "", errHas: "not an address"},
		{name: "CIDR with a bad length", in: "10.0.0.0/33", errHas: "CIDR"},
		{name: "CIDR of garbage", in: "x/8", errHas: "CIDR"},
		{name: "three octets", in: "10.0.5", errHas: "not an address"},
		{name: "an opening bracket alone", in: "[10.0.0.5", errHas: "not an address"},
		{name: "a closing bracket alone", in: "10.0.0.5]", errHas: "not an address"},
		{name: "two pairs of brackets", in: "[[fd00::5]]", errHas: "not an address"},
		{name: "brackets around IPv4", in: "[10.0.0.5]", errHas: "not an address"},
		{name: "IPv4-mapped CIDR is the IPv4 range", in: "::ffff:10.0.0.0/104",
			want: Target{Prefix: netip.MustParsePrefix("10.0.0.0/8")}, str: "10.0.0.0/8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.errHas != "" {
				if err == nil {
					t.Fatalf("ParseTarget(%q) = %+v, want an error", tc.in, got)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("ParseTarget(%q) error %q, want it to mention %q", tc.in, err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseTarget(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			str := tc.str
			if str == "" {
				str = tc.in
			}
			if got.String() != str {
				t.Errorf("ParseTarget(%q).String() = %q, want %q", tc.in, got.String(), str)
			}
			again, err := ParseTarget(got.String())
			if err != nil || again != got {
				t.Errorf("ParseTarget(String()) = %+v, %v; want %+v (round trip)", again, err, got)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string // String() of each target
		wantErr string
	}{
		{name: "none is an error", in: nil, wantErr: "no target"},
		{name: "empty list is an error", in: []string{}, wantErr: "no target"},
		{name: "every form, in order", in: []string{"*", "10.0.0.0/8", "10.0.0.5", "[fd00::5]:5353"},
			want: []string{"*", "10.0.0.0/8", "10.0.0.5:53", "[fd00::5]:5353"}},
		{name: "one bad entry fails all", in: []string{"10.0.0.5", "10.0.0.6:0"}, wantErr: "10.0.0.6:0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargets(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTargets(%q) = %v, %v; want an error mentioning %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var strs []string
			for _, x := range got {
				strs = append(strs, x.String())
			}
			if !slices.Equal(strs, tc.want) {
				t.Errorf("ParseTargets(%q) = %q, want %q", tc.in, strs, tc.want)
			}
		})
	}
}

func mustTargets(t testing.TB, ss ...string) []Target {
	t.Helper()
	ts, err := ParseTargets(ss)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		client  string
		want    bool
	}{
		{"star allows IPv4", []string{"*"}, "192.0.2.1", true},
		{"star allows IPv6", []string{"*"}, "2001:db8::1", true},
		{"CIDR allows an address inside", []string{"10.0.0.0/24"}, "10.0.0.200", true},
		{"CIDR refuses an address outside", []string{"10.0.0.0/24"}, "10.0.1.1", false},
		{"CIDR allows an IPv4-mapped client inside", []string{"10.0.0.0/24"}, "::ffff:10.0.0.9", true},
		{"CIDR refuses an IPv4-mapped client outside", []string{"10.0.0.0/24"}, "::ffff:10.0.1.9", false},
		{"IPv6 CIDR allows inside", []string{"fd00::/64"}, "fd00::1:2", true},
		{"IPv6 CIDR refuses outside", []string{"fd00::/64"}, "fd00:0:0:1::1", false},
		{"IPv4 CIDR refuses IPv6", []string{"10.0.0.0/8"}, "fd00::1", false},
		{"single address allows itself", []string{"10.0.0.5"}, "10.0.0.5", true},
		{"single address with port allows itself, any source port", []string{"10.0.0.5:5353"}, "10.0.0.5", true},
		{"single address refuses its neighbour", []string{"10.0.0.5"}, "10.0.0.6", false},
		{"single address allows itself IPv4-mapped", []string{"10.0.0.5"}, "::ffff:10.0.0.5", true},
		{"IPv4-mapped target allows the IPv4 client", []string{"::ffff:10.0.0.5"}, "10.0.0.5", true},
		{"single IPv6 address allows itself", []string{"[fd00::5]:53"}, "fd00::5", true},
		{"single IPv6 address refuses another", []string{"fd00::5"}, "fd00::6", false},
		{"any of several targets", []string{"10.0.0.5", "fd00::/64"}, "fd00::77", true},
		{"none of several targets", []string{"10.0.0.5", "fd00::/64"}, "10.0.0.6", false},
		{"loopback is not special", []string{"10.0.0.5"}, "127.0.0.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(mustTargets(t, tc.targets...), nil)
			if got := tr.Allowed(netip.MustParseAddr(tc.client)); got != tc.want {
				t.Errorf("to %v: Allowed(%s) = %v, want %v", tc.targets, tc.client, got, tc.want)
			}
		})
	}
}

// ---- serving transfers ----

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func i32(v int32) *int32 { return &v }

const testSerial = 42

// smallState is one namespace with a ClusterIP service ("web", a named and
// an unnamed port), a headless one ("db", two ready endpoints and an
// unready one, a named port) and an ExternalName ("ext").
func smallState() *cluster.State {
	return &cluster.State{
		Namespaces: []cluster.Namespace{{Name: "ns"}},
		Services: []cluster.Service{
			{Name: "web", Namespace: "ns", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{addr("10.96.0.10")},
				Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}, {Port: 81, Protocol: cluster.ProtocolTCP}}},
			{Name: "db", Namespace: "ns", Type: cluster.ServiceTypeClusterIP, Headless: true,
				Ports: []cluster.ServicePort{{Name: "pg", Port: 5432, Protocol: cluster.ProtocolTCP}}},
			{Name: "ext", Namespace: "ns", Type: cluster.ServiceTypeExternalName, ExternalName: "www.example.com"},
		},
		EndpointSlices: []cluster.EndpointSlice{{
			Name: "db-1", Namespace: "ns", ServiceName: "db", AddressType: cluster.AddressTypeIPv4,
			Ports: []cluster.EndpointPort{{Name: "pg", Port: i32(5432), Protocol: cluster.ProtocolTCP}},
			Endpoints: []cluster.Endpoint{
				{Addresses: cluster.AddressesOf(addr("10.244.0.1")), Hostname: "db-0", Conditions: cluster.EndpointConditions{Ready: cluster.Bool(true)}},
				{Addresses: cluster.AddressesOf(addr("10.244.0.2"))},
				{Addresses: cluster.AddressesOf(addr("10.244.0.3")), Conditions: cluster.EndpointConditions{Ready: cluster.Bool(false)}},
			},
		}},
	}
}

// bigState adds to smallState a headless service with n ready endpoints.
func bigState(n int) *cluster.State {
	st := smallState()
	st.Services = append(st.Services, cluster.Service{Name: "big", Namespace: "ns", Type: cluster.ServiceTypeClusterIP, Headless: true,
		Ports: []cluster.ServicePort{{Name: "http", Port: 8080, Protocol: cluster.ProtocolTCP}}})
	es := cluster.EndpointSlice{Name: "big-1", Namespace: "ns", ServiceName: "big", AddressType: cluster.AddressTypeIPv4,
		Ports: []cluster.EndpointPort{{Name: "http", Port: i32(8080), Protocol: cluster.ProtocolTCP}}}
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 245, byte(i >> 8), byte(i)})
		es.Endpoints = append(es.Endpoints, cluster.Endpoint{Addresses: cluster.AddressesOf(a), Hostname: fmt.Sprintf("big-%d", i)})
	}
	st.EndpointSlices = append(st.EndpointSlices, es)
	return st
}

func snapshotOf(t testing.TB, st *cluster.State) *zone.Snapshot {
	t.Helper()
	o := zone.DefaultOptions()
	o.Serial = testSerial
	s, err := zone.Build(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// smallZone is the AXFR of smallState between its two SOAs, as text.
var smallZone = []string{
	"cluster.local.	5	IN	NS	ns.dns.cluster.local.",
	"db.ns.svc.cluster.local.	5	IN	A	10.244.0.1",
	"db.ns.svc.cluster.local.	5	IN	A	10.244.0.2",
	"db-0.db.ns.svc.cluster.local.	5	IN	A	10.244.0.1",
	"10-244-0-2.db.ns.svc.cluster.local.	5	IN	A	10.244.0.2",
	"_pg._tcp.db.ns.svc.cluster.local.	5	IN	SRV	0 50 5432 db-0.db.ns.svc.cluster.local.",
	"_pg._tcp.db.ns.svc.cluster.local.	5	IN	SRV	0 50 5432 10-244-0-2.db.ns.svc.cluster.local.",
	"ext.ns.svc.cluster.local.	5	IN	CNAME	www.example.com.",
	"web.ns.svc.cluster.local.	5	IN	A	10.96.0.10",
	"web.ns.svc.cluster.local.	5	IN	SRV	0 100 80 web.ns.svc.cluster.local.",
	"web.ns.svc.cluster.local.	5	IN	SRV	0 100 81 web.ns.svc.cluster.local.",
	"_http._tcp.web.ns.svc.cluster.local.	5	IN	SRV	0 100 80 web.ns.svc.cluster.local.",
}

const smallSOA = "cluster.local.	5	IN	SOA	ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"

var client = netip.MustParseAddrPort("10.0.0.5:40000")

// axfr is an AXFR query for name.
func axfr(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetAxfr(name)
	m.Id = 0xbeef
	return m
}

// ixfr is an IXFR query for name with the client's serial.
func ixfr(name string, serial uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetIxfr(name, serial, "ns.example.", "hostmaster.example.")
	m.Id = 0xcafe
	return m
}

// serve runs one transfer and returns every message written, unpacked,
// after checking each is at most 65535 bytes and unpacks.
func serve(t testing.TB, tr *Transfer, snap *zone.Snapshot, query []byte, remote netip.AddrPort) ([]*dns.Msg, error) {
	t.Helper()
	var out []*dns.Msg
	err := tr.ServeTransfer(snap, query, remote, func(b []byte) error {
		if len(b) > dns.MaxMsgSize {
			t.Errorf("message %d is %d bytes, more than a TCP message holds", len(out), len(b))
		}
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			t.Fatalf("message %d does not unpack: %v", len(out), err)
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// records is every answer record of msgs, in order, as text.
func records(msgs []*dns.Msg) []string {
	var out []string
	for _, m := range msgs {
		for _, rr := range m.Answer {
			out = append(out, rr.String())
		}
	}
	return out
}

// checkHeaders checks every message answers q: its ID, QR, the rcode and
// the question as asked.
func checkHeaders(t *testing.T, msgs []*dns.Msg, q *dns.Msg, rcode int) {
	t.Helper()
	for i, m := range msgs {
		if m.Id != q.Id || !m.Response || m.Rcode != rcode || m.Opcode != dns.OpcodeQuery {
			t.Errorf("message %d: id %#x response %v rcode %s opcode %d, want id %#x, a response, %s, QUERY",
				i, m.Id, m.Response, dns.RcodeToString[m.Rcode], m.Opcode, q.Id, dns.RcodeToString[rcode])
		}
		if len(m.Question) != 1 || m.Question[0] != q.Question[0] {
			t.Errorf("message %d: question %v, want %v", i, m.Question, q.Question)
		}
		if rcode == dns.RcodeSuccess && !m.Authoritative {
			t.Errorf("message %d: not authoritative", i)
		}
	}
}

// checkFullTransfer checks msgs are a whole transfer: the SOA first and
// last and nowhere else, and returns the records between.
func checkFullTransfer(t *testing.T, msgs []*dns.Msg) []string {
	t.Helper()
	rrs := records(msgs)
	if len(rrs) < 2 || rrs[0] != smallSOA || rrs[len(rrs)-1] != smallSOA {
		t.Fatalf("transfer does not start and end with the SOA %q:\n%s", smallSOA, strings.Join(head(rrs), "\n"))
	}
	body := rrs[1 : len(rrs)-1]
	for i, r := range body {
		if strings.Contains(r, "\tSOA\t") {
			t.Fatalf("an SOA inside the transfer, record %d: %s", i+1, r)
		}
	}
	return body
}

func head(rrs []string) []string {
	if len(rrs) > 20 {
		return append(slices.Clip(rrs[:20]), fmt.Sprintf("... %d more", len(rrs)-20))
	}
	return rrs
}

func sameRecords(t *testing.T, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("records:\n got %d:\n  %s\nwant %d:\n  %s", len(g), strings.Join(g, "\n  "), len(w), strings.Join(w, "\n  "))
	}
}

func TestServeTransferRefused(t *testing.T) {
	snap := snapshotOf(t, smallState())
	tests := []struct {
		name    string
		targets []string
		zones   []string
		remote  string
		query   *dns.Msg
	}{
		{"client not allowed", []string{"10.0.1.0/24"}, nil, "10.0.0.5:4000", axfr("cluster.local.")},
		{"client not allowed, IXFR", []string{"10.0.1.0/24"}, nil, "10.0.0.5:4000", ixfr("cluster.local.", 1)},
		{"client not allowed, up-to-date IXFR", []string{"10.0.1.1"}, nil, "10.0.0.5:4000", ixfr("cluster.local.", testSerial)},
		{"zone not served", []string{"*"}, nil, "10.0.0.5:4000", axfr("example.com.")},
		{"a name inside the zone is not a zone", []string{"*"}, nil, "10.0.0.5:4000", axfr("svc.cluster.local.")},
		{"a service name is not a zone", []string{"*"}, nil, "10.0.0.5:4000", axfr("web.ns.svc.cluster.local.")},
		{"reverse zone", []string{"*"}, nil, "10.0.0.5:4000", axfr("in-addr.arpa.")},
		{"IPv6 reverse zone", []string{"*"}, nil, "10.0.0.5:4000", axfr("ip6.arpa.")},
		{"reverse zone, old IXFR", []string{"*"}, nil, "10.0.0.5:4000", ixfr("in-addr.arpa.", 1)},
		{"reverse zone, up-to-date IXFR", []string{"*"}, nil, "10.0.0.5:4000", ixfr("in-addr.arpa.", testSerial)},
		{"root", []string{"*"}, nil, "10.0.0.5:4000", axfr(".")},
		{"zone not in the transferred zones", []string{"*"}, []string{"example.org."}, "10.0.0.5:4000", axfr("cluster.local.")},
		{"zone not in the transferred zones, up-to-date IXFR", []string{"*"}, []string{"example.org."}, "10.0.0.5:4000", ixfr("cluster.local.", testSerial)},
		{"unserved zone, up-to-date IXFR", []string{"*"}, nil, "10.0.0.5:4000", ixfr("example.com.", testSerial)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(mustTargets(t, tc.targets...), tc.zones)
			msgs, err := serve(t, tr, snap, pack(t, tc.query), netip.MustParseAddrPort(tc.remote))
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want one REFUSED:\n%v", len(msgs), msgs)
			}
			checkHeaders(t, msgs, tc.query, dns.RcodeRefused)
			if m := msgs[0]; len(m.Answer)+len(m.Ns)+len(m.Extra) != 0 {
				t.Errorf("REFUSED carries records:\n%v", m)
			}
		})
	}
}

func TestServeTransferAXFR(t *testing.T) {
	snap := snapshotOf(t, smallState())
	tests := []struct {
		name    string
		targets []string
		zones   []string
		remote  string
		qname   string
	}{
		{"star", []string{"*"}, nil, "192.0.2.1:5000", "cluster.local."},
		{"client in a CIDR", []string{"10.0.0.0/24"}, nil, "10.0.0.5:5000", "cluster.local."},
		{"single address", []string{"10.0.0.5:5353"}, nil, "10.0.0.5:5000", "cluster.local."},
		{"IPv4-mapped client", []string{"10.0.0.5"}, nil, "[::ffff:10.0.0.5]:5000", "cluster.local."},
		{"zone named in zones", []string{"*"}, []string{"example.org.", "cluster.local."}, "10.0.0.5:5000", "cluster.local."},
		{"zone in another case", []string{"*"}, []string{"cluster.local."}, "10.0.0.5:5000", "Cluster.LOCAL."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(mustTargets(t, tc.targets...), tc.zones)
			q := axfr(tc.qname)
			msgs, err := serve(t, tr, snap, pack(t, q), netip.MustParseAddrPort(tc.remote))
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Errorf("a small zone in %d messages, want 1", len(msgs))
			}
			checkHeaders(t, msgs, q, dns.RcodeSuccess)
			sameRecords(t, checkFullTransfer(t, msgs), smallZone)
			for _, m := range msgs {
				if len(m.Ns) != 0 || len(m.Extra) != 0 {
					t.Errorf("records outside the answer section:\n%v", m)
				}
			}
		})
	}
}

func TestServeTransferBigZoneIsSplit(t *testing.T) {
	const n = 3000
	snap := snapshotOf(t, bigState(n))
	tr := New(mustTargets(t, "*"), nil)
	q := axfr("cluster.local.")
	var sizes []int
	err := tr.ServeTransfer(snap, pack(t, q), client, func(b []byte) error {
		sizes = append(sizes, len(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := serve(t, tr, snap, pack(t, q), client)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 3 {
		t.Fatalf("%d endpoints in %d messages (%v bytes), want several", n, len(msgs), sizes)
	}
	for i, s := range sizes {
		if s > dns.MaxMsgSize {
			t.Errorf("message %d is %d bytes, more than TCP carries", i, s)
		}
		if i < len(sizes)-1 && s < 32000 {
			t.Errorf("message %d is only %d bytes: the transfer is split too finely (%v)", i, s, sizes)
		}
	}
	checkHeaders(t, msgs, q, dns.RcodeSuccess)
	body := checkFullTransfer(t, msgs)
	want := slices.Clone(smallZone)
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 245, byte(i >> 8), byte(i)})
		target := fmt.Sprintf("big-%d.big.ns.svc.cluster.local.", i)
		want = append(want,
			fmt.Sprintf("big.ns.svc.cluster.local.\t5\tIN\tA\t%s", a),
			fmt.Sprintf("%s\t5\tIN\tA\t%s", target, a),
			fmt.Sprintf("_http._tcp.big.ns.svc.cluster.local.\t5\tIN\tSRV\t0 1 8080 %s", target))
	}
	sameRecords(t, body, want)
}

func TestServeTransferIXFR(t *testing.T) {
	snap := snapshotOf(t, smallState()) // serial 42
	tr := New(mustTargets(t, "*"), nil)
	tests := []struct {
		name   string
		serial uint32
		full   bool
	}{
		{"current serial gets the SOA alone", testSerial, false},
		{"newer serial gets the SOA alone", testSerial + 1, false},
		{"much newer serial gets the SOA alone", testSerial + 1<<30, false},
		{"older serial gets the whole zone", testSerial - 1, true},
		{"serial 0 gets the whole zone", 0, true},
		{"serial older across the wrap gets the whole zone", 0xfffffff0, true},
		{"serial more than half the space ahead is older", testSerial + 1<<31 + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := ixfr("cluster.local.", tc.serial)
			msgs, err := serve(t, tr, snap, pack(t, q), client)
			if err != nil {
				t.Fatal(err)
			}
			checkHeaders(t, msgs, q, dns.RcodeSuccess)
			if tc.full {
				sameRecords(t, checkFullTransfer(t, msgs), smallZone)
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want one with the SOA", len(msgs))
			}
			m := msgs[0]
			if got := records(msgs); len(got) != 1 || got[0] != smallSOA || len(m.Ns) != 0 || len(m.Extra) != 0 {
				t.Errorf("up-to-date IXFR answered\n%v\nwant only %s", m, smallSOA)
			}
		})
	}
}

func TestServeTransferBadQueries(t *testing.T) {
	snap := snapshotOf(t, smallState())
	tr := New(mustTargets(t, "*"), nil)

	noSOA := new(dns.Msg)
	noSOA.SetQuestion("cluster.local.", dns.TypeIXFR)
	noSOA.Id = 0x1111

	nsNotSOA := new(dns.Msg)
	nsNotSOA.SetQuestion("cluster.local.", dns.TypeIXFR)
	nsNotSOA.Id = 0x2222
	nsNotSOA.Ns = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: "cluster.local.", Rrtype: dns.TypeNS, Class: dns.ClassINET}, Ns: "ns.example."}}

	twoSOAs := ixfr("cluster.local.", 1)
	twoSOAs.Ns = append(twoSOAs.Ns, twoSOAs.Ns[0])

	twoQuestions := axfr("cluster.local.")
	twoQuestions.Id = 0x3333
	twoQuestions.Question = append(twoQuestions.Question, dns.Question{Name: "example.com.", Qtype: dns.TypeAXFR, Qclass: dns.ClassINET})

	noQuestion := new(dns.Msg)
	noQuestion.Id = 0x4444

	tests := []struct {
		name  string
		query []byte
		id    uint16
		rcode int
		asked *dns.Msg // the question echoed; nil: none
	}{
		{"IXFR without an SOA is SERVFAIL", pack(t, noSOA), 0x1111, dns.RcodeServerFailure, noSOA},
		{"IXFR with an NS instead of the SOA is SERVFAIL", pack(t, nsNotSOA), 0x2222, dns.RcodeServerFailure, nsNotSOA},
		{"IXFR with two SOAs is SERVFAIL", pack(t, twoSOAs), twoSOAs.Id, dns.RcodeServerFailure, twoSOAs},
		{"truncated header is FORMERR", []byte{0x12, 0x34, 0x00}, 0x1234, dns.RcodeFormatError, nil},
		{"one byte is FORMERR with ID 0", []byte{0x12}, 0, dns.RcodeFormatError, nil},
		{"empty is FORMERR", nil, 0, dns.RcodeFormatError, nil},
		{"question cut short is FORMERR", pack(t, axfr("cluster.local."))[:20], 0xbeef, dns.RcodeFormatError, nil},
		{"two questions is FORMERR", pack(t, twoQuestions), 0x3333, dns.RcodeFormatError, nil},
		{"no question is FORMERR", pack(t, noQuestion), 0x4444, dns.RcodeFormatError, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := serve(t, tr, snap, tc.query, client)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want one", len(msgs))
			}
			m := msgs[0]
			if m.Id != tc.id || !m.Response || m.Rcode != tc.rcode {
				t.Errorf("answered id %#x response %v rcode %s, want id %#x, a response, %s",
					m.Id, m.Response, dns.RcodeToString[m.Rcode], tc.id, dns.RcodeToString[tc.rcode])
			}
			if len(m.Answer)+len(m.Ns)+len(m.Extra) != 0 {
				t.Errorf("an error carries records:\n%v", m)
			}
			if tc.asked != nil && (len(m.Question) != 1 || m.Question[0] != tc.asked.Question[0]) {
				t.Errorf("question %v, want %v", m.Question, tc.asked.Question)
			}
			if tc.asked == nil && len(m.Question) != 0 {
				t.Errorf("FORMERR echoes a question %v", m.Question)
			}
		})
	}
}

func TestServeTransferStopsOnWriteError(t *testing.T) {
	snap := snapshotOf(t, bigState(3000))
	tr := New(mustTargets(t, "*"), nil)
	broken := errors.New("connection reset")
	tests := []struct {
		name    string
		failAt  int // the write that fails, from 0
		wantErr error
	}{
		{"first message", 0, broken},
		{"a middle message", 1, broken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writes := 0
			err := tr.ServeTransfer(snap, pack(t, axfr("cluster.local.")), client, func([]byte) error {
				writes++
				if writes-1 == tc.failAt {
					return broken
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("ServeTransfer = %v, want %v", err, tc.wantErr)
			}
			if writes != tc.failAt+1 {
				t.Errorf("%d writes, want the transfer to stop at the failed one (%d)", writes, tc.failAt+1)
			}
		})
	}
}

// FuzzServeTransfer feeds arbitrary queries to a transfer of a small zone
// that anyone may transfer: it must not panic, and every message written
// must unpack.
func FuzzServeTransfer(f *testing.F) {
	snap := snapshotOf(f, smallState())
	tr := New(mustTargets(f, "*"), nil)
	for _, m := range []*dns.Msg{
		axfr("cluster.local."), axfr("CLUSTER.local."), axfr("in-addr.arpa."), axfr("example.com."),
		ixfr("cluster.local.", testSerial), ixfr("cluster.local.", 1), ixfr("in-addr.arpa.", testSerial),
	} {
		f.Add(pack(f, m))
	}
	f.Add([]byte{0x12, 0x34})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, query []byte) {
		if len(query) > dns.MaxMsgSize {
			return
		}
		n := 0
		err := tr.ServeTransfer(snap, query, client, func(b []byte) error {
			n++
			if len(b) > dns.MaxMsgSize {
				t.Fatalf("message %d is %d bytes", n, len(b))
			}
			m := new(dns.Msg)
			if err := m.Unpack(b); err != nil {
				t.Fatalf("message %d does not unpack: %v", n, err)
			}
			if !m.Response {
				t.Fatalf("message %d is not a response", n)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ServeTransfer: %v", err)
		}
		if n == 0 {
			t.Fatal("no message written")
		}
	})
}
