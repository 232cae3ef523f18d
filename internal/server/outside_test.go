package server

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeOutside answers every name with a TXT record of the given size,
// after delay, and keeps a cache of names it was told to hold.
type fakeOutside struct {
	mu       sync.Mutex
	asked    []string
	cached   map[string]bool
	txtBytes int
	delay    time.Duration
}

func (f *fakeOutside) Cached(q *Question, out []byte) ([]byte, bool) {
	f.mu.Lock()
	hit := f.cached[q.Name]
	f.mu.Unlock()
	if !hit {
		return out, false
	}
	return f.answer(q, "cached", out), true
}

func (f *fakeOutside) Resolve(q *Question, reply func([]byte)) {
	f.mu.Lock()
	f.asked = append(f.asked, q.Name)
	f.mu.Unlock()
	go func() {
		time.Sleep(f.delay)
		reply(f.answer(q, "resolved", nil))
	}()
}

func (f *fakeOutside) answer(q *Question, how string, out []byte) []byte {
	req := new(dns.Msg)
	if err := req.Unpack(q.Msg); err != nil {
		panic(err)
	}
	m := new(dns.Msg)
	m.SetReply(req)
	txt := how
	if f.txtBytes > 0 {
		txt = strings.Repeat("x", 200)
	}
	for n := 0; n*200 < f.txtBytes || n == 0; n++ {
		m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 30}, Txt: []string{txt}})
	}
	b, err := m.PackBuffer(out)
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fakeOutside) askedNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

func newOutsideServer(t *testing.T, o *fakeOutside, fallthroughZones ...string) *Server {
	s := New(Config{Outside: o, Fallthrough: fallthroughZones})
	s.Swap(testSnapshot(t, 3), true)
	return s
}

// Names outside the served zones go to Outside; the cluster zone's never
// do.
func TestOutsideAnswersOnlyNamesNotInTheZones(t *testing.T) {
	o := &fakeOutside{}
	s := newOutsideServer(t, o)
	m := new(dns.Msg)
	m.SetQuestion("Example.COM.", dns.TypeTXT)
	r := exchange(t, s, m, UDP)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "resolved") {
		t.Fatalf("outside name: %v", r)
	}
	for _, name := range []string{"api.default.svc.cluster.local.", "nope.default.svc.cluster.local.", "10.0.96.10.in-addr.arpa."} {
		m.SetQuestion(name, dns.TypeA)
		exchange(t, s, m, UDP)
	}
	if got := o.askedNames(); len(got) != 1 || got[0] != "example.com." {
		t.Errorf("Outside was asked %v, want only example.com.", got)
	}
}

// A cache hit is answered on the query path, without Resolve.
func TestOutsideCacheHitIsAnsweredAtOnce(t *testing.T) {
	o := &fakeOutside{cached: map[string]bool{"example.com.": true}}
	s := newOutsideServer(t, o)
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeTXT)
	r := exchange(t, s, m, UDP)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "cached") || len(o.askedNames()) != 0 {
		t.Fatalf("%v (asked %v)", r, o.askedNames())
	}
}

// kubernetes `fallthrough in-addr.arpa ip6.arpa`: a reverse name with no
// PTR in the cluster goes to Outside; one with a PTR does not.
func TestReverseFallthroughSendsOnlyNXDOMAINOutside(t *testing.T) {
	o := &fakeOutside{}
	s := newOutsideServer(t, o, "in-addr.arpa", "ip6.arpa")
	m := new(dns.Msg)
	m.SetQuestion("10.0.96.10.in-addr.arpa.", dns.TypePTR) // the api Service
	if r := exchange(t, s, m, UDP); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypePTR {
		t.Fatalf("cluster PTR: %v", r)
	}
	m.SetQuestion("1.2.0.192.in-addr.arpa.", dns.TypePTR)
	if r := exchange(t, s, m, UDP); !strings.Contains(r.String(), "resolved") {
		t.Fatalf("outside PTR: %v", r)
	}
	if got := o.askedNames(); len(got) != 1 || got[0] != "1.2.0.192.in-addr.arpa." {
		t.Errorf("asked %v", got)
	}
	plain := newOutsideServer(t, &fakeOutside{})
	if r := exchange(t, plain, m, UDP); r.Rcode != dns.RcodeNameError {
		t.Errorf("without fallthrough: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

// An Outside answer larger than the client's UDP size is cut to the
// records that fit, with TC, as CoreDNS's scrub writer cuts it; over TCP
// it is sent whole.
func TestOutsideAnswerTooBigForUDPIsTruncated(t *testing.T) {
	o := &fakeOutside{txtBytes: 3000}
	s := newOutsideServer(t, o)
	m := new(dns.Msg)
	m.SetQuestion("big.example.com.", dns.TypeTXT)
	m.SetEdns0(1232, false)
	r := exchange(t, s, m, UDP)
	if !r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= 15 || len(r.Question) != 1 || r.IsEdns0() == nil {
		t.Fatalf("UDP: TC %v, %d answers, %d questions, OPT %v: want TC with the records that fit, as CoreDNS's scrub", r.Truncated, len(r.Answer), len(r.Question), r.IsEdns0())
	}
	if wire, _ := r.Pack(); len(wire) > 1232 {
		t.Fatalf("UDP answer of %d bytes over the client's 1232", len(wire))
	}
	if r := exchange(t, s, m, TCP); r.Truncated || len(r.Answer) != 15 {
		t.Fatalf("TCP: TC %v, %d answers", r.Truncated, len(r.Answer))
	}
}

// Over real sockets: UDP and TCP clients get Outside's answers, and a TCP
// client that pipelines a slow outside question and a cluster question
// gets both, each framed whole (the cluster one first).
func TestOutsideOverSockets(t *testing.T) {
	o := &fakeOutside{delay: 50 * time.Millisecond}
	s := newOutsideServer(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	go func() { _ = s.ListenAndServe(ctx, "127.0.0.1:0", func(u, _ net.Addr) { addrc <- u.String() }) }()
	addr := <-addrc
	for _, network := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("example.org.", dns.TypeTXT)
		r, _, err := (&dns.Client{Net: network, Timeout: 2 * time.Second}).Exchange(m, addr)
		if err != nil || len(r.Answer) != 1 {
			t.Fatalf("%s: %v %v", network, r, err)
		}
	}
	conn, err := dns.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	slow, fast := new(dns.Msg), new(dns.Msg)
	slow.SetQuestion("slow.example.org.", dns.TypeTXT)
	fast.SetQuestion("api.default.svc.cluster.local.", dns.TypeA)
	for _, m := range []*dns.Msg{slow, fast} {
		if err := conn.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var got []uint16
	for range 2 {
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Id)
	}
	if got[0] != fast.Id || got[1] != slow.Id {
		t.Errorf("answers in order %v, want the cluster one (%d) then the outside one (%d)", got, fast.Id, slow.Id)
	}
}

// A reloaded configuration replaces Outside whole; nil makes names outside
// the zones REFUSED again.
func TestSetOutsideReplacesIt(t *testing.T) {
	first, second := &fakeOutside{}, &fakeOutside{}
	s := newOutsideServer(t, first)
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeTXT)
	exchange(t, s, m, UDP)
	s.SetOutside(second, nil)
	exchange(t, s, m, UDP)
	if len(first.askedNames()) != 1 || len(second.askedNames()) != 1 {
		t.Fatalf("first asked %v, second %v", first.askedNames(), second.askedNames())
	}
	s.SetOutside(nil, nil)
	if r := exchange(t, s, m, UDP); r.Rcode != dns.RcodeRefused {
		t.Errorf("without Outside: %s", dns.RcodeToString[r.Rcode])
	}
}
