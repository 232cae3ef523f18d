package explain

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// SearchFunc expands a name as a client in a namespace would (package resolv
// models the resolvers): the questions in the order sent, each answered by
// ask (rcode and number of answer records), and the name that resolved it
// ("" if none), and how many of the questions were wasted as the resolver
// model counts them (package resolv: every packet that did not ask the name
// that resolved, retries included).
type SearchFunc func(name string, qtype uint16, namespace string, ndots int, ask func(name string, qtype uint16) (rcode, answers int)) (queries []Query, resolvedBy string, wasted int)

// ExplainShort explains a name as a pod in namespace would ask it: a name
// with a trailing dot, or with at least ndots dots, is asked as is; a shorter
// one goes through the search path first (with e.Search), and the cost in
// queries is a cause of its own.
func (e *Explainer) ExplainShort(qname string, qtype uint16, namespace string, ndots int) *Result {
	if strings.HasSuffix(qname, ".") || e.Search == nil {
		return e.Explain(qname, qtype)
	}
	ask := func(name string, qt uint16) (int, int) {
		n := e.base.NameFacts(name)
		if !n.InZone() {
			return dns.RcodeRefused, 0
		}
		snap := e.walk(&Result{qtype: qt}, n)
		a := snap.Lookup(name, qt)
		return a.Rcode, len(a.Answer)
	}
	queries, resolvedBy, wasted := e.Search(qname, qtype, namespace, ndots, ask)
	target := resolvedBy
	if target == "" {
		// Nothing resolved: explain the name the user most likely meant,
		// the name as given when it looks external (its last label is no
		// namespace or service of the cluster), else its first expansion
		// in the cluster zone.
		target = dns.Fqdn(qname)
		if !e.looksExternal(qname) {
			for _, q := range queries {
				if e.base.NameFacts(q.Name).InZone() {
					target = q.Name
					break
				}
			}
		}
	}
	r := e.Explain(target, qtype)
	r.Queries = queries
	// With autopath, the first question the server hands to it (the first
	// step of the walk, when it is NXDOMAIN) is answered otherwise.
	for _, q := range queries {
		if q.Rcode == dns.RcodeToString[dns.RcodeNameError] && (q.Name == r.Name || e.addAutopath(r, q.Name, dns.StringToType[q.Type])) {
			break
		}
	}
	if wasted > 0 {
		dots := strings.Count(qname, ".")
		counted := fmt.Sprintf("%d dots", dots)
		if dots == 1 {
			counted = "1 dot"
		}
		order := fmt.Sprintf("%q has %s, fewer than ndots (%d), so the resolver tries the search path first", qname, counted, ndots)
		if dots >= ndots {
			order = fmt.Sprintf("%q has %s, at least ndots (%d), so the resolver asks it as it is first and then tries the search path", qname, counted, ndots)
		}
		r.add(Cause{Code: CodeSearchPathExpansion, Severity: SeverityInfo,
			Message: fmt.Sprintf("%s: %d queries for one lookup, %d of them wasted", order, len(queries), wasted),
			Fix:     fmt.Sprintf("use the fully qualified name with a trailing dot (%s), or lower ndots in the pod's dnsConfig", strings.TrimSuffix(target, ".")+".")})
		sortCauses(r.Causes)
	}
	return r
}

// looksExternal: the name has a dot and its last label is neither a
// namespace, a service, nor svc/pod.
func (e *Explainer) looksExternal(name string) bool {
	labels := dns.SplitDomainName(strings.ToLower(name))
	if len(labels) < 2 {
		return false
	}
	last := labels[len(labels)-1]
	if last == "svc" || last == "pod" || e.namespaces[last] != nil {
		return false
	}
	for _, s := range e.services {
		if strings.EqualFold(s.Name, last) {
			return false
		}
	}
	return true
}
