package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// countingTransferer answers every transfer with one SOA-only message and
// counts them.
type countingTransferer struct{ n int }

func (c *countingTransferer) ServeTransfer(snap *zone.Snapshot, query []byte, _ netip.AddrPort, write func([]byte) error) error {
	c.n++
	req := new(dns.Msg)
	if err := req.Unpack(query); err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Answer = snap.Lookup(req.Question[0].Name, dns.TypeSOA).Msg(req.Question[0].Name, dns.TypeSOA).Answer
	b, err := m.Pack()
	if err != nil {
		return err
	}
	return write(b)
}

func axfrOver(t *testing.T, addr, network string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr("cluster.local.")
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("AXFR over %s: %v", network, err)
	}
	return r
}

// Transfers go to the Transferer over TCP only; without one, over UDP,
// and before the state is synced they are refused or failed, never served
// from a state that is not the cluster's.
func TestTransfersGoToTheTransfererOverTCPOnly(t *testing.T) {
	s := newTestServer(t, 0)
	addr := serve(t, s)
	if r := axfrOver(t, addr, "tcp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR without a Transferer: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	tr := &countingTransferer{}
	s.SetTransferer(tr)
	if r := axfrOver(t, addr, "udp"); r.Rcode != dns.RcodeRefused || tr.n != 0 {
		t.Errorf("AXFR over UDP: %s (transferer asked %d times), want REFUSED", dns.RcodeToString[r.Rcode], tr.n)
	}
	if r := axfrOver(t, addr, "tcp"); r.Rcode != dns.RcodeSuccess || tr.n != 1 || len(r.Answer) != 1 {
		t.Errorf("AXFR over TCP: %s, %d answers, transferer asked %d times", dns.RcodeToString[r.Rcode], len(r.Answer), tr.n)
	}
	s.SetSynced(false)
	if r := axfrOver(t, addr, "tcp"); r.Rcode != dns.RcodeServerFailure || tr.n != 1 || len(r.Answer) != 0 {
		t.Errorf("AXFR before sync: %s, %d answers, transferer asked %d times; want SERVFAIL and not asked", dns.RcodeToString[r.Rcode], len(r.Answer), tr.n)
	}
	s.SetSynced(true)
	s.SetTransferer(nil)
	if r := axfrOver(t, addr, "tcp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR with the Transferer removed: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}
