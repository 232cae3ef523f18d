package rewrite

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/internal/corefile"
)

// Rewriter holds the compiled rules of one server block. It is safe for
// concurrent use. A nil *Rewriter has no rules.
type Rewriter struct {
	rules []rule
}

// rule is one compiled `rewrite name` rule.
type rule struct {
	pos   corefile.Pos
	match corefile.NameMatch
	// cont: a match hands the new name to the next rule.
	cont     bool
	from, to string
	// re is the question's pattern and template for regex rules.
	re *template
	// answers are the rule's answer rules in CoreDNS's order (auto ones
	// first, then the explicit ones); they are applied in reverse.
	answers []answerRule
}

// New compiles rules, in Corefile order. The rules are taken as
// internal/corefile gives them (canonical names, answer rules checked as
// CoreDNS checks them); New adds a check CoreDNS lacks: a template may
// only name groups its pattern has, where CoreDNS would leave a literal
// "{3}" in the name.
func New(rules []corefile.Rewrite) (*Rewriter, error) {
	rw := &Rewriter{rules: make([]rule, 0, len(rules))}
	for i := range rules {
		r, err := compile(&rules[i])
		if err != nil {
			return nil, fmt.Errorf("%v: rewrite name %v %s %s: %w", rules[i].Pos, rules[i].Match, rules[i].From, rules[i].To, err)
		}
		rw.rules = append(rw.rules, r)
	}
	return rw, nil
}

func compile(c *corefile.Rewrite) (rule, error) {
	r := rule{pos: c.Pos, match: c.Match, cont: c.Continue, from: c.From, to: c.To}
	switch c.Match {
	case corefile.MatchExact, corefile.MatchPrefix, corefile.MatchSuffix, corefile.MatchSubstring:
	case corefile.MatchRegex:
		t, err := newTemplate(c.From, c.To)
		if err != nil {
			return rule{}, err
		}
		r.re = t
	default:
		return rule{}, fmt.Errorf("unknown match type %d", c.Match)
	}
	switch {
	case c.Match == corefile.MatchSuffix && c.AnswerAuto:
		// name.go newSuffixNameRule: the suffix is swapped back, in any
		// name, instead of mapping the one rewritten name.
		r.answers = append(r.answers,
			answerRule{kind: answerSuffix, from: c.To, to: c.From},
			answerRule{kind: answerSuffix, value: true, from: c.To, to: c.From})
	case c.Match == corefile.MatchExact || c.AnswerAuto:
		// newExactNameRule sets auto whatever the Corefile says.
		r.answers = append(r.answers,
			answerRule{kind: answerRemap},
			answerRule{kind: answerRemap, value: true})
	}
	for _, a := range c.Answers {
		t, err := newTemplate(a.From, a.To)
		if err != nil {
			return rule{}, fmt.Errorf("answer %s: %w", answerField(a.Value), err)
		}
		r.answers = append(r.answers, answerRule{kind: answerRegex, value: a.Value, re: t})
	}
	return r, nil
}

func answerField(value bool) string {
	if value {
		return "value"
	}
	return "name"
}

// Question applies the rules to name, which must be canonical (lower case,
// fully qualified). ok reports whether a rule matched; then rewritten is
// the name to answer for and rev maps that answer back. ok with rewritten
// "" means a rule made an invalid name: CoreDNS answers SERVFAIL with the
// client's question.
func (rw *Rewriter) Question(name string) (rewritten string, rev Reverter, ok bool) {
	if rw == nil {
		return name, Reverter{}, false
	}
	cur := name
	for i := range rw.rules {
		r := &rw.rules[i]
		next, hit := r.apply(cur)
		if !hit {
			continue
		}
		// rewrite.go ServeDNS checks after every matching rule.
		if _, valid := dns.IsDomainName(next); !valid {
			return "", Reverter{}, true
		}
		rev.add(step{rule: r, rewritten: next, prev: cur})
		cur = next
		if !r.cont {
			break
		}
	}
	if rev.n == 0 {
		return name, Reverter{}, false
	}
	rev.orig = name
	// A stop rule's match always writes through CoreDNS's reverter; after
	// continue rules only, it is used only if some rule rewrites answers.
	rev.restoreQuestion = rev.records || !rev.last().rule.cont
	return cur, rev, true
}

// apply is the question rewrite of name.go's XNameRule.Rewrite.
func (r *rule) apply(name string) (string, bool) {
	switch r.match {
	case corefile.MatchExact:
		if name == r.from {
			return r.to, true
		}
	case corefile.MatchPrefix:
		if after, ok := strings.CutPrefix(name, r.from); ok {
			return r.to + after, true
		}
	case corefile.MatchSuffix:
		if before, ok := strings.CutSuffix(name, r.from); ok {
			return before + r.to, true
		}
	case corefile.MatchSubstring:
		if strings.Contains(name, r.from) {
			return strings.ReplaceAll(name, r.from, r.to), true
		}
	case corefile.MatchRegex:
		return r.re.rewrite(name)
	}
	return "", false
}

// template is a regular expression and the name it makes of a match.
type template struct {
	re *regexp.Regexp
	to string
	// refs are "{0}" .. "{N}" for the N groups of re, made once.
	refs []string
}

func newTemplate(pattern, to string) (*template, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regex matching pattern %s: %w", pattern, err)
	}
	t := &template{re: re, to: to, refs: make([]string, re.NumSubexp()+1)}
	for i := range t.refs {
		t.refs[i] = "{" + strconv.Itoa(i) + "}"
	}
	if ref := t.missingRef(); ref != "" {
		return nil, fmt.Errorf("template %s: %s names no group of %s", to, ref, pattern)
	}
	return t, nil
}

// missingRef returns the first {DIGITS} in the template that no group
// replaces, or "".
func (t *template) missingRef() string {
	s := t.to
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return ""
		}
		s = s[i:]
		j := 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > 1 && j < len(s) && s[j] == '}' {
			if ref := s[:j+1]; !t.has(ref) {
				return ref
			}
		}
		s = s[1:]
	}
}

func (t *template) has(ref string) bool {
	for _, r := range t.refs {
		if r == ref {
			return true
		}
	}
	return false
}

// rewrite expands the template for a match of s, replacing {0}, {1}, ...
// one after the other as name.go does (so a group's text that reads "{2}"
// is itself replaced by group 2).
func (t *template) rewrite(s string) (string, bool) {
	groups := t.re.FindStringSubmatch(s)
	if len(groups) == 0 {
		return "", false
	}
	out := t.to
	for i, g := range groups {
		out = strings.ReplaceAll(out, t.refs[i], g)
	}
	return out, true
}
