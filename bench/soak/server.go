package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/miekg/dns"
)

// buildServer builds clusterdns as the Dockerfile does (static, stripped),
// so that RSS is the shipped binary's.
func buildServer(root, dir string) (string, error) {
	bin := filepath.Join(dir, "clusterdns")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/clusterdns")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/clusterdns: %v\n%s", err, out)
	}
	return bin, nil
}

// serverProc is the clusterdns under soak.
type serverProc struct {
	proc                 *controlplane.Proc
	dns, health, metrics string // host:port each
	args                 []string
	logs                 *logStats
}

// startServer starts clusterdns serve on fresh ports under the descriptor
// limit. prlimit sets the limit on itself and execs the server, so the pid
// is the server's.
func startServer(c config, bin, dir, manifests string) (*serverProc, error) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, errors.New("prlimit not found (util-linux): it sets the server's descriptor limit")
	}
	hostPort := func() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(controlplane.FreePort())) }
	s := &serverProc{dns: hostPort(), health: hostPort(), metrics: hostPort(), logs: newLogStats()}
	s.args = []string{bin, "serve", "--manifests", manifests,
		"--listen", s.dns, "--health-addr", s.health, "--metrics-addr", s.metrics,
		"--log-format", "json"}
	s.args = append(s.args, strings.Fields(c.serveArgs)...)
	limit := fmt.Sprintf("--nofile=%d:%d", c.nofile, c.nofile)
	s.proc = &controlplane.Proc{Name: "clusterdns", Bin: prlimit, Args: append([]string{limit, "--"}, s.args...),
		LogPath: filepath.Join(dir, "clusterdns.log"), OnLine: s.logs.add}
	if err := s.proc.Start(); err != nil {
		return nil, err
	}
	logf("started clusterdns on %s (health %s, metrics %s), pid %d, nofile %d", s.dns, s.health, s.metrics, s.proc.Pid(), c.nofile)
	return s, nil
}

// procSample is what /proc says about a process.
type procSample struct {
	rssKiB   int64
	threads  int
	fds      int
	cpuTicks int64 // utime+stime, in clock ticks
}

// ticksPerSecond is USER_HZ, 100 on every Linux the soak runs on.
const ticksPerSecond = 100

// readProc reads pid's VmRSS, Threads, open descriptors and CPU time.
// pid "self" is the soak itself (fds are not counted for it).
func readProc(pid string) (procSample, error) {
	var s procSample
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return s, fmt.Errorf("reading /proc/%s/status: %w", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.rssKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "Threads:":
			s.threads, _ = strconv.Atoi(f[1])
		}
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return s, fmt.Errorf("reading /proc/%s/stat: %w", pid, err)
	}
	// The fields after the command name, which may hold spaces: state is
	// field 3, utime and stime fields 14 and 15.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			s.cpuTicks = u + k
		}
	}
	if pid == "self" {
		return s, nil
	}
	d, err := os.Open("/proc/" + pid + "/fd")
	if err != nil {
		return s, fmt.Errorf("counting descriptors: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return s, fmt.Errorf("counting descriptors: %w", err)
	}
	s.fds = len(names)
	return s, nil
}

// udpDrops sums the drops column of /proc/net/udp over the sockets bound
// to addr: datagrams the kernel threw away because the server's receive
// buffer was full. It tells a query the server never saw from one it did
// not answer.
func udpDrops(addr string) (int64, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return 0, fmt.Errorf("udp drops of %s: only IPv4 addresses", addr)
	}
	a := ap.Addr().As4()
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/net/udp: %w", err)
	}
	var sum int64
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 13 || f[1] != local {
			continue
		}
		n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		sum += n
	}
	return sum, nil
}

// scrapeGoroutines reads go_goroutines from /metrics over a fresh
// connection each try, as a Prometheus scrape would connect: /metrics is
// one of the flooded endpoints, so a pooled connection would say nothing
// about whether a new client gets in. It tries again until budget is
// spent, so that growth can be judged even when first tries fail, and
// says how many tries it took.
func scrapeGoroutines(addr string, budget time.Duration) (n, tries int, err error) {
	deadline := time.Now().Add(budget)
	for {
		tries++
		cl := &http.Client{Timeout: 1500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := cl.Get("http://" + addr + "/metrics")
		if err == nil {
			n, err = goroutinesFrom(resp)
			resp.Body.Close()
			if err == nil {
				return n, tries, nil
			}
		}
		if time.Now().Add(100 * time.Millisecond).After(deadline) {
			return -1, tries, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probeHealth asks /health once over a fresh connection with a 1 s
// timeout, as the kubelet's liveness probe does by default: a flood that
// makes it fail gets the pod restarted.
func probeHealth(addr string) error {
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get("http://" + addr + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/health: %s", resp.Status)
	}
	return nil
}

func goroutinesFrom(resp *http.Response) (int, error) {
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading /metrics: %w", err)
	}
	return 0, errors.New("/metrics has no go_goroutines")
}

// logStats counts the server's log lines by level and message, so that a
// flood of warnings is a finding and not only a large file.
type logStats struct {
	mu      sync.Mutex
	lines   int64
	bytes   int64
	byLevel map[string]int64
	byMsg   map[string]int64
	first   []string // the first error-level lines
}

func newLogStats() *logStats {
	return &logStats{byLevel: map[string]int64{}, byMsg: map[string]int64{}}
}

// maxMessages bounds byMsg: messages are constant strings, so more than
// this means something is putting variable data in them.
const maxMessages = 200

func (l *logStats) add(line string) {
	var e struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
	}
	if json.Unmarshal([]byte(line), &e) != nil || e.Level == "" {
		e.Level, e.Msg = "(not JSON)", ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	l.bytes += int64(len(line)) + 1
	l.byLevel[e.Level]++
	if e.Msg != "" {
		key := e.Level + " " + e.Msg
		if _, ok := l.byMsg[key]; ok || len(l.byMsg) < maxMessages {
			l.byMsg[key]++
		}
	}
	if e.Level == "ERROR" && len(l.first) < 5 {
		l.first = append(l.first, line)
	}
}

type msgCount struct {
	msg string
	n   int64
}

// summary returns the counts, most frequent message first.
func (l *logStats) summary() (lines, size int64, levels map[string]int64, msgs []msgCount, first []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	levels = map[string]int64{}
	for k, v := range l.byLevel {
		levels[k] = v
	}
	for k, v := range l.byMsg {
		msgs = append(msgs, msgCount{k, v})
	}
	sort.Slice(msgs, func(i, j int) bool {
		if msgs[i].n != msgs[j].n {
			return msgs[i].n > msgs[j].n
		}
		return msgs[i].msg < msgs[j].msg
	})
	return l.lines, l.bytes, levels, msgs, append([]string(nil), l.first...)
}

// opErr is an error with the step of the exchange it happened in.
type opErr struct {
	op  string
	err error
}

func (e *opErr) Error() string { return e.op + ": " + e.err.Error() }
func (e *opErr) Unwrap() error { return e.err }

// reason is how a failed exchange is counted: the step and the kind of
// error.
func reason(err error) string {
	var oe *opErr
	if errors.As(err, &oe) {
		return oe.op + ": " + shortErr(oe.err)
	}
	return shortErr(err)
}

// exchange asks m on a fresh socket ("udp" or "tcp") and returns the
// answer and its size. Answers are read into a buffer of at most 64 KiB:
// the soak's memory does not depend on what the server sends.
func exchange(network, addr string, m *dns.Msg, timeout time.Duration) (*dns.Msg, int, error) {
	w, err := m.Pack()
	if err != nil {
		return nil, 0, fmt.Errorf("packing the query: %w", err)
	}
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, 0, &opErr{"connect", err}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	var buf []byte
	if network == "tcp" {
		frame := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(w)), uint16(len(w)))
		if _, err := conn.Write(append(frame, w...)); err != nil {
			return nil, 0, &opErr{"send", err}
		}
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			return nil, 0, &opErr{"read", err}
		}
		buf = make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, 0, &opErr{"read", err}
		}
	} else {
		if _, err := conn.Write(w); err != nil {
			return nil, 0, &opErr{"send", err}
		}
		buf = make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			return nil, 0, &opErr{"read", err}
		}
		buf = buf[:n]
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf); err != nil {
		return nil, len(buf), &opErr{"unpack", err}
	}
	return r, len(buf), nil
}

// answerKey is what must not change between two answers to the same
// question: rcode, flags and the records (TTL included: the zone does not
// change during the soak).
func answerKey(m *dns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s aa=%t tc=%t", dns.RcodeToString[m.Rcode], m.Authoritative, m.Truncated)
	for _, rr := range m.Answer {
		b.WriteString(" | ")
		b.WriteString(rr.String())
	}
	return b.String()
}

// checkAnswer says what is wrong with r as the answer to q, given the
// reference answer's key; nil when it is exactly right.
func checkAnswer(q, r *dns.Msg, want string) error {
	switch {
	case r.Id != q.Id:
		return fmt.Errorf("id %d, asked %d", r.Id, q.Id)
	case !r.Response:
		return errors.New("not a response")
	case len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, q.Question[0].Name) || r.Question[0].Qtype != q.Question[0].Qtype:
		return fmt.Errorf("question %v, asked %v", r.Question, q.Question)
	}
	if got := answerKey(r); got != want {
		return fmt.Errorf("answer %q, want %q", got, want)
	}
	return nil
}

// probeQuery is a fresh query for the prober's name.
func probeQuery() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(probeName, dns.TypeA)
	m.RecursionDesired = false
	return m
}

// reference waits for the server to answer the prober's name and returns
// that answer's key, after checking it is the address the manifest says.
func reference(s *serverProc, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if !s.proc.Running() {
			return "", fmt.Errorf("clusterdns exited: %v\n%s", s.proc.ExitErr(), s.proc.Tail(20))
		}
		q := probeQuery()
		r, _, err := exchange("udp", s.dns, q, 500*time.Millisecond)
		if err == nil {
			if len(r.Answer) == 1 && r.Rcode == dns.RcodeSuccess {
				if a, ok := r.Answer[0].(*dns.A); ok && a.A.String() == probeIP {
					return answerKey(r), nil
				}
			}
			return "", fmt.Errorf("%s answers %q, want one A %s (examples/cluster/legacy.yaml changed?)", probeName, answerKey(r), probeIP)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("clusterdns does not answer %s within %v: %v\n%s", probeName, timeout, last, s.proc.Tail(20))
}

// largeAnswer asks the large SRV over TCP and returns the answer's size.
func largeAnswer(s *serverProc) (int, error) {
	q := new(dns.Msg)
	q.SetQuestion(bigSRV, dns.TypeSRV)
	r, size, err := exchange("tcp", s.dns, q, 5*time.Second)
	if err != nil {
		return 0, fmt.Errorf("asking %s over TCP: %w", bigSRV, err)
	}
	if len(r.Answer) != bigEndpoints {
		return size, fmt.Errorf("%s has %d records over TCP, want %d", bigSRV, len(r.Answer), bigEndpoints)
	}
	return size, nil
}
