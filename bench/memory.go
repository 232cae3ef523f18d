package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// memRow is memory and start-up at one scale.
type memRow struct {
	name           string
	services, eps  int
	steadyKB       map[string]int64
	peakKB         map[string]int64
	readySeconds   map[string]float64
	relistSeconds  map[string]float64 // restart of the API server to the new object answered
	relistObserved map[string]bool
}

var memKinds = []string{kClusterdns, kCoreDNS}

// measureMemory grows the state in steps; at each, it starts each server
// alone (start-to-ready), lets it settle (steady RSS), then restarts the API
// server with a newer etcd revision, which makes every informer list again
// (peak RSS during the re-list).
func measureMemory(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	type step struct {
		name string
		grow func() error
	}
	steps := []step{{"1k services × 10 endpoints", func() error { return nil }}}
	if !c.quick {
		base := e.st.filter(func(s *service) bool { return len(s.name) > 4 && s.name[:4] == "svc-" })
		steps = append(steps,
			step{"1k services × 100 endpoints", func() error { return b.grow(ctx, base, 100) }},
			step{"10k services, ~150k endpoints (1k × 100 + 9k × 5)", func() error {
				var nss []string
				for i := range 10 {
					nss = append(nss, fmt.Sprintf("scale-%d", i))
				}
				if err := b.namespaces(ctx, nss...); err != nil {
					return err
				}
				return b.create(ctx, spec{prefix: "scale", namespaces: nss, count: 9000, headlessEvery: 5, eps: 5})
			}},
		)
	}
	settle := 10 * time.Second
	if c.quick {
		settle = 3 * time.Second
	}
	for i, stp := range steps {
		t0 := time.Now()
		if err := stp.grow(); err != nil {
			return err
		}
		svcs, eps := e.st.counts()
		logf("memory step %q: %d services, %d endpoints (grown in %v)", stp.name, svcs, eps, time.Since(t0).Round(time.Millisecond))
		row := memRow{name: stp.name, services: svcs, eps: eps, steadyKB: map[string]int64{}, peakKB: map[string]int64{},
			readySeconds: map[string]float64{}, relistSeconds: map[string]float64{}, relistObserved: map[string]bool{}}
		// The last ClusterIP service created is about the last a server
		// answers (a headless one of 1,000 endpoints would not fit UDP).
		cips := e.st.filter(func(s *service) bool { return !s.headless && !strings.HasPrefix(s.name, "marker-") })
		last := cips[len(cips)-1]
		want := last.clusterIP
		servers := map[string]*server{}
		for _, k := range memKinds {
			s, err := e.start(k)
			if err != nil {
				stopAll(servers)
				return err
			}
			servers[k] = s
			at, err := s.waitAnswerEvery(last.fqdn(), dns.TypeA, want, 300*time.Second, 2*time.Millisecond)
			if err != nil {
				stopAll(servers)
				return err
			}
			row.readySeconds[k] = at.Sub(s.started).Seconds()
		}
		time.Sleep(settle)
		for _, k := range memKinds {
			row.steadyKB[k] = servers[k].steadyRSS()
		}
		if err := relist(ctx, e, b, servers, &row, i); err != nil {
			stopAll(servers)
			return err
		}
		stopAll(servers)
		r.memory = append(r.memory, row)
		for _, k := range memKinds {
			logf("memory %s %-12s ready %.2fs steady %d MiB peak %d MiB (re-list answered after %.1fs)", stp.name, k, row.readySeconds[k],
				row.steadyKB[k]/1024, row.peakKB[k]/1024, row.relistSeconds[k])
		}
	}
	if !c.quick && c.want("autopath") {
		// Last: a pod behind every endpoint, which only a server watching
		// pods holds.
		return measureAutopathMemory(ctx, e, b, r, settle)
	}
	return nil
}

// steadyRSS is the median of five VmRSS readings half a second apart (KiB).
func (s *server) steadyRSS() int64 {
	var samples []float64
	for range 5 {
		samples = append(samples, float64(s.memKB("VmRSS")))
		time.Sleep(500 * time.Millisecond)
	}
	return int64(median(samples))
}

// relist restarts the API server after moving etcd's revision on, so that
// the new API server's watch cache starts after every client's
// resourceVersion: each watch is answered "too old" and each informer lists
// everything again. Peak RSS is VmHWM, reset before.
func relist(ctx context.Context, e *benchEnv, b *builder, servers map[string]*server, row *memRow, step int) error {
	var stop chan struct{}
	var wg sync.WaitGroup
	sampled := map[string]int64{}
	var mu sync.Mutex
	for _, s := range servers {
		if err := s.resetPeak(); err != nil {
			return err
		}
	}
	stop = make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				for k, s := range servers {
					sampled[k] = max(sampled[k], s.memKB("VmRSS"))
				}
				mu.Unlock()
			}
		}
	}()
	e.cp.APIServer.StopWithin(3 * time.Second)
	if err := bumpEtcd(e.cp.EtcdPort); err != nil {
		return fmt.Errorf("moving etcd's revision: %w", err)
	}
	restarted := time.Now()
	if err := e.cp.RestartAPIServer(); err != nil {
		return err
	}
	marker := &service{ns: "bench-9", name: fmt.Sprintf("marker-%d", step)}
	if err := b.createService(ctx, marker); err != nil {
		return err
	}
	if err := b.writeSlices(ctx, marker, time.Time{}, true); err != nil {
		return err
	}
	var err error
	for k, s := range servers {
		at, werr := s.waitAnswerEvery(marker.fqdn(), dns.TypeA, marker.clusterIP, 180*time.Second, 10*time.Millisecond)
		if werr != nil {
			err = werr
			continue
		}
		row.relistSeconds[k] = at.Sub(restarted).Seconds()
	}
	// Let the re-listed state settle into the new snapshot, then stop
	// sampling.
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	for k, s := range servers {
		row.peakKB[k] = max(s.memKB("VmHWM"), sampled[k])
	}
	return err
}

// bumpEtcd writes a key outside /registry through etcd's gRPC gateway.
func bumpEtcd(port int) error {
	for range 3 {
		body := fmt.Sprintf(`{"key":%q,"value":%q}`, base64.StdEncoding.EncodeToString([]byte("/bench/bump")),
			base64.StdEncoding.EncodeToString([]byte(time.Now().String())))
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v3/kv/put", port), "application/json", bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("etcd put: HTTP %d", resp.StatusCode)
		}
	}
	return nil
}
