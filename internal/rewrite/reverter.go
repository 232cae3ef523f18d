package rewrite

import (
	"strings"

	"github.com/miekg/dns"
)

// Reverter maps an answer for a rewritten question back, as CoreDNS's
// ResponseReverter does. The zero Reverter changes nothing.
type Reverter struct {
	orig string
	// restoreQuestion: CoreDNS writes the answer through its reverter.
	restoreQuestion bool
	// records: some matched rule has answer rules.
	records bool
	// first and more are the n matched rules in order; a single match,
	// the common case, needs no allocation.
	n     int
	first step
	more  []step
}

// step is one matched rule and the names around it: answer auto maps
// rewritten back to prev.
type step struct {
	rule            *rule
	rewritten, prev string
}

func (rv *Reverter) add(s step) {
	if rv.n == 0 {
		rv.first = s
	} else {
		rv.more = append(rv.more, s)
	}
	rv.n++
	rv.records = rv.records || len(s.rule.answers) > 0
}

func (rv *Reverter) at(i int) *step {
	if i == 0 {
		return &rv.first
	}
	return &rv.more[i-1]
}

func (rv *Reverter) last() *step { return rv.at(rv.n - 1) }

// Original is the name given to Question, "" for the zero Reverter.
func (rv Reverter) Original() string { return rv.orig }

// QuestionRestored reports whether CoreDNS would send the original
// question back: always after a stop rule matched; after continue rules
// only, just when one of them has answer rules.
func (rv Reverter) QuestionRestored() bool { return rv.restoreQuestion }

// RewritesRecords reports whether Restore may change records, that is
// whether a matched rule has answer auto (exact rules always) or explicit
// answer rules.
func (rv Reverter) RewritesRecords() bool { return rv.records }

// Restore maps m, an answer to the rewritten question, back: the question
// name and the owners and values of its records, as documented in the
// package. m and its records are changed in place, so they must be the
// caller's own (CoreDNS copies the message first, a cached answer must be
// copied too).
func (rv Reverter) Restore(m *dns.Msg) {
	if rv.restoreQuestion && len(m.Question) > 0 {
		m.Question[0].Name = rv.orig
	}
	if !rv.records {
		return
	}
	for _, sec := range [...][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if _, ok := rr.(*dns.OPT); !ok {
				rv.restoreRR(rr)
			}
		}
	}
}

// restoreRR runs the answer rules on rr, last matched rule first and each
// rule's answer rules last first (reverter.go rewriteResourceRecord).
func (rv *Reverter) restoreRR(rr dns.RR) {
	for i := rv.n - 1; i >= 0; i-- {
		s := rv.at(i)
		for j := len(s.rule.answers) - 1; j >= 0; j-- {
			s.rule.answers[j].apply(rr, s)
		}
	}
}

// answerKind is how an answer rule rewrites a name.
type answerKind uint8

const (
	// answerRemap is answer auto: the rewritten name, or a name under it,
	// gets the name from before the rule (name.go remapStringRewriter).
	answerRemap answerKind = iota
	// answerSuffix is answer auto of a suffix rule: a trailing from
	// becomes to (suffixStringRewriter).
	answerSuffix
	// answerRegex is answer name|value REGEX TEMPLATE (regexStringRewriter).
	answerRegex
)

// answerRule rewrites the owner name, or with value the value, of records.
type answerRule struct {
	kind     answerKind
	value    bool
	from, to string
	re       *template
}

func (a *answerRule) apply(rr dns.RR, s *step) {
	if !a.value {
		h := rr.Header()
		h.Name = a.rewrite(h.Name, s)
		return
	}
	if v := recordValue(rr); v != "" {
		if nv := a.rewrite(v, s); nv != v {
			setRecordValue(rr, nv)
		}
	}
}

// rewrite returns name rewritten, or name itself if the rule does not
// apply; it allocates only for a composed result.
func (a *answerRule) rewrite(name string, s *step) string {
	switch a.kind {
	case answerRemap:
		if name == s.rewritten {
			return s.prev
		}
		// HasSuffix(name, "."+rewritten) without building the string.
		if n := len(name) - len(s.rewritten); n > 0 && name[n-1] == '.' && name[n:] == s.rewritten {
			return name[:n] + s.prev
		}
	case answerSuffix:
		if before, ok := strings.CutSuffix(name, a.from); ok {
			return before + a.to
		}
	case answerRegex:
		if out, ok := a.re.rewrite(name); ok {
			return out
		}
	}
	return name
}

// recordValue is the name in rr's RDATA that value rules rewrite
// (reverter.go getRecordValueForRewrite), "" for other types.
func recordValue(rr dns.RR) string {
	switch rr := rr.(type) {
	case *dns.SRV:
		return rr.Target
	case *dns.MX:
		return rr.Mx
	case *dns.CNAME:
		return rr.Target
	case *dns.NS:
		return rr.Ns
	case *dns.DNAME:
		return rr.Target
	case *dns.NAPTR:
		return rr.Replacement
	case *dns.SOA:
		return rr.Ns
	case *dns.PTR:
		return rr.Ptr
	}
	return ""
}

func setRecordValue(rr dns.RR, v string) {
	switch rr := rr.(type) {
	case *dns.SRV:
		rr.Target = v
	case *dns.MX:
		rr.Mx = v
	case *dns.CNAME:
		rr.Target = v
	case *dns.NS:
		rr.Ns = v
	case *dns.DNAME:
		rr.Target = v
	case *dns.NAPTR:
		rr.Replacement = v
	case *dns.SOA:
		rr.Ns = v
	case *dns.PTR:
		rr.Ptr = v
	}
}
