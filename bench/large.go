package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/miekg/dns"
)

// Transports of the large-answer measurements.
const (
	tUDP512  = "UDP, no EDNS (512)"
	tUDP1232 = "UDP, EDNS 1232"
	tTCP     = "TCP"
)

var largeTransports = []string{tUDP512, tUDP1232, tTCP}

// largeRow is one (size, transport, server) measurement.
type largeRow struct {
	size      int
	transport string
	kind      string
	qps       float64
	perCPU    float64
	// Correctness of one answer.
	bytes     int  // largest answer seen
	limit     int  // negotiated size
	tc        bool // TC set
	records   int  // A records in one answer
	coverage  int  // distinct endpoints over repeated UDP queries
	complete  bool // all endpoints in one answer
	violation string
}

var largeKinds = []string{kClusterdns, kCoreDNS, kCoreDNSMulti}

// measureLarge measures, for each large headless service, each transport
// and each server, the rate of the same query and the correctness of its
// answers.
func measureLarge(c config, e *benchEnv, servers map[string]*server, r *results) error {
	secs := c.seconds / 2
	for _, n := range largeSizes(c) {
		s := e.st.get(largeNS, fmt.Sprintf("big%d-0", n))
		q := query{s.fqdn(), dns.TypeA}
		text, bin := e.path(fmt.Sprintf("large-%d.txt", n)), e.path(fmt.Sprintf("large-%d.bin", n))
		if err := writeQueries(text, []query{q}); err != nil {
			return err
		}
		if err := writeBinaryQueries(bin, []query{q}, 1232); err != nil {
			return err
		}
		for _, t := range largeTransports {
			if c.quick && t == tUDP512 {
				continue
			}
			for _, k := range c.trim(largeKinds) {
				if t == tTCP && k == kCoreDNSMulti {
					continue // multisocket only changes UDP
				}
				row := largeRow{size: n, transport: t, kind: k}
				if err := row.measure(servers[k], q, text, bin, secs); err != nil {
					return err
				}
				r.large = append(r.large, row)
				logf("large %d %-20s %-22s %8.0f QPS  %d records, %d bytes, tc=%v, coverage %d/%d %s", n, t, k, row.qps, row.records, row.bytes, row.tc, row.coverage, n, row.violation)
			}
		}
	}
	return nil
}

// measure loads srv with q for secs over the row's transport (dnsperf with
// the text or binary query file over UDP, the benchmark's own client over
// TCP), then checks the answers.
func (row *largeRow) measure(srv *server, q query, text, bin string, secs float64) error {
	o := perfOpts{data: text, seconds: secs, clients: 64}
	switch row.transport {
	case tUDP512:
		row.limit = 512
	case tUDP1232:
		row.limit = 1232
		o.data, o.binary = bin, true
	case tTCP:
		row.limit = 65535
	}
	var res perfResult
	var err error
	if row.transport == tTCP {
		res, err = tcpLoad(srv, q, 16, 16, time.Duration(secs*float64(time.Second)))
	} else {
		res, err = dnsperf(srv, o)
	}
	if err != nil {
		return err
	}
	row.qps, row.perCPU = res.qps, res.perCPU()
	row.checkAnswers(srv.addr, q)
	return nil
}

// checkAnswers asks q once over TCP, or 50 times over UDP for the
// coverage of rotating answers, and records the largest answer, the TC
// bit and A records of the last one, the distinct endpoints over all of
// them, and the last violation: an answer over the negotiated size, or
// records missing without TC.
func (row *largeRow) checkAnswers(addr string, q query) {
	tcp := row.transport == tTCP
	seen := map[string]bool{}
	tries := 1
	if !tcp {
		tries = 50
	}
	for range tries {
		var bufsize uint16
		if row.transport == tUDP1232 {
			bufsize = 1232
		}
		m, size, err := rawExchange(addr, q, tcp, bufsize)
		if err != nil {
			row.violation = err.Error()
			break
		}
		row.bytes = max(row.bytes, size)
		row.tc = m.Truncated
		row.records = 0
		for _, rr := range m.Answer {
			if a, ok := rr.(*dns.A); ok {
				row.records++
				seen[a.A.String()] = true
			}
		}
		if size > row.limit {
			row.violation = fmt.Sprintf("answer of %d bytes over the %d limit", size, row.limit)
		}
		if row.records < row.size && !m.Truncated {
			row.violation = fmt.Sprintf("%d of %d records without TC", row.records, row.size)
		}
	}
	row.coverage = len(seen)
	row.complete = row.records == row.size
}

// rawExchange sends one query and returns the answer and its size on the
// wire.
func rawExchange(addr string, q query, tcp bool, bufsize uint16) (*dns.Msg, int, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	if bufsize > 0 {
		m.SetEdns0(bufsize, false)
	}
	w, err := m.Pack()
	if err != nil {
		return nil, 0, err
	}
	var lastErr error
	for range 3 {
		buf, err := rawOnce(addr, w, tcp)
		if err != nil {
			lastErr = err
			continue
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf); err != nil {
			return nil, len(buf), err
		}
		return r, len(buf), nil
	}
	return nil, 0, lastErr
}

func rawOnce(addr string, w []byte, tcp bool) ([]byte, error) {
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if !tcp {
		if _, err := c.Write(w); err != nil {
			return nil, err
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		return buf[:n], err
	}
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(w))), w...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	_, err = io.ReadFull(c, buf)
	return buf, err
}
