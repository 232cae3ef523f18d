package server

import (
	"encoding/binary"
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/dnswire"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Transferer serves zone transfers (AXFR and IXFR), which the server
// hands it whole when they come over TCP; without one, and over UDP, a
// transfer is REFUSED (as CoreDNS without its transfer plugin, and over
// UDP with it).
type Transferer interface {
	// ServeTransfer answers query (a whole AXFR or IXFR message) from
	// remote out of snap, the snapshot of the moment it came, sending each
	// response message with write. An error from write ends the transfer
	// and the connection.
	ServeTransfer(snap *zone.Snapshot, query []byte, remote netip.AddrPort, write func(msg []byte) error) error
}

// transfererBox lets an atomic.Pointer hold an interface.
type transfererBox struct{ t Transferer }

// SetTransferer turns zone transfers on (nil: off again).
func (s *Server) SetTransferer(t Transferer) {
	if t == nil {
		s.transferer.Store(nil)
		return
	}
	s.transferer.Store(&transfererBox{t: t})
}

// isTransfer reports whether msg is a query for a zone transfer, reading
// only the header and the question type.
func isTransfer(msg []byte) bool {
	if len(msg) < headerLen || msg[2]&0x80 != 0 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		return false
	}
	end, ok := dnswire.SkipName(msg, headerLen)
	if !ok || end+2 > len(msg) {
		return false
	}
	t := binary.BigEndian.Uint16(msg[end:])
	return t == dns.TypeAXFR || t == dns.TypeIXFR
}

// serveTransfer hands a transfer on c to the Transferer, after the
// answers already pending on the connection. It reports whether the
// connection may go on.
func (s *Server) serveTransfer(c *tcpConn, tr Transferer, msg []byte, remote netip.AddrPort) bool {
	snap := s.snap.Load()
	if snap == nil || !s.synced.Load() {
		// Not the cluster's state yet: a secondary bootstrapping now
		// would load an empty zone as the authority's. SERVFAIL, as
		// queries get.
		req := new(dns.Msg)
		if req.Unpack(msg) != nil {
			return false
		}
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		resp, err := m.Pack()
		if err != nil {
			return false
		}
		return c.writeMsg(resp, s.cfg.TCPIdleTimeout) == nil
	}
	err := tr.ServeTransfer(snap, msg, remote, func(m []byte) error { return c.writeMsg(m, s.cfg.TCPIdleTimeout) })
	if err != nil {
		s.log.Warn("zone transfer ended early", "remote", remote.String(), "err", err)
		return false
	}
	return true
}
