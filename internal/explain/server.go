package explain

import (
	"fmt"
	"time"

	"github.com/clusterdns/clusterdns/internal/probe"
)

// Compare asks a live DNS server the same question, as probe asks it, and
// records whether it agrees with the cluster state. A disagreement is a
// cause of its own: the state is right but the server answers otherwise (a
// stale cache, a DNS-layer delay, a server not watching the cluster), as
// opposed to causes found in the state itself (misconfiguration).
func (r *Result) Compare(addr string, timeout time.Duration) {
	c := probe.Ask(addr, timeout, r.Name, r.qtype, r.answer)
	s := &ServerResult{Address: addr, Rcode: c.GotRcode, Answer: c.Got, Agrees: !c.Drifting(), Error: c.Error}
	r.Server = s
	switch {
	case c.Kind == probe.KindError:
		r.add(Cause{Code: CodeServerUnreachable, Severity: SeverityError,
			Message: fmt.Sprintf("the DNS server %s did not answer: %s", addr, c.Error),
			Fix:     "check the address and port, and that the server runs (kubectl -n kube-system get pods -l k8s-app=kube-dns)"})
	case c.Drifting():
		r.add(Cause{Code: CodeServerDisagrees, Severity: SeverityError,
			Message: fmt.Sprintf("%s answers %s %v, the cluster state gives %s %v (%s): %s", addr, c.GotRcode, c.Got, c.Rcode, c.Expected, c.Kind, c.Meaning()),
			Fix:     "query again after the TTL; if it persists, restart or check the DNS server's watch on the API (its logs, its /ready)"})
	}
	sortCauses(r.Causes)
}
