package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/miekg/dns"
)

// Server kinds.
const (
	kClusterdns          = "clusterdns"
	kClusterdnsNoMetrics = "clusterdns-nometrics"
	kCoreDNS             = "coredns"
	kCoreDNSMulti        = "coredns-multisocket2"
	kCeiling             = "ceiling"
	kKnot                = "knot"
	// The forwarding phase: kubeadm's Corefile on both servers, the
	// build from before forwarding, and the upstream asked directly.
	kClusterdnsCorefile = "clusterdns-corefile"
	kCoreDNSCorefile    = "coredns-corefile"
	kClusterdnsBaseline = "clusterdns-baseline"
	kClusterdnsBefore16 = "clusterdns-before16"
	kUpstream           = "upstream"
	kRelay              = "relay"
	// The autopath phase: the kubeadm Corefile with autopath @kubernetes
	// (CoreDNS's with pods verified, which its autopath needs).
	kClusterdnsAutopath = "clusterdns-autopath"
	kCoreDNSAutopath    = "coredns-autopath"
)

// label is how a server kind is named in the results.
var label = map[string]string{
	kClusterdns:          "clusterdns",
	kClusterdnsNoMetrics: "clusterdns, --metrics-addr \"\"",
	kCoreDNS:             "CoreDNS 1.14.2",
	kCoreDNSMulti:        "CoreDNS 1.14.2, multisocket 2",
	kCeiling:             "minimal Go responder (ceiling)",
	kKnot:                "Knot DNS",
	kClusterdnsCorefile:  "clusterdns, kubeadm Corefile",
	kCoreDNSCorefile:     "CoreDNS 1.14.2, kubeadm Corefile",
	kClusterdnsBaseline:  "clusterdns before forwarding (" + baselineRev + ")",
	kClusterdnsBefore16:  "clusterdns before issue 16 (" + before16Rev + ")",
	kUpstream:            "the upstream (unbound), directly",
	churnAtCoreDNSRate:   "clusterdns, kubeadm Corefile, at CoreDNS's rate",
	kRelay:               "minimal Go relay (floor)",
	kClusterdnsAutopath:  "clusterdns, kubeadm Corefile + autopath @kubernetes",
	kCoreDNSAutopath:     "CoreDNS 1.14.2, kubeadm Corefile + autopath @kubernetes, pods verified",
}

// server is one running DNS server under measurement.
type server struct {
	kind    string
	addr    string // host:port, UDP and TCP
	health  string // clusterdns /ready, when set
	metrics string // clusterdns /metrics, when set
	pprof   string // clusterdns's --pprof-addr, when set
	proc    *controlplane.Proc
	pid     int // a process not started here (the upstream), when proc is nil
	started time.Time
	logs    *lineLog
}

// lineLog keeps a process's output lines (clusterdns's JSON log).
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func newLineLog() *lineLog { return &lineLog{} }

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// env is what servers are started from.
type benchEnv struct {
	dir        string
	cp         *controlplane.ControlPlane
	clusterdns string // binary
	ceiling    string // binary
	baseline   string // binary of baselineRev, when built
	before16   string // binary of before16Rev, when built
	upstream   string // the forwarding phase's upstream, host:port
	pin        bool   // servers run on CPU 0 (taskset), dnsperf on CPU 1
	st         *state
}

func (e *benchEnv) path(name string) string { return filepath.Join(e.dir, name) }

// start runs a server of the kind on a fresh port.
func (e *benchEnv) start(kind string) (*server, error) {
	port := controlplane.FreePort()
	s := &server{kind: kind, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	logPath := e.path(kind + ".log")
	switch kind {
	case kClusterdnsCorefile, kCoreDNSCorefile, kClusterdnsAutopath, kCoreDNSAutopath:
		if err := e.startCorefile(s, port, logPath); err != nil {
			return nil, err
		}
	case kClusterdns, kClusterdnsNoMetrics, kClusterdnsBaseline, kClusterdnsBefore16:
		s.health = fmt.Sprintf("http://127.0.0.1:%d", controlplane.FreePort())
		metricsAddr := ""
		if kind == kClusterdns {
			s.metrics = fmt.Sprintf("http://127.0.0.1:%d", controlplane.FreePort())
			metricsAddr = strings.TrimPrefix(s.metrics, "http://")
		}
		s.logs = newLineLog()
		bin := e.clusterdns
		switch kind {
		case kClusterdnsBaseline:
			bin = e.baseline
		case kClusterdnsBefore16:
			bin = e.before16
		}
		s.proc = &controlplane.Proc{Name: kind, Bin: bin, LogPath: logPath, OnLine: s.logs.add, Args: []string{"serve",
			"--kubeconfig", e.cp.AdminKubeconfig,
			"--listen", s.addr,
			"--health-addr", strings.TrimPrefix(s.health, "http://"),
			"--metrics-addr", metricsAddr,
			"--pod-records", "insecure", "--ttl", "5",
			"--log-format", "json",
		}}
	case kCoreDNS, kCoreDNSMulti:
		multi := ""
		if kind == kCoreDNSMulti {
			multi = "\n    multisocket 2"
		}
		corefile := fmt.Sprintf(`.:%d {
    bind 127.0.0.1%s
    kubernetes %s in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods insecure
        ttl 5
    }
}
`, port, multi, zone, e.cp.AdminKubeconfig)
		path := e.path(kind + ".Corefile")
		if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
			return nil, err
		}
		s.proc = &controlplane.Proc{Name: kind, Bin: e.cp.Bins.CoreDNS, LogPath: logPath, Args: []string{"-conf", path}}
	case kCeiling:
		s.proc = &controlplane.Proc{Name: kind, Bin: e.ceiling, LogPath: logPath, Args: []string{"-listen", s.addr, "-sockets", "2"}}
	case kRelay:
		s.proc = &controlplane.Proc{Name: kind, Bin: e.ceiling, LogPath: logPath, Args: []string{"-listen", s.addr, "-sockets", "2", "-relay", e.upstream}}
	case kKnot:
		conf, err := e.writeKnot(port)
		if err != nil {
			return nil, err
		}
		s.proc = &controlplane.Proc{Name: kind, Bin: knotd, LogPath: logPath, Args: []string{"-c", conf}}
	default:
		return nil, fmt.Errorf("unknown server %s", kind)
	}
	if e.pin {
		// taskset execs the server in its own process: the pid is the
		// server's, and Go sizes GOMAXPROCS from the affinity it inherits.
		s.proc.Args = append([]string{"-c", "0", s.proc.Bin}, s.proc.Args...)
		s.proc.Bin = "taskset"
	}
	s.started = time.Now()
	if err := s.proc.Start(); err != nil {
		return nil, err
	}
	logf("started %s on %s, pid %d", kind, s.addr, s.proc.Pid())
	return s, nil
}

// startCorefile prepares a server of kubeadm's Corefile: CoreDNS, or
// clusterdns with --corefile.
func (e *benchEnv) startCorefile(s *server, port int, logPath string) error {
	health, ready, metrics := controlplane.FreePort(), controlplane.FreePort(), controlplane.FreePort()
	s.health = fmt.Sprintf("http://127.0.0.1:%d", ready)
	s.metrics = fmt.Sprintf("http://127.0.0.1:%d", metrics)
	path := e.path(s.kind + ".Corefile")
	if err := os.WriteFile(path, []byte(e.kubeadmCorefile(s.kind, port, health, ready, metrics)), 0o644); err != nil {
		return err
	}
	s.proc = &controlplane.Proc{Name: s.kind, Bin: e.cp.Bins.CoreDNS, LogPath: logPath, Args: []string{"-conf", path}}
	if s.kind == kClusterdnsCorefile || s.kind == kClusterdnsAutopath {
		s.pprof = fmt.Sprintf("http://127.0.0.1:%d", controlplane.FreePort())
		// Its own copy of the binary, as on a node of its own: the kernel
		// keeps the pages of a file two processes map (the other
		// clusterdns here), so serve's release of its start-up pages
		// would do nothing and its RSS would not be what a replica has.
		bin := e.path(s.kind + "-own-copy")
		if err := copyFile(e.clusterdns, bin); err != nil {
			return err
		}
		s.logs = newLineLog()
		s.proc = &controlplane.Proc{Name: s.kind, Bin: bin, LogPath: logPath, OnLine: s.logs.add,
			Args: []string{"serve", "--corefile", path, "--log-format", "json", "--pprof-addr", strings.TrimPrefix(s.pprof, "http://")}}
	}
	return nil
}

// copyFile copies an executable and writes it out: the kernel does not
// page out a file's dirty pages, so a fresh, unsynced copy would keep
// every page it maps resident, unlike a binary from an image.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// knotd is the Knot DNS daemon (Debian's knot package).
var knotd = "/usr/sbin/knotd"

// waitAnswer waits until the server answers name/qtype with an answer that
// contains want (any answer if want is empty), and returns when it did.
func (s *server) waitAnswer(name string, qtype uint16, want string, timeout time.Duration) (time.Time, error) {
	return s.waitAnswerEvery(name, qtype, want, timeout, 5*time.Millisecond)
}

// hasRecord reports whether the answer holds a record whose data is want
// (any record when want is empty).
func hasRecord(m *dns.Msg, want string) bool {
	for _, rr := range m.Answer {
		if want == "" || strings.TrimPrefix(rr.String(), rr.Header().String()) == want {
			return true
		}
	}
	return false
}

// waitAnswerEvery is waitAnswer polling every interval.
func (s *server) waitAnswerEvery(name string, qtype uint16, want string, timeout, every time.Duration) (time.Time, error) {
	c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		if !s.proc.Running() {
			return time.Time{}, fmt.Errorf("%s exited: %v\n%s", s.kind, s.proc.ExitErr(), s.proc.Tail(20))
		}
		r, _, err := c.Exchange(m, s.addr)
		if err == nil {
			if r.Rcode == dns.RcodeSuccess && hasRecord(r, want) {
				return time.Now(), nil
			}
			last = dns.RcodeToString[r.Rcode]
		} else {
			last = err.Error()
		}
		time.Sleep(every)
	}
	return time.Time{}, fmt.Errorf("%s does not answer %s %s with %q within %v (last: %s)\n%s", s.kind, name, dns.TypeToString[qtype], want, timeout, last, s.proc.Tail(20))
}

func (s *server) stop() {
	if s.proc != nil {
		s.proc.StopWithin(5 * time.Second)
	}
}

// processID is the server's process.
func (s *server) processID() int {
	if s.proc == nil {
		return s.pid
	}
	return s.proc.Pid()
}

// cpuTicks is the process's user+system time in clock ticks (1/100 s).
func (s *server) cpuTicks() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.processID()))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+2:]))
	// Fields after the command: state is f[0]; utime is field 14 of the
	// whole line, f[11]; stime f[12].
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

const ticksPerSecond = 100

// memKB reads a field (VmRSS, VmHWM) of /proc/<pid>/status in KiB.
func (s *server) memKB(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.processID()))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// resetPeak resets VmHWM to the current RSS.
func (s *server) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.proc.Pid()), []byte("5"), 0)
}

// writeKnot writes the zone files and the configuration of Knot DNS
// serving the same records as the cluster state.
func (e *benchEnv) writeKnot(port int) (string, error) {
	dir := e.path("knot")
	for _, d := range []string{dir, filepath.Join(dir, "run"), filepath.Join(dir, "db")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	fwd, rev := knotZones(e.st)
	if err := os.WriteFile(filepath.Join(dir, "cluster.local.zone"), fwd, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "in-addr.arpa.zone"), rev, 0o644); err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s/run"
    listen: 127.0.0.1@%[2]d
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
database:
    storage: "%[1]s/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "%[1]s"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: %[3]s
    file: cluster.local.zone
  - domain: in-addr.arpa
    file: in-addr.arpa.zone
`, dir, port, zone)
	path := filepath.Join(dir, "knot.conf")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}

// knotZones renders the state as zone files: the records the kubernetes
// plugin would answer for the queried names (service A, SRV per port,
// headless A and per-endpoint A, PTR).
func knotZones(st *state) (fwd, rev []byte) {
	var f, r bytes.Buffer
	soa := func(b *bytes.Buffer, origin string) {
		fmt.Fprintf(b, "$ORIGIN %s.\n$TTL 5\n@ 5 IN SOA ns.dns.%s. hostmaster.%s. 1 7200 1800 86400 5\n@ 5 IN NS ns.dns.%s.\n", origin, zone, zone, zone)
	}
	soa(&f, zone)
	fmt.Fprintf(&f, "ns.dns 5 IN A 10.96.0.10\ndns-version 28800 IN TXT \"1.1.0\"\n")
	soa(&r, "in-addr.arpa")
	svcs := st.filter(func(*service) bool { return true })
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].fqdn() < svcs[j].fqdn() })
	ptr := func(ip, target string) {
		a := strings.Split(ip, ".")
		fmt.Fprintf(&r, "%s.%s.%s.%s.in-addr.arpa. 5 IN PTR %s\n", a[3], a[2], a[1], a[0], target)
	}
	for _, s := range svcs {
		rel := s.name + "." + s.ns + ".svc"
		if !s.headless {
			fmt.Fprintf(&f, "%s 5 IN A %s\n", rel, s.clusterIP)
			fmt.Fprintf(&f, "_http._tcp.%s 5 IN SRV 0 100 %d %s\n", rel, svcPortNo, s.fqdn())
			ptr(s.clusterIP, s.fqdn())
			continue
		}
		w := 100 / max(len(s.eps), 1)
		for _, ep := range s.eps {
			host := ep.hostname
			if host == "" {
				host = strings.ReplaceAll(ep.ip, ".", "-")
			}
			fmt.Fprintf(&f, "%s 5 IN A %s\n", rel, ep.ip)
			fmt.Fprintf(&f, "%s.%s 5 IN A %s\n", host, rel, ep.ip)
			fmt.Fprintf(&f, "_http._tcp.%s 5 IN SRV 0 %d %d %s.%s\n", rel, w, epPortNo, host, s.fqdn())
			ptr(ep.ip, host+"."+s.fqdn())
		}
	}
	return f.Bytes(), r.Bytes()
}
