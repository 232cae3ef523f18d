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
	var tips []Tip
	if CheckName(r.Name) != nil {
		return nil
	}
	name := strings.TrimSuffix(r.Name, ".")
	trailing := strings.HasSuffix(r.Name, ".")
	target := r.ResolvedBy
	if target == "" {
		target = name + "."
	}
	searchWaste, expansions := 0, map[string]bool{}
	for _, q := range r.Queries {
		if !strings.EqualFold(q.Name, target) {
			searchWaste++
			expansions[strings.ToLower(q.Name)] = true
		}
	}
	total, need := len(r.Queries), r.Needed()
	d := dots(name)
	v := r.View
	// A walk that ended early is about why it ended, not about its cost.
	early := false
	for _, f := range r.Flags {
		early = early || f.Kind == "gives-up-early"
	}

	if searchWaste > 0 && !trailing && (r.Resolved || !early) {
		msg := fmt.Sprintf("%s cost %d queries: %d went to %d name(s) from the search list before ", name, total, searchWaste, len(expansions))
		if r.Resolved {
			msg += fmt.Sprintf("%s answered", r.ResolvedBy)
		} else {
			msg += "the client gave up"
		}
		msg += fmt.Sprintf(" (ndots:%d, the name has %d dot(s), %d search domain(s); %s asks %s per name).", v.Ndots, d, len(v.Search), r.Model, typesWord(r))
		tips = append(tips, Tip{Code: "search-path-expansion", Message: msg})
	}

	asIs := strings.EqualFold(r.ResolvedBy, name+".")
	switch {
	case r.Resolved && !asIs && searchWaste > 0:
		tips = append(tips, Tip{Code: "fqdn", Message: fmt.Sprintf("Write the full name with a trailing dot: %s is asked once, %d queries instead of %d.", r.ResolvedBy, need, total),
			Fix: fmt.Sprintf("use %q instead of %q", r.ResolvedBy, name)})
	case r.Resolved && asIs && searchWaste > 0:
		tips = append(tips, Tip{Code: "trailing-dot", Message: fmt.Sprintf("%s has %d dot(s), fewer than ndots:%d, so every search domain is tried before the name itself; with a trailing dot it is asked once: %d queries instead of %d.", name, d, v.Ndots, need, total),
			Fix: fmt.Sprintf("use %q", name+".")})
		if d > 0 && d < v.Ndots {
			tips = append(tips, Tip{Code: "ndots", Message: fmt.Sprintf("Or lower ndots for the pod: with ndots:%d a name with %d or more dots is asked as is first (%d queries for this one instead of %d); names with fewer dots, such as service.namespace, still walk the search list first.", d, d, need, total),
				Fix: fmt.Sprintf(`spec.dnsConfig.options: [{name: ndots, value: "%d"}]`, d)})
		}
	case !r.Resolved && len(r.Queries) > 0 && !trailing && searchWaste > 0 && r.Stall == 0 && !early:
		first := r.Queries[0].Name
		tips = append(tips, Tip{Code: "not-found", Message: fmt.Sprintf("No name answered with addresses: %d queries, every candidate failed. If %s should exist in the cluster, explain says why it does not.", total, first),
			Fix: fmt.Sprintf("clusterdns explain %s", first)})
	}

	for _, f := range r.Flags {
		if f.Kind == "gives-up-early" && f.Query >= 0 && f.Query < len(r.Queries) {
			q := r.Queries[f.Query]
			tips = append(tips, Tip{Code: "stops-early",
				Message: fmt.Sprintf("The walk ended at %s on %s, so no name after it in the search list can answer (%s).", q.Name, q.RcodeString(), f.Message),
				Fix:     "ask for the fully qualified name of what you mean, with a trailing dot"})
		}
	}

	timeouts := 0
	for _, q := range r.Queries {
		if q.Rcode == Timeout {
			timeouts++
		}
	}
	if timeouts > 0 || r.Stall > 0 {
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
		tips = append(tips, Tip{Code: "timeout", Message: msg, Fix: fix})
	}

	var errs []string
	seenErr := map[string]bool{}
	for _, f := range r.Flags {
		if f.Kind == "server-error" && !seenErr[f.Message] {
			seenErr[f.Message] = true
			errs = append(errs, f.Message)
		}
	}
	if len(errs) > 0 {
		more := ""
		if len(errs) > 3 {
			more = fmt.Sprintf(" (and %d more)", len(errs)-3)
			errs = errs[:3]
		}
		tips = append(tips, Tip{Code: "server-error", Message: strings.Join(errs, "; ") + more + ".",
			Fix: "a cluster DNS server should answer NXDOMAIN for names that do not exist and forward the rest; look at its logs and upstreams"})
	}
	for _, f := range r.Flags {
		if f.Kind == "inconsistent-rcodes" {
			tips = append(tips, Tip{Code: "inconsistent-rcodes", Message: f.Message + ".", Fix: "answer NODATA (NOERROR, no records) for the type a name lacks"})
		}
	}
	for _, n := range v.Notes {
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
