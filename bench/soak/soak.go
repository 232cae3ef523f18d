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

// run prepares the soak (the server, its zone, the query file), runs it
// and writes the report. It reports whether every check passed; an error
// means the soak itself could not run.
func run(ctx context.Context, c config) (bool, error) {
	began := time.Now()
	root, err := repoRoot()
	if err != nil {
		return false, err
	}
	if err := prepareClientSide(c); err != nil {
		return false, err
	}
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
	manifests, queries, err := writeInputs(root, dir)
	if err != nil {
		return false, err
	}

	r := &report{c: c, started: began, commandLine: "go run ./bench/soak " + strings.Join(os.Args[1:], " ")}
	r.machine = machine()
	bin, err := r.serverBinary(root, dir)
	if err != nil {
		return false, err
	}
	s, err := startServer(c, bin, dir, manifests)
	if err != nil {
		return false, err
	}
	defer s.proc.StopWithin(10 * time.Second) // on the error paths
	r.args = s.args
	want, err := r.referenceAnswers(s)
	if err != nil {
		keep = true
		return false, err
	}

	sr := newSoakRun(r, s, queries, want)
	r.before = sr.sm.take(0, "before")
	logf("before the load: %s", r.before.line())
	if r.rate, err = sr.udpRate(ctx); err != nil {
		return false, err
	}
	if sr.load(ctx) {
		keep = true // the server's log is the evidence
	}
	r.total = time.Since(began)
	return r.publish()
}

// prepareClientSide checks for dnsperf and sets the soak's own limits.
func prepareClientSide(c config) error {
	if _, err := exec.LookPath("dnsperf"); err != nil {
		return errors.New("dnsperf not found: apt-get install dnsperf")
	}
	// Every held connection is a descriptor here too, plus the garbage
	// connections in flight (at most 256), the prober's and TCP clients'
	// sockets, dnsperf's and slack.
	need := uint64(c.idleTCP + c.httpConns + c.pipeliners + c.slowloris + c.tcpClients + 256 + 512)
	if err := raiseNofile(need); err != nil {
		return err
	}
	// The soak's own memory is bounded by design (answers are read into
	// 64 KiB at most and thrown away; the pipeliners never read); this
	// keeps the collector to it too.
	debug.SetMemoryLimit(c.clientMem << 20)
	return nil
}

// writeInputs writes the server's manifests and dnsperf's query file into
// the work directory.
func writeInputs(root, dir string) (manifests, queries string, err error) {
	manifests = filepath.Join(dir, "manifests")
	if err := writeManifests(root, manifests); err != nil {
		return "", "", err
	}
	queries = filepath.Join(dir, "queries.txt")
	if err := writeQueryMix(queries); err != nil {
		return "", "", fmt.Errorf("writing the query mix: %w", err)
	}
	return manifests, queries, nil
}

// serverBinary is -bin, or clusterdns built from the checkout; the report
// says which.
func (r *report) serverBinary(root, dir string) (string, error) {
	if r.c.bin != "" {
		r.source = r.c.bin + " (-bin)"
		return r.c.bin, nil
	}
	r.source = "built from " + describeSource(root)
	logf("building clusterdns from %s", describeSource(root))
	return buildServer(root, dir)
}

// referenceAnswers asks the server, before any load, for the prober's
// answer, which every later one must equal, and for the size of the large
// SRV answer the pipeliners ask for.
func (r *report) referenceAnswers(s *serverProc) (string, error) {
	want, err := reference(s, time.Minute)
	if err != nil {
		return "", err
	}
	if r.largeSize, err = largeAnswer(s); err != nil {
		return "", err
	}
	logf("%s answers %d bytes over TCP", bigSRV, r.largeSize)
	return want, nil
}

// publish writes the report to -out and to stdout and logs the verdict.
func (r *report) publish() (bool, error) {
	md := r.markdown()
	if r.c.out != "" {
		if err := os.WriteFile(r.c.out, []byte(md), 0o644); err != nil {
			return false, fmt.Errorf("writing the report: %w", err)
		}
		logf("wrote %s", r.c.out)
	}
	fmt.Print(md)
	ok := r.passed()
	logf("verdict: %s", map[bool]string{true: "PASS", false: "FAIL"}[ok])
	return ok, nil
}

// soakRun is the soak proper: the well-behaved and misbehaving clients
// against the running server, the sampler, and the report they fill.
type soakRun struct {
	c       config
	r       *report
	s       *serverProc
	g       *good
	sm      *sampler
	queries string // dnsperf's query file
	want    string // the prober's reference answer
}

func newSoakRun(r *report, s *serverProc, queries, want string) *soakRun {
	g := &good{c: r.c, addr: s.dns, want: want}
	// Half an interval for /metrics, at most 5 s, so that sampling keeps
	// its pace.
	sm := &sampler{s: s, g: g, budget: min(r.c.interval/2, 5*time.Second)}
	return &soakRun{c: r.c, r: r, s: s, g: g, sm: sm, queries: queries, want: want}
}

// udpRate is -qps or, without it, -load of the maximum rate dnsperf
// reaches unlimited, which the report records.
func (sr *soakRun) udpRate(ctx context.Context) (int, error) {
	c, r, s := sr.c, sr.r, sr.s
	if c.qps != 0 {
		return c.qps, nil
	}
	logf("calibrating: dnsperf as fast as answers come, for %v after 2 s of warm-up", c.calibrate)
	// The first seconds of a fresh process are slower (the answers'
	// first packing, the heap growing): not the server's maximum.
	if _, err := runDnsperf(ctx, s.dns, sr.queries, 2*time.Second, c.answerTimeout, 0, c.perfOutstanding); err != nil {
		return 0, fmt.Errorf("warming up: %w", err)
	}
	cal, err := runDnsperf(ctx, s.dns, sr.queries, c.calibrate, c.answerTimeout, 0, c.perfOutstanding)
	if err != nil {
		return 0, fmt.Errorf("calibrating the UDP rate: %w", err)
	}
	if ctx.Err() != nil {
		return 0, errors.New("interrupted during the calibration")
	}
	r.maxQPS, r.calLost = cal.qps, cal.lost
	rate := int(c.load * cal.qps)
	logf("maximum UDP rate %.0f QPS (lost %d); the soak sends %d QPS (%.0f%%)", cal.qps, cal.lost, rate, 100*c.load)
	return rate, nil
}

// load runs the clients for -duration, sampling the server every
// -interval, stops them and looks at the server once more. It reports
// whether the server exited, when its log is the evidence to keep.
func (sr *soakRun) load(ctx context.Context) (died bool) {
	// abort ends everything early: an interrupt or the server exiting.
	// soakCtx also ends at the planned end; dnsperf's runs are planned to
	// end there and finish on their own, so that the last is not cut.
	abortCtx, abort := context.WithCancel(ctx)
	defer abort()
	soakCtx, cancel := context.WithCancel(abortCtx)
	defer cancel()
	t0 := time.Now()
	end := t0.Add(sr.c.duration)
	sr.g.t0 = t0
	h := newHostile(sr.c, sr.s, t0)
	sr.sm.h = h
	sr.sm.take(0, "") // counts start here
	exited := sr.watchExit(abortCtx, abort, t0)
	sr.logLoad()
	wg := sr.startClients(soakCtx, abortCtx, h, end)
	sr.sampleUntil(soakCtx, t0, end)
	sr.r.ran = time.Since(t0)
	sr.r.interrupted = ctx.Err() != nil
	cancel()
	sr.stopClients(wg)
	abort() // from here on, the server exiting is not news to the watcher
	sr.r.good, sr.r.hostile, sr.r.logs = sr.g, h, sr.s.logs
	return sr.afterLoad(ctx, exited, t0)
}

// watchExit aborts the soak when the server exits, and sends when it did
// (since t0) on the returned channel.
func (sr *soakRun) watchExit(abortCtx context.Context, abort context.CancelFunc, t0 time.Time) <-chan time.Duration {
	exited := make(chan time.Duration, 1)
	go func() {
		select {
		case <-sr.s.proc.Exited():
			exited <- time.Since(t0)
			logf("clusterdns exited: %v", sr.s.proc.ExitErr())
			abort()
		case <-abortCtx.Done():
		}
	}()
	return exited
}

func (sr *soakRun) logLoad() {
	c := sr.c
	logf("soak: %v; well-behaved: UDP %d QPS, %d TCP clients, prober every %v; misbehaving: %d idle TCP, %d HTTP keep-alive (%.0f req/s), %d pipeliners, %d slowloris (1 byte/%v), %.0f malformed UDP/s, %.0f garbage TCP/s",
		c.duration, sr.r.rate, c.tcpClients, c.probeEvery, c.idleTCP, c.httpConns, c.httpRPS, c.pipeliners, c.slowloris, c.slowlorisEvery, c.malformedUDP, c.garbageTCP)
}

// startClients starts the well-behaved clients and the misbehaving ones.
// dnsperf's loop stops only on abortCtx: its runs end at end by
// themselves.
func (sr *soakRun) startClients(soakCtx, abortCtx context.Context, h *hostile, end time.Time) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(2 + sr.c.tcpClients)
	go sr.g.prober(soakCtx, &wg)
	go sr.g.perfLoop(abortCtx, &wg, sr.queries, sr.r.rate, end)
	for range sr.c.tcpClients {
		go sr.g.tcpClient(soakCtx, &wg)
	}
	h.start(soakCtx, &wg)
	return &wg
}

// sampleUntil takes samples at fixed offsets from t0, the last one at the
// end, until end or until ctx is done.
func (sr *soakRun) sampleUntil(ctx context.Context, t0, end time.Time) {
	for k := 1; ; k++ {
		next := t0.Add(time.Duration(k) * sr.c.interval)
		if next.After(end) {
			break
		}
		if !sleepCtx(ctx, time.Until(next)) {
			break
		}
		smp := sr.sm.take(time.Since(t0), "")
		sr.r.samples = append(sr.r.samples, smp)
		logf("%s", smp.line())
	}
}

// stopClients waits for the clients, whose context is done, to return;
// not for ever, and the report notes the ones that did not.
func (sr *soakRun) stopClients(wg *sync.WaitGroup) {
	logf("stopping the clients")
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		sr.r.notes = append(sr.r.notes, "some clients had not stopped 30 s after the end (a read or write the soak could not interrupt)")
	}
}

// afterLoad records how the server ended: exited during the soak, or,
// after -settle, whether it let go of the clients. It reports whether the
// server exited.
func (sr *soakRun) afterLoad(ctx context.Context, exited <-chan time.Duration, t0 time.Time) bool {
	r, s := sr.r, sr.s
	select {
	case d := <-exited:
		r.died, r.diedAt, r.exitErr = true, d, s.proc.ExitErr()
		r.tail = s.proc.Tail(30)
		return true
	default:
	}
	if !r.interrupted {
		logf("waiting %v for the server to let go of the clients' connections", sr.c.settle)
		sleepCtx(ctx, sr.c.settle)
	}
	if !s.proc.Running() {
		r.died, r.diedAt, r.exitErr = true, time.Since(t0), s.proc.ExitErr()
		r.tail = s.proc.Tail(30)
		return true
	}
	sr.checkRelease(t0)
	return false
}

// checkRelease samples the server once the clients have gone, asks the
// prober's question once more, and stops the server, timing SIGTERM.
func (sr *soakRun) checkRelease(t0 time.Time) {
	r, s := sr.r, sr.s
	a := sr.sm.take(time.Since(t0), "after")
	r.after = &a
	q := probeQuery()
	ans, _, err := exchange("udp", s.dns, q, sr.c.answerTimeout)
	if err == nil {
		err = checkAnswer(q, ans, sr.want)
	}
	r.afterProbe = err
	logf("after the clients left: %s", a.line())
	t := time.Now()
	s.proc.StopWithin(10 * time.Second)
	r.stopTook, r.stopErr = time.Since(t), s.proc.ExitErr()
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
