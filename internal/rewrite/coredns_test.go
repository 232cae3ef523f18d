package rewrite

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/internal/corefile"
)

// The differential test runs CoreDNS 1.14.2 (built by test/e2e/tools/build.sh
// into the cache directory) with each case's rewrite rules in front of a
// template plugin, and the same rules through this package in front of the
// same records built in Go, and compares the replies section by section.

// tmplRecord is one record the template plugin answers with; @ in rr is
// the (rewritten) question name.
type tmplRecord struct {
	qtype   uint16
	section string // answer, authority or additional
	rr      string
}

var tmplRecords = []tmplRecord{
	{dns.TypeA, "answer", "@ 60 IN A 10.0.0.1"},
	{dns.TypeA, "answer", "x.@ 60 IN A 10.0.0.2"},
	{dns.TypeA, "additional", "y.@ 60 IN A 10.0.0.3"},
	{dns.TypeA, "authority", "@ 60 IN NS ns.@"},
	{dns.TypeCNAME, "answer", "@ 60 IN CNAME c.@"},
	{dns.TypeCNAME, "answer", "other.test. 60 IN CNAME @"},
	{dns.TypeSRV, "answer", "@ 60 IN SRV 0 0 80 @"},
	{dns.TypeSRV, "additional", "@ 60 IN A 10.0.0.4"},
	{dns.TypeMX, "answer", "@ 60 IN MX 10 m.@"},
	{dns.TypeNS, "answer", "@ 60 IN NS @"},
	{dns.TypePTR, "answer", "@ 60 IN PTR @"},
	{dns.TypeDNAME, "answer", "@ 60 IN DNAME @"},
	{dns.TypeTXT, "answer", "@ 60 IN TXT @"},
	{dns.TypeNAPTR, "answer", `@ 60 IN NAPTR 100 10 "" "" "" @`},
	{dns.TypeSOA, "answer", "@ 60 IN SOA @ h.@ 1 2 3 4 5"},
	{dns.TypeSOA, "authority", "target. 60 IN SOA ns.target. h.target. 1 2 3 4 5"},
}

// qtypes are the types tmplRecords answer, in a fixed order.
var qtypes = []uint16{dns.TypeA, dns.TypeCNAME, dns.TypeSRV, dns.TypeMX, dns.TypeNS,
	dns.TypePTR, dns.TypeDNAME, dns.TypeNAPTR, dns.TypeTXT, dns.TypeSOA}

func templateBlocks() string {
	var b strings.Builder
	for _, qt := range qtypes {
		fmt.Fprintf(&b, "  template IN %s . {\n", dns.TypeToString[qt])
		for _, r := range tmplRecords {
			if r.qtype == qt {
				fmt.Fprintf(&b, "    %s %q\n", r.section, strings.ReplaceAll(r.rr, "@", "{{ .Name }}"))
			}
		}
		b.WriteString("  }\n")
	}
	return b.String()
}

// templateReply is what the template plugin answers for name and qtype.
func templateReply(t *testing.T, name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	for _, r := range tmplRecords {
		if r.qtype != qtype {
			continue
		}
		rr, err := dns.NewRR(strings.ReplaceAll(r.rr, "@", name))
		if err != nil {
			t.Fatal(err)
		}
		switch r.section {
		case "answer":
			m.Answer = append(m.Answer, rr)
		case "authority":
			m.Ns = append(m.Ns, rr)
		default:
			m.Extra = append(m.Extra, rr)
		}
	}
	return m
}

// localReply answers q as a server using this package in front of the
// template records would.
func localReply(t *testing.T, rw *Rewriter, q string, qtype uint16) *dns.Msg {
	name, rev, ok := rw.Question(q)
	if ok && name == "" {
		m := new(dns.Msg)
		m.SetQuestion(q, qtype)
		m.Response, m.Rcode = true, dns.RcodeServerFailure
		return m
	}
	m := templateReply(t, name, qtype)
	rev.Restore(m)
	return m
}

func corednsBinary(t *testing.T) string {
	if testing.Short() {
		t.Skip("starts CoreDNS")
	}
	dir := os.Getenv("CLUSTERDNS_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			t.Skip(err)
		}
		dir = filepath.Join(base, "clusterdns")
	}
	bin := filepath.Join(dir, "coredns-v1.14.2-release", "coredns")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("CoreDNS 1.14.2 not built: %v", err)
	}
	return bin
}

// startCoreDNS serves one block per rule set, on free loopback ports.
func startCoreDNS(t *testing.T, ruleSets []string) []string {
	bin := corednsBinary(t)
	var cf strings.Builder
	addrs := make([]string, len(ruleSets))
	ports := freePorts(t, len(ruleSets))
	for i, rules := range ruleSets {
		port := ports[i]
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		fmt.Fprintf(&cf, ".:%d {\n  bind 127.0.0.1\n%s\n%s}\n", port, rules, templateBlocks())
	}
	path := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(path, []byte(cf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-conf", path, "-quiet")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	for _, a := range addrs {
		waitServing(t, a, exited)
	}
	return addrs
}

// freePorts returns n ports free on loopback for both UDP and TCP, held
// until all are chosen so that none is chosen twice.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	var held []interface{ Close() error }
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		if u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			held = append(held, u)
			ports = append(ports, port)
		}
	}
	return ports
}

func waitServing(t *testing.T, addr string, exited <-chan struct{}) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := exchange(addr, "ready.test.", dns.TypeA); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatal("CoreDNS exited (its error is above)")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("CoreDNS does not answer on %s", addr)
}

func exchange(addr, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// sections renders what the comparison covers: rcode, question name and
// the records.
func sections(m *dns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rcode %s\n", dns.RcodeToString[m.Rcode])
	for _, q := range m.Question {
		fmt.Fprintf(&b, "question %s\n", q.Name)
	}
	for _, sec := range []struct {
		name string
		rrs  []dns.RR
	}{{"answer", m.Answer}, {"authority", m.Ns}, {"additional", m.Extra}} {
		for _, rr := range sec.rrs {
			if rr.Header().Rrtype != dns.TypeOPT {
				fmt.Fprintf(&b, "%s %s\n", sec.name, rr.String())
			}
		}
	}
	return b.String()
}

func parseRules(t testing.TB, rules string) *Rewriter {
	cfg, err := corefile.Parse("Corefile", strings.NewReader(".:53 {\n"+rules+"\n}\n"))
	if err != nil {
		t.Fatalf("parse %q: %v", rules, err)
	}
	rw, err := New(cfg.Blocks[0].Rewrites)
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

// diffCases are rule sets and the names asked of each, with every type of
// tmplRecords.
var diffCases = []struct {
	rules string
	names []string
}{
	{"rewrite name a.example b.target", []string{"a.example.", "x.a.example.", "b.target."}},
	{"rewrite name exact a.example b.target answer value (.*)\\.b\\.target\\. {1}.v.test", []string{"a.example."}},
	{"rewrite name prefix foo bar", []string{"foo.example.", "food.example."}},
	{"rewrite name prefix foo bar answer auto", []string{"foo.example.", "foo.foo.example."}},
	{"rewrite name suffix .example. .target. answer auto", []string{"a.example.", "a.b.example.", "example."}},
	{"rewrite name suffix ample. arget. answer auto", []string{"a.example.", "a.ample."}},
	{"rewrite name suffix .example. .target.", []string{"a.example."}},
	{"rewrite name substring old new answer auto", []string{"a.old.example.", "bold.old.old.", "old.example."}},
	{"rewrite name substring old new", []string{"a.old.example."}},
	{"rewrite name regex (.*)-(us-west-1)\\.example\\. {1}.service.{2}.consul answer auto", []string{"ftp-us-west-1.example.", "ftp.example."}},
	{"rewrite stop {\n name regex (.*)-(us-west-1)\\.example\\. {1}.service.{2}.consul\n answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.example\n answer value (.*)\\.service\\.(us-west-1)\\.consul\\. {1}-{2}.example\n }", []string{"ftp-us-west-1.example."}},
	{"rewrite name regex ^(a)\\.(b)\\.example\\.$ {2}.{1}.target answer auto", []string{"a.b.example.", "xa.b.example."}},
	{"rewrite continue name suffix .a.example. .b.example. answer auto\nrewrite name prefix x y answer auto", []string{"x.a.example.", "x.b.example.", "z.a.example."}},
	{"rewrite continue name prefix foo bar\nrewrite continue name suffix .example. .target.", []string{"foo.example.", "foo.test."}},
	{"rewrite continue name prefix foo bar\nrewrite name suffix .example. .target.", []string{"foo.example.", "foo.test."}},
	{"rewrite continue name prefix foo bar\nrewrite continue name suffix .example. .target. answer auto", []string{"foo.example."}},
	{"rewrite name a.example b.target\nrewrite name b.target c.target", []string{"a.example.", "b.target."}},
	{"rewrite continue name a.example b.target\nrewrite name b.target c.target", []string{"a.example."}},
	{"rewrite stop name prefix zz yy\nrewrite name a.example b.target", []string{"a.example."}},
	{"rewrite continue name a.example b.target\nrewrite name prefix b c answer name (.*)\\.target\\. {1}.named answer value (.*)\\.target\\. {1}.v", []string{"a.example."}},
	{"rewrite name regex (.*)\\.bad\\. {1}..x", []string{"a.bad.", "a.good."}},
	{"rewrite continue name prefix a b\nrewrite name regex (.*)\\.bad\\. {1}..x", []string{"a.bad."}},
	{"rewrite name substring old \"\"", []string{"a.old.com."}},
	{"rewrite name prefix a " + strings.Repeat("x", 64), []string{"a.b."}},
	{"rewrite name regex ^(.*)\\.([a-z]+)\\.$ {1}.{2}", []string{"{2}.com.", "a.b."}},
	{"rewrite name regex (b)\\.ex {0}.x answer auto", []string{"a.b.example."}},
}

// TestSameAsCoreDNS compares every case of diffCases with CoreDNS 1.14.2.
func TestSameAsCoreDNS(t *testing.T) {
	ruleSets := make([]string, len(diffCases))
	for i, c := range diffCases {
		ruleSets[i] = c.rules
	}
	addrs := startCoreDNS(t, ruleSets)
	for i, c := range diffCases {
		rw := parseRules(t, c.rules)
		for _, name := range c.names {
			for _, qt := range qtypes {
				got, err := exchange(addrs[i], name, qt)
				if err != nil {
					t.Errorf("%s: %s %s: %v", c.rules, name, dns.TypeToString[qt], err)
					continue
				}
				want, ours := sections(got), sections(localReply(t, rw, name, qt))
				if ours != want {
					t.Errorf("%s\n%s %s:\nCoreDNS:\n%sclusterdns:\n%s", c.rules, name, dns.TypeToString[qt], want, ours)
				}
			}
		}
	}
}
