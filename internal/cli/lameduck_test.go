package cli

import (
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A query of the load: when it was sent and whether it was answered.
type loadQuery struct {
	sent time.Time
	ok   bool
}

// udpLoad sends queries from several clients, each waiting for its answer
// (1 s) before the next, until stop is closed.
func udpLoad(t *testing.T, addr string, names []string, clients int, stop <-chan struct{}) func() []loadQuery {
	var mu sync.Mutex
	var all []loadQuery
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				m := new(dns.Msg)
				m.SetQuestion(names[(i+n)%len(names)], dns.TypeA)
				wire, _ := m.Pack()
				q := loadQuery{sent: time.Now()}
				c.SetDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(wire); err == nil {
					k, err := c.Read(buf)
					r := new(dns.Msg)
					q.ok = err == nil && r.Unpack(buf[:k]) == nil && r.Id == m.Id && r.Rcode == dns.RcodeSuccess
				}
				mu.Lock()
				all = append(all, q)
				mu.Unlock()
			}
		}()
	}
	return func() []loadQuery {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return all
	}
}

// health { lameduck 5s }: on SIGTERM under load, every query sent in the
// lame duck period is answered (cluster names and forwarded ones), and the
// process is gone within the period plus a second, as CoreDNS's
// shutdown sequence.
func TestLameduckUnderLoadLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the 5 s lame duck period")
	}
	up := startFakeUpstream(t, 1)
	path := writeCorefile(t, t.TempDir(), `.:53 {
    errors
    health 127.0.0.1:0 {
       lameduck 5s
    }
    kubernetes cluster.local
    forward . `+up.addr+`
    cache 30
}
`)
	manifests, _ := filepath.Abs(exampleManifests)
	// A binary built with -race sleeps a second before it exits
	// (GORACE atexit_sleep_ms, 1000 by default): not part of serve's
	// shutdown.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	c := startChild(t, 0, "serve", "--corefile", path, "--manifests", manifests, "--listen", "127.0.0.1:0", "--metrics-addr", "")
	addr := c.waitServing(t)
	stop := make(chan struct{})
	results := udpLoad(t, addr, []string{"web.default.svc.cluster.local.", "www.example.com.", "api.default.svc.cluster.local."}, 4, stop)
	time.Sleep(time.Second)
	term := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var gone time.Time
	select {
	case err := <-c.done:
		gone = time.Now()
		c.done <- err // for the child's cleanup, which waits for it
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10 s of SIGTERM")
	}
	close(stop)
	qs := results()
	lost, during := 0, 0
	for _, q := range qs {
		if q.sent.After(term) && q.sent.Before(term.Add(5*time.Second-200*time.Millisecond)) {
			during++
			if !q.ok {
				lost++
			}
		}
	}
	if during < 100 || lost > 0 {
		t.Errorf("%d of %d queries sent during the lame duck period lost (want many queries, none lost)", lost, during)
	}
	if d := gone.Sub(term); d < 5*time.Second || d > 6*time.Second {
		t.Errorf("exited %v after SIGTERM, want between 5 s (lame duck) and 6 s", d.Round(10*time.Millisecond))
	}
	t.Logf("%d queries in all, %d during the lame duck period, exited after %v", len(qs), during, gone.Sub(term).Round(10*time.Millisecond))
}
