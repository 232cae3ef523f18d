// Command soak runs `clusterdns serve` for a long time under a well-behaved
// load and, at the same time, clients that misbehave, and says whether the
// server held: no growth of its RSS, goroutines, file descriptors or
// threads after the first minutes, no lost or wrong answer to the
// well-behaved clients, and the process still running at the end.
//
//	make soak          # 30 minutes; writes bench/soak/RESULTS.md
//	make soak-quick    # 2 minutes, printed only
//	go run ./bench/soak -duration 30m -out report.md
//
// The well-behaved load: dnsperf over UDP at -load (80%) of the rate
// dnsperf reaches unlimited in a calibration run before the soak, on a mix
// of names of the manifest set; -tcp-clients clients that connect, ask one
// small query, read the answer and close, in a loop; and a UDP prober that
// asks a known name every -probe-every and checks the answer is exactly
// the one it got before the load began.
//
// The misbehaving clients, all at once for the whole soak: idle DNS TCP
// connections past the server's connection cap, held (-idle-tcp); HTTP
// keep-alive connections to /health and /metrics, held idle, over which
// -http-rps requests are spread (-http-conns); TCP clients that pipeline
// queries for a ~51 KB SRV answer and never read (-pipeliners, each
// sending -pipeline-max queries as fast as the socket takes them, then one
// every 2 s, which is enough to notice the server closing); slowloris
// connections sending one byte of a query every -slowloris-every
// (-slowloris); malformed UDP packets (-malformed-udp per second) and
// connections sending random bytes in TCP framing (-garbage-tcp per
// second). A client the server closes connects again after -reconnect.
//
// The server runs under `prlimit --nofile=N:N` (-nofile), so running out
// of descriptors is part of what is tested. Every -interval the soak
// samples the server's VmRSS, threads and open descriptors from /proc and
// go_goroutines from /metrics (over a fresh connection, retried: /metrics
// is one of the flooded endpoints, and not answering is reported), and asks
// /health once as a kubelet's liveness probe would. See report.go for how
// growth is judged.
//
// The exit status is 0 when every check passed, 1 when one failed (the
// report says which), 2 when the soak itself could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	duration  time.Duration
	quick     bool
	interval  time.Duration
	out       string
	bin       string
	keep      bool
	nofile    int
	serveArgs string

	// Well-behaved load.
	load            float64
	qps             int
	calibrate       time.Duration
	chunk           time.Duration
	perfOutstanding int
	tcpClients      int
	tcpPause        time.Duration
	probeEvery      time.Duration
	answerTimeout   time.Duration

	// Misbehaving clients.
	idleTCP        int
	httpConns      int
	httpRPS        float64
	pipeliners     int
	pipelineBatch  int
	pipelineMax    int
	slowloris      int
	slowlorisEvery time.Duration
	malformedUDP   float64
	garbageTCP     float64
	reconnect      time.Duration
	hostileFrom    string
	rampRate       float64

	settle    time.Duration
	clientMem int64 // MiB
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 30*time.Minute, "how long the soak runs (after the calibration)")
	flag.BoolVar(&c.quick, "quick", false, "a 2-minute soak sampled every 5 s (unless -duration or -interval say otherwise), 5 s calibration")
	flag.DurationVar(&c.interval, "interval", 10*time.Second, "sampling interval")
	flag.StringVar(&c.out, "out", "", "write the report (markdown) here")
	flag.StringVar(&c.bin, "bin", "", "use this clusterdns binary instead of building ./cmd/clusterdns (e.g. to soak an older commit)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory (manifests, query file, the server's log)")
	flag.IntVar(&c.nofile, "nofile", 4096, "the server's file descriptor limit (soft and hard, set with prlimit)")
	flag.StringVar(&c.serveArgs, "serve-args", "", "extra arguments for clusterdns serve, space-separated (e.g. \"--log-level warn\")")

	flag.Float64Var(&c.load, "load", 0.8, "UDP load as a fraction of the calibrated maximum")
	flag.IntVar(&c.qps, "qps", 0, "UDP load in queries per second; skips the calibration")
	flag.DurationVar(&c.calibrate, "calibrate", 10*time.Second, "length of the unlimited dnsperf run that measures the maximum UDP rate")
	flag.DurationVar(&c.chunk, "chunk", time.Minute, "length of each dnsperf run of the soak (loss is reported per run)")
	flag.IntVar(&c.perfOutstanding, "outstanding", 100, "dnsperf's -q, in the calibration and the soak: queries in flight at most (more makes bursts that overflow the server's socket buffers)")
	flag.IntVar(&c.tcpClients, "tcp-clients", 4, "well-behaved TCP clients (connect, one query, read, close, in a loop)")
	flag.DurationVar(&c.tcpPause, "tcp-pause", 100*time.Millisecond, "pause between a well-behaved TCP client's queries")
	flag.DurationVar(&c.probeEvery, "probe-every", 100*time.Millisecond, "interval of the UDP prober's queries")
	flag.DurationVar(&c.answerTimeout, "answer-timeout", 2*time.Second, "a well-behaved client's query without an answer after this long is lost")

	flag.IntVar(&c.idleTCP, "idle-tcp", 1500, "idle DNS TCP connections opened and held (the server's cap is 1024 by default)")
	flag.IntVar(&c.httpConns, "http-conns", 3000, "HTTP keep-alive connections to /health and /metrics, held idle between requests")
	flag.Float64Var(&c.httpRPS, "http-rps", 200, "requests per second spread over the held HTTP connections")
	flag.IntVar(&c.pipeliners, "pipeliners", 100, "TCP clients pipelining queries for the large SRV answer without ever reading")
	flag.IntVar(&c.pipelineBatch, "pipeline-batch", 400, "queries per write of a pipeliner")
	flag.IntVar(&c.pipelineMax, "pipeline-max", 20000, "queries a pipeliner sends on one connection before it slows to one every 2 s (0: no limit)")
	flag.IntVar(&c.slowloris, "slowloris", 1100, "slowloris TCP connections")
	flag.DurationVar(&c.slowlorisEvery, "slowloris-every", 3*time.Second, "a slowloris connection sends one byte this often")
	flag.Float64Var(&c.malformedUDP, "malformed-udp", 200, "malformed UDP packets per second")
	flag.Float64Var(&c.garbageTCP, "garbage-tcp", 20, "TCP connections per second sending random bytes in DNS framing")
	flag.StringVar(&c.hostileFrom, "hostile-from", "127.0.0.2", "source address of the misbehaving clients; the well-behaved ones (and the /health and /metrics probes) use 127.0.0.1, as pods and the kubelet have different addresses in a cluster. Empty: the system's choice (127.0.0.1), all clients from one address")
	flag.DurationVar(&c.reconnect, "reconnect", time.Second, "a misbehaving client the server closed connects again after this (plus up to as much again, random)")
	flag.Float64Var(&c.rampRate, "ramp-rate", 300, "connections per second each misbehaving group opens at the start")

	flag.DurationVar(&c.settle, "settle", 15*time.Second, "wait this long after the clients stop before checking the server let go of their connections")
	flag.Int64Var(&c.clientMem, "client-mem", 512, "memory limit of the soak's own process in MiB (Go's soft limit)")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick {
		if !set["duration"] {
			c.duration = 2 * time.Minute
		}
		if !set["interval"] {
			c.interval = 5 * time.Second
		}
		if !set["calibrate"] {
			c.calibrate = 5 * time.Second
		}
		if !set["chunk"] {
			c.chunk = 30 * time.Second
		}
	}
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	passed, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !passed {
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case c.duration < 30*time.Second:
		return errors.New("-duration: at least 30s (growth is judged on the second sixth and the last third)")
	case c.interval <= 0 || c.interval > c.duration/12:
		return errors.New("-interval: positive and at most a twelfth of -duration, so that each window has samples")
	case c.load <= 0 || c.load > 1.5:
		return errors.New("-load: a fraction such as 0.8")
	case c.nofile < 64:
		return errors.New("-nofile: at least 64")
	case c.perfOutstanding < 1:
		return errors.New("-outstanding: at least 1")
	case c.pipelineBatch < 1 || c.pipelineMax < 0:
		return errors.New("-pipeline-batch: at least 1; -pipeline-max: 0 or more")
	case c.hostileFrom != "" && net.ParseIP(c.hostileFrom) == nil:
		return fmt.Errorf("-hostile-from %q: not an IP address", c.hostileFrom)
	case c.slowlorisEvery <= 0 || c.probeEvery <= 0 || c.answerTimeout <= 0 || c.reconnect <= 0 || c.chunk < 5*time.Second:
		return errors.New("-slowloris-every, -probe-every, -answer-timeout and -reconnect must be positive, -chunk at least 5s")
	case c.rampRate <= 0:
		return errors.New("-ramp-rate: positive")
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s soak: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// repoRoot finds the module root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "bench", "soak")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from the clusterdns repository")
		}
		dir = parent
	}
}

// sleepCtx sleeps for d or until ctx is done; it reports whether ctx is
// still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// shortErr names an error the way the report counts it.
func shortErr(err error) string {
	var ne interface{ Timeout() bool }
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "client out of file descriptors"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "client out of ports"
	case strings.Contains(err.Error(), "EOF"):
		return "closed by the server (EOF)"
	}
	return err.Error()
}

// clientSide reports whether err is the soak's own limit (descriptors,
// ports) rather than the server's doing.
func clientSide(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.EADDRNOTAVAIL)
}
