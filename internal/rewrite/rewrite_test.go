package rewrite

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/internal/corefile"
)

// Each case is named after the Corefile rules it pins; the expectations
// are CoreDNS 1.14.2's (plugin/rewrite/name.go, rewrite.go), and the same
// rules are run against the CoreDNS binary in TestSameAsCoreDNS.
func TestQuestion(t *testing.T) {
	tests := []struct {
		rules    string
		in, want string
		ok       bool
	}{
		{"rewrite name a.example b.target", "a.example.", "b.target.", true},
		{"rewrite name a.example b.target", "x.a.example.", "x.a.example.", false},
		{"rewrite name exact A.Example. b.target", "a.example.", "b.target.", true},
		// From is made fully qualified: the prefix is the label "foo.".
		{"rewrite name prefix foo bar", "foo.example.", "bar.example.", true},
		{"rewrite name prefix foo bar", "food.example.", "food.example.", false},
		{"rewrite name prefix foo. bar.", "foo.foo.", "bar.foo.", true},
		// Suffixes are not aligned on labels.
		{"rewrite name suffix .example. .target.", "a.b.example.", "a.b.target.", true},
		{"rewrite name suffix ample arget", "a.example.", "a.exarget.", true},
		{"rewrite name suffix .example. .target.", "example.", "example.", false},
		// Every occurrence of "old." is replaced.
		{"rewrite name substring old new", "bold.old.old.", "bnew.new.new.", true},
		{"rewrite name substring old new", "old-x.example.", "old-x.example.", false},
		{"rewrite name regex (.*)-(us-west-1)\\.example\\. {1}.service.{2}.consul", "ftp-us-west-1.example.", "ftp.service.us-west-1.consul.", true},
		{"rewrite name regex ^(a)\\.(b)\\.example\\.$ {2}.{1}.target", "a.b.example.", "b.a.target.", true},
		// The pattern is not anchored; the whole name becomes the template.
		{"rewrite name regex (b)\\.ex {0}.x", "a.b.example.", "b.ex.x.", true},
		{"rewrite name regex ^(a)\\.ex {1}.x", "ba.example.", "ba.example.", false},
		// A group whose text reads "{2}" is itself replaced, as name.go's
		// one-group-after-the-other ReplaceAll does.
		{"rewrite name regex ^(.*)\\.([a-z]+)\\.$ {1}.{2}", "{2}.com.", "com.com.", true},
		// stop: the first match is the last.
		{"rewrite name a.example b.target\nrewrite name b.target c.target", "a.example.", "b.target.", true},
		{"rewrite continue name a.example b.target\nrewrite name b.target c.target", "a.example.", "c.target.", true},
		// A stop rule that does not match does not stop.
		{"rewrite stop name prefix zz yy\nrewrite name a.example b.target", "a.example.", "b.target.", true},
		{"rewrite continue name suffix .a.example. .b.example.\nrewrite name prefix x y\nrewrite name prefix y z", "x.a.example.", "y.b.example.", true},
		// A name that is not a domain name: SERVFAIL.
		{"rewrite name regex (.*)\\.bad\\. {1}..x", "a.bad.", "", true},
		{"rewrite name substring old \"\"", "a.old.com.", "", true},
		{"rewrite continue name prefix a b\nrewrite name regex (.*)\\.bad\\. {1}..x", "a.bad.", "", true},
		{"rewrite name prefix a " + strings.Repeat("x", 64), "a.b.", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.rules+" "+tt.in, func(t *testing.T) {
			got, _, ok := parseRules(t, tt.rules).Question(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Question(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestQuestionNilRewriter(t *testing.T) {
	var rw *Rewriter
	if got, rev, ok := rw.Question("a.example."); got != "a.example." || ok || rev.RewritesRecords() {
		t.Errorf("nil Rewriter: %q %v", got, ok)
	}
}

// rrs parses records given one a line.
func rrs(t *testing.T, lines string) []dns.RR {
	var out []dns.RR
	for l := range strings.SplitSeq(strings.TrimSpace(lines), "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

// msg builds a reply to name/qtype from lines "SECTION RR", SECTION being
// an (answer), ns (authority) or ar (additional).
func msg(t *testing.T, name string, qtype uint16, lines string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	for l := range strings.SplitSeq(strings.TrimSpace(lines), "\n") {
		sec, rr, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch parsed := rrs(t, rr); sec {
		case "an":
			m.Answer = append(m.Answer, parsed...)
		case "ns":
			m.Ns = append(m.Ns, parsed...)
		case "ar":
			m.Extra = append(m.Extra, parsed...)
		default:
			t.Fatalf("bad line %q", l)
		}
	}
	return m
}

func sectionLines(m *dns.Msg) string {
	var b strings.Builder
	for _, s := range []struct {
		tag string
		rrs []dns.RR
	}{{"an", m.Answer}, {"ns", m.Ns}, {"ar", m.Extra}} {
		for _, rr := range s.rrs {
			b.WriteString(s.tag + " " + strings.Join(strings.Fields(rr.String()), " ") + "\n")
		}
	}
	return b.String()
}

// TestRestore pins the answer rules: the reply is written for the
// rewritten name, as the next plugin would answer it.
func TestRestore(t *testing.T) {
	tests := []struct {
		name, rules, q string
		qtype          uint16
		reply, want    string
		// question is the name the restored question has.
		question string
	}{
		{"exact always answer auto, owners and values under the name",
			"rewrite name a.example b.target", "a.example.", dns.TypeA,
			"an b.target. 60 IN A 10.0.0.1\nan x.b.target. 60 IN A 10.0.0.2\nns b.target. 60 IN NS ns.b.target.\nar ns.b.target. 60 IN A 10.0.0.3\nan xb.target. 60 IN A 10.0.0.4",
			"an a.example. 60 IN A 10.0.0.1\nan x.a.example. 60 IN A 10.0.0.2\nan xb.target. 60 IN A 10.0.0.4\nns a.example. 60 IN NS ns.a.example.\nar ns.a.example. 60 IN A 10.0.0.3\n",
			"a.example."},
		{"answer auto maps every value type of reverter.go",
			"rewrite name prefix foo bar answer auto", "foo.example.", dns.TypeANY,
			"an bar.example. 60 IN CNAME c.bar.example.\nan bar.example. 60 IN SRV 0 0 80 bar.example.\nan bar.example. 60 IN MX 10 m.bar.example.\n" +
				"an bar.example. 60 IN NS bar.example.\nan bar.example. 60 IN PTR bar.example.\nan bar.example. 60 IN DNAME bar.example.\n" +
				"an bar.example. 60 IN NAPTR 100 10 \"\" \"\" \"\" bar.example.\nan bar.example. 60 IN SOA bar.example. h.bar.example. 1 2 3 4 5\nan bar.example. 60 IN TXT \"bar.example.\"",
			"an foo.example. 60 IN CNAME c.foo.example.\nan foo.example. 60 IN SRV 0 0 80 foo.example.\nan foo.example. 60 IN MX 10 m.foo.example.\n" +
				"an foo.example. 60 IN NS foo.example.\nan foo.example. 60 IN PTR foo.example.\nan foo.example. 60 IN DNAME foo.example.\n" +
				"an foo.example. 60 IN NAPTR 100 10 \"\" \"\" \"\" foo.example.\nan foo.example. 60 IN SOA foo.example. h.bar.example. 1 2 3 4 5\nan foo.example. 60 IN TXT \"bar.example.\"\n",
			"foo.example."},
		{"prefix without answer auto: question back, owners stay",
			"rewrite name prefix foo bar", "foo.example.", dns.TypeA,
			"an bar.example. 60 IN A 10.0.0.1", "an bar.example. 60 IN A 10.0.0.1\n", "foo.example."},
		{"suffix answer auto swaps the suffix back in any name",
			"rewrite name suffix .example. .target. answer auto", "a.example.", dns.TypeCNAME,
			"an a.target. 60 IN CNAME c.other.target.\nan x.test. 60 IN CNAME xtarget.\nns target. 60 IN SOA ns.target. h.target. 1 2 3 4 5",
			"an a.example. 60 IN CNAME c.other.example.\nan x.test. 60 IN CNAME xtarget.\nns target. 60 IN SOA ns.example. h.target. 1 2 3 4 5\n",
			"a.example."},
		{"suffix answer auto not aligned on labels",
			"rewrite name suffix ample. arget. answer auto", "a.example.", dns.TypeCNAME,
			"an a.exarget. 60 IN CNAME target.", "an a.example. 60 IN CNAME tample.\n", "a.example."},
		{"substring answer auto maps the rewritten name only",
			"rewrite name substring old new answer auto", "a.old.example.", dns.TypeCNAME,
			"an a.new.example. 60 IN CNAME b.new.example.", "an a.old.example. 60 IN CNAME b.new.example.\n", "a.old.example."},
		{"regex answer auto",
			"rewrite name regex (.*)-(us-west-1)\\.example\\. {1}.service.{2}.consul answer auto", "ftp-us-west-1.example.", dns.TypeA,
			"an ftp.service.us-west-1.consul. 60 IN A 10.0.0.1", "an ftp-us-west-1.example. 60 IN A 10.0.0.1\n", "ftp-us-west-1.example."},
		{"answer name and answer value: whole name replaced by the template",
			"rewrite stop {\n name regex (.*)-(us-west-1)\\.example\\. {1}.service.{2}.consul\n answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.example\n answer value (.*)\\.service\\.(us-west-1)\\.consul\\. {1}-{2}.example\n }",
			"ftp-us-west-1.example.", dns.TypeCNAME,
			"an ftp.service.us-west-1.consul. 60 IN CNAME web.service.us-west-1.consul.\nan z.test. 60 IN CNAME a.service.us-west-1.consul.x.",
			"an ftp-us-west-1.example. 60 IN CNAME web-us-west-1.example.\nan z.test. 60 IN CNAME a-us-west-1.example.\n",
			"ftp-us-west-1.example."},
		{"answer value with answer auto: explicit rule first, then auto",
			"rewrite name prefix foo bar answer auto answer value ^bar\\.(.*)\\.$ baz.{1}", "foo.example.", dns.TypeCNAME,
			"an bar.example. 60 IN CNAME bar.example.", "an foo.example. 60 IN CNAME baz.example.\n", "foo.example."},
		{"continue chain maps back last rule first",
			"rewrite continue name suffix .a.example. .b.example. answer auto\nrewrite name prefix x y answer auto", "x.a.example.", dns.TypeCNAME,
			"an y.b.example. 60 IN CNAME c.y.b.example.\nan o.test. 60 IN CNAME z.b.example.",
			"an x.a.example. 60 IN CNAME c.x.a.example.\nan o.test. 60 IN CNAME z.a.example.\n", "x.a.example."},
		{"continue rules only, none with answer rules: question stays rewritten",
			"rewrite continue name prefix foo bar\nrewrite continue name suffix .example. .target.", "foo.example.", dns.TypeA,
			"an bar.target. 60 IN A 10.0.0.1", "an bar.target. 60 IN A 10.0.0.1\n", "bar.target."},
		{"continue rule then a matching stop rule without answer rules: question back",
			"rewrite continue name prefix foo bar\nrewrite name suffix .example. .target.", "foo.example.", dns.TypeA,
			"an bar.target. 60 IN A 10.0.0.1", "an bar.target. 60 IN A 10.0.0.1\n", "foo.example."},
		{"owner in another case is left alone",
			"rewrite name a.example b.target", "a.example.", dns.TypeA,
			"an B.Target. 60 IN A 10.0.0.1", "an B.Target. 60 IN A 10.0.0.1\n", "a.example."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rewritten, rev, ok := parseRules(t, tt.rules).Question(tt.q)
			if !ok || rewritten == "" {
				t.Fatalf("Question(%q): %q %v", tt.q, rewritten, ok)
			}
			m := msg(t, rewritten, tt.qtype, tt.reply)
			rev.Restore(m)
			if got := sectionLines(m); got != tt.want {
				t.Errorf("records:\n%s\nwant:\n%s", got, tt.want)
			}
			if m.Question[0].Name != tt.question || m.Question[0].Qtype != tt.qtype {
				t.Errorf("question %v, want %s", m.Question[0], tt.question)
			}
		})
	}
}

func TestReverterReports(t *testing.T) {
	tests := []struct {
		rules             string
		restored, records bool
	}{
		{"rewrite name a.example b.target", true, true},
		{"rewrite name prefix a b", true, false},
		{"rewrite continue name prefix a b", false, false},
		{"rewrite continue name prefix a b answer auto", true, true},
		{"rewrite continue name prefix a b answer value x y", true, true},
	}
	for _, tt := range tests {
		_, rev, ok := parseRules(t, tt.rules).Question("a.example.")
		if !ok || rev.Original() != "a.example." || rev.QuestionRestored() != tt.restored || rev.RewritesRecords() != tt.records {
			t.Errorf("%s: ok %v original %q restored %v records %v", tt.rules, ok, rev.Original(), rev.QuestionRestored(), rev.RewritesRecords())
		}
	}
	var zero Reverter
	m := msg(t, "b.target.", dns.TypeA, "an b.target. 60 IN A 10.0.0.1")
	zero.Restore(m)
	if m.Question[0].Name != "b.target." || sectionLines(m) != "an b.target. 60 IN A 10.0.0.1\n" {
		t.Errorf("zero Reverter changed %v", m)
	}
}

// TestRestoreLeavesOPT: CoreDNS's scrub writer sets the OPT owner back to
// "." after its reverter; Restore does not touch it at all.
func TestRestoreLeavesOPT(t *testing.T) {
	_, rev, _ := parseRules(t, "rewrite name exact a.example b.target answer name ^\\.$ opt.test").Question("a.example.")
	m := msg(t, "b.target.", dns.TypeA, "an b.target. 60 IN A 10.0.0.1")
	m.SetEdns0(1232, true)
	rev.Restore(m)
	if o := m.IsEdns0(); o == nil || o.Hdr.Name != "." {
		t.Errorf("OPT changed: %v", m.Extra)
	}
}

// TestNewErrors covers what New checks beyond the Corefile parser.
func TestNewErrors(t *testing.T) {
	pos := corefile.Pos{File: "Corefile", Line: 7}
	tests := []struct {
		name string
		rule corefile.Rewrite
		want string
	}{
		// CoreDNS counts the {N} used, not which: it accepts {2} with one
		// group and leaves "{2}" in the name.
		{"question template names a missing group",
			corefile.Rewrite{Pos: pos, Match: corefile.MatchRegex, From: `^(a)\.g\.$`, To: "{2}.x."},
			`Corefile:7: rewrite name regex ^(a)\.g\.$ {2}.x.: template {2}.x.: {2} names no group of ^(a)\.g\.$`},
		{"question template reads {01}, which no group replaces",
			corefile.Rewrite{Pos: pos, Match: corefile.MatchRegex, From: `^(a)\.g\.$`, To: "{01}.x."},
			"{01} names no group"},
		{"answer template names a missing group",
			corefile.Rewrite{Pos: pos, Match: corefile.MatchPrefix, From: "a.", To: "b.",
				Answers: []corefile.AnswerRewrite{{Value: true, From: `(.*)`, To: "{1}.{3}."}}},
			`Corefile:7: rewrite name prefix a. b.: answer value: template {1}.{3}.: {3} names no group of (.*)`},
		{"bad pattern",
			corefile.Rewrite{Pos: pos, Match: corefile.MatchRegex, From: `(a`, To: "x."},
			"Corefile:7: rewrite name regex (a x.: invalid regex matching pattern (a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]corefile.Rewrite{{Match: corefile.MatchExact, From: "a.", To: "b."}, tt.rule})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New([]corefile.Rewrite{{Match: corefile.MatchRegex, From: `^(a)\.g\.$`, To: "{1}{x}{}.{1a}."}}); err != nil {
		t.Errorf("braces that are no group reference: %v", err)
	}
}
