package explain

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Compare asks a live DNS server the same question and records whether it
// agrees with the cluster state. A disagreement is a cause of its own: the
// state is right but the server answers otherwise (a stale cache, a
// DNS-layer delay, a server not watching the cluster), as opposed to causes
// found in the state itself (misconfiguration).
func (r *Result) Compare(addr string, timeout time.Duration) {
	s := &ServerResult{Address: addr, Answer: []string{}}
	r.Server = s
	m := new(dns.Msg)
	m.SetQuestion(r.Name, r.qtype)
	m.SetEdns0(4096, false)
	c := &dns.Client{Timeout: timeout}
	resp, _, err := c.Exchange(m, addr)
	if err == nil && resp.Truncated {
		c.Net = "tcp"
		resp, _, err = c.Exchange(m, addr)
	}
	if err != nil {
		s.Error = err.Error()
		r.add(Cause{Code: CodeServerUnreachable, Severity: SeverityError,
			Message: fmt.Sprintf("the DNS server %s did not answer: %v", addr, err),
			Fix:     "check the address and port, and that the server runs (kubectl -n kube-system get pods -l k8s-app=kube-dns)"})
		sortCauses(r.Causes)
		return
	}
	s.Rcode = dns.RcodeToString[resp.Rcode]
	for _, rr := range resp.Answer {
		s.Answer = append(s.Answer, rr.String())
	}
	want, got := comparable(r.Answer), comparable(s.Answer)
	s.Agrees = s.Rcode == r.Rcode && strings.Join(want, "\n") == strings.Join(got, "\n")
	if s.Agrees {
		return
	}
	var meaning string
	switch {
	case resp.Rcode == dns.RcodeServerFailure:
		meaning = "the server failed (SERVFAIL): it may not have synced with the API server, or be degraded"
	case r.Resolves() && !(resp.Rcode == dns.RcodeSuccess && len(resp.Answer) > 0):
		meaning = "the cluster state has the records but the server does not answer them: a stale negative cache, a DNS-layer delay, or a server not watching this cluster"
	case !r.Resolves() && resp.Rcode == dns.RcodeSuccess && len(resp.Answer) > 0:
		meaning = "the server still answers records the cluster state no longer has: a stale cache (positive TTL) or a server not watching this cluster"
	default:
		meaning = "the server answers different records than the cluster state gives: a stale cache or a server not watching this cluster"
	}
	r.add(Cause{Code: CodeServerDisagrees, Severity: SeverityError,
		Message: fmt.Sprintf("%s answers %s %v, the cluster state gives %s %v: %s", addr, s.Rcode, strip(got), r.Rcode, strip(want), meaning),
		Fix:     "query again after the TTL; if it persists, restart or check the DNS server's watch on the API (its logs, its /ready)"})
	sortCauses(r.Causes)
}

// comparable drops TTLs (a cache counts them down) and sorts.
func comparable(rrs []string) []string {
	out := make([]string, 0, len(rrs))
	for _, s := range rrs {
		f := strings.Split(s, "\t")
		if len(f) == 5 {
			f[1] = ""
			s = strings.ToLower(f[0]) + "\t" + strings.Join(f[2:], "\t")
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func strip(rrs []string) []string {
	out := make([]string, len(rrs))
	for i, s := range rrs {
		f := strings.Split(s, "\t")
		out[i] = f[len(f)-1]
	}
	return out
}
