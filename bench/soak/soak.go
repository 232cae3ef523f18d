package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sample is one look at the server and at the clients.
type sample struct {
	at         time.Duration // since the soak began
	label      string        // "before", "after"; "" during the soak
	alive      bool
	proc       procSample
	procErr    string
	goroutines int // -1: /metrics did not answer
	metricsErr string
	tries      int     // /metrics tries until it answered (or the budget ran out)
	healthErr  string  // the liveness-style /health probe's error; "" when it answered 200
	cpu        float64 // cores the server used since the previous sample
	udpDrops   int64   // datagrams dropped at the server's full sockets since the previous sample
	self       procSample
	selfCPU    float64
	// Well-behaved clients since the previous sample.
	probeOK, probeBad, tcpOK, tcpBad int64
	// Connections the misbehaving clients hold: idle, HTTP, slowloris,
	// pipeliners.
	held [4]int64
}

// sampler takes samples and keeps what the next one is counted from.
type sampler struct {
	s      *serverProc
	budget time.Duration // for the /metrics tries of one sample
	g      *good
	h      *hostile
	prev   struct {
		at                               time.Time
		cpu, selfCPU, drops              int64
		probeOK, probeBad, tcpOK, tcpBad int64
	}
}

func (sm *sampler) take(at time.Duration, label string) sample {
	now := time.Now()
	smp := sample{at: at, label: label, alive: sm.s.proc.Running(), goroutines: -1}
	pid := fmt.Sprint(sm.s.proc.Pid())
	if smp.alive {
		var err error
		if smp.proc, err = readProc(pid); err != nil {
			smp.procErr = err.Error()
		}
		if err := probeHealth(sm.s.health); err != nil {
			smp.healthErr = shortErr(err)
		}
		n, tries, err := scrapeGoroutines(sm.s.metrics, sm.budget)
		smp.goroutines, smp.tries = n, tries
		if err != nil {
			smp.metricsErr = shortErr(err)
		}
	}
	drops, _ := udpDrops(sm.s.dns)
	smp.self, _ = readProc("self")
	g := sm.g
	probeOK, probeBad := g.probeOK.Load(), g.probeLost.Load()+g.probeWrong.Load()
	tcpOK, tcpBad := g.tcpOK.Load(), g.tcpBad.Load()
	if !sm.prev.at.IsZero() {
		el := now.Sub(sm.prev.at).Seconds()
		if smp.alive {
			smp.cpu = float64(smp.proc.cpuTicks-sm.prev.cpu) / ticksPerSecond / el
		}
		smp.selfCPU = float64(smp.self.cpuTicks-sm.prev.selfCPU) / ticksPerSecond / el
		smp.probeOK, smp.probeBad = probeOK-sm.prev.probeOK, probeBad-sm.prev.probeBad
		smp.udpDrops = drops - sm.prev.drops
		smp.tcpOK, smp.tcpBad = tcpOK-sm.prev.tcpOK, tcpBad-sm.prev.tcpBad
	}
	if sm.h != nil {
		for i, gr := range []*group{sm.h.idle, sm.h.http, sm.h.slow, sm.h.pipe} {
			smp.held[i] = gr.held.Load()
		}
	}
	sm.prev.at = now
	sm.prev.cpu, sm.prev.selfCPU, sm.prev.drops = smp.proc.cpuTicks, smp.self.cpuTicks, drops
	sm.prev.probeOK, sm.prev.probeBad, sm.prev.tcpOK, sm.prev.tcpBad = probeOK, probeBad, tcpOK, tcpBad
	return smp
}

func (s sample) line() string {
	if !s.alive {
		return fmt.Sprintf("t=%s clusterdns is not running", fmtDur(s.at))
	}
	gor := fmt.Sprint(s.goroutines)
	if s.goroutines < 0 {
		gor = "? (" + s.metricsErr + ")"
	}
	if s.tries > 1 {
		gor += fmt.Sprintf(" (%d tries)", s.tries)
	}
	if s.healthErr != "" {
		gor += " /health: " + s.healthErr
	}
	if s.procErr != "" {
		gor += " (" + s.procErr + ")"
	}
	return fmt.Sprintf("t=%s rss %s goroutines %s fds %d threads %d cpu %.0f%% udp drops %d | probe ok %d bad %d | tcp ok %d bad %d | held idle %d http %d slow %d pipe %d | soak rss %s cpu %.0f%%",
		fmtDur(s.at), mib(s.proc.rssKiB), gor, s.proc.fds, s.proc.threads, 100*s.cpu, s.udpDrops,
		s.probeOK, s.probeBad, s.tcpOK, s.tcpBad, s.held[0], s.held[1], s.held[2], s.held[3], mib(s.self.rssKiB), 100*s.selfCPU)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// raiseNofile makes room for the soak's own connections. Go raises the
// soft limit to the hard one at start; above that only root can go.
func raiseNofile(need uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("reading the descriptor limit: %w", err)
	}
	if l.Cur >= need {
		return nil
	}
	l.Cur = need
	l.Max = max(l.Max, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("raising the soak's descriptor limit to %d: %w (lower the client counts, or raise the hard limit)", need, err)
	}
	return nil
}

// describeSource says what was built: the commit, and whether the server's
// sources had uncommitted changes.
func describeSource(root string) string {
	rev, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "the working tree (not a git checkout?)"
	}
	s := "the working tree at " + strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", "cmd", "internal", "go.mod", "go.sum").Output(); err == nil && len(st) > 0 {
		s += " with uncommitted changes in cmd/, internal/ or go.mod"
	}
	return s
}

func run(ctx context.Context, c config) (bool, error) {
	began := time.Now()
	root, err := repoRoot()
	if err != nil {
		return false, err
	}
	if _, err := exec.LookPath("dnsperf"); err != nil {
		return false, errors.New("dnsperf not found: apt-get install dnsperf")
	}
	// Every held connection is a descriptor here too, plus the garbage
	// connections in flight (at most 256), the prober's and TCP clients'
	// sockets, dnsperf's and slack.
	need := uint64(c.idleTCP + c.httpConns + c.pipeliners + c.slowloris + c.tcpClients + 256 + 512)
	if err := raiseNofile(need); err != nil {
		return false, err
	}
	// The soak's own memory is bounded by design (answers are read into
	// 64 KiB at most and thrown away; the pipeliners never read); this
	// keeps the collector to it too.
	debug.SetMemoryLimit(c.clientMem << 20)

	dir, err := os.MkdirTemp("", "clusterdns-soak-")
	if err != nil {
		return false, err
	}
	keep := c.keep
	defer func() {
		if keep {
			logf("work directory kept: %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	manifests := filepath.Join(dir, "manifests")
	if err := writeManifests(root, manifests); err != nil {
		return false, err
	}
	queries := filepath.Join(dir, "queries.txt")
	if err := writeQueryMix(queries); err != nil {
		return false, fmt.Errorf("writing the query mix: %w", err)
	}

	r := &report{c: c, started: began, commandLine: "go run ./bench/soak " + strings.Join(os.Args[1:], " ")}
	r.machine = machine()
	bin := c.bin
	if bin == "" {
		r.source = "built from " + describeSource(root)
		logf("building clusterdns from %s", describeSource(root))
		if bin, err = buildServer(root, dir); err != nil {
			return false, err
		}
	} else {
		r.source = bin + " (-bin)"
	}
	s, err := startServer(c, bin, dir, manifests)
	if err != nil {
		return false, err
	}
	defer s.proc.StopWithin(10 * time.Second) // on the error paths
	r.args = s.args
	want, err := reference(s, time.Minute)
	if err != nil {
		keep = true
		return false, err
	}
	if r.largeSize, err = largeAnswer(s); err != nil {
		keep = true
		return false, err
	}
	logf("%s answers %d bytes over TCP", bigSRV, r.largeSize)

	g := &good{c: c, addr: s.dns, want: want}
	// Half an interval for /metrics, at most 5 s, so that sampling keeps
	// its pace.
	sm := &sampler{s: s, g: g, budget: min(c.interval/2, 5*time.Second)}
	r.before = sm.take(0, "before")
	logf("before the load: %s", r.before.line())

	rate := c.qps
	if rate == 0 {
		logf("calibrating: dnsperf as fast as answers come, for %v after 2 s of warm-up", c.calibrate)
		// The first seconds of a fresh process are slower (the answers'
		// first packing, the heap growing): not the server's maximum.
		if _, err := runDnsperf(ctx, s.dns, queries, 2*time.Second, c.answerTimeout, 0, c.perfOutstanding); err != nil {
			return false, fmt.Errorf("warming up: %w", err)
		}
		cal, err := runDnsperf(ctx, s.dns, queries, c.calibrate, c.answerTimeout, 0, c.perfOutstanding)
		if err != nil {
			return false, fmt.Errorf("calibrating the UDP rate: %w", err)
		}
		if ctx.Err() != nil {
			return false, errors.New("interrupted during the calibration")
		}
		r.maxQPS, r.calLost = cal.qps, cal.lost
		rate = int(c.load * cal.qps)
		logf("maximum UDP rate %.0f QPS (lost %d); the soak sends %d QPS (%.0f%%)", cal.qps, cal.lost, rate, 100*c.load)
	}
	r.rate = rate

	// abort ends everything early: an interrupt or the server exiting.
	// soakCtx also ends at the planned end; dnsperf's runs are planned to
	// end there and finish on their own, so that the last is not cut.
	abortCtx, abort := context.WithCancel(ctx)
	defer abort()
	soakCtx, cancel := context.WithCancel(abortCtx)
	defer cancel()
	t0 := time.Now()
	end := t0.Add(c.duration)
	g.t0 = t0
	h := newHostile(c, s, t0)
	sm.h = h
	sm.take(0, "") // counts start here
	died := make(chan time.Duration, 1)
	go func() {
		select {
		case <-s.proc.Exited():
			died <- time.Since(t0)
			logf("clusterdns exited: %v", s.proc.ExitErr())
			abort()
		case <-abortCtx.Done():
		}
	}()
	logf("soak: %v; well-behaved: UDP %d QPS, %d TCP clients, prober every %v; misbehaving: %d idle TCP, %d HTTP keep-alive (%.0f req/s), %d pipeliners, %d slowloris (1 byte/%v), %.0f malformed UDP/s, %.0f garbage TCP/s",
		c.duration, rate, c.tcpClients, c.probeEvery, c.idleTCP, c.httpConns, c.httpRPS, c.pipeliners, c.slowloris, c.slowlorisEvery, c.malformedUDP, c.garbageTCP)
	var wg sync.WaitGroup
	wg.Add(2 + c.tcpClients)
	go g.prober(soakCtx, &wg)
	go g.perfLoop(abortCtx, &wg, queries, rate, end)
	for range c.tcpClients {
		go g.tcpClient(soakCtx, &wg)
	}
	h.start(soakCtx, &wg)

	// Samples at fixed offsets from t0, the last one at the end.
	for k := 1; ; k++ {
		next := t0.Add(time.Duration(k) * c.interval)
		if next.After(end) {
			break
		}
		if !sleepCtx(soakCtx, time.Until(next)) {
			break
		}
		smp := sm.take(time.Since(t0), "")
		r.samples = append(r.samples, smp)
		logf("%s", smp.line())
	}
	r.ran = time.Since(t0)
	r.interrupted = ctx.Err() != nil
	cancel()
	logf("stopping the clients")
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		r.notes = append(r.notes, "some clients had not stopped 30 s after the end (a read or write the soak could not interrupt)")
	}
	abort() // from here on, the server exiting is not news to the watcher
	r.good, r.hostile, r.logs = g, h, s.logs
	select {
	case d := <-died:
		r.died, r.diedAt, r.exitErr = true, d, s.proc.ExitErr()
		r.tail = s.proc.Tail(30)
		keep = true // the log is the evidence
	default:
		if !r.interrupted {
			logf("waiting %v for the server to let go of the clients' connections", c.settle)
			sleepCtx(ctx, c.settle)
		}
		if s.proc.Running() {
			a := sm.take(time.Since(t0), "after")
			r.after = &a
			q := probeQuery()
			ans, _, err := exchange("udp", s.dns, q, c.answerTimeout)
			if err == nil {
				err = checkAnswer(q, ans, want)
			}
			r.afterProbe = err
			logf("after the clients left: %s", a.line())
			t := time.Now()
			s.proc.StopWithin(10 * time.Second)
			r.stopTook, r.stopErr = time.Since(t), s.proc.ExitErr()
		} else {
			r.died, r.diedAt, r.exitErr = true, time.Since(t0), s.proc.ExitErr()
			r.tail = s.proc.Tail(30)
			keep = true
		}
	}
	r.total = time.Since(began)
	md := r.markdown()
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(md), 0o644); err != nil {
			return false, fmt.Errorf("writing the report: %w", err)
		}
		logf("wrote %s", c.out)
	}
	fmt.Print(md)
	ok := r.passed()
	logf("verdict: %s", map[bool]string{true: "PASS", false: "FAIL"}[ok])
	return ok, nil
}

// machine names the machine the soak ran on.
func machine() string {
	k, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d CPUs, Linux %s, %s, dnsperf %s", runtime.NumCPU(), strings.TrimSpace(string(k)), runtime.Version(), dnsperfVersion())
}

func dnsperfVersion() string {
	out, _ := exec.Command("dnsperf", "-h").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "Version") {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "Version"))
		}
	}
	return "?"
}
