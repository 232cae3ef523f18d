package forward

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// proto is the protocol of an upstream connection.
type proto uint8

const (
	protoUDP proto = iota
	protoTCP
)

func (p proto) String() string {
	if p == protoTCP {
		return "tcp"
	}
	return "udp"
}

// bufSize is the pooled buffer: room for a 4096-byte UDP read plus the one
// byte that shows a datagram was larger, and for a packed query with its
// TCP length prefix. Larger needs get a buffer of their own.
const bufSize = 4096 + 2

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// query is one Exchange: the request and what every attempt needs.
type query struct {
	req      *dns.Msg
	name     string // question name as the client wrote it
	qtype    uint16
	qclass   uint16
	clientTC bool // the client came over TCP
	// size is CoreDNS's read buffer for a UDP reply: max(the client's
	// EDNS size, 512), 64 KiB for a TCP client (request.Size).
	size     int
	deadline time.Time
	buf      *[]byte
}

func (f *Forwarder) newQuery(ctx context.Context, req *dns.Msg, clientProto string) (query, error) {
	if len(req.Question) != 1 {
		return query{}, fmt.Errorf("%w: %d questions", ErrInvalidRequest, len(req.Question))
	}
	q := query{req: req, name: req.Question[0].Name, qtype: req.Question[0].Qtype, qclass: req.Question[0].Qclass}
	switch clientProto {
	case "udp":
		q.size = dns.MinMsgSize
		if o := req.IsEdns0(); o != nil && int(o.UDPSize()) > q.size {
			q.size = int(o.UDPSize())
		}
	case "tcp":
		q.clientTC = true
		q.size = dns.MaxMsgSize
	default:
		return query{}, fmt.Errorf("forward: client protocol %q is not udp or tcp", clientProto)
	}
	q.deadline = time.Now().Add(f.cfg.QueryTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(q.deadline) {
		q.deadline = d
	}
	return q, nil
}

// proto is the protocol to the upstream (CoreDNS connect.go): TCP when
// forced, UDP when preferred, else the client's.
func (q *query) proto(forceTCP, preferUDP bool) proto {
	switch {
	case forceTCP:
		return protoTCP
	case preferUDP:
		return protoUDP
	case q.clientTC:
		return protoTCP
	}
	return protoUDP
}

// pack returns the request with ID id, prefixed with its length for TCP,
// in q's buffer when it fits. The caller's message is not touched: the ID
// is written into the packed bytes.
func (q *query) pack(id uint16, p proto) ([]byte, error) {
	b := *q.buf
	wire, err := q.req.PackBuffer(b[2:])
	if err != nil {
		return nil, fmt.Errorf("%w: packing: %w", ErrInvalidRequest, err)
	}
	binary.BigEndian.PutUint16(wire, id)
	if p == protoUDP {
		return wire, nil
	}
	if len(wire)+2 > len(b) || &wire[0] != &b[2] { // PackBuffer had to grow
		b = make([]byte, len(wire)+2)
		copy(b[2:], wire)
	}
	binary.BigEndian.PutUint16(b, uint16(len(wire)))
	return b[:len(wire)+2], nil
}

// readBuf returns a buffer of n bytes, q's when it is large enough.
func (q *query) readBuf(n int) []byte {
	if n <= len(*q.buf) {
		return (*q.buf)[:n]
	}
	return make([]byte, n)
}

// accept unpacks b, a reply read for the attempt with ID id, and returns
// it if it answers q. oversized says the UDP datagram was larger than
// q.size: as CoreDNS, the reply becomes its header and question with empty
// sections and TC=1, so the client retries over TCP.
func (q *query) accept(b []byte, id uint16, oversized bool) (*dns.Msg, bool) {
	if len(b) < 12 || binary.BigEndian.Uint16(b) != id {
		return nil, false
	}
	m := new(dns.Msg)
	if oversized {
		b = b[:q.size]
	}
	if err := m.Unpack(b); err != nil {
		if !oversized && !isShort(err) {
			return nil, false // malformed: drop it and keep reading
		}
		oversized = true
	}
	if oversized {
		m.Answer, m.Ns, m.Extra = nil, nil, nil
		m.Truncated = true
	}
	if !q.answers(m) {
		return nil, false
	}
	m.Id = q.req.Id
	return m, true
}

// isShort reports whether an unpack error means the message ended early:
// an upstream that set TC and cut its reply at the byte limit, which
// CoreDNS turns into an empty TC=1 reply (connect.go
// shouldTruncateResponse).
func isShort(err error) bool {
	return errors.Is(err, dns.ErrBuf) || strings.Contains(err.Error(), "overflow")
}

// answers reports whether m is a response to q's question (CoreDNS's
// request.Match, plus the class).
func (q *query) answers(m *dns.Msg) bool {
	if !m.Response || len(m.Question) != 1 {
		return false
	}
	mq := m.Question[0]
	return mq.Qtype == q.qtype && mq.Qclass == q.qclass && strings.EqualFold(mq.Name, q.name)
}
