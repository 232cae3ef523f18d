package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output; got:\n%s", path, got)
	}
}

func testConfig() config {
	return config{
		duration: 6 * time.Minute, interval: 30 * time.Second, nofile: 4096,
		load: 0.8, calibrate: 10 * time.Second, chunk: time.Minute, perfOutstanding: 100,
		tcpClients: 4, tcpPause: 100 * time.Millisecond, probeEvery: 100 * time.Millisecond, answerTimeout: 2 * time.Second,
		idleTCP: 1500, httpConns: 3000, httpRPS: 200, pipeliners: 100, pipelineBatch: 400, pipelineMax: 20000,
		slowloris: 1100, slowlorisEvery: 3 * time.Second, malformedUDP: 200, garbageTCP: 20,
		reconnect: time.Second, hostileFrom: "127.0.0.2", settle: 15 * time.Second,
	}
}

func testHostile() *hostile {
	return &hostile{
		idle:      &group{name: "idle TCP", what: "idle"},
		http:      &group{name: "HTTP keep-alive", what: "http"},
		pipe:      &group{name: "pipeliners", what: "pipe"},
		slow:      &group{name: "slowloris", what: "slow"},
		garbage:   &group{name: "garbage TCP", what: "garbage"},
		malformed: &group{name: "malformed UDP", what: "malformed | udp"},
	}
}

// steadySamples are alive samples every interval over the whole soak,
// RSS growing by grow KiB a sample.
func steadySamples(c config, grow int64) []sample {
	var out []sample
	for at := c.interval; at <= c.duration; at += c.interval {
		k := int64(at / c.interval)
		out = append(out, sample{at: at, alive: true, goroutines: 120, tries: 1,
			proc: procSample{rssKiB: 50000 + k*grow, threads: 9, fds: 300}, cpu: 0.8, udpDrops: k % 3,
			probeOK: 300, tcpOK: 200, held: [4]int64{1024, 900, 80, 100}, self: procSample{rssKiB: 90000}, selfCPU: 0.4})
	}
	return out
}

func passingReport() *report {
	c := testConfig()
	r := &report{c: c, commandLine: "go run ./bench/soak -duration 6m", started: time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC),
		machine: "2 CPUs, Linux 6.1, go1.26, dnsperf 2.10", source: "built from the working tree at abc123",
		args:      []string{"/tmp/x/clusterdns", "serve", "--manifests", "/tmp/x/manifests", "--dns-addr", "127.0.0.1:5353"},
		largeSize: 51234, maxQPS: 100000, calLost: 12, rate: 80000,
		ran: 6 * time.Minute, stopTook: 1234 * time.Millisecond, total: 7 * time.Minute}
	r.before = sample{label: "before", alive: true, goroutines: 40, tries: 1, proc: procSample{rssKiB: 30000, threads: 8, fds: 20}}
	r.samples = steadySamples(c, 10)
	r.after = &sample{at: 6*time.Minute + 15*time.Second, label: "after", alive: true, goroutines: 45, tries: 1, proc: procSample{rssKiB: 52000, threads: 9, fds: 25}}
	g := &good{c: c}
	g.tcpTries.Store(1000)
	g.tcpOK.Store(1000)
	g.probeSent.Store(3600)
	g.probeOK.Store(3600)
	g.perf = []perfRun{
		{at: 0, seconds: 60, sent: 4800000, completed: 4800000, qps: 80000, avgLat: 0.0002, maxLat: 0.012},
		{at: time.Minute, seconds: 60, sent: 4799000, completed: 4798990, lost: 10, qps: 79990, avgLat: 0.0003, maxLat: 0.02},
	}
	r.good, r.hostile, r.logs = g, testHostile(), newLogStats()
	r.hostile.idle.connects.Store(1500)
	r.hostile.idle.maxHeld.Store(1024)
	r.logs.add(`{"level":"INFO","msg":"serving"}`)
	return r
}

func failingReport() *report {
	r := passingReport()
	r.c.hostileFrom = ""
	r.maxQPS, r.rate = 0, 50000
	r.notes = []string{"some clients had not stopped 30 s after the end (a read or write the soak could not interrupt)"}
	r.samples = steadySamples(r.c, 2000)
	r.samples[3].tries, r.samples[3].goroutines, r.samples[3].metricsErr = 3, -1, "timeout"
	r.samples[4].tries = 2
	r.samples[5].healthErr = "connection refused"
	r.samples[6].healthErr = "timeout"
	r.samples[7].proc.fds = 900
	r.after.proc.fds = 200
	r.after.goroutines = 400
	r.afterProbe = errors.New("lost: read: timeout")
	r.stopErr = errors.New("signal: killed")
	g := r.good
	g.tcpBad.Store(7)
	g.tcpOK.Store(993)
	for i, m := range []string{"read: timeout", "read: timeout", "connect: connection refused", "read: EOF", "x | y", "read: timeout", "z"} {
		g.tcpFail.add(time.Duration(i)*time.Second, m)
	}
	g.probeLost.Store(3)
	g.probeWrong.Store(1)
	g.probeOK.Store(3596)
	g.probeFail.add(time.Minute, "lost: timeout")
	g.probeFail.add(2*time.Minute, "wrong: rcode SERVFAIL")
	g.clientErrs.Store(2)
	g.perf = append(g.perf, perfRun{at: 2 * time.Minute, seconds: 30, sent: 100, interrupted: true},
		perfRun{at: 3 * time.Minute, seconds: 60, err: "dnsperf: exit 1\nmore | text"})
	h := r.hostile
	h.http.stalls.Store(4)
	h.http.non200.Store(5)
	h.pipe.clientErrs.Store(6)
	h.slow.dialFail.add(time.Second, "connect: timeout")
	h.slow.dialFail.add(time.Second, "connect: timeout")
	h.slow.dialFail.add(time.Second, "connect: refused")
	h.slow.dialFail.add(time.Second, "connect: reset")
	h.garbage.connects.Store(7200)
	h.garbage.closed.Store(7000)
	h.garbage.rejected.Store(100)
	h.garbage.sent.Store(50000)
	h.garbage.answers.Store(20)
	h.garbage.dialErrs.Store(3)
	for i := range 15 {
		r.logs.add(`{"level":"WARN","msg":"message ` + string(rune('a'+i)) + `"}`)
	}
	r.logs.add(`{"level":"ERROR","msg":"bad | thing","detail":"` + strings.Repeat("x", 500) + `"}`)
	r.logs.add("not json at all")
	r.logs.add(`{"level":"DEBUG","msg":"d"}`)
	return r
}

func diedReport() *report {
	r := passingReport()
	r.died, r.diedAt, r.exitErr = true, 90*time.Second, errors.New("exit status 2")
	r.tail = "panic: " + strings.Repeat("boom ", 100) + "\ngoroutine 1 [running]:"
	r.ran = 90 * time.Second
	r.samples = []sample{{at: 30 * time.Second}, {at: time.Minute}}
	r.after, r.stopTook = nil, 0
	r.good = &good{c: r.c}
	r.logs = newLogStats()
	return r
}

func interruptedReport() *report {
	r := passingReport()
	r.interrupted, r.ran = true, 45*time.Second
	r.maxQPS, r.rate = 0, 20000
	r.samples = nil
	r.before.goroutines = -1
	r.stopTook, r.stopErr = 0, errors.New("exit status 1")
	return r
}

func TestReportGolden(t *testing.T) {
	for name, r := range map[string]*report{
		"pass": passingReport(), "fail": failingReport(), "died": diedReport(), "interrupted": interruptedReport(),
	} {
		golden(t, "report-"+name+".md", r.markdown())
	}
}
