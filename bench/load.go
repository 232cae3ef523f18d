package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// query is one line of a dnsperf data file.
type query struct {
	name  string // fully qualified
	qtype uint16
}

func (q query) String() string { return q.name + " " + dns.TypeToString[q.qtype] }

// Mixes.
const (
	mixA = "a"
	mixB = "b"
	mixC = "c"
)

var mixTitle = map[string]string{
	mixA: "(a) headless A, per-pod A, SRV",
	mixB: "(b) ClusterFirst ndots:5: search-path NXDOMAINs then the hit, A and AAAA",
	mixC: "(c) PTR",
}

// mixQueries builds the query list of a mix over the base services, in a
// fixed pseudo-random order.
func mixQueries(st *state, mix string) []query {
	rng := rand.New(rand.NewPCG(1, uint64(len(mix))))
	base := st.filter(func(s *service) bool { return strings.HasPrefix(s.ns, "bench-") && s.ns != progNS && s.ns != largeNS })
	var headless, clusterIP []*service
	for _, s := range base {
		if s.headless {
			headless = append(headless, s)
		} else {
			clusterIP = append(clusterIP, s)
		}
	}
	var qs []query
	const n = 30000
	switch mix {
	case mixA:
		for len(qs) < n {
			s := headless[rng.IntN(len(headless))]
			switch len(qs) % 3 {
			case 0:
				qs = append(qs, query{s.fqdn(), dns.TypeA})
			case 1:
				e := s.eps[rng.IntN(len(s.eps))]
				qs = append(qs, query{e.hostname + "." + s.fqdn(), dns.TypeA})
			case 2:
				qs = append(qs, query{"_http._tcp." + s.fqdn(), dns.TypeSRV})
			}
		}
	case mixB:
		// A pod in clientNS with the default ClusterFirst resolv.conf
		// (search <ns>.svc.cluster.local svc.cluster.local cluster.local;
		// ndots:5) looks up "<svc>.<ns>" and "<svc>.<ns>.svc.cluster.local"
		// (half each): every search domain is tried before the name as
		// given, each with A and AAAA, until one answers NOERROR.
		search := []string{clientNS + ".svc." + zone + ".", "svc." + zone + ".", zone + "."}
		for lookup := 0; len(qs) < n; lookup++ {
			s := clusterIP[rng.IntN(len(clusterIP))]
			var typed string
			if lookup%2 == 0 {
				typed = s.name + "." + s.ns
			} else {
				typed = s.name + "." + s.ns + ".svc." + zone
			}
			for _, sd := range search {
				name := typed + "." + sd
				qs = append(qs, query{name, dns.TypeA}, query{name, dns.TypeAAAA})
				if name == s.fqdn() {
					break
				}
			}
			if !strings.HasSuffix(typed, zone) {
				continue
			}
			qs = append(qs, query{typed + ".", dns.TypeA}, query{typed + ".", dns.TypeAAAA})
		}
	case mixC:
		for len(qs) < n {
			var ip string
			if len(qs)%2 == 0 {
				ip = clusterIP[rng.IntN(len(clusterIP))].clusterIP
			} else {
				s := headless[rng.IntN(len(headless))]
				ip = s.eps[rng.IntN(len(s.eps))].ip
			}
			rev, _ := dns.ReverseAddr(ip)
			qs = append(qs, query{rev, dns.TypePTR})
		}
	}
	return qs
}

// writeQueries writes a dnsperf text data file.
func writeQueries(path string, qs []query) error {
	var b bytes.Buffer
	for _, q := range qs {
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// writeBinaryQueries writes a dnsperf -B data file (2-byte length, message)
// with EDNS0 offering bufsize bytes.
func writeBinaryQueries(path string, qs []query, bufsize uint16) error {
	var b bytes.Buffer
	for i, q := range qs {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.Id = uint16(i)
		m.SetEdns0(bufsize, false)
		w, err := m.Pack()
		if err != nil {
			return err
		}
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(w))))
		b.Write(w)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// perfOpts are the dnsperf settings of one run.
type perfOpts struct {
	data    string
	seconds float64
	clients int // -c: client sockets (UDP flows or TCP connections)
	outst   int // -q: queries outstanding
	qps     int // -Q, 0: as fast as it answers
	tcp     bool
	binary  bool // -B
	verbose bool // -v: per-query latency
	runs    int  // -n: times through the data file, 0: until -l
}

// perfResult is what dnsperf reported, plus the server's CPU time.
type perfResult struct {
	sent, completed, lost int64
	qps                   float64
	avgLatency            float64 // seconds
	cpuSeconds            float64 // the server's own utime+stime during the run
	wall                  float64
	latencies             []float64 // per query, seconds (verbose runs)
	rcodes                map[string]int64
}

// perQPSCPU is queries answered per second of the server's CPU time.
func (r perfResult) perCPU() float64 {
	if r.cpuSeconds == 0 {
		return 0
	}
	return float64(r.completed) / r.cpuSeconds
}

var (
	reSent      = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	reCompleted = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	reLost      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	reQPS       = regexp.MustCompile(`Queries per second:\s+([\d.]+)`)
	reAvg       = regexp.MustCompile(`Average Latency \(s\):\s+([\d.]+)`)
	reRcode     = regexp.MustCompile(`Response codes:\s+(.*)`)
)

// pinDnsperf runs dnsperf on CPU 1 (bench -pin), the servers being on CPU 0.
var pinDnsperf bool

// dnsperf runs dnsperf against s and measures s's CPU time around it.
func dnsperf(s *server, o perfOpts) (perfResult, error) {
	host, port, _ := net.SplitHostPort(s.addr)
	args := []string{"-s", host, "-p", port, "-d", o.data, "-c", strconv.Itoa(o.clients), "-T", "1",
		"-l", strconv.FormatFloat(o.seconds, 'f', 1, 64), "-t", "2"}
	if o.outst > 0 {
		args = append(args, "-q", strconv.Itoa(o.outst))
	}
	if o.qps > 0 {
		args = append(args, "-Q", strconv.Itoa(o.qps))
	}
	if o.tcp {
		args = append(args, "-m", "tcp")
	}
	if o.binary {
		args = append(args, "-B")
	}
	if o.verbose {
		args = append(args, "-v")
	}
	if o.runs > 0 {
		args = append(args, "-n", strconv.Itoa(o.runs))
	}
	cmd := exec.Command("dnsperf", args...)
	if pinDnsperf {
		cmd = exec.Command("taskset", append([]string{"-c", "1", "dnsperf"}, args...)...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return perfResult{}, err
	}
	res := perfResult{rcodes: map[string]int64{}}
	t0, c0 := time.Now(), s.cpuTicks()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("dnsperf: %w", err)
	}
	var summary strings.Builder
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) > 2 && line[0] == '>' && line[1] == ' ' {
			if o.verbose {
				i := bytes.LastIndexByte(line, ' ')
				if v, err := strconv.ParseFloat(string(line[i+1:]), 64); err == nil && !bytes.HasPrefix(line, []byte("> T ")) {
					res.latencies = append(res.latencies, v)
				}
			}
			continue
		}
		summary.Write(line)
		summary.WriteByte('\n')
	}
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("dnsperf %s: %v\n%s%s", strings.Join(args, " "), err, summary.String(), stderr.String())
	}
	res.cpuSeconds = float64(s.cpuTicks()-c0) / ticksPerSecond
	res.wall = time.Since(t0).Seconds()
	txt := summary.String()
	parsePerf(txt, &res)
	if res.completed == 0 {
		return res, fmt.Errorf("dnsperf against %s completed no query\n%s%s", s.kind, txt, stderr.String())
	}
	return res, nil
}

// parsePerf reads dnsperf's summary into res.
func parsePerf(txt string, res *perfResult) {
	get := func(re *regexp.Regexp) string {
		m := re.FindStringSubmatch(txt)
		if m == nil {
			return "0"
		}
		return m[1]
	}
	res.sent, _ = strconv.ParseInt(get(reSent), 10, 64)
	res.completed, _ = strconv.ParseInt(get(reCompleted), 10, 64)
	res.lost, _ = strconv.ParseInt(get(reLost), 10, 64)
	res.qps, _ = strconv.ParseFloat(get(reQPS), 64)
	res.avgLatency, _ = strconv.ParseFloat(get(reAvg), 64)
	if res.rcodes == nil {
		res.rcodes = map[string]int64{}
	}
	if m := reRcode.FindStringSubmatch(txt); m != nil {
		for _, part := range strings.Split(m[1], ",") {
			f := strings.Fields(strings.TrimSpace(part))
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				res.rcodes[strings.TrimSuffix(f[0], ":")] = n
			}
		}
	}
}

// percentile of sorted values (nearest rank).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
