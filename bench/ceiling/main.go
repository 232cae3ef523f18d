// Command ceiling is the benchmark's practical ceiling for a Go UDP DNS
// server: the least a responder can do. Per query it copies the question,
// patches the header and appends one pre-packed A record; it reads and
// writes with ReadFromUDPAddrPort/WriteToUDPAddrPort on a few SO_REUSEPORT
// sockets, one goroutine each. It answers every name with the same address,
// so it is a ceiling, not a server.
//
// With -relay ADDR it is the floor of a forwarder's added latency instead:
// each socket's goroutine sends the query as it came to ADDR on a connected
// socket of its own, waits for the reply and sends it back, nothing parsed,
// cached or matched (the least any forwarder does per cache miss).
//
//	go run ./bench/ceiling -listen 127.0.0.1:5300 -sockets 2
//	go run ./bench/ceiling -listen 127.0.0.1:5300 -relay 127.0.0.1:5301
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5300", "UDP address")
	sockets := flag.Int("sockets", 2, "SO_REUSEPORT sockets, one goroutine each")
	relayTo := flag.String("relay", "", "relay every query to this UDP address instead of answering it")
	flag.Parse()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	for range *sockets {
		pc, err := lc.ListenPacket(context.Background(), "udp", *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		if *relayTo == "" {
			go serve(pc.(*net.UDPConn))
			continue
		}
		up, err := net.Dial("udp", *relayTo)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ceiling: relay:", err)
			os.Exit(1)
		}
		go relay(pc.(*net.UDPConn), up.(*net.UDPConn))
	}
	fmt.Println("ceiling: listening on", *listen)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

// record is the answer: a pointer to the question name, A IN TTL 5, 10.0.0.1.
var record = []byte{0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1}

func serve(c *net.UDPConn) {
	in := make([]byte, 4096)
	out := make([]byte, 0, 4096)
	for {
		n, from, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		// End of the question: the name, then type and class.
		off := 12
		for off < n && in[off] != 0 {
			off += 1 + int(in[off])
		}
		off += 5
		if off > n {
			continue
		}
		out = append(out[:0], in[:off]...)
		out[2] |= 0x84 // QR, AA
		binary.BigEndian.PutUint16(out[6:], 1)
		binary.BigEndian.PutUint16(out[8:], 0)
		binary.BigEndian.PutUint16(out[10:], 0)
		out = append(out, record...)
		c.WriteToUDPAddrPort(out, from)
	}
}

// relay sends each query read from c to up and the reply back to its
// sender, one at a time. A reply that does not come within a second is
// given up (the client counts it lost).
func relay(c, up *net.UDPConn) {
	in := make([]byte, 65535)
	for {
		n, from, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			return
		}
		if _, err := up.Write(in[:n]); err != nil {
			continue
		}
		up.SetReadDeadline(time.Now().Add(time.Second))
		m, err := up.Read(in)
		if err != nil {
			continue
		}
		c.WriteToUDPAddrPort(in[:m], from)
	}
}
