package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// failures counts failed exchanges by reason and keeps the first few, with
// when they happened.
type failures struct {
	mu     sync.Mutex
	counts map[string]int64
	first  []string
}

const keepFirst = 10

func (f *failures) add(at time.Duration, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int64{}
	}
	f.counts[what]++
	if len(f.first) < keepFirst {
		f.first = append(f.first, fmt.Sprintf("t=%s %s", fmtDur(at), what))
	}
}

// byCount returns the reasons, most frequent first.
func (f *failures) byCount() []msgCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []msgCount
	for k, v := range f.counts {
		out = append(out, msgCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].msg < out[j].msg
	})
	return out
}

func (f *failures) firsts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.first...)
}

// good is the well-behaved load and what it saw.
type good struct {
	c    config
	addr string // DNS, host:port
	want string // the prober's reference answer (answerKey)
	t0   time.Time

	probeSent, probeOK, probeLost, probeWrong atomic.Int64
	probeFail                                 failures

	tcpTries, tcpOK, tcpBad atomic.Int64
	tcpFail                 failures

	// clientErrs are failures of the soak's own limits (descriptors,
	// ports): not the server's, but they make the run say less.
	clientErrs atomic.Int64

	perfMu sync.Mutex
	perf   []perfRun
}

func (g *good) since() time.Duration { return time.Since(g.t0) }

// prober asks the known name every probeEvery, each query on its own
// socket and goroutine so that a slow answer does not delay the next.
func (g *good) prober(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(g.c.probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.probeOnce()
		}()
	}
}

func (g *good) probeOnce() {
	q := probeQuery()
	g.probeSent.Add(1)
	r, _, err := exchange("udp", g.addr, q, g.c.answerTimeout)
	switch {
	case err != nil && clientSide(err):
		g.clientErrs.Add(1)
		g.probeFail.add(g.since(), "soak: "+reason(err))
	case err != nil && isUnpack(err):
		g.probeWrong.Add(1)
		g.probeFail.add(g.since(), "wrong: "+err.Error())
	case err != nil:
		// No answer within the timeout, or the port refused (the server
		// is gone): lost either way.
		g.probeLost.Add(1)
		g.probeFail.add(g.since(), "lost: "+reason(err))
	default:
		if err := checkAnswer(q, r, g.want); err != nil {
			g.probeWrong.Add(1)
			g.probeFail.add(g.since(), "wrong: "+err.Error())
			return
		}
		g.probeOK.Add(1)
	}
}

func isUnpack(err error) bool {
	var oe *opErr
	return errors.As(err, &oe) && oe.op == "unpack"
}

// tcpClient connects, asks the known name, reads the answer and closes,
// until ctx is done. Every query must be answered, exactly.
func (g *good) tcpClient(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for ctx.Err() == nil {
		q := probeQuery()
		g.tcpTries.Add(1)
		r, _, err := exchange("tcp", g.addr, q, g.c.answerTimeout)
		if err == nil {
			if err := checkAnswer(q, r, g.want); err != nil {
				g.tcpBad.Add(1)
				g.tcpFail.add(g.since(), "wrong: "+err.Error())
			} else {
				g.tcpOK.Add(1)
			}
		} else if clientSide(err) {
			g.clientErrs.Add(1)
			g.tcpFail.add(g.since(), "soak: "+reason(err))
		} else {
			g.tcpBad.Add(1)
			g.tcpFail.add(g.since(), reason(err))
		}
		sleepCtx(ctx, g.c.tcpPause)
	}
}

// perfRun is one dnsperf run.
type perfRun struct {
	at                    time.Duration // since the soak began
	seconds               float64
	qpsLimit              int
	sent, completed, lost int64
	qps                   float64
	avgLat, maxLat        float64 // seconds
	interrupted           bool
	err                   string
}

// perfClients is dnsperf's -c: UDP sockets, so that the server's
// SO_REUSEPORT sockets (if any) all get traffic.
const perfClients = 8

var (
	rePerfSent      = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	rePerfCompleted = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	rePerfLost      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	rePerfQPS       = regexp.MustCompile(`Queries per second:\s+([\d.]+)`)
	rePerfLatency   = regexp.MustCompile(`Average Latency \(s\):\s+([\d.]+) \(min [\d.]+, max ([\d.]+)\)`)
)

// runDnsperf runs dnsperf for d at qps (0: as fast as answers come). When
// ctx ends first, dnsperf is interrupted (SIGINT), which still prints its
// statistics.
func runDnsperf(ctx context.Context, addr, data string, d, timeout time.Duration, qps, outstanding int) (perfRun, error) {
	host, port, _ := net.SplitHostPort(addr)
	run := perfRun{seconds: d.Seconds(), qpsLimit: qps}
	args := []string{"-s", host, "-p", port, "-d", data, "-c", strconv.Itoa(perfClients), "-T", "1", "-q", strconv.Itoa(outstanding),
		"-l", strconv.FormatFloat(d.Seconds(), 'f', 1, 64), "-t", strconv.Itoa(max(1, int(math.Ceil(timeout.Seconds()))))}
	if qps > 0 {
		args = append(args, "-Q", strconv.Itoa(qps))
	}
	cmd := exec.CommandContext(ctx, "dnsperf", args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	run.interrupted = ctx.Err() != nil
	get := func(re *regexp.Regexp) string {
		if m := re.FindSubmatch(out.Bytes()); m != nil {
			return string(m[1])
		}
		return "0"
	}
	run.sent, _ = strconv.ParseInt(get(rePerfSent), 10, 64)
	run.completed, _ = strconv.ParseInt(get(rePerfCompleted), 10, 64)
	run.lost, _ = strconv.ParseInt(get(rePerfLost), 10, 64)
	run.qps, _ = strconv.ParseFloat(get(rePerfQPS), 64)
	if m := rePerfLatency.FindSubmatch(out.Bytes()); m != nil {
		run.avgLat, _ = strconv.ParseFloat(string(m[1]), 64)
		run.maxLat, _ = strconv.ParseFloat(string(m[2]), 64)
	}
	if err != nil && !run.interrupted {
		return run, fmt.Errorf("dnsperf %v: %v\n%s", args, err, out.String())
	}
	if run.sent == 0 && !run.interrupted {
		return run, fmt.Errorf("dnsperf %v sent nothing\n%s", args, out.String())
	}
	return run, nil
}

// perfLoop runs dnsperf at qps in runs of -chunk until end, so that loss
// can be placed in time.
func (g *good) perfLoop(ctx context.Context, wg *sync.WaitGroup, data string, qps int, end time.Time) {
	defer wg.Done()
	for ctx.Err() == nil {
		remain := time.Until(end)
		if remain < 5*time.Second {
			return
		}
		at := g.since()
		run, err := runDnsperf(ctx, g.addr, data, min(g.c.chunk, remain), g.c.answerTimeout, qps, g.c.perfOutstanding)
		run.at = at
		if err != nil {
			run.err = err.Error()
			logf("%v", err)
		} else {
			logf("dnsperf t=%s: %d sent, %d lost (%.3f%%), %.0f QPS, latency %.2f ms (max %.0f ms)%s", fmtDur(at), run.sent, run.lost, pct(run.lost, run.sent), run.qps,
				1000*run.avgLat, 1000*run.maxLat, map[bool]string{true: " (interrupted)"}[run.interrupted])
		}
		g.perfMu.Lock()
		g.perf = append(g.perf, run)
		g.perfMu.Unlock()
		if err != nil {
			sleepCtx(ctx, time.Second) // not a tight loop if dnsperf cannot run
		}
	}
}

func (g *good) perfRuns() []perfRun {
	g.perfMu.Lock()
	defer g.perfMu.Unlock()
	return append([]perfRun(nil), g.perf...)
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
