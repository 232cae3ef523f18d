package outside

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkMissLatency is the time a forwarded question (a cache miss)
// adds over asking the upstream directly, one question at a time (the
// benchmark's low-rate miss run, in-process): p50 and p90 of each path
// are reported, and the added p50 as added-µs.
func BenchmarkMissLatency(b *testing.B) {
	u := startUpstream(b)
	res, _ := New([]Route{{Zone: ".", Cache: newCache(b, nil), Forward: forwarder(b, ".", u.addr)}}, nil)
	s := clusterServer(b, res)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	go s.ListenAndServe(ctx, "127.0.0.1:0", func(udp, _ net.Addr) { addr <- udp.String() })
	via := <-addr
	measure := func(to string, n int) []time.Duration {
		c, err := net.Dial("udp", to)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 1500)
		out := make([]time.Duration, 0, n)
		for i := range n {
			m := new(dns.Msg)
			m.SetQuestion(fmt.Sprintf("m%d.miss.example.", i+n*len(to)), dns.TypeA)
			w, _ := m.Pack()
			start := time.Now()
			c.Write(w)
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
			out = append(out, time.Since(start))
			time.Sleep(time.Millisecond) // a low rate: every path starts idle
		}
		slices.Sort(out)
		return out
	}
	b.ResetTimer()
	n := max(b.N, 500)
	direct := measure(u.addr, n)
	through := measure(via, n)
	p := func(v []time.Duration, q float64) float64 { return float64(v[int(q*float64(len(v)-1))].Microseconds()) }
	b.ReportMetric(p(direct, 0.5), "direct-p50-µs")
	b.ReportMetric(p(through, 0.5), "via-p50-µs")
	b.ReportMetric(p(through, 0.9), "via-p90-µs")
	b.ReportMetric(p(through, 0.5)-p(direct, 0.5), "added-p50-µs")
}
