package resolv

import (
	"fmt"
	"strings"
)

// Tip is one piece of advice about a lookup.
type Tip struct {
	// Code is stable: search-path-expansion, fqdn, trailing-dot, ndots,
	// not-found, stops-early, timeout, server-error, inconsistent-rcodes,
	// client-ignores.
	Code    string `json:"code"`
	Message string `json:"message"`
	// Fix is the change to make, when there is one.
	Fix string `json:"fix,omitempty"`
}

// Advice says what the lookup in r costs and what to change, specific to
// the case: a name written fully qualified or with a trailing dot, a
// dnsConfig ndots, the timeouts and error replies the client met. Most
// useful first; nil when there is nothing to say (a short name answered
// by its first candidate).
func Advice(r Result) []Tip {
	if CheckName(r.Name) != nil {
		return nil
	}
	c := costOf(r)
	var tips []Tip
	tips = appendSearchPathTip(tips, r, c)
	tips = appendRewriteTips(tips, r, c)
	tips = appendNotFoundTip(tips, r, c)
	tips = appendStopsEarlyTips(tips, r)
	tips = appendTimeoutTip(tips, r)
	tips = appendServerErrorTip(tips, r)
	tips = appendInconsistentRcodeTips(tips, r)
	tips = appendClientIgnoresTips(tips, r)
	return tips
}

// searchCost is what the search list cost a lookup, as Advice weighs it.
type searchCost struct {
	name     string // as given, without the trailing dot
	trailing bool   // the name was given with a trailing dot
	// queries counts the queries for a name other than the one that
	// answered (or, when none did, the name as given); names counts the
	// names they asked.
	queries, names int
	// early: the client gave up before its last candidate. Advice is then
	// about why the walk ended, not about what it cost.
	early bool
}

// costOf weighs the queries of r against the name that answered.
func costOf(r Result) searchCost {
	c := searchCost{name: strings.TrimSuffix(r.Name, "."), trailing: strings.HasSuffix(r.Name, ".")}
	target := r.ResolvedBy
	if target == "" {
		target = c.name + "."
	}
	expansions := map[string]bool{}
	for _, q := range r.Queries {
		if !strings.EqualFold(q.Name, target) {
			c.queries++
			expansions[strings.ToLower(q.Name)] = true
		}
	}
	c.names = len(expansions)
	for _, f := range r.Flags {
		c.early = c.early || f.Kind == "gives-up-early"
	}
	return c
}

// appendSearchPathTip says how many of the queries went to the search
// list, and why the client sent them.
func appendSearchPathTip(tips []Tip, r Result, c searchCost) []Tip {
	if c.queries == 0 || c.trailing || (!r.Resolved && c.early) {
		return tips
	}
	v := r.View
	msg := fmt.Sprintf("%s cost %d queries: %d went to %d name(s) from the search list before ", c.name, len(r.Queries), c.queries, c.names)
	if r.Resolved {
		msg += fmt.Sprintf("%s answered", r.ResolvedBy)
	} else {
		msg += "the client gave up"
	}
	msg += fmt.Sprintf(" (ndots:%d, the name has %d dot(s), %d search domain(s); %s asks %s per name).", v.Ndots, dots(c.name), len(v.Search), r.Model, typesWord(r))
	return append(tips, Tip{Code: "search-path-expansion", Message: msg})
}

// appendRewriteTips says how to write the name, or the pod's ndots, so
// that the name that answered is asked first.
func appendRewriteTips(tips []Tip, r Result, c searchCost) []Tip {
	if !r.Resolved || c.queries == 0 {
		return tips
	}
	total, need := len(r.Queries), r.Needed()
	if !strings.EqualFold(r.ResolvedBy, c.name+".") {
		return append(tips, Tip{Code: "fqdn", Message: fmt.Sprintf("Write the full name with a trailing dot: %s is asked once, %d queries instead of %d.", r.ResolvedBy, need, total),
			Fix: fmt.Sprintf("use %q instead of %q", r.ResolvedBy, c.name)})
	}
	// The name answered as is, after the whole search list.
	d, v := dots(c.name), r.View
	tips = append(tips, Tip{Code: "trailing-dot", Message: fmt.Sprintf("%s has %d dot(s), fewer than ndots:%d, so every search domain is tried before the name itself; with a trailing dot it is asked once: %d queries instead of %d.", c.name, d, v.Ndots, need, total),
		Fix: fmt.Sprintf("use %q", c.name+".")})
	if d > 0 && d < v.Ndots {
		tips = append(tips, Tip{Code: "ndots", Message: fmt.Sprintf("Or lower ndots for the pod: with ndots:%d a name with %d or more dots is asked as is first (%d queries for this one instead of %d); names with fewer dots, such as service.namespace, still walk the search list first.", d, d, need, total),
			Fix: fmt.Sprintf(`spec.dnsConfig.options: [{name: ndots, value: "%d"}]`, d)})
	}
	return tips
}

// appendNotFoundTip points at explain for the first name asked when every
// candidate failed in full: no timeout and no early end to blame instead.
func appendNotFoundTip(tips []Tip, r Result, c searchCost) []Tip {
	if r.Resolved || len(r.Queries) == 0 || c.trailing || c.queries == 0 || r.Stall != 0 || c.early {
		return tips
	}
	first := r.Queries[0].Name
	return append(tips, Tip{Code: "not-found", Message: fmt.Sprintf("No name answered with addresses: %d queries, every candidate failed. If %s should exist in the cluster, explain says why it does not.", len(r.Queries), first),
		Fix: fmt.Sprintf("clusterdns explain %s", first)})
}

// appendStopsEarlyTips names the candidate each early end of the walk
// stopped at.
func appendStopsEarlyTips(tips []Tip, r Result) []Tip {
	for _, f := range r.Flags {
		if f.Kind == "gives-up-early" && f.Query >= 0 && f.Query < len(r.Queries) {
			q := r.Queries[f.Query]
			tips = append(tips, Tip{Code: "stops-early",
				Message: fmt.Sprintf("The walk ended at %s on %s, so no name after it in the search list can answer (%s).", q.Name, q.RcodeString(), f.Message),
				Fix:     "ask for the fully qualified name of what you mean, with a trailing dot"})
		}
	}
	return tips
}

// appendTimeoutTip says how long the client waited for replies that did
// not come, and what its library does about a lost reply.
func appendTimeoutTip(tips []Tip, r Result) []Tip {
	timeouts := 0
	for _, q := range r.Queries {
		if q.Rcode == Timeout {
			timeouts++
		}
	}
	if timeouts == 0 && r.Stall == 0 {
		return tips
	}
	v := r.View
	msg := fmt.Sprintf("%d question(s) got no reply (or one %s ignores): the client waited %s in all, timeout:%d attempts:%d.", timeouts, r.Model.Libc, r.Stall, int(v.Timeout.Seconds()), v.Attempts)
	fix := ""
	switch r.Model.dialect() {
	case dialectGlibc:
		if !v.SingleRequestReopen {
			msg += " A lost reply to one of two questions sent together from one socket is the classic conntrack race of kube-proxy DNAT; glibc can send them apart."
			fix = `spec.dnsConfig.options: [{name: single-request-reopen}]`
		}
	case dialectMusl:
		msg += " musl has no single-request option and fails the whole lookup with EAI_AGAIN; fix the loss (NodeLocal DNSCache, conntrack) or shorten the walk with fully qualified names."
	case dialectGo:
		msg += " Go moves on to the next candidate after each timeout, so every lost reply adds a full timeout."
	}
	return append(tips, Tip{Code: "timeout", Message: msg, Fix: fix})
}

// appendServerErrorTip sums up the error replies of the server, the first
// three distinct ones in full.
func appendServerErrorTip(tips []Tip, r Result) []Tip {
	var errs []string
	seen := map[string]bool{}
	for _, f := range r.Flags {
		if f.Kind == "server-error" && !seen[f.Message] {
			seen[f.Message] = true
			errs = append(errs, f.Message)
		}
	}
	if len(errs) == 0 {
		return tips
	}
	more := ""
	if len(errs) > 3 {
		more = fmt.Sprintf(" (and %d more)", len(errs)-3)
		errs = errs[:3]
	}
	return append(tips, Tip{Code: "server-error", Message: strings.Join(errs, "; ") + more + ".",
		Fix: "a cluster DNS server should answer NXDOMAIN for names that do not exist and forward the rest; look at its logs and upstreams"})
}

// appendInconsistentRcodeTips passes on each name the server called
// NXDOMAIN for one type and NOERROR for another.
func appendInconsistentRcodeTips(tips []Tip, r Result) []Tip {
	for _, f := range r.Flags {
		if f.Kind == "inconsistent-rcodes" {
			tips = append(tips, Tip{Code: "inconsistent-rcodes", Message: f.Message + ".", Fix: "answer NODATA (NOERROR, no records) for the type a name lacks"})
		}
	}
	return tips
}

// appendClientIgnoresTips passes on the notes of the client's view that
// change the lookup: a line musl ignores, a client that hands lookups to
// libc.
func appendClientIgnoresTips(tips []Tip, r Result) []Tip {
	for _, n := range r.View.Notes {
		if strings.Contains(n, "musl ignores line") || strings.Contains(n, "hands lookups to libc") {
			tips = append(tips, Tip{Code: "client-ignores", Message: n + "."})
		}
	}
	return tips
}

func typesWord(r Result) string {
	ts := r.Model.qtypes(r.View)
	if len(ts) == 2 {
		return "AAAA, then A"
	}
	if len(ts[0]) == 2 {
		return "A and AAAA"
	}
	if len(ts[0]) == 1 {
		return typeName(ts[0][0])
	}
	return "?"
}
