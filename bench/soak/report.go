package main

import (
	"fmt"
	"strings"
	"time"
)

// report is everything the soak found.
type report struct {
	c           config
	commandLine string
	started     time.Time
	machine     string
	source      string   // what clusterdns binary ran
	args        []string // its command line
	largeSize   int
	maxQPS      float64
	calLost     int64
	rate        int

	before     sample
	samples    []sample
	after      *sample
	afterProbe error

	ran         time.Duration
	interrupted bool
	died        bool
	diedAt      time.Duration
	exitErr     error
	tail        string
	stopTook    time.Duration
	stopErr     error
	notes       []string

	good    *good
	hostile *hostile
	logs    *logStats
	total   time.Duration
}

// Results of a check.
const (
	pass = "PASS"
	fail = "FAIL"
	info = "info"
	na   = "n/a"
)

type check struct {
	name, result, detail string
}

// The growth windows, as fractions of -duration: the reference is the
// second sixth (the first is the ramp: connections opening, the heap and
// the collector finding their level, kernel buffers filling), compared
// with the last third (long enough, 10 minutes of a 30-minute soak, for a
// slow leak to show). Peaks are compared with peaks, the maximum of each
// window: the misbehaving clients come and go in waves (a server that
// closes them sees them all come back a second later), so a single sample
// says little, but a leak raises every peak after it.
const (
	refFrom, refTo   = 1.0 / 6, 2.0 / 6
	lastFrom, lastTo = 4.0 / 6, 1.0
	// growthRatio is how much higher the last third's peak may be.
	growthRatio = 1.10
)

// series is one sampled figure judged for growth, with an absolute slack
// on top of the ratio for figures that are small or move in steps.
type series struct {
	name  string
	get   func(sample) (float64, bool)
	slack float64
	unit  func(float64) string
}

var growthSeries = []series{
	{"RSS", func(s sample) (float64, bool) { return float64(s.proc.rssKiB), s.proc.rssKiB > 0 }, 8 * 1024,
		func(v float64) string { return mib(int64(v)) }},
	{"goroutines", func(s sample) (float64, bool) { return float64(s.goroutines), s.goroutines >= 0 }, 50,
		func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	{"open file descriptors", func(s sample) (float64, bool) { return float64(s.proc.fds), s.proc.fds > 0 }, 50,
		func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	{"threads", func(s sample) (float64, bool) { return float64(s.proc.threads), s.proc.threads > 0 }, 4,
		func(v float64) string { return fmt.Sprintf("%.0f", v) }},
}

// window is the maximum of a series over the samples in [from, to) of the
// planned duration, and how many samples had it.
func (r *report) window(se series, from, to float64) (peak float64, n int) {
	d := float64(r.c.duration)
	for _, s := range r.samples {
		at := float64(s.at)
		if !s.alive || at <= from*d || at > to*d+float64(r.c.interval)/2 {
			continue
		}
		if v, ok := se.get(s); ok {
			peak = max(peak, v)
			n++
		}
	}
	return peak, n
}

// trend is the least-squares slope of a series after the first sixth, per
// minute: not judged, but it says which way a failing figure went.
func (r *report) trend(se series) (float64, bool) {
	var n, sx, sy, sxx, sxy float64
	for _, s := range r.samples {
		if !s.alive || float64(s.at) <= refFrom*float64(r.c.duration) {
			continue
		}
		v, ok := se.get(s)
		if !ok {
			continue
		}
		x := s.at.Minutes()
		n++
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	den := n*sxx - sx*sx
	if n < 3 || den == 0 {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}

func (r *report) windowName(from, to float64) string {
	d := r.c.duration
	return fmtDur(time.Duration(from*float64(d))) + "–" + fmtDur(time.Duration(to*float64(d)))
}

// checkList collects the checks in the order the report lists them.
type checkList []check

func (cl *checkList) add(name, result, format string, args ...any) {
	*cl = append(*cl, check{name, result, fmt.Sprintf(format, args...)})
}

// checks judges the soak: each check passes, fails, or is only
// information.
func (r *report) checks() []check {
	var out checkList
	r.survivalCheck(&out)
	r.growthChecks(&out)
	r.goodClientChecks(&out)
	r.dnsperfLoss(&out)
	r.endpointChecks(&out)
	r.peaks(&out)
	r.releaseCheck(&out)
	if r.stopErr != nil || r.stopTook > 0 {
		out.add("SIGTERM", info, "exited in %v: %v", r.stopTook.Round(time.Millisecond), exitText(r.stopErr))
	}
	r.ownLimitsCheck(&out)
	return out
}

func (r *report) survivalCheck(out *checkList) {
	switch {
	case r.died:
		out.add("clusterdns survived", fail, "exited at t=%s: %v", fmtDur(r.diedAt), r.exitErr)
	case r.interrupted:
		out.add("clusterdns survived", na, "the soak was interrupted at t=%s", fmtDur(r.ran))
	default:
		out.add("clusterdns survived", pass, "running after %s", fmtDur(r.ran))
	}
}

// growthChecks compare the peak of each growthSeries in the last third
// with its peak in the second sixth.
func (r *report) growthChecks(out *checkList) {
	for _, se := range growthSeries {
		name := "no growth: " + se.name
		ref, nRef := r.window(se, refFrom, refTo)
		last, nLast := r.window(se, lastFrom, lastTo)
		if nRef == 0 || nLast == 0 {
			out.add(name, na, "no samples in %s or %s", r.windowName(refFrom, refTo), r.windowName(lastFrom, lastTo))
			continue
		}
		limit := ref*growthRatio + se.slack
		res := pass
		if last > limit {
			res = fail
		}
		d := fmt.Sprintf("peak %s in %s, %s in %s (limit %s)", se.unit(ref), r.windowName(refFrom, refTo), se.unit(last), r.windowName(lastFrom, lastTo), se.unit(limit))
		if slope, ok := r.trend(se); ok {
			d += fmt.Sprintf("; trend %s%s/min", map[bool]string{true: "+"}[slope >= 0], se.unit(slope))
		}
		out.add(name, res, "%s", d)
	}
}

// goodClientChecks: every query of the TCP clients and of the UDP prober
// must have been answered, and exactly.
func (r *report) goodClientChecks(out *checkList) {
	g := r.good
	tries, bad := g.tcpTries.Load(), g.tcpBad.Load()
	switch {
	case tries == 0:
		out.add("TCP clients: every query answered, exactly", na, "no query was made")
	case bad == 0:
		out.add("TCP clients: every query answered, exactly", pass, "%d of %d", g.tcpOK.Load(), tries)
	default:
		out.add("TCP clients: every query answered, exactly", fail, "%d of %d failed (%.2f%%): %s", bad, tries, pct(bad, tries), topReasons(g.tcpFail.byCount(), 3))
	}
	sent, lost, wrong := g.probeSent.Load(), g.probeLost.Load(), g.probeWrong.Load()
	switch {
	case sent == 0:
		out.add("UDP prober: every answer exactly right", na, "no query was sent")
	case lost+wrong == 0:
		out.add("UDP prober: every answer exactly right", pass, "%d of %d", g.probeOK.Load(), sent)
	default:
		out.add("UDP prober: every answer exactly right", fail, "%d lost, %d wrong of %d: %s", lost, wrong, sent, topReasons(g.probeFail.byCount(), 3))
	}
}

// perfTotals adds up dnsperf's runs.
type perfTotals struct {
	sent, lost, completed int64
	queries               float64 // answered: QPS × seconds, summed
	seconds               float64
	latency               float64 // seconds: mean latency × completed, summed
}

func sumPerf(runs []perfRun) perfTotals {
	var t perfTotals
	for _, p := range runs {
		t.sent += p.sent
		t.lost += p.lost
		t.completed += p.completed
		t.queries += p.qps * p.seconds
		t.seconds += p.seconds
		t.latency += p.avgLat * float64(p.completed)
	}
	return t
}

// dnsperfLoss sums dnsperf's runs and the server's socket drops; it is
// reported, not judged.
func (r *report) dnsperfLoss(out *checkList) {
	runs := r.good.perfRuns()
	t := sumPerf(runs)
	var drops int64
	for _, s := range r.samples {
		drops += s.udpDrops
	}
	if t.seconds > 0 {
		out.add("dnsperf loss (reported, not judged)", info, "%d lost of %d sent (%.3f%%) in %s; %d QPS asked, %.0f QPS answered, mean latency %.2f ms (dnsperf keeps at most %d queries in flight, so slower answers lower its rate); the server's sockets dropped %d datagrams",
			t.lost, t.sent, pct(t.lost, t.sent), plural(len(runs), "run"), r.rate, t.queries/t.seconds, 1000*t.latency/float64(max(t.completed, 1)), r.c.perfOutstanding, drops)
	}
}

// endpointStats is how /metrics and /health answered over the samples
// taken while the server ran.
type endpointStats struct {
	samples, retried, missing, unhealthy int
	// The first sample of each kind of failure, for the report.
	firstRetry, firstMissing, firstHealth string
}

func (r *report) endpointStats() endpointStats {
	var st endpointStats
	for _, s := range r.samples {
		if !s.alive {
			continue
		}
		st.samples++
		if s.tries > 1 {
			if st.retried == 0 {
				st.firstRetry = fmt.Sprintf("first at t=%s", fmtDur(s.at))
			}
			st.retried++
		}
		if s.goroutines < 0 {
			if st.missing == 0 {
				st.firstMissing = fmt.Sprintf("first at t=%s: %s", fmtDur(s.at), s.metricsErr)
			}
			st.missing++
		}
		if s.healthErr != "" {
			if st.unhealthy == 0 {
				st.firstHealth = fmt.Sprintf("first at t=%s: %s", fmtDur(s.at), s.healthErr)
			}
			st.unhealthy++
		}
	}
	return st
}

// endpointChecks judge /metrics and /health, asked as a scraper and a
// kubelet would.
func (r *report) endpointChecks(out *checkList) {
	st := r.endpointStats()
	switch {
	case st.samples == 0:
		out.add("/metrics answered a fresh scrape", na, "no sample")
	case st.retried == 0:
		out.add("/metrics answered a fresh scrape", pass, "at the first try in all %d samples", st.samples)
	default:
		d := fmt.Sprintf("the first try failed in %d of %d samples (%s)", st.retried, st.samples, st.firstRetry)
		if st.missing > 0 {
			d += fmt.Sprintf("; no answer within %v of tries in %d (%s)", min(r.c.interval/2, 5*time.Second), st.missing, st.firstMissing)
		}
		out.add("/metrics answered a fresh scrape", fail, "%s", d)
	}
	switch {
	case st.samples == 0:
		out.add("/health answered a liveness probe", na, "no sample")
	case st.unhealthy == 0:
		out.add("/health answered a liveness probe", pass, "in all %d samples (fresh connection, 1 s, one try)", st.samples)
	default:
		out.add("/health answered a liveness probe", fail, "failed in %d of %d samples (fresh connection, 1 s, one try; %s)", st.unhealthy, st.samples, st.firstHealth)
	}
}

// peaks reports the highest RSS, goroutines and descriptors seen.
func (r *report) peaks(out *checkList) {
	var peak sample
	maxFDs, maxGor := 0, 0
	for _, s := range r.samples {
		maxFDs = max(maxFDs, s.proc.fds)
		maxGor = max(maxGor, s.goroutines)
		if s.proc.rssKiB > peak.proc.rssKiB {
			peak = s
		}
	}
	out.add("peaks", info, "RSS %s (t=%s), %d goroutines, %d of the limit of %d file descriptors", mib(peak.proc.rssKiB), fmtDur(peak.at), maxGor, maxFDs, r.c.nofile)
}

// releaseCheck: once the clients have gone, the server must be back near
// its idle descriptors and goroutines, and still answer right.
func (r *report) releaseCheck(out *checkList) {
	a := r.after
	if a == nil {
		return
	}
	fdLimit, gLimit := r.before.proc.fds+releaseSlack, r.before.goroutines+releaseSlack
	res := pass
	var why []string
	if a.proc.fds > fdLimit {
		res = fail
		why = append(why, fmt.Sprintf("%d descriptors, %d before the load", a.proc.fds, r.before.proc.fds))
	}
	if a.goroutines < 0 || r.before.goroutines < 0 {
		res = fail
		why = append(why, "/metrics did not answer")
	} else if a.goroutines > gLimit {
		res = fail
		why = append(why, fmt.Sprintf("%d goroutines, %d before the load", a.goroutines, r.before.goroutines))
	}
	if r.afterProbe != nil {
		res = fail
		why = append(why, "the prober's query: "+r.afterProbe.Error())
	}
	if res == pass {
		why = append(why, fmt.Sprintf("%d descriptors and %d goroutines (before the load: %d, %d), RSS %s (before: %s), answers right",
			a.proc.fds, a.goroutines, r.before.proc.fds, r.before.goroutines, mib(a.proc.rssKiB), mib(r.before.proc.rssKiB)))
	}
	out.add(fmt.Sprintf("let go %s after the clients left", fmtDur(r.c.settle)), res, "%s", strings.Join(why, "; "))
}

// ownLimitsCheck fails when the soak itself ran out of descriptors or
// ports: then it did not put on the server the load it says.
func (r *report) ownLimitsCheck(out *checkList) {
	var own int64 = r.good.clientErrs.Load()
	for _, gr := range r.hostile.groups() {
		own += gr.clientErrs.Load()
	}
	if own == 0 {
		out.add("the soak's own limits", pass, "no descriptor or port shortage on the client side")
	} else {
		out.add("the soak's own limits", fail, "%d times the soak ran out of its own descriptors or ports: the run says less than it should", own)
	}
}

// releaseSlack is how many descriptors and goroutines above the idle
// server's the server may keep once every client has gone: the sampler's
// own connection and what the runtime starts lazily.
const releaseSlack = 20

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

func topReasons(m []msgCount, n int) string {
	var parts []string
	for i, r := range m {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more kinds", len(m)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", r.msg, r.n))
	}
	return strings.Join(parts, ", ")
}

func (r *report) passed() bool {
	if r.interrupted {
		return false
	}
	for _, c := range r.checks() {
		if c.result == fail {
			return false
		}
	}
	return true
}

// mdWriter accumulates the markdown of the report.
type mdWriter struct{ strings.Builder }

func (w *mdWriter) p(format string, args ...any) { fmt.Fprintf(w, format, args...) }

// markdown renders the report: the verdict and its checks first, then
// what they were judged on.
func (r *report) markdown() string {
	var w mdWriter
	checks := r.checks()
	r.writeHeader(&w)
	r.writeVerdict(&w, checks)
	r.writeDeath(&w)
	r.writeSamples(&w)
	r.writeGoodClients(&w)
	r.writeHostile(&w)
	r.writeLog(&w)
	return w.String()
}

// writeHeader is the title with the verdict, how the soak ran and the load
// it put on the server.
func (r *report) writeHeader(w *mdWriter) {
	c := r.c
	verdict := "PASS"
	if !r.passed() {
		verdict = "FAIL"
	}
	w.p("# clusterdns soak: %s\n\n", verdict)
	w.p("`%s`, %s, %s (soak %s of %s planned; %s in all).\n\n", r.commandLine, r.started.Format("2006-01-02 15:04 MST"), r.machine, fmtDur(r.ran), fmtDur(c.duration), fmtDur(r.total))
	w.p("clusterdns %s, run as `prlimit --nofile=%d:%d -- %s`.\n\n", r.source, c.nofile, c.nofile, strings.Join(shortArgs(r.args), " "))
	w.p("The zone: examples/cluster and a headless service of %d ready endpoints whose SRV answer (`%s`) is %d bytes over TCP.\n\n", bigEndpoints, bigSRV, r.largeSize)
	if r.maxQPS > 0 {
		w.p("Maximum UDP rate, dnsperf unlimited for %v before the soak: %.0f QPS (%d lost). The soak's UDP load: %d QPS (%.0f%%).\n\n", c.calibrate, r.maxQPS, r.calLost, r.rate, 100*c.load)
	} else {
		w.p("UDP load: %d QPS (-qps, no calibration).\n\n", r.rate)
	}
	for _, n := range r.notes {
		w.p("Note: %s.\n\n", n)
	}
}

func (r *report) writeVerdict(w *mdWriter, checks []check) {
	w.p("## Verdict\n\n| check | result | detail |\n|---|---|---|\n")
	for _, ch := range checks {
		res := ch.result
		if res == fail || res == pass {
			res = "**" + res + "**"
		}
		w.p("| %s | %s | %s |\n", ch.name, res, mdCell(ch.detail))
	}
	w.p("\nGrowth compares the peak of the last third of the soak (%s) with the peak of its second sixth (%s), once the connections have ramped up; it fails when the later peak is over %.0f%% of the earlier plus a slack (RSS 8 MiB, goroutines and descriptors 50, threads 4). The trend is the least-squares slope after the first sixth, for reading, not judged.\n\n",
		r.windowName(lastFrom, lastTo), r.windowName(refFrom, refTo), 100*growthRatio)
}

// writeDeath quotes the end of the server's log when it exited during the
// soak.
func (r *report) writeDeath(w *mdWriter) {
	if r.died {
		w.p("## How clusterdns ended\n\nExited at t=%s: %v. The last lines of its log:\n\n```\n%s\n```\n\n", fmtDur(r.diedAt), r.exitErr, truncLines(r.tail, 300))
	}
}

// writeSamples is the table of every sample, with the ones before and
// after the load.
func (r *report) writeSamples(w *mdWriter) {
	c := r.c
	w.p("## Samples\n\nEvery %v: the server's VmRSS, goroutines (`go_goroutines` from /metrics over a fresh connection, tried again for up to %v; `?` when it did not answer), /health asked once over a fresh connection with a 1 s timeout (as a kubelet liveness probe), open descriptors, threads and CPU (cores, 100%% = one); UDP queries the kernel dropped because the server's sockets were full (UDP drops, from /proc/net/udp); the well-behaved clients' answers in the interval (bad = lost or wrong); the connections the misbehaving clients held; the soak's own RSS and CPU.\n\n", c.interval, min(c.interval/2, 5*time.Second))
	w.p("| t | RSS | goroutines | /health | fds | threads | CPU | UDP drops | probe ok/bad | TCP ok/bad | idle | HTTP | slowloris | pipeliners | soak RSS | soak CPU |\n")
	w.p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	rows := append([]sample{r.before}, r.samples...)
	if r.after != nil {
		rows = append(rows, *r.after)
	}
	for _, s := range rows {
		writeSampleRow(w, s)
	}
}

func writeSampleRow(w *mdWriter, s sample) {
	t := fmtDur(s.at)
	if s.label != "" {
		t = s.label
	}
	if !s.alive {
		w.p("| %s | (not running) |||||||||||||||\n", t)
		return
	}
	gor := fmt.Sprint(s.goroutines)
	if s.goroutines < 0 {
		gor = "?"
	}
	if s.tries > 1 {
		gor += fmt.Sprintf(" (%d tries)", s.tries)
	}
	health := "ok"
	if s.healthErr != "" {
		health = s.healthErr
	}
	w.p("| %s | %s | %s | %s | %d | %d | %.0f%% | %d | %d/%d | %d/%d | %d | %d | %d | %d | %s | %.0f%% |\n",
		t, mib(s.proc.rssKiB), gor, health, s.proc.fds, s.proc.threads, 100*s.cpu, s.udpDrops, s.probeOK, s.probeBad, s.tcpOK, s.tcpBad,
		s.held[0], s.held[1], s.held[2], s.held[3], mib(s.self.rssKiB), 100*s.selfCPU)
}

// writeGoodClients is every dnsperf run, and what the TCP clients and the
// UDP prober got.
func (r *report) writeGoodClients(w *mdWriter) {
	c, g := r.c, r.good
	w.p("\n## Well-behaved clients\n\n")
	w.p("dnsperf over UDP, %d sockets, -Q %d, -q %d, in runs of %v (a query unanswered after %v is lost):\n\n", perfClients, r.rate, c.perfOutstanding, c.chunk, c.answerTimeout)
	w.p("| start | seconds | sent | completed | lost | QPS | latency mean / max | |\n|---|---|---|---|---|---|---|---|\n")
	for _, run := range g.perfRuns() {
		note := run.err
		if run.interrupted {
			note = "interrupted"
		}
		w.p("| %s | %.0f | %d | %d | %d (%.3f%%) | %.0f | %.2f / %.0f ms | %s |\n", fmtDur(run.at), run.seconds, run.sent, run.completed, run.lost, pct(run.lost, run.sent), run.qps,
			1000*run.avgLat, 1000*run.maxLat, mdCell(firstLine(note)))
	}
	w.p("\nTCP clients (%d, each: connect, ask `%s` A, read, check, close, pause %v): %d queries, %d answered right, %d failed.\n",
		c.tcpClients, probeName, c.tcpPause, g.tcpTries.Load(), g.tcpOK.Load(), g.tcpBad.Load())
	w.failures(&g.tcpFail)
	w.p("\nUDP prober (`%s` A every %v, the answer compared with the one before the load, TTL included): %d sent, %d right, %d lost, %d wrong.\n",
		probeName, c.probeEvery, g.probeSent.Load(), g.probeOK.Load(), g.probeLost.Load(), g.probeWrong.Load())
	w.failures(&g.probeFail)
}

// writeHostile is one row per group of misbehaving clients.
func (r *report) writeHostile(w *mdWriter) {
	c := r.c
	w.p("\n## Misbehaving clients\n\n")
	from := "127.0.0.1, the address of the well-behaved clients and probes too"
	if c.hostileFrom != "" {
		from = c.hostileFrom + " (the well-behaved clients and the probes: 127.0.0.1, as pods and the kubelet have different addresses)"
	}
	w.p("They connect from %s. A client the server closes connects again after %v to %v. \"Rejected\" are connections the server closed within %v of accepting them.\n\n", from, c.reconnect, 2*c.reconnect, rejectWindow)
	w.p("| group | count | what | connections (a second) | peak held | closed by server (rejected) | connect errors | sent | answers | notes |\n|---|---|---|---|---|---|---|---|---|---|\n")
	counts := r.hostileCounts()
	for _, gr := range r.hostile.groups() {
		w.p("| %s | %s | %s | %d (%.0f) | %d | %d (%d) | %d | %d | %d | %s |\n", gr.name, counts[gr], gr.what, gr.connects.Load(), float64(gr.connects.Load())/max(r.ran.Seconds(), 1), gr.maxHeld.Load(),
			gr.closed.Load(), gr.rejected.Load(), gr.dialErrs.Load(), gr.sent.Load(), gr.answers.Load(), mdCell(strings.Join(groupNotes(gr), "; ")))
	}
}

// hostileCounts says how many clients of each group ran, from the flags.
func (r *report) hostileCounts() map[*group]string {
	c := r.c
	return map[*group]string{
		r.hostile.idle:      fmt.Sprint(c.idleTCP),
		r.hostile.http:      fmt.Sprintf("%d, %.0f req/s", c.httpConns, c.httpRPS),
		r.hostile.pipe:      fmt.Sprintf("%d, %d queries a write, %d a connection", c.pipeliners, c.pipelineBatch, c.pipelineMax),
		r.hostile.slow:      fmt.Sprintf("%d, 1 byte/%v", c.slowloris, c.slowlorisEvery),
		r.hostile.garbage:   fmt.Sprintf("%.0f/s", c.garbageTCP),
		r.hostile.malformed: fmt.Sprintf("%.0f/s", c.malformedUDP),
	}
}

// groupNotes are the group's counts that are only worth a word when not
// zero.
func groupNotes(gr *group) []string {
	var notes []string
	if n := gr.stalls.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d writes stalled 2 s (the server not reading)", n))
	}
	if n := gr.non200.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d responses not 200", n))
	}
	if n := gr.clientErrs.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d soak-side errors", n))
	}
	if m := gr.dialFail.byCount(); len(m) > 0 {
		notes = append(notes, "connect errors: "+topReasons(m, 2))
	}
	return notes
}

// writeLog summarizes the server's log: lines per level, the most frequent
// messages, the first errors.
func (r *report) writeLog(w *mdWriter) {
	lines, size, levels, msgs, first := r.logs.summary()
	w.p("\n## The server's log\n\n%d lines, %.1f MiB:", lines, float64(size)/(1<<20))
	for _, l := range []string{"ERROR", "WARN", "INFO", "DEBUG", "(not JSON)"} {
		if levels[l] > 0 {
			w.p(" %s %d", l, levels[l])
		}
	}
	w.p(".\n\n")
	if len(msgs) > 0 {
		w.p("| level and message | lines |\n|---|---|\n")
		for i, m := range msgs {
			if i == 12 {
				break
			}
			w.p("| %s | %d |\n", mdCell(m.msg), m.n)
		}
		w.p("\n")
	}
	if len(first) > 0 {
		w.p("First errors:\n\n```\n%s\n```\n\n", truncLines(strings.Join(first, "\n"), 400))
	}
}

// failures is the table of a client's failures by reason, and the first
// few with when they happened.
func (w *mdWriter) failures(f *failures) {
	m := f.byCount()
	if len(m) == 0 {
		return
	}
	w.p("\n| failure | count |\n|---|---|\n")
	for _, r := range m {
		w.p("| %s | %d |\n", mdCell(r.msg), r.n)
	}
	w.p("\nThe first: %s.\n", mdCell(strings.Join(f.firsts(), "; ")))
}

// shortArgs drops the work directory from the server's command line.
func shortArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if i > 0 && args[i-1] == "--manifests" {
			a = "MANIFESTS"
		}
		if i == 0 {
			a = "clusterdns"
		}
		out[i] = a
	}
	return out
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// truncLines shortens each line to n bytes: JSON log lines can be long.
func truncLines(s string, n int) string {
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		if len(l) > n {
			ls[i] = l[:n] + "…"
		}
	}
	return strings.Join(ls, "\n")
}
