package corefile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxRegexpLen bounds a rewrite pattern, as plugin/rewrite/name.go:18.
const maxRegexpLen = 10000

// readRewrite: `rewrite [continue|stop] name ...`, on one line or with the
// rule in a block (plugin/rewrite/setup.go:24-42, rewrite.go:91-149). Only
// name rules are supported.
func readRewrite(b *ServerBlock, c *cursor) string {
	pos := c.pos()
	args := c.args()
	if len(args) < 2 {
		// setup.go:29-34: the rule's words may be in a block.
		for c.d.NextBlock() {
			args = append(args, c.d.Val())
		}
	}
	r, err := parseRewrite(args)
	if err != nil {
		var ns notSupportedRule
		if asNotSupported(err, &ns) {
			c.rd.problem(pos, optionNotSupported(c.plugin, string(ns)))
		} else {
			c.errorf(pos, "%v", err)
		}
		return ""
	}
	r.Pos = pos
	b.Rewrites = append(b.Rewrites, r)
	return describeRewrite(&r)
}

// notSupportedRule is a rewrite rule type clusterdns does not implement.
type notSupportedRule string

func (n notSupportedRule) Error() string { return string(n) }

func asNotSupported(err error, ns *notSupportedRule) bool {
	n, ok := err.(notSupportedRule)
	*ns = n
	return ok
}

func parseRewrite(args []string) (Rewrite, error) {
	var r Rewrite
	if len(args) == 0 {
		return r, fmt.Errorf("no rule type specified")
	}
	switch strings.ToLower(args[0]) {
	case "continue", "stop":
		r.Continue = strings.ToLower(args[0]) == "continue"
		if len(args) < 2 {
			return r, fmt.Errorf("%s rule must begin with a rule type", args[0])
		}
		args = args[1:]
	}
	switch t := strings.ToLower(args[0]); t {
	case "name":
		return r, parseNameRule(&r, args[1:])
	case "answer":
		return r, fmt.Errorf("response rewrites must begin with a name rule")
	case "class", "type", "edns0", "ttl", "cname", "rcode":
		return r, notSupportedRule(t)
	default:
		return r, fmt.Errorf("invalid rule type %q", args[0])
	}
}

// parseNameRule: plugin/rewrite/name.go:299-360.
func parseNameRule(r *Rewrite, args []string) error {
	switch {
	case len(args) < 2:
		return fmt.Errorf("too few arguments for a name rule")
	case len(args) == 2:
		r.Match, r.From, r.To = MatchExact, canonical(args[0]), canonical(args[1])
		r.AnswerAuto = true // newExactNameRule always maps answers back
		return checkTemplate(r.To, r.From)
	}
	m, ok := nameMatch(args[0])
	if !ok {
		return fmt.Errorf("name rule supports only exact, prefix, suffix, substring, and regex name matching, received: %s", args[0])
	}
	r.Match, r.From, r.To = m, canonical(args[1]), canonical(args[2])
	if m == MatchRegex {
		r.From, r.To = args[1], canonical(args[2])
		if err := checkTemplate(args[1], args[2]); err != nil {
			return err
		}
	}
	if len(args) > 3 {
		if err := parseAnswerRules(r, args[3:]); err != nil {
			return err
		}
	}
	if m == MatchExact {
		r.AnswerAuto = true
		return checkTemplate(r.To, r.From) // name.go:340, as CoreDNS checks it
	}
	return nil
}

func nameMatch(s string) (NameMatch, bool) {
	for m := MatchExact; m <= MatchRegex; m++ {
		if strings.ToLower(s) == m.String() {
			return m, true
		}
	}
	return 0, false
}

// checkTemplate compiles pattern and checks that template uses no more
// {N} groups than it has (name.go:444-456).
func checkTemplate(pattern, template string) error {
	if len(pattern) > maxRegexpLen {
		return fmt.Errorf("regex pattern too long: %d > %d", len(pattern), maxRegexpLen)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return fmt.Errorf("invalid regex matching pattern: %s", pattern)
	}
	used := 0
	for i := range 101 {
		if strings.Contains(template, "{"+strconv.Itoa(i)+"}") {
			used++
		}
	}
	if used > re.NumSubexp() {
		return fmt.Errorf("the rewrite regex pattern (%s) uses more subexpressions than its corresponding matching regex pattern (%s)", template, pattern)
	}
	return nil
}

// parseAnswerRules: `answer auto`, `answer name FROM TO`, `answer value
// FROM TO`, repeated (name.go:362-425).
func parseAnswerRules(r *Rewrite, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("invalid arguments for %s rule", r.Match)
	}
	names := 0
	for i := 0; i < len(args); {
		if args[i] != "answer" {
			return fmt.Errorf("unexpected %q: want answer auto|name|value", args[i])
		}
		if i++; i == len(args) {
			return fmt.Errorf("type missing for answer rule for %s rule", r.Match)
		}
		kind := args[i]
		i++
		if kind == "auto" {
			r.AnswerAuto = true
			continue
		}
		if kind != "name" && kind != "value" {
			return fmt.Errorf("invalid type %q for answer rule for %s rule", kind, r.Match)
		}
		if len(args)-i < 2 {
			return fmt.Errorf("%s answer rule for %s rule: 2 arguments required", kind, r.Match)
		}
		if err := checkTemplate(args[i], args[i+1]); err != nil {
			return fmt.Errorf("%s answer rule for %s rule: %v", kind, r.Match, err)
		}
		r.Answers = append(r.Answers, AnswerRewrite{Value: kind == "value", From: args[i], To: canonical(args[i+1])})
		if kind == "name" {
			names++
		}
		i += 2
	}
	if r.AnswerAuto && names > 0 {
		return fmt.Errorf("auto name answer rule cannot be combined with explicit name answer rules")
	}
	return nil
}

func describeRewrite(r *Rewrite) string {
	var s strings.Builder
	fmt.Fprintf(&s, "rewrite question names (%v match) %s to %s", r.Match, r.From, r.To)
	if r.AnswerAuto {
		s.WriteString("; answers mapped back")
	}
	for _, a := range r.Answers {
		what := "names"
		if a.Value {
			what = "values"
		}
		fmt.Fprintf(&s, "; answer %s %s to %s", what, a.From, a.To)
	}
	if r.Continue {
		s.WriteString("; then the next rules")
	}
	return s.String()
}
