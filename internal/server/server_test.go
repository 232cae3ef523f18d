package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

func testSnapshot(t testing.TB, pods int) *zone.Snapshot {
	t.Helper()
	st := &cluster.State{
		Namespaces: []cluster.Namespace{{Name: "default"}},
		Services: []cluster.Service{
			{Name: "api", Namespace: "default", Type: cluster.ServiceTypeClusterIP, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
				Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}},
			{Name: "big", Namespace: "default", Type: cluster.ServiceTypeClusterIP, Headless: true,
				Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}},
		},
	}
	p := int32(8080)
	es := cluster.EndpointSlice{Name: "big-1", Namespace: "default", ServiceName: "big", AddressType: cluster.AddressTypeIPv4,
		Ports: []cluster.EndpointPort{{Name: "http", Port: &p, Protocol: cluster.ProtocolTCP}}}
	for i := 0; i < pods; i++ {
		es.Endpoints = append(es.Endpoints, cluster.Endpoint{
			Addresses: cluster.AddressesOf(netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(i%250 + 1)})),
			Hostname:  fmt.Sprintf("big-%d", i),
		})
	}
	st.EndpointSlices = append(st.EndpointSlices, es)
	snap, err := zone.Build(st, zone.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func newTestServer(t testing.TB, pods int) *Server {
	s := New(Config{})
	s.Swap(testSnapshot(t, pods), true)
	return s
}

func exchange(t *testing.T, s *Server, m *dns.Msg, tr Transport) *dns.Msg {
	t.Helper()
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := s.Respond(wire, nil, tr)
	if out == nil {
		t.Fatal("query dropped")
	}
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	if r.Id != m.Id {
		t.Errorf("ID %d, want %d", r.Id, m.Id)
	}
	return r
}

func TestQuestionCaseIsEchoedAndZoneKeepsIt(t *testing.T) {
	s := newTestServer(t, 2)
	m := new(dns.Msg)
	m.SetQuestion("_HtTp._TcP.Api.DEFAULT.svc.CLUSTER.local.", dns.TypeSRV)
	r := exchange(t, s, m, UDP)
	if r.Question[0].Name != "_HtTp._TcP.Api.DEFAULT.svc.CLUSTER.local." {
		t.Errorf("question = %s", r.Question[0].Name)
	}
	if len(r.Answer) != 1 || r.Answer[0].Header().Name != "_HtTp._TcP.Api.DEFAULT.svc.CLUSTER.local." {
		t.Fatalf("answer owner should keep the query's case: %v", r.Answer)
	}
	if got := r.Answer[0].(*dns.SRV).Target; got != "api.default.svc.CLUSTER.local." {
		t.Errorf("SRV target = %s, want the object's labels with the query's zone case", got)
	}
	if len(r.Extra) != 1 || r.Extra[0].Header().Name != "api.default.svc.CLUSTER.local." {
		t.Errorf("glue = %v", r.Extra)
	}
	if !r.Authoritative {
		t.Error("AA not set")
	}
}

func TestNegativeAnswersCarrySOA(t *testing.T) {
	s := newTestServer(t, 1)
	for _, c := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"nope.default.svc.Cluster.Local.", dns.TypeA, dns.RcodeNameError},
		{"api.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess},
	} {
		m := new(dns.Msg)
		m.SetQuestion(c.name, c.qtype)
		r := exchange(t, s, m, UDP)
		if r.Rcode != c.rcode || len(r.Answer) != 0 || len(r.Ns) != 1 || !r.Authoritative {
			t.Fatalf("%s: got %v", c.name, r)
		}
		soa, ok := r.Ns[0].(*dns.SOA)
		if !ok {
			t.Fatalf("authority is not SOA: %v", r.Ns[0])
		}
		zone := c.name[len(c.name)-len("cluster.local."):]
		if soa.Hdr.Name != zone || soa.Ns != "ns.dns."+zone || soa.Mbox != "hostmaster."+zone {
			t.Errorf("SOA names should follow the query's zone case %q: %v", zone, soa)
		}
	}
}

func TestNotSyncedNXDOMAINBecomesSERVFAIL(t *testing.T) {
	s := newTestServer(t, 1)
	s.SetSynced(false)
	m := new(dns.Msg)
	m.SetQuestion("nope.default.svc.cluster.local.", dns.TypeA)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s, want SERVFAIL while not synced", dns.RcodeToString[r.Rcode])
	}
	m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("existing names still answer while not synced: %v", r)
	}
}

func TestOutsideTheZoneIsRefused(t *testing.T) {
	s := newTestServer(t, 1)
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	r := exchange(t, s, m, UDP)
	if r.Rcode != dns.RcodeRefused || r.Authoritative {
		t.Errorf("got %v", r)
	}
}

func TestEDNSAndTruncation(t *testing.T) {
	s := newTestServer(t, 50)
	q := "big.default.svc.cluster.local."
	// Without EDNS: 512 bytes; 50 A records (16 bytes each) do not fit.
	m := new(dns.Msg)
	m.SetQuestion(q, dns.TypeA)
	r := exchange(t, s, m, UDP)
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("want TC with no partial answer over UDP without EDNS: tc=%v answers=%d", r.Truncated, len(r.Answer))
	}
	// With EDNS 4096: capped at 1232, they fit.
	m.SetEdns0(4096, true)
	r = exchange(t, s, m, UDP)
	if r.Truncated || len(r.Answer) != 50 {
		t.Errorf("EDNS answer: tc=%v answers=%d", r.Truncated, len(r.Answer))
	}
	opt := r.IsEdns0()
	if opt == nil || opt.UDPSize() != DefaultMaxUDPSize || !opt.Do() {
		t.Errorf("OPT = %v, want size %d and DO copied", opt, DefaultMaxUDPSize)
	}
	// SRV with glue for 50 endpoints does not fit 1232; it does over TCP.
	m = new(dns.Msg)
	m.SetQuestion("_http._tcp."+q, dns.TypeSRV)
	m.SetEdns0(4096, false)
	if r = exchange(t, s, m, UDP); !r.Truncated {
		t.Error("large SRV answer over UDP not truncated")
	}
	if r = exchange(t, s, m, TCP); r.Truncated || len(r.Answer) != 50 || len(r.Extra) != 51 {
		t.Errorf("TCP: tc=%v answers=%d extra=%d", r.Truncated, len(r.Answer), len(r.Extra))
	}
}

func TestMalformedAndUnsupported(t *testing.T) {
	s := newTestServer(t, 1)
	q := new(dns.Msg)
	q.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	good, _ := q.Pack()

	cases := []struct {
		name  string
		msg   []byte
		drop  bool
		rcode int
	}{
		{"empty", nil, true, 0},
		{"short header", good[:5], true, 0},
		{"a response", func() []byte { b := append([]byte{}, good...); b[2] |= 0x80; return b }(), true, 0},
		{"truncated question", good[:len(good)-3], false, dns.RcodeFormatError},
		{"two questions", func() []byte { b := append([]byte{}, good...); b[5] = 2; return b }(), false, dns.RcodeFormatError},
		{"no question", func() []byte { b := append([]byte{}, good[:12]...); b[5] = 0; return b }(), false, dns.RcodeFormatError},
		{"compression pointer in question", append(append([]byte{}, good[:12]...), 0xC0, 0x0C, 0, 1, 0, 1), false, dns.RcodeFormatError},
		{"opcode NOTIFY", func() []byte { b := append([]byte{}, good...); b[2] |= 4 << 3; return b }(), false, dns.RcodeNotImplemented},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := s.Respond(c.msg, nil, UDP)
			if c.drop {
				if out != nil {
					t.Errorf("want dropped, got %d bytes", len(out))
				}
				return
			}
			r := new(dns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatalf("response does not parse: %v", err)
			}
			if r.Rcode != c.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
			}
		})
	}

	for _, c := range []struct {
		name  string
		mod   func(*dns.Msg)
		rcode int
	}{
		{"AXFR refused", func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAXFR }, dns.RcodeRefused},
		{"CHAOS refused", func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, dns.RcodeRefused},
		{"EDNS version 1 is BADVERS", func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }, dns.RcodeBadVers},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
			c.mod(m)
			if r := exchange(t, s, m, UDP); r.Rcode != c.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
			}
		})
	}
}

func TestNoSnapshotIsSERVFAIL(t *testing.T) {
	s := New(Config{})
	m := new(dns.Msg)
	m.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
	}
}

func TestListenAndServeUDPAndTCP(t *testing.T) {
	s := newTestServer(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ListenAndServe(ctx, "127.0.0.1:0", func(u, _ net.Addr) { addrc <- u.String() })
	}()
	addr := <-addrc
	for _, network := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("big.default.svc.cluster.local.", dns.TypeA)
		c := &dns.Client{Net: network, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if len(r.Answer) != 3 {
			t.Errorf("%s: %d answers", network, len(r.Answer))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe: %v", err)
	}
}

// Snapshots are swapped whole while queries run.
func TestSwapWhileServing(t *testing.T) {
	s := newTestServer(t, 1)
	m := new(dns.Msg)
	m.SetQuestion("big.default.svc.cluster.local.", dns.TypeA)
	wire, _ := m.Pack()
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				s.Swap(testSnapshot(t, 1+i%5), true)
			}
		}
	}()
	for range 2000 {
		out := s.Respond(wire, nil, UDP)
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil || len(r.Answer) < 1 {
			t.Fatalf("bad answer during swap: %v %v", err, r)
		}
	}
	close(stop)
}

type recordingObserver struct {
	names []string
	rcode []int
}

func (o *recordingObserver) ObserveQuery(q *QueryEvent) {
	o.names = append(o.names, string(q.Name)+" "+dns.TypeToString[q.Qtype])
	o.rcode = append(o.rcode, q.Rcode)
}

func TestObserverSeesEveryAnsweredQuery(t *testing.T) {
	obs := &recordingObserver{}
	s := New(Config{Observer: obs})
	s.Swap(testSnapshot(t, 1), true)
	for _, q := range []string{"API.default.svc.cluster.local.", "nope.default.svc.cluster.local.", "example.com."} {
		m := new(dns.Msg)
		m.SetQuestion(q, dns.TypeA)
		exchange(t, s, m, UDP)
	}
	want := "api.default.svc.cluster.local. A|nope.default.svc.cluster.local. A|example.com. A"
	if got := fmt.Sprint(strings.Join(obs.names, "|")); got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
	if fmt.Sprint(obs.rcode) != "[0 3 5]" {
		t.Errorf("rcodes %v", obs.rcode)
	}
}
