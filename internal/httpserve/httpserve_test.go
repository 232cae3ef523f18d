package httpserve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

func start(t *testing.T, lim Limits) *Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	s, err := Start(context.Background(), "127.0.0.1:0", "test", h, lim, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// keepAlive makes one request on a new connection and leaves it open and
// idle, as a keep-alive client does.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c
}

func closed(c net.Conn, within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

// At the cap, a new client closes the connection idle longest: a flood of
// idle keep-alive connections cannot lock out a health probe, nor hold
// more descriptors than the cap.
func TestCapClosesTheIdlest(t *testing.T) {
	s := start(t, Limits{MaxConns: 4, IdleTimeout: time.Minute})
	var held []net.Conn
	for range 10 {
		held = append(held, keepAlive(t, s.Addr()))
		time.Sleep(2 * time.Millisecond)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + s.Addr() + "/health")
	if err != nil {
		t.Fatalf("a new client at the cap: %v", err)
	}
	resp.Body.Close()
	open := 0
	for _, c := range held {
		if !closed(c, 50*time.Millisecond) {
			open++
		}
		c.Close()
	}
	if open > 4 || open == 0 {
		t.Errorf("%d of the held connections are open, want the newest ones up to the cap of 4", open)
	}
}

// An idle keep-alive connection is closed after IdleTimeout, and a client
// that never finishes its headers after ReadHeaderTimeout.
func TestTimeouts(t *testing.T) {
	s := start(t, Limits{IdleTimeout: 200 * time.Millisecond, ReadHeaderTimeout: 200 * time.Millisecond})
	idle := keepAlive(t, s.Addr())
	defer idle.Close()
	if !closed(idle, 3*time.Second) {
		t.Error("idle keep-alive connection not closed")
	}
	slow, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET / HTTP/1.1\r\n")
	if !closed(slow, 3*time.Second) {
		t.Error("a request whose headers never end was not cut off")
	}
}
