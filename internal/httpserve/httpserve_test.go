package httpserve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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

// A client flooding from one address evicts its own connections, not a
// connection from another address (a kubelet probe, a scraper).
func TestCapEvictsFromTheAddressHoldingMost(t *testing.T) {
	s := start(t, Limits{MaxConns: 4, IdleTimeout: time.Minute})
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	other, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	defer other.Close()
	fmt.Fprintf(other, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(other), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 20 {
		c := keepAlive(t, s.Addr())
		defer c.Close()
	}
	if closed(other, 100*time.Millisecond) {
		t.Error("the one connection from another address was evicted by a flood from 127.0.0.1")
	}
}

// A new connection that has not sent its request yet is passed over while
// older idle connections can be closed instead.
func TestNewConnectionIsNotEvictedFirst(t *testing.T) {
	s := start(t, Limits{MaxConns: 4, IdleTimeout: time.Minute})
	for range 3 {
		c := keepAlive(t, s.Addr())
		defer c.Close()
	}
	fresh, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	time.Sleep(20 * time.Millisecond) // accepted and tracked
	for range 3 {
		c := keepAlive(t, s.Addr())
		defer c.Close()
	}
	fmt.Fprintf(fresh, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	fresh.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(fresh), nil)
	if err != nil {
		t.Fatalf("the new connection was evicted before its request: %v", err)
	}
	resp.Body.Close()
}

// Cached runs the handler once per maxAge for a flood of requests, per
// representation, and does not keep failures.
func TestCachedRendersOncePerMaxAge(t *testing.T) {
	var mu sync.Mutex
	renders, status := 0, http.StatusOK
	h := Cached(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		renders++
		n, st := renders, status
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; format="+r.Header.Get("Accept"))
		w.WriteHeader(st)
		fmt.Fprintf(w, "render %d", n)
	}), 200*time.Millisecond)
	get := func(accept string) (int, string, string) {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String(), rec.Header().Get("Content-Type")
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); get("text") }()
	}
	wg.Wait()
	if _, body, ct := get("text"); body != "render 1" || ct != "text/plain; format=text" {
		t.Errorf("after 51 requests: %q %q, want the first rendering", body, ct)
	}
	if _, body, _ := get("proto"); body != "render 2" {
		t.Errorf("another representation: %q, want its own rendering", body)
	}
	time.Sleep(250 * time.Millisecond)
	if _, body, _ := get("text"); body != "render 3" {
		t.Errorf("after maxAge: %q, want a new rendering", body)
	}
	mu.Lock()
	status = http.StatusInternalServerError
	mu.Unlock()
	time.Sleep(250 * time.Millisecond)
	if code, _, _ := get("text"); code != 500 {
		t.Errorf("a failing handler: %d", code)
	}
	if code, _, _ := get("text"); code != 500 {
		t.Errorf("a failure was served from the cache: %d", code)
	}
}
