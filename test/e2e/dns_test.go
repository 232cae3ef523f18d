//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// ---- the servers ----

// dnsServer is a running clusterdns or CoreDNS.
type dnsServer struct {
	name    string
	addr    string // DNS, UDP and TCP
	health  string // http://host:port of clusterdns's health server
	metrics string // http://host:port of clusterdns's Prometheus endpoint
	proc    *proc
	logs    *logBook
}

// startClusterdns runs `clusterdns serve --kubeconfig` with JSON logs on
// fresh ports of host (DNS) and 127.0.0.1 (health); extra flags are appended.
func (e *environment) startClusterdns(name, host, kubeconfig string, extra ...string) (*dnsServer, error) {
	s := &dnsServer{
		name:    name,
		addr:    net.JoinHostPort(host, itoa(freePortOn(host))),
		health:  fmt.Sprintf("http://127.0.0.1:%d", freePort()),
		metrics: fmt.Sprintf("http://127.0.0.1:%d", freePort()),
		logs:    &logBook{},
	}
	args := append([]string{"serve",
		"--kubeconfig", kubeconfig,
		"--listen", s.addr,
		"--health-addr", strings.TrimPrefix(s.health, "http://"),
		"--metrics-addr", strings.TrimPrefix(s.metrics, "http://"),
		"--log-format", "json",
	}, extra...)
	s.proc = &proc{Name: name, Bin: e.clusterdnsBin, Args: args, LogPath: e.path(name + ".log"), OnLine: s.logs.add}
	if err := s.proc.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// startCoreDNS runs the reference: CoreDNS with only the kubernetes plugin,
// watching the same API server.
func (e *environment) startCoreDNS() (*dnsServer, error) {
	port := freePortOn(e.dnsHost)
	corefile := fmt.Sprintf(`.:%d {
    bind %s
    kubernetes %s in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods insecure
        ttl 5
    }
}
`, port, e.dnsHost, zoneName, e.adminKubeconfig)
	path := e.path("Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
		return nil, err
	}
	s := &dnsServer{name: "coredns", addr: net.JoinHostPort(e.dnsHost, itoa(port))}
	s.proc = &proc{Name: "coredns", Bin: e.bins.CoreDNS, Args: []string{"-conf", path}, LogPath: e.path("coredns.log")}
	if err := s.proc.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// waitReady waits until clusterdns's /ready answers 200.
func (s *dnsServer) waitReady(timeout time.Duration) error {
	return s.proc.WaitHTTP(s.health+"/ready", nil, 200, timeout)
}

// waitAnswering waits until the server answers the kubernetes Service.
func (s *dnsServer) waitAnswering(timeout time.Duration) error {
	name := "kubernetes.default.svc." + zoneName + "."
	ok, last := poll(timeout, 100*time.Millisecond, func() (bool, string) {
		if !s.proc.Running() {
			return false, "exited"
		}
		m, err := exchange(s.addr, name, dns.TypeA, qopt{})
		if err != nil {
			return false, err.Error()
		}
		return m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0, show(m)
	})
	if !ok {
		return fmt.Errorf("%s does not answer %s A within %v (last: %s)\n%s", s.name, name, timeout, last, s.proc.Tail(40))
	}
	return nil
}

// ---- clusterdns logs ----

type logLine struct {
	at     time.Time
	raw    string
	fields map[string]any
}

func (l logLine) str(key string) string {
	v, ok := l.fields[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// logBook keeps every line a clusterdns wrote, JSON lines parsed.
type logBook struct {
	mu    sync.Mutex
	lines []logLine
}

func (b *logBook) add(raw string) {
	l := logLine{at: time.Now(), raw: raw}
	var f map[string]any
	if json.Unmarshal([]byte(raw), &f) == nil {
		l.fields = f
	}
	b.mu.Lock()
	b.lines = append(b.lines, l)
	b.mu.Unlock()
}

// since returns the lines received at or after t that match pred.
func (b *logBook) since(t time.Time, pred func(logLine) bool) []logLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []logLine
	for _, l := range b.lines {
		if !l.at.Before(t) && (pred == nil || pred(l)) {
			out = append(out, l)
		}
	}
	return out
}

// wait returns the first line at or after t that matches pred, waiting up
// to timeout for it.
func (b *logBook) wait(t time.Time, timeout time.Duration, pred func(logLine) bool) (logLine, bool) {
	var found logLine
	ok, _ := poll(timeout, 20*time.Millisecond, func() (bool, string) {
		if ls := b.since(t, pred); len(ls) > 0 {
			found = ls[0]
			return true, ""
		}
		return false, ""
	})
	return found, ok
}

// programmingLine matches the "dns programming latency" line for a service.
func programmingLine(service string) func(logLine) bool {
	return func(l logLine) bool {
		return l.str("msg") == "dns programming latency" && l.str("service") == service
	}
}

// ---- queries ----

type qopt struct {
	tcp    bool
	noEDNS bool // plain 512-byte UDP, as a client without EDNS
}

// exchange sends one query, retrying twice on a network error.
func exchange(addr, name string, qtype uint16, o qopt) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	if !o.noEDNS {
		m.SetEdns0(1232, false)
	}
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	if o.tcp {
		c.Net = "tcp"
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var r *dns.Msg
		r, _, err = c.Exchange(m, addr)
		if err == nil {
			return r, nil
		}
	}
	return nil, err
}

func fqdn(labels ...string) string { return strings.Join(labels, ".") + "." + zoneName + "." }

// svcName is <svc>.<ns>.svc.<zone>.
func svcName(svc, ns string) string { return fqdn(svc, ns, "svc") }

// rdata returns the data of the answer records of type qtype, sorted and
// without duplicates: addresses, "port target" for SRV, targets for PTR and
// CNAME, text for TXT.
func rdata(m *dns.Msg, qtype uint16) []string {
	var out []string
	for _, rr := range m.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A.String())
		case *dns.AAAA:
			out = append(out, r.AAAA.String())
		case *dns.SRV:
			out = append(out, fmt.Sprintf("%d %s", r.Port, r.Target))
		case *dns.PTR:
			out = append(out, r.Ptr)
		case *dns.CNAME:
			out = append(out, r.Target)
		case *dns.TXT:
			out = append(out, strings.Join(r.Txt, " "))
		default:
			out = append(out, rr.String())
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// show is a one-message summary for failure output.
func show(m *dns.Msg) string {
	if m == nil {
		return "<no answer>"
	}
	var b strings.Builder
	b.WriteString(dns.RcodeToString[m.Rcode])
	if m.Authoritative {
		b.WriteString(" aa")
	}
	if m.Truncated {
		b.WriteString(" tc")
	}
	for _, rr := range m.Answer {
		b.WriteString("\n    AN " + rr.String())
	}
	for _, rr := range m.Ns {
		b.WriteString("\n    NS " + rr.String())
	}
	return b.String()
}

// showShort is show with at most n lines of records.
func showShort(m *dns.Msg, n int) string {
	lines := strings.Split(show(m), "\n")
	if len(lines) > n+1 {
		lines = append(lines[:n+1], fmt.Sprintf("    ... %d more records", len(lines)-n-1))
	}
	return strings.Join(lines, "\n")
}

// expectTimeout bounds every wait for clusterdns to reach a state.
const expectTimeout = 30 * time.Second

// expect waits until clusterdns answers name/qtype NOERROR with exactly the
// records want (see rdata; none means NODATA), then compares the name with
// CoreDNS.
func (e *environment) expect(t *testing.T, name string, qtype uint16, want ...string) {
	t.Helper()
	e.expectAnswer(t, name, qtype, dns.RcodeSuccess, want)
}

// expectNX waits until clusterdns answers NXDOMAIN.
func (e *environment) expectNX(t *testing.T, name string, qtype uint16) {
	t.Helper()
	e.expectAnswer(t, name, qtype, dns.RcodeNameError, nil)
}

func (e *environment) expectAnswer(t *testing.T, name string, qtype uint16, rcode int, want []string) {
	t.Helper()
	want = slices.Clone(want)
	sort.Strings(want)
	want = slices.Compact(want)
	ok, last := poll(expectTimeout, 20*time.Millisecond, func() (bool, string) {
		m, err := exchange(e.clusterdns.addr, name, qtype, qopt{})
		if err != nil {
			return false, err.Error()
		}
		got := rdata(m, qtype)
		return m.Rcode == rcode && slices.Equal(got, want), show(m)
	})
	if !ok {
		t.Fatalf("clusterdns %s %s: want %s %q within %v; last answer: %s\n%s",
			name, dns.TypeToString[qtype], dns.RcodeToString[rcode], want, expectTimeout, last, e.whatClusterdnsKnows(name))
	}
	e.diff(t, name)
}

// whatClusterdnsKnows says, for a failed expectation, how clusterdns and
// CoreDNS answer each name from the one expected up to its namespace, and
// what clusterdns's metrics say of its state: which object it is missing.
func (e *environment) whatClusterdnsKnows(name string) string {
	var b strings.Builder
	labels := dns.SplitDomainName(name)
	for i := range labels {
		n := dns.Fqdn(strings.Join(labels[i:], "."))
		if !strings.HasSuffix(n, ".svc.cluster.local.") || n == "svc.cluster.local." {
			break
		}
		for _, s := range []*dnsServer{e.clusterdns, e.coredns} {
			if m, err := exchange(s.addr, n, dns.TypeA, qopt{}); err == nil {
				fmt.Fprintf(&b, "  %s A from %s: %s\n", n, s.name, dns.RcodeToString[m.Rcode])
			}
		}
	}
	if resp, err := http.Get(e.clusterdns.metrics + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "clusterdns_zone_objects") || strings.HasPrefix(l, "clusterdns_source_synced") ||
				strings.HasPrefix(l, "clusterdns_kubernetes_watch") || strings.HasPrefix(l, "clusterdns_zone_snapshot_builds_total") {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	return b.String()
}

// ---- differential comparison with CoreDNS ----

// deliberateDifference is a way clusterdns knowingly answers differently
// from CoreDNS (README, "Where clusterdns deliberately differs"). A
// difference is excused only when the name, the type and the shape of both
// answers all match.
type deliberateDifference struct {
	Names  string // which names, for the printout
	names  func(lname string) bool
	has    uint16 // if set, clusterdns must answer this type at the name with records
	Types  string // which query types, for the printout
	qtype  func(uint16) bool
	Shape  string // the two answers, for the printout
	shape  func(ours, theirs *dns.Msg) bool
	Reason string
}

func nodata(m *dns.Msg) bool { return m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 }

var deliberateDifferences = []deliberateDifference{
	{
		Names: "*.in-addr.arpa, *.ip6.arpa that have a PTR", names: regexp.MustCompile(`\.(in-addr|ip6)\.arpa\.$`).MatchString, has: dns.TypePTR,
		Types: "all but PTR", qtype: func(q uint16) bool { return q != dns.TypePTR },
		Shape: "clusterdns NODATA, CoreDNS NXDOMAIN",
		shape: func(o, c *dns.Msg) bool {
			return nodata(o) && c.Rcode == dns.RcodeNameError
		},
		Reason: "a reverse name that has a PTR exists, so other types are NODATA (RFC 8020: NXDOMAIN means no name at all); CoreDNS says NXDOMAIN",
	},
	{
		Names: "_port._proto.<service>... that have SRV records", names: regexp.MustCompile(`^_[^.]*\._[^.]*\.`).MatchString, has: dns.TypeSRV,
		Types: "all but SRV", qtype: func(q uint16) bool { return q != dns.TypeSRV },
		Shape: "clusterdns NODATA, CoreDNS something else (A/AAAA records of the service)",
		shape: func(o, c *dns.Msg) bool {
			return nodata(o) && !(nodata(c) && c.Rcode == o.Rcode)
		},
		Reason: "_port._proto names answer only SRV; CoreDNS answers A/AAAA there too, which no client asks for and the spec does not define",
	},
	{
		Names: "outside cluster.local, in-addr.arpa and ip6.arpa", names: func(n string) bool { return !inZones.MatchString(n) },
		Types: "all", qtype: func(uint16) bool { return true },
		Shape: "clusterdns REFUSED, CoreDNS SERVFAIL",
		shape: func(o, c *dns.Msg) bool {
			return o.Rcode == dns.RcodeRefused && c.Rcode == dns.RcodeServerFailure
		},
		Reason: "names outside the served zones are REFUSED (not authoritative, no forwarding yet); CoreDNS with only the kubernetes plugin has no handler and answers SERVFAIL",
	},
	{
		Names: "any", names: func(string) bool { return true },
		Types: "all (UDP)", qtype: func(uint16) bool { return true },
		Shape: "both TC; clusterdns with no records, CoreDNS with the records that fit",
		shape: func(o, c *dns.Msg) bool {
			return o.Truncated && len(o.Answer) == 0 && c.Truncated
		},
		Reason: "a UDP answer that does not fit is sent with TC and no records, so that no client mistakes a partial RRset for the whole one; the client retries over TCP",
	},
	{
		Names: "names that exist without TXT records (svc, pod, <ns>.svc, <ns>.pod, the apexes)", names: func(string) bool { return true },
		Types: "TXT", qtype: func(q uint16) bool { return q == dns.TypeTXT },
		Shape: "clusterdns NODATA, CoreDNS NXDOMAIN",
		shape: func(o, c *dns.Msg) bool {
			return nodata(o) && c.Rcode == dns.RcodeNameError
		},
		Reason: "a name that exists answers NODATA for every type it has no records of (RFC 2308/8020); CoreDNS's TXT handler says NXDOMAIN for names without records of their own while its A handler says NODATA, and musl gives up a lookup on any NXDOMAIN",
	},
	{
		Names: "dns-version.<zone>", names: func(n string) bool { return strings.HasPrefix(n, "dns-version.") },
		Types: "all but TXT", qtype: func(q uint16) bool { return q != dns.TypeTXT },
		Shape: "clusterdns NODATA, CoreDNS NXDOMAIN",
		shape: func(o, c *dns.Msg) bool {
			return nodata(o) && c.Rcode == dns.RcodeNameError
		},
		Reason: "dns-version.<zone> exists (it has the TXT record), so other types are NODATA; CoreDNS answers NXDOMAIN for a name it answers TXT for",
	},
	{
		Names: "<a-b-c-d>.<ns>.pod.<zone> (pod records)", names: regexp.MustCompile(`\.pod\.`).MatchString,
		Types: "SRV", qtype: func(q uint16) bool { return q == dns.TypeSRV },
		Shape: "clusterdns NODATA, CoreDNS SRV 0 100 0 <the name itself>",
		shape: func(o, c *dns.Msg) bool {
			return nodata(o) && c.Rcode == dns.RcodeSuccess && len(c.Answer) > 0
		},
		Reason: "a pod record is an address record; CoreDNS's SRV for it carries port 0, which points nowhere, so clusterdns answers NODATA",
	},
}

// harnessDifferences are differences that come from how the harness runs
// CoreDNS, not from a choice of clusterdns. They are excused like the
// deliberate ones and printed apart.
var harnessDifferences = []deliberateDifference{
	{
		Names: "the zone apexes (NS) and ns.dns.<zone> (all types)",
		names: func(n string) bool {
			return strings.HasPrefix(n, "ns.dns.") || n == zoneName+"." || n == "in-addr.arpa." || n == "ip6.arpa."
		},
		Types: "NS at the apex; all at ns.dns.<zone>",
		qtype: func(uint16) bool { return true },
		Shape: "clusterdns NS ns.dns.<zone>. and ns.dns.<zone> A <its listen address> (so NODATA for other types there); CoreDNS NODATA for NS and nothing at ns.dns.<zone>",
		shape: func(o, c *dns.Msg) bool {
			q := o.Question[0]
			if q.Name == strings.TrimPrefix(q.Name, "ns.dns.") && q.Qtype != dns.TypeNS {
				return false // at an apex only NS differs
			}
			return (len(o.Answer) > 0 && nodata(c)) || (nodata(o) && c.Rcode == dns.RcodeNameError)
		},
		Reason: "CoreDNS builds its NS records from its own addresses, which it takes from the `bind` addresses with net.ParseCIDR: a plain address fails to parse (plugin/kubernetes/local.go boundIPs, v1.14.2), so with `bind` it has none and answers no NS at all. In a pod without `bind` it would answer ns.dns.<zone> with its non-loopback interface addresses, or kube-dns.kube-system.svc.<zone> once its pod IP backs that Service",
	},
}

var inZones = regexp.MustCompile(`(^|\.)(` + regexp.QuoteMeta(zoneName) + `|in-addr\.arpa|ip6\.arpa)\.$`)

// excuse returns the table entry ("deliberate 2", "harness 1") that
// explains the two answers, or "".
func (e *environment) excuse(name string, qtype uint16, o qopt, ours, theirs *dns.Msg) string {
	lname := strings.ToLower(name)
	for table, list := range map[string][]deliberateDifference{"deliberate": deliberateDifferences, "harness": harnessDifferences} {
		for i, d := range list {
			if !d.names(lname) || !d.qtype(qtype) || !d.shape(ours, theirs) {
				continue
			}
			if d.has != 0 {
				m, err := exchange(e.clusterdns.addr, name, d.has, o)
				if err != nil || m.Rcode != dns.RcodeSuccess || len(rdata(m, d.has)) == 0 {
					continue
				}
			}
			return fmt.Sprintf("%s %d", table, i+1)
		}
	}
	return ""
}

// normalized are the parts of an answer the comparison looks at: rcode,
// AA and TC, and the answer and authority sections, sorted, with the SOA
// serial zeroed. Owner names keep their case.
func normalized(m *dns.Msg) (head string, answer, authority []string) {
	head = dns.RcodeToString[m.Rcode]
	if m.Authoritative {
		head += " aa"
	}
	if m.Truncated {
		head += " tc"
	}
	norm := func(rrs []dns.RR) []string {
		var out []string
		for _, rr := range rrs {
			rr = dns.Copy(rr)
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Serial = 0
			}
			out = append(out, rr.String())
		}
		sort.Strings(out)
		return out
	}
	return head, norm(m.Answer), norm(m.Ns)
}

// compareMsgs lists how two answers differ; nil means they are the same.
func compareMsgs(ours, theirs *dns.Msg) []string {
	oh, oa, on := normalized(ours)
	th, ta, tn := normalized(theirs)
	var d []string
	if oh != th {
		d = append(d, fmt.Sprintf("header: clusterdns %q, coredns %q", oh, th))
	}
	section := func(what string, o, t []string) {
		for _, x := range o {
			if !slices.Contains(t, x) {
				d = append(d, fmt.Sprintf("%s only from clusterdns: %s", what, x))
			}
		}
		for _, x := range t {
			if !slices.Contains(o, x) {
				d = append(d, fmt.Sprintf("%s only from coredns:    %s", what, x))
			}
		}
		if len(o) != len(t) && len(d) == 0 {
			d = append(d, fmt.Sprintf("%s: %d records from clusterdns, %d from coredns", what, len(o), len(t)))
		}
	}
	section("answer", oa, ta)
	section("authority", on, tn)
	return d
}

// diffStats counts the comparisons of the whole run.
var diffStats = struct {
	sync.Mutex
	compared, identical int
	excused             map[string]int // by table entry, "deliberate 1"
	examples            map[string]string
	failures            []string
}{excused: map[string]int{}, examples: map[string]string{}}

// standardTypes are the types every touched name is compared for.
var (
	forwardTypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeTXT, dns.TypePTR}
	reverseTypes = []uint16{dns.TypePTR, dns.TypeA, dns.TypeTXT}
)

// diff compares clusterdns with CoreDNS for name, for the standard types
// (or the ones given), giving CoreDNS a few seconds to catch up.
func (e *environment) diff(t *testing.T, name string, qtypes ...uint16) {
	t.Helper()
	e.diffWithin(t, 5*time.Second, name, qtypes...)
}

// diffWithin is diff giving CoreDNS up to settle to agree.
func (e *environment) diffWithin(t *testing.T, settle time.Duration, name string, qtypes ...uint16) {
	t.Helper()
	if len(qtypes) == 0 {
		qtypes = forwardTypes
		if strings.HasSuffix(strings.ToLower(name), ".arpa.") {
			qtypes = reverseTypes
		}
	}
	for _, q := range qtypes {
		e.compare(t, name, q, qopt{}, settle)
	}
}

// compare asks both servers name/qtype until they agree, or a deliberate
// difference explains the answers, or settle passes (an error).
func (e *environment) compare(t *testing.T, name string, qtype uint16, o qopt, settle time.Duration) bool {
	t.Helper()
	var ours, theirs *dns.Msg
	var diffs []string
	deadline := time.Now().Add(settle)
	for {
		var err error
		ours, err = exchange(e.clusterdns.addr, name, qtype, o)
		if err != nil {
			t.Errorf("clusterdns %s %s: %v", name, dns.TypeToString[qtype], err)
			return false
		}
		theirs, err = exchange(e.coredns.addr, name, qtype, o)
		if err != nil {
			t.Errorf("coredns %s %s: %v", name, dns.TypeToString[qtype], err)
			return false
		}
		diffs = compareMsgs(ours, theirs)
		if len(diffs) == 0 {
			diffStats.Lock()
			diffStats.compared++
			diffStats.identical++
			diffStats.Unlock()
			return true
		}
		if key := e.excuse(name, qtype, o, ours, theirs); key != "" {
			diffStats.Lock()
			diffStats.compared++
			diffStats.excused[key]++
			if _, ok := diffStats.examples[key]; !ok {
				diffStats.examples[key] = fmt.Sprintf("%s %s%s\n      clusterdns: %s\n      coredns:    %s",
					name, dns.TypeToString[qtype], transport(o), indent(showShort(ours, 4)), indent(showShort(theirs, 4)))
			}
			diffStats.Unlock()
			return true
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	msg := fmt.Sprintf("%s %s%s differs from CoreDNS:\n    %s\n  clusterdns: %s\n  coredns:    %s",
		name, dns.TypeToString[qtype], transport(o), strings.Join(diffs, "\n    "), show(ours), show(theirs))
	diffStats.Lock()
	diffStats.compared++
	diffStats.failures = append(diffStats.failures, t.Name()+": "+msg)
	diffStats.Unlock()
	t.Error(msg)
	return false
}

func transport(o qopt) string {
	switch {
	case o.tcp:
		return " (TCP)"
	case o.noEDNS:
		return " (UDP, no EDNS)"
	}
	return ""
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

// printDiffSummary prints the deliberate differences table and what the
// run's comparisons found.
func printDiffSummary(w io.Writer) {
	diffStats.Lock()
	defer diffStats.Unlock()
	if diffStats.compared == 0 {
		return
	}
	fmt.Fprintf(w, "\n==== clusterdns vs CoreDNS %s: %d comparisons, %d identical, %d excused by the tables below, %d unexplained ====\n",
		corednsVersion, diffStats.compared, diffStats.identical, sumValues(diffStats.excused), len(diffStats.failures))
	for _, tb := range []struct {
		key, title string
		list       []deliberateDifference
	}{
		{"deliberate", "deliberateDifferences (clusterdns's choices, README):", deliberateDifferences},
		{"harness", "harnessDifferences (how CoreDNS runs here, not clusterdns):", harnessDifferences},
	} {
		fmt.Fprintln(w, tb.title)
		for i, d := range tb.list {
			key := fmt.Sprintf("%s %d", tb.key, i+1)
			fmt.Fprintf(w, "  %d. names %s, types %s: %s\n     reason: %s\n     seen %d times", i+1, d.Names, d.Types, d.Shape, d.Reason, diffStats.excused[key])
			if ex, ok := diffStats.examples[key]; ok {
				fmt.Fprintf(w, ", e.g. %s", ex)
			}
			fmt.Fprintln(w)
		}
	}
	if len(diffStats.failures) > 0 {
		fmt.Fprintln(w, "unexplained differences:")
		for _, f := range diffStats.failures {
			fmt.Fprintln(w, "  - "+strings.ReplaceAll(f, "\n", "\n    "))
		}
	}
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// reverse returns the reverse name of ip.
func reverse(ip string) string {
	r, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return r
}

// dashed is the endpoint name CoreDNS derives from an IP.
func dashed(ip string) string {
	if net.ParseIP(ip).To4() != nil {
		return strings.ReplaceAll(ip, ".", "-")
	}
	s := strings.ReplaceAll(ip, ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
