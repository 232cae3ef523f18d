package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// progRes is the programming latency of one server: from the
// EndpointSlice's last-change-trigger-time (set by the benchmark just before
// it writes the slice) to the first query answered with the new address.
type progRes struct {
	first, last []float64 // seconds, changes to the first / last endpoints
	missed      int
}

// all is every latency, head and tail changes together.
func (pr *progRes) all() []float64 {
	return append(append([]float64{}, pr.first...), pr.last...)
}

// measureProgramming changes the address of the first or the last endpoints
// of a 1,000-endpoint headless service 20 times a second and polls each
// server for the new answer.
func measureProgramming(ctx context.Context, c config, e *benchEnv, b *builder, r *results) error {
	kinds := []string{kClusterdns, kCoreDNS}
	servers, err := startAll(e, kinds)
	if err != nil {
		return err
	}
	defer stopAll(servers)
	s := e.st.get(progNS, "churn-0")
	dur := 30 * time.Second
	if c.quick {
		dur = 8 * time.Second
	}
	const rate = 20
	// Endpoints changed in turn: five at the head, five at the tail, so
	// that an endpoint changes again only after 500 ms.
	idx := []int{0, 999, 1, 998, 2, 997, 3, 996, 4, 995}
	var mu sync.Mutex
	res := map[string]*progRes{}
	for _, k := range kinds {
		res[k] = &progRes{}
	}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	begin := time.Now()
	changes := 0
	for time.Since(begin) < dur {
		<-tick.C
		i := idx[changes%len(idx)]
		changes++
		ip := e.st.allocIP()
		s.eps[i].ip = ip
		name := s.eps[i].hostname + "." + s.fqdn()
		trigger := time.Now()
		if err := b.writeSlices(ctx, s, trigger, false); err != nil {
			return err
		}
		for _, k := range kinds {
			wg.Add(1)
			go func(srv *server, head bool) {
				defer wg.Done()
				at, err := srv.waitAnswerEvery(name, dns.TypeA, ip, 10*time.Second, time.Millisecond)
				mu.Lock()
				defer mu.Unlock()
				pr := res[srv.kind]
				switch {
				case err != nil:
					pr.missed++
				case head:
					pr.first = append(pr.first, at.Sub(trigger).Seconds())
				default:
					pr.last = append(pr.last, at.Sub(trigger).Seconds())
				}
			}(servers[k], i < 500)
		}
	}
	wg.Wait()
	r.progChanges = changes
	r.progRate = float64(changes) / time.Since(begin).Seconds()
	r.prog = res
	r.progInternal = append(r.progInternal, loggedProgramming(servers[kClusterdns])...)
	sort.Float64s(r.progInternal)
	logProgramming(r)
	return nil
}

// logProgramming logs the percentiles of each server, and clusterdns's
// own view.
func logProgramming(r *results) {
	for k, pr := range r.prog {
		logf("programming %s: %d+%d changes seen, %d missed; p50 %s p99 %s", k, len(pr.first), len(pr.last), pr.missed,
			ms(percentileOf(pr.all(), 0.5)), ms(percentileOf(pr.all(), 0.99)))
	}
	logf("programming clusterdns internal (event to swap): n=%d p50 %s p99 %s", len(r.progInternal),
		ms(percentile(r.progInternal, 0.5)), ms(percentile(r.progInternal, 0.99)))
}

// loggedProgramming is clusterdns's own view of the programming latency of
// the churned service, in seconds: event received to snapshot swapped,
// from its "dns programming latency" log lines.
func loggedProgramming(srv *server) []float64 {
	var out []float64
	for _, line := range srv.logs.all() {
		if !strings.Contains(line, "churn-0") {
			continue
		}
		if v, ok := eventToSwap(line); ok {
			out = append(out, v)
		}
	}
	return out
}

// eventToSwap reads clusterdns's "dns programming latency" JSON log line:
// its event-to-swap time in seconds.
func eventToSwap(line string) (float64, bool) {
	if !strings.Contains(line, `"dns programming latency"`) {
		return 0, false
	}
	var f map[string]any
	if json.Unmarshal([]byte(line), &f) != nil {
		return 0, false
	}
	v, ok := f["event_to_swap"].(float64)
	return v / 1e9, ok
}

// percentileOf sorts a copy and takes the percentile.
func percentileOf(v []float64, p float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return percentile(s, p)
}

func ms(sec float64) string { return fmt.Sprintf("%.2f ms", sec*1000) }
