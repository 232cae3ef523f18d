package outside

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

// LoopDetector finds a forwarding loop at start, as CoreDNS's loop plugin
// does: the server asks itself HINFO for a random name in its first zone;
// if that question comes back to it more than twice, its forwarding leads
// back to itself (typically a node resolv.conf naming systemd-resolved's
// 127.0.0.53, or an upstream pointing at the cluster DNS), and every
// forwarded query would circle until it times out.
//
// It wraps the server's Outside and counts the probe name only while
// probing: after the first answered probe it turns itself off 2 s later,
// and it gives up after 30 s. A loop that appears later is not found
// (CoreDNS's limits too).
type LoopDetector struct {
	next     server.Outside
	name     string
	enabled  atomic.Bool
	seen     atomic.Int32
	once     sync.Once
	detected chan struct{}
}

// NewLoopDetector wraps next with a detector probing zone ("." for the
// default server block).
func NewLoopDetector(next server.Outside, zone string) *LoopDetector {
	l := &LoopDetector{next: next, name: probeName(zone), detected: make(chan struct{})}
	l.enabled.Store(true)
	return l
}

// probeName is <random>.<random>.<zone>, 62 random bits each as CoreDNS.
func probeName(zone string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	a, c := binary.BigEndian.Uint64(b[:8])>>2, binary.BigEndian.Uint64(b[8:])>>2
	name := strconv.FormatUint(a, 10) + "." + strconv.FormatUint(c, 10) + "."
	if z := dns.Fqdn(zone); z != "." {
		name += z
	}
	return name
}

// Detected is closed when a loop is found.
func (l *LoopDetector) Detected() <-chan struct{} { return l.detected }

// Err describes the loop for the log and the exit.
func (l *LoopDetector) Err(self string) error {
	return fmt.Errorf("forwarding loop detected: the probe HINFO %s sent to this server (%s) came back to it more than twice, so forwarding leads back here "+
		"(a resolv.conf naming 127.0.0.53 or this server, or an upstream pointing at the cluster DNS); set --upstream (or forward's TO) to a resolver that does not forward to this server, "+
		"e.g. kubelet resolvConf: /run/systemd/resolve/resolv.conf", l.name, self)
}

func (l *LoopDetector) count(q *server.Question) {
	if l.enabled.Load() && q.Qtype == dns.TypeHINFO && q.Name == l.name && l.seen.Add(1) > 2 {
		l.once.Do(func() { close(l.detected) })
	}
}

// Cached counts the probe, then asks the wrapped Outside.
func (l *LoopDetector) Cached(q *server.Question, out []byte) ([]byte, bool) {
	l.count(q)
	return l.next.Cached(q, out)
}

// Resolve asks the wrapped Outside.
func (l *LoopDetector) Resolve(q *server.Question, reply func([]byte)) { l.next.Resolve(q, reply) }

// Probe asks addr (the server's own address) the probe question until one
// is answered, then stops counting 2 s later; it gives up after 30 s or
// when ctx ends. A failed exchange resets the count, as CoreDNS does.
func (l *LoopDetector) Probe(ctx context.Context, addr string) {
	deadline := time.Now().Add(30 * time.Second)
	m := new(dns.Msg)
	m.SetQuestion(l.name, dns.TypeHINFO)
	c := &dns.Client{Timeout: 5 * time.Second}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, _, err := c.ExchangeContext(ctx, m, addr); err == nil {
			time.AfterFunc(2*time.Second, func() { l.enabled.Store(false) })
			return
		}
		l.seen.Store(0)
		select {
		case <-ctx.Done():
		case <-l.detected:
			return
		case <-time.After(time.Second):
		}
	}
	l.enabled.Store(false)
}
