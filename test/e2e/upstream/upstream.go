// Package upstream runs a real DNS server on loopback to stand for the
// resolvers a cluster DNS forwards to, for the forwarding end-to-end tests
// and the benchmark: unbound (Debian's package), serving the zone
// example.test with authority (A, AAAA, a two-step CNAME chain, NXDOMAIN,
// NODATA, a short TTL, a TXT set too large for UDP), PTR records in
// 2.0.192.in-addr.arpa, and REFUSED for every other name (no recursion:
// the machine has no internet). Every query it receives is logged, so a
// test can count what reached the upstream (the cache at work).
//
// It does not run a recursive resolver or DNSSEC.
package upstream

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
	"github.com/miekg/dns"
)

// The zone's names, for tests to ask.
const (
	Zone      = "example.test."
	WWW       = "www.example.test."     // A 192.0.2.10, AAAA 2001:db8::10, TTL 300
	Alias     = "alias.example.test."   // CNAME alias2 -> CNAME www
	Short     = "short.example.test."   // A 192.0.2.11, TTL 3
	TXTOnly   = "txtonly.example.test." // TXT only: NODATA for A and AAAA
	BigTXT    = "big.example.test."     // 12 TXT records, 2.3 kB: TC over UDP at 1232 bytes
	Missing   = "nope.example.test."    // NXDOMAIN
	PTRName   = "10.2.0.192.in-addr.arpa."
	PTRTarget = WWW
	// NegativeTTL is the SOA's TTL and minimum.
	NegativeTTL = 60
)

// Bulk and Miss are the benchmark's names (StartWith's Options).
const (
	// BulkFormat is the name of bulk record i (A 198.18.x.y and AAAA
	// 2001:db8:1::i, TTL 300), for i below Options.Bulk.
	BulkFormat = "n%d.bulk.example.test."
	// MissFormat is a name answered by a wildcard (A 192.0.2.99, TTL 300):
	// each i is a new name, so a cache in front misses every time.
	MissFormat = "m%d.miss.example.test."
)

// Options changes what Start serves, for the benchmark.
type Options struct {
	// Bulk is how many BulkFormat names the zone holds.
	Bulk int
	// Quiet turns the query log off (Count and Queries then see nothing):
	// unbound writing a line per query would slow the benchmark's misses.
	Quiet bool
}

// zoneFile is the zone unbound serves with authority.
func zoneFile(o Options) string {
	var b strings.Builder
	b.WriteString(`$ORIGIN example.test.
@       300 IN SOA ns.example.test. host.example.test. 1 3600 600 86400 60
@       300 IN NS  ns.example.test.
ns      300 IN A   127.0.0.1
www     300 IN A   192.0.2.10
www     300 IN AAAA 2001:db8::10
alias   300 IN CNAME alias2.example.test.
alias2  300 IN CNAME www.example.test.
short   3   IN A   192.0.2.11
txtonly 300 IN TXT "hello"
`)
	for i := range 12 {
		fmt.Fprintf(&b, "big 300 IN TXT \"%s\"\n", strings.Repeat(fmt.Sprintf("%03d", i), 60))
	}
	b.WriteString("*.miss 300 IN A 192.0.2.99\n")
	for i := range o.Bulk {
		name := strings.TrimSuffix(fmt.Sprintf(BulkFormat, i), "."+Zone)
		fmt.Fprintf(&b, "%s 300 IN A 198.18.%d.%d\n%s 300 IN AAAA 2001:db8:1::%x\n", name, i/256%256, i%256, name, i)
	}
	return b.String()
}

// config is unbound's configuration: authority for example.test, local
// data for the reverse zone, REFUSED for the rest, every query logged,
// UDP answers capped at 1232 bytes.
func config(dir string, port int, o Options) string {
	return fmt.Sprintf(`server:
  interface: 127.0.0.1@%d
  do-daemonize: no
  username: ""
  chroot: ""
  directory: %q
  pidfile: ""
  use-syslog: no
  logfile: ""
  log-queries: %s
  verbosity: 0
  do-ip6: no
  max-udp-size: 1232
  edns-buffer-size: 1232
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "." refuse
  local-zone: "test." nodefault
  local-zone: "example.test." transparent
  local-zone: "2.0.192.in-addr.arpa." static
  local-data: "10.2.0.192.in-addr.arpa. 300 IN PTR www.example.test."
auth-zone:
  name: "example.test."
  zonefile: %q
  for-downstream: yes
  for-upstream: no
  fallback-enabled: no
`, port, dir, yesNo(!o.Quiet), filepath.Join(dir, "example.test.zone"))
}

// Query is one query the upstream logged.
type Query struct {
	Name, Type string
}

// Server is a running upstream.
type Server struct {
	// Addr is its address, 127.0.0.1:port (UDP and TCP).
	Addr string
	proc *controlplane.Proc
	mu   sync.Mutex
	log  []Query
}

// Binary finds unbound.
func Binary() (string, error) {
	for _, p := range []string{"unbound", "/usr/sbin/unbound"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("unbound not found (apt-get install unbound)")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Start writes the configuration into dir and starts unbound, returning
// once it answers.
func Start(dir string) (*Server, error) { return StartWith(dir, Options{}) }

// StartWith is Start serving what o adds.
func StartWith(dir string, o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port := controlplane.FreePort()
	if err := os.WriteFile(filepath.Join(dir, "example.test.zone"), []byte(zoneFile(o)), 0o644); err != nil {
		return nil, fmt.Errorf("writing the upstream zone: %w", err)
	}
	conf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(conf, []byte(config(dir, port, o)), 0o644); err != nil {
		return nil, fmt.Errorf("writing the upstream configuration: %w", err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.proc = &controlplane.Proc{Name: "unbound", Bin: bin, Args: []string{"-d", "-c", conf}, LogPath: filepath.Join(dir, "unbound.log"), OnLine: s.record}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

// Restart starts the upstream again after Stop, returning once it answers.
func (s *Server) Restart() error {
	if err := s.proc.Start(); err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetQuestion(WWW, dns.TypeA)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r, _, err := c.Exchange(m, s.Addr); err == nil && r.Rcode == dns.RcodeSuccess {
			s.Reset()
			return nil
		}
		if !s.proc.Running() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("unbound did not answer on %s\n%s", s.Addr, s.proc.Tail(20))
}

// Pid is the upstream's process ID (for the benchmark's CPU and memory
// readings).
func (s *Server) Pid() int { return s.proc.Pid() }

// State says whether the upstream's process runs and shows the end of its
// log, for a test's failure message.
func (s *Server) State() string {
	return fmt.Sprintf("unbound on %s running: %v; its log ends:\n%s", s.Addr, s.proc.Running(), s.proc.Tail(10))
}

// Stop stops the upstream (Restart starts it again).
func (s *Server) Stop() { s.proc.StopWithin(5 * time.Second) }

// record reads a query log line: "[time] unbound[pid:0] info: 127.0.0.1 www.example.test. A IN".
func (s *Server) record(line string) {
	_, rest, ok := strings.Cut(line, " info: ")
	if !ok {
		return
	}
	f := strings.Fields(rest)
	if len(f) != 4 || net.ParseIP(f[0]) == nil {
		return
	}
	s.mu.Lock()
	s.log = append(s.log, Query{Name: strings.ToLower(f[1]), Type: f[2]})
	s.mu.Unlock()
}

// Queries returns the queries logged since the last Reset.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.log...)
}

// Count is how many times name (any case) was asked with type qtype
// ("A", "TXT", ...) since the last Reset.
func (s *Server) Count(name, qtype string) int {
	n := 0
	for _, q := range s.Queries() {
		if q.Name == strings.ToLower(dns.Fqdn(name)) && q.Type == qtype {
			n++
		}
	}
	return n
}

// Reset forgets the logged queries.
func (s *Server) Reset() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}
