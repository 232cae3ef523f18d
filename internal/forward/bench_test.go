package forward

import (
	"context"
	"net"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkExchangeUDP forwards one A query at a time to a local upstream
// over UDP, reusing the pooled socket. The upstream is a raw socket that
// echoes a prepacked reply with the query's ID, so nearly all allocations
// counted are the forwarder's: 12 unpacking the reply into a dns.Msg (the
// reply's OPT included), 1 the responder's ReadFrom; none for sockets,
// buffers or the policy.
func BenchmarkExchangeUDP(b *testing.B) {
	req := question("www.example.", dns.TypeA)
	req.SetEdns0(1232, false)
	reply := new(dns.Msg)
	reply.SetReply(req)
	reply.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "www.example.", Rrtype: dns.TypeA, Class: dns.ClassINET,
		Ttl: 60}, A: net.IPv4(192, 0, 2, 1)}}
	reply.SetEdns0(1232, false)
	wire := pack(b, reply)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		out := append([]byte(nil), wire...)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 2 {
				out[0], out[1] = buf[0], buf[1]
				pc.WriteTo(out, from)
			}
		}
	}()

	f := newForwarder(b, DefaultConfig(pc.LocalAddr().String()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Exchange(ctx, req, "udp"); err != nil {
			b.Fatal(err)
		}
	}
}
