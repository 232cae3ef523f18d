//go:build e2e

package e2e

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// gate is a TCP proxy to the API server that refuses (accepts and closes at
// once) every connection until it is opened.
type gate struct {
	l      net.Listener
	target string
	isOpen atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{l: l, target: target}
	g.wg.Add(1)
	go g.serve()
	t.Cleanup(g.close)
	return g
}

func (g *gate) addr() string { return g.l.Addr().String() }

func (g *gate) open() { g.isOpen.Store(true) }

func (g *gate) serve() {
	defer g.wg.Done()
	for {
		c, err := g.l.Accept()
		if err != nil {
			return
		}
		if !g.isOpen.Load() {
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", g.target)
		if err != nil {
			c.Close()
			continue
		}
		g.mu.Lock()
		g.conns = append(g.conns, c, d)
		g.mu.Unlock()
		go func() { io.Copy(d, c); d.Close() }()
		go func() { io.Copy(c, d); c.Close() }()
	}
}

func (g *gate) close() {
	g.l.Close()
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
}

// cut refuses new connections and breaks the open ones: the API server is
// gone for whoever goes through the gate, until it is opened again.
func (g *gate) cut() {
	g.isOpen.Store(false)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
}
