// Package transfer serves zone transfers of the cluster zone, as CoreDNS's
// transfer plugin with its kubernetes plugin does: AXFR over TCP to the
// addresses allowed (everything else REFUSED), IXFR answered with the SOA
// alone when the client is up to date and as an AXFR otherwise, and NOTIFY
// to the secondaries named when the zone's serial changes.
//
// The records come from the engine (zone.Snapshot.Transfer), from one
// snapshot per transfer, so a transfer is consistent however the cluster
// changes meanwhile. It does not do TSIG, incremental differences (IXFR
// is always a full transfer or the SOA) or transfers of reverse zones.
package transfer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Target is one "to" entry: who may transfer, and (for a single address)
// where a NOTIFY goes.
type Target struct {
	// Any is "*": every client may transfer; no NOTIFY is sent for it.
	Any bool
	// Prefix is the clients allowed (a single address is a /32 or /128).
	Prefix netip.Prefix
	// Notify is the address NOTIFY goes to: the address with the port
	// given (53 by default); invalid for "*" and for a range.
	Notify netip.AddrPort
}

// ParseTarget reads a "to" entry: "*", an address with an optional port
// ("10.0.0.5", "10.0.0.5:5353", "[fd00::5]:53"), or a CIDR range
// ("10.0.0.0/24", transfers only).
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return Target{Any: true}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Target{}, fmt.Errorf("transfer target %q: not an address, a CIDR range or *", s)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			// Written IPv4-mapped: clients are compared unmapped.
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return Target{Prefix: p.Masked()}, nil
	}
	bare := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		bare = s[1 : len(s)-1] // one balanced pair around an IPv6 address
	}
	if a, err := netip.ParseAddr(bare); err == nil && a.Zone() == "" && (bare == s || a.Is6()) {
		a = a.Unmap()
		return Target{Prefix: netip.PrefixFrom(a, a.BitLen()), Notify: netip.AddrPortFrom(a, 53)}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Target{}, fmt.Errorf("transfer target %q: not an address, a CIDR range or *", s)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return Target{}, fmt.Errorf("transfer target %q: %q is not an IP address", s, host)
	}
	var p uint16
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil || p == 0 || fmt.Sprint(p) != port {
		return Target{}, fmt.Errorf("transfer target %q: port %q is not a port number", s, port)
	}
	a = a.Unmap()
	return Target{Prefix: netip.PrefixFrom(a, a.BitLen()), Notify: netip.AddrPortFrom(a, p)}, nil
}

// ParseTargets reads every entry; at least one is needed.
func ParseTargets(ss []string) ([]Target, error) {
	if len(ss) == 0 {
		return nil, errors.New("transfer: no target (to) given")
	}
	out := make([]Target, 0, len(ss))
	for _, s := range ss {
		t, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// String renders the target as it is written.
func (t Target) String() string {
	switch {
	case t.Any:
		return "*"
	case t.Notify.IsValid():
		return t.Notify.String()
	}
	return t.Prefix.String()
}

// maxMessage is the most record bytes one transfer message carries: under
// TCP's 64 KiB with room for the header and question (CoreDNS's figure).
const maxMessage = 63000

// Transfer serves zone transfers to its targets.
type Transfer struct {
	targets []Target
	zones   []string // canonical; nil: every forward zone served
}

// New serves transfers of zones (canonical; nil: every forward zone the
// snapshot serves) to targets.
func New(targets []Target, zones []string) *Transfer {
	return &Transfer{targets: targets, zones: zones}
}

// transfers reports whether the zone may be transferred at all.
func (t *Transfer) transfers(name string) bool {
	if t.zones == nil {
		return true
	}
	name = strings.ToLower(dns.Fqdn(name))
	for _, z := range t.zones {
		if z == name {
			return true
		}
	}
	return false
}

// Allowed reports whether a client at a may transfer.
func (t *Transfer) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, x := range t.targets {
		if x.Any || x.Prefix.Contains(a) {
			return true
		}
	}
	return false
}

// ServeTransfer answers an AXFR or IXFR (server.Transferer).
func (t *Transfer) ServeTransfer(snap *zone.Snapshot, query []byte, remote netip.AddrPort, write func([]byte) error) error {
	req := new(dns.Msg)
	if err := req.Unpack(query); err != nil || len(req.Question) != 1 {
		return writeMsg(write, failure(query, dns.RcodeFormatError))
	}
	q := req.Question[0]
	if !t.Allowed(remote.Addr()) || !t.transfers(q.Name) || !forwardZone(snap, q.Name) {
		return writeMsg(write, reply(req, dns.RcodeRefused))
	}
	if q.Qtype == dns.TypeIXFR {
		if len(req.Ns) != 1 {
			return writeMsg(write, reply(req, dns.RcodeServerFailure))
		}
		soa, ok := req.Ns[0].(*dns.SOA)
		if !ok {
			return writeMsg(write, reply(req, dns.RcodeServerFailure))
		}
		if !olderSerial(soa.Serial, snap.Serial) {
			// Up to date: the SOA alone (RFC 1995 §2).
			cur, ok := zoneSOA(snap, q.Name)
			if !ok {
				return writeMsg(write, reply(req, dns.RcodeRefused))
			}
			m := reply(req, dns.RcodeSuccess)
			m.Answer = []dns.RR{cur}
			return writeMsg(write, m)
		}
	}
	var batch []dns.RR
	size := 0
	sent := false
	flush := func() error {
		m := reply(req, dns.RcodeSuccess)
		m.Answer = batch
		batch, size, sent = nil, 0, true
		return writeMsg(write, m)
	}
	err := snap.Transfer(q.Name, func(rr dns.RR) error {
		l := dns.Len(rr)
		if len(batch) > 0 && size+l > maxMessage {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, rr)
		size += l
		return nil
	})
	switch {
	case errors.Is(err, zone.ErrNotTransferable) && !sent:
		return writeMsg(write, reply(req, dns.RcodeRefused))
	case err != nil:
		return err
	}
	return flush()
}

// forwardZone reports whether name is a forward zone the snapshot serves:
// the only zones transferred (an IXFR of anything else is refused like
// its AXFR).
func forwardZone(snap *zone.Snapshot, name string) bool {
	name = strings.ToLower(dns.Fqdn(name))
	for _, z := range snap.ForwardZones() {
		if z == name {
			return true
		}
	}
	return false
}

// olderSerial reports whether a is older than b in RFC 1982 serial
// arithmetic.
func olderSerial(a, b uint32) bool { return a != b && int32(b-a) > 0 }

// zoneSOA is the SOA of a served forward zone.
func zoneSOA(snap *zone.Snapshot, name string) (dns.RR, bool) {
	a := snap.Lookup(name, dns.TypeSOA)
	if a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 || !strings.EqualFold(a.Zone, dns.Fqdn(name)) {
		return nil, false
	}
	return a.Answer[0].RR, true
}

// reply is the response header and question for req, authoritative.
func reply(req *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	m.Authoritative = rcode == dns.RcodeSuccess
	m.RecursionAvailable = false
	return m
}

// failure is a bare error response to a query that does not unpack: its
// header with QR and the rcode, no sections.
func failure(query []byte, rcode int) *dns.Msg {
	m := new(dns.Msg)
	if len(query) >= 2 {
		m.Id = uint16(query[0])<<8 | uint16(query[1])
	}
	m.Response = true
	m.Rcode = rcode
	return m
}

func writeMsg(write func([]byte) error, m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return fmt.Errorf("packing a transfer message: %w", err)
	}
	return write(b)
}
