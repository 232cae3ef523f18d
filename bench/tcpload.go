package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// tcpLoad sends q over conns TCP connections with depth queries in flight
// on each for the duration, and reports like dnsperf. It exists because
// dnsperf 2.10 cannot read TCP answers much larger than 16 KiB (it drops
// the connection), and the large-answer runs need answers up to 64 KiB.
func tcpLoad(s *server, q query, conns, depth int, d time.Duration) (perfResult, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	w, err := m.Pack()
	if err != nil {
		return perfResult{}, err
	}
	frame := append(binary.BigEndian.AppendUint16(nil, uint16(len(w))), w...)
	var sent, done atomic.Int64
	var firstErr error
	var once sync.Once
	c0, t0 := s.cpuTicks(), time.Now()
	deadline := t0.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			defer c.Close()
			c.SetDeadline(deadline.Add(2 * time.Second))
			slots := make(chan struct{}, depth)
			stop := make(chan struct{})
			go func() {
				bw := bufio.NewWriter(c)
				for {
					select {
					case slots <- struct{}{}:
					case <-stop:
						return
					}
					if time.Now().After(deadline) {
						bw.Flush()
						return
					}
					bw.Write(frame)
					sent.Add(1)
					if len(slots) == depth || len(slots) == 1 {
						if bw.Flush() != nil {
							return
						}
					}
				}
			}()
			br := bufio.NewReaderSize(c, 128*1024)
			buf := make([]byte, 65535)
			var l [2]byte
			for time.Now().Before(deadline) {
				if _, err := io.ReadFull(br, l[:]); err != nil {
					break
				}
				if _, err := io.ReadFull(br, buf[:binary.BigEndian.Uint16(l[:])]); err != nil {
					break
				}
				done.Add(1)
				<-slots
			}
			close(stop)
		}()
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	res := perfResult{sent: sent.Load(), completed: done.Load(), wall: el, cpuSeconds: float64(s.cpuTicks()-c0) / ticksPerSecond}
	res.qps = float64(res.completed) / d.Seconds()
	return res, firstErr
}
