package resolv

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Live is an Exchanger that sends the questions to a DNS server the way
// the client puts them on the wire: back to back from one UDP socket
// (glibc, musl), one after the other on one socket or a new socket each
// (glibc single-request / single-request-reopen), or in parallel from a
// socket each (Go). A truncated reply is asked again over TCP.
type Live struct {
	// Server is host:port.
	Server string
	// TCP sends every question over TCP (use-vc).
	TCP bool
	// EDNS adds an OPT record (Go always does; glibc only with edns0).
	EDNS bool
	// TCPBatch: a truncated reply to one of the questions sent together
	// sends them all again over TCP (glibc); else only that one (Go, musl
	// 1.2.4 and later).
	TCPBatch bool
	// Local, when valid, is the UDP source address (a pod's, for a server
	// that tells clients apart by address).
	Local netip.Addr
}

// dialUDP opens a UDP socket to the server, from Local when set.
func (l *Live) dialUDP(timeout time.Duration) (*dns.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	if l.Local.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: l.Local.AsSlice()}
	}
	c, err := d.Dial("udp", l.Server)
	if err != nil {
		return nil, err
	}
	return &dns.Conn{Conn: c}, nil
}

// RunLive runs the lookup against the server at addr: every try goes
// there and waits timeout for its reply (0: the resolv.conf's timeout).
func RunLive(cfg Config, name string, m Model, addr string, timeout time.Duration) Result {
	v := cfg.View(m)
	v.Nameservers = []string{addr}
	if timeout > 0 {
		v.Timeout = timeout
	}
	return RunView(v, name, m, &Live{Server: addr, TCP: v.UseTCP && m.dialect() != dialectMusl, EDNS: m.dialect() == dialectGo, TCPBatch: m.dialect() == dialectGlibc})
}

func (l *Live) msg(q Question) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	m.RecursionDesired = true
	if l.EDNS {
		m.SetEdns0(1232, false)
	}
	return m
}

// Exchange implements Exchanger.
func (l *Live) Exchange(qs []Question, mode SendMode, timeout time.Duration) []Reply {
	out := make([]Reply, len(qs))
	if l.TCP {
		for i, q := range qs {
			out[i] = l.tcp(q, timeout, 0)
		}
		return out
	}
	switch mode {
	case Apart:
		var wg sync.WaitGroup
		for i := range qs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = l.udp(qs[i:i+1], timeout)[0]
			}()
		}
		wg.Wait()
	case Reopen, Sequential:
		var conn *dns.Conn
		for i := range qs {
			if i > 0 && out[i-1].Rcode == Timeout {
				out[i] = Reply{Rcode: NotSent}
				continue
			}
			if conn == nil || mode == Reopen {
				if conn != nil {
					conn.Close()
				}
				var err error
				if conn, err = l.dialUDP(timeout); err != nil {
					out[i] = Reply{Rcode: Timeout}
					conn = nil
					continue
				}
			}
			out[i] = l.onConn(conn, qs[i:i+1], timeout)[0]
		}
		if conn != nil {
			conn.Close()
		}
	default:
		return l.udp(qs, timeout)
	}
	return out
}

func failAll(out []Reply) []Reply {
	for i := range out {
		out[i] = Reply{Rcode: Timeout}
	}
	return out
}

// udp sends qs back to back from a new socket and waits for their replies.
func (l *Live) udp(qs []Question, timeout time.Duration) []Reply {
	conn, err := l.dialUDP(timeout)
	if err != nil {
		return failAll(make([]Reply, len(qs)))
	}
	defer conn.Close()
	return l.onConn(conn, qs, timeout)
}

func (l *Live) onConn(conn *dns.Conn, qs []Question, timeout time.Duration) []Reply {
	out := make([]Reply, len(qs))
	ids := map[uint16]int{}
	start := time.Now()
	truncated := false
	for i, q := range qs {
		m := l.msg(q)
		for ids[m.Id] != 0 || m.Id == 0 {
			m.Id = dns.Id()
		}
		ids[m.Id] = i + 1
		out[i] = Reply{Rcode: Timeout, Elapsed: timeout}
		if err := conn.WriteMsg(m); err != nil {
			delete(ids, m.Id)
		}
	}
	_ = conn.SetReadDeadline(start.Add(timeout))
	for len(ids) > 0 {
		r, err := conn.ReadMsg()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) || time.Since(start) >= timeout {
				break
			}
			continue // an unreadable packet or an ICMP error: keep waiting
		}
		i, ok := ids[r.Id]
		if !ok || len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, qs[i-1].Name) || r.Question[0].Qtype != qs[i-1].Type {
			continue
		}
		delete(ids, r.Id)
		q := qs[i-1]
		if r.Truncated && !l.TCPBatch {
			out[i-1] = l.tcp(q, timeout, time.Since(start))
			continue
		}
		truncated = truncated || r.Truncated
		out[i-1] = replyOf(r, q.Type, time.Since(start))
	}
	if truncated {
		spent := time.Since(start)
		for i, q := range qs {
			out[i] = l.tcp(q, timeout, spent)
		}
	}
	return out
}

// tcp asks q over TCP; spent is the time already spent on it over UDP.
func (l *Live) tcp(q Question, timeout, spent time.Duration) Reply {
	c := &dns.Client{Net: "tcp", Timeout: timeout}
	r, rtt, err := c.Exchange(l.msg(q), l.Server)
	if err != nil {
		return Reply{Rcode: Timeout, Elapsed: spent + timeout, TCP: true}
	}
	rep := replyOf(r, q.Type, spent+rtt)
	rep.TCP = true
	return rep
}

func replyOf(r *dns.Msg, qtype uint16, elapsed time.Duration) Reply {
	rep := Reply{Rcode: r.Rcode, Elapsed: elapsed}
	for _, rr := range r.Answer {
		if t := rr.Header().Rrtype; t == qtype || t == dns.TypeCNAME {
			rep.Answers++
		}
	}
	rep.Lame = r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0 && !r.Authoritative && !r.RecursionAvailable && len(r.Extra) == 0
	return rep
}
