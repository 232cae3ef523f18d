package doctor

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file prints a Report four ways. The Markdown and HTML reports are
// built from the same pieces (sections, facts, names) so that neither can
// say more than the other; the text report is the terminal's short form,
// and JSON is the Report itself.

// maxNamesDrawn is how many names of one finding get a flowchart each in
// Markdown and HTML (and a line each in text); the rest are counted, so a
// finding about a thousand names does not draw a thousand diagrams.
const maxNamesDrawn = 10

// reportTitle heads the Markdown and HTML reports.
const reportTitle = "Cluster DNS doctor report"

// statusMark is a status's one-character marker, the same in every format.
func statusMark(s Status) string {
	switch s {
	case StatusOK:
		return "✓"
	case StatusWarn:
		return "!"
	case StatusFail:
		return "✗"
	case StatusNotRun:
		return "–"
	case StatusCrashed:
		return "☠"
	}
	return "?"
}

// statusWord is a status as a person reads it: "not run", not "not-run".
func statusWord(s Status) string { return strings.ReplaceAll(s.String(), "-", " ") }

// worstRank orders statuses for the terminal: what needs action first,
// then what passed, then what told nothing.
func worstRank(s Status) int {
	switch s {
	case StatusCrashed:
		return 0
	case StatusFail:
		return 1
	case StatusWarn:
		return 2
	case StatusOK:
		return 3
	case StatusNotRun:
		return 4
	}
	return 5
}

// checkLine is the one line that says what a check saw or, for a check
// that did not run or crashed, why.
func checkLine(c *Check) string {
	if c.Why != "" && (c.Status == StatusNotRun || c.Status == StatusCrashed || c.Summary == "") {
		return c.Why
	}
	return c.Summary
}

// dnsFound says which cluster DNS the run found.
func dnsFound(dns string) string {
	if dns == "" {
		return "none found"
	}
	return dns
}

// orUnknown stands in for a value the run did not learn.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// durationText prints a Duration to the millisecond, as JSON keeps it.
func durationText(d Duration) string {
	return time.Duration(d).Round(time.Millisecond).String()
}

// nameStep says, after the name itself, its type and where in the
// flowchart its resolution goes wrong.
func nameStep(n NameAt) string {
	var s string
	switch {
	case IsNode(n.Node):
		s = fmt.Sprintf("goes wrong at step %s: %s", n.Node, NodeLabel(n.Node))
	case n.Node != "":
		s = fmt.Sprintf("goes wrong at an unknown step %q", n.Node)
	default:
		s = "step unknown"
	}
	if n.Type != "" {
		return n.Type + ", " + s
	}
	return s
}

// moreNames is the line that counts the names not drawn.
func moreNames(n int) string {
	if n == 1 {
		return "and 1 more name"
	}
	return fmt.Sprintf("and %d more names", n)
}

// WriteText writes the terminal report: a header, one line per check,
// worst first, with the findings of failing and warning checks under it
// (info findings too when verbose), and the summary last. It is plain
// text, without colours, so it can be piped and pasted.
func WriteText(w io.Writer, r *Report, verbose bool) error {
	if r == nil {
		r = &Report{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Cluster %s, DNS %s\n", orUnknown(r.Cluster), dnsFound(r.DNS))
	checks := slices.Clone(r.Checks)
	slices.SortStableFunc(checks, func(a, b Check) int { return worstRank(a.Status) - worstRank(b.Status) })
	for i := range checks {
		c := &checks[i]
		head := fmt.Sprintf("[%s] %-7s  %s  %s", statusMark(c.Status), statusWord(c.Status), c.ID, c.Title)
		if line := checkLine(c); line != "" {
			head += ": " + line
		}
		textBlock(&b, "", head)
		for j := range c.Findings {
			f := &c.Findings[j]
			if f.Severity.rank() == 0 && !verbose {
				continue
			}
			textFinding(&b, f)
		}
	}
	b.WriteString(r.Summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// textFinding writes one finding, indented under its check.
func textFinding(b *strings.Builder, f *Finding) {
	const in = "        "
	head := string(f.Severity) + " " + f.Code
	if len(f.Objects) > 0 {
		head += " [" + strings.Join(f.Objects, ", ") + "]"
	}
	textBlock(b, "    ", head)
	if f.Message != "" {
		textBlock(b, in, f.Message)
	}
	if f.Threshold != nil {
		textBlock(b, in, "threshold: "+f.Threshold.String())
	}
	for _, e := range f.Evidence {
		textBlock(b, in, "evidence: "+e)
	}
	if f.Fix != "" {
		textBlock(b, in, "fix: "+f.Fix)
	}
	if len(f.Explains) > 0 {
		textBlock(b, in, "explains: "+strings.Join(f.Explains, "; "))
	}
	for i, n := range f.Names {
		if i == maxNamesDrawn {
			textBlock(b, in, moreNames(len(f.Names)-maxNamesDrawn))
			break
		}
		textBlock(b, in, "name: "+n.Name+" "+nameStep(n))
	}
}

// textBlock writes s at indent, its continuation lines two spaces
// further in, so a multi-line message stays under its finding.
func textBlock(b *strings.Builder, indent, s string) {
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(indent)
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(strings.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
}

// WriteJSON writes the Report as indented JSON, the documented stable
// schema of report.go's struct tags. HTML escaping is off so messages and
// evidence read as they are, and the lists "checks", "findings" and
// "objects" are always arrays, never null, so consumers need no null
// check. The caller's Report is not changed.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(jsonReport(r))
}

// jsonReport copies r with its nil lists made empty, sharing nothing it
// changes with r.
func jsonReport(r *Report) *Report {
	if r == nil {
		r = &Report{}
	}
	n := *r
	n.Checks = make([]Check, len(r.Checks))
	for i, c := range r.Checks {
		fs := make([]Finding, len(c.Findings))
		copy(fs, c.Findings)
		for j := range fs {
			if fs[j].Objects == nil {
				fs[j].Objects = []string{}
			}
		}
		c.Findings = fs
		n.Checks[i] = c
	}
	return &n
}

// section is one group of the report with its checks, in report order.
type section struct {
	title  string
	checks []Check
}

// sections splits the checks by group in the order of Groups; a group
// Groups does not know comes after, in the order it first appears, so no
// check goes missing.
func sections(r *Report) []section {
	var out []section
	for _, g := range Groups {
		s := section{title: g.Title}
		for _, c := range r.Checks {
			if c.Group == g.Group {
				s.checks = append(s.checks, c)
			}
		}
		if len(s.checks) > 0 {
			out = append(out, s)
		}
	}
	var others []Group
	for _, c := range r.Checks {
		if groupOrder(c.Group) < 0 && !slices.Contains(others, c.Group) {
			others = append(others, c.Group)
		}
	}
	for _, g := range others {
		s := section{title: string(g)}
		if g == "" {
			s.title = "Other checks"
		}
		for _, c := range r.Checks {
			if c.Group == g {
				s.checks = append(s.checks, c)
			}
		}
		out = append(out, s)
	}
	return out
}

// fact is one labelled line of the rich reports: a text, or a list of
// values each shown as code (object names).
type fact struct {
	label string
	text  string
	codes []string
}

// headerFacts says what was examined, and when.
func headerFacts(r *Report) []fact {
	fs := []fact{
		{label: "Cluster", codes: []string{orUnknown(r.Cluster)}},
		{label: "DNS", text: dnsFound(r.DNS)},
	}
	if !r.Started.IsZero() {
		fs = append(fs, fact{label: "Started", text: r.Started.UTC().Format(time.RFC3339)})
	}
	return append(fs, fact{label: "Duration", text: durationText(r.Duration)})
}

// checkFacts says how a check ended.
func checkFacts(c *Check) []fact {
	fs := []fact{{label: "Status", text: statusMark(c.Status) + " " + statusWord(c.Status)}}
	if c.Summary != "" {
		fs = append(fs, fact{label: "Summary", text: c.Summary})
	}
	if c.Why != "" {
		fs = append(fs, fact{label: "Why", text: c.Why})
	}
	return append(fs, fact{label: "Took", text: durationText(c.Duration)})
}

// findingFacts says what a finding is about and what to do; its code,
// evidence and names are drawn apart.
func findingFacts(f *Finding) []fact {
	var fs []fact
	if f.Message != "" {
		fs = append(fs, fact{label: "Message", text: f.Message})
	}
	if len(f.Objects) > 0 {
		fs = append(fs, fact{label: "Objects", codes: f.Objects})
	}
	if f.Threshold != nil {
		fs = append(fs, fact{label: "Threshold", text: f.Threshold.String()})
	}
	if f.Fix != "" {
		fs = append(fs, fact{label: "Fix", text: f.Fix})
	}
	if len(f.Explains) > 0 {
		fs = append(fs, fact{label: "Explains", text: strings.Join(f.Explains, "; ")})
	}
	return fs
}

// evidenceTitle heads a finding's folded evidence.
func evidenceTitle(f *Finding) string {
	return "Evidence (" + strconv.Itoa(len(f.Evidence)) + ")"
}

// WriteMarkdown writes the report a person attaches to an incident:
// what was examined, the summary, a table of every check in group order,
// then a section per group with each check's findings, their evidence
// folded in <details>, and for each name a finding is about the seed's
// flowchart with the failing step outlined.
func WriteMarkdown(w io.Writer, r *Report) error {
	if r == nil {
		r = &Report{}
	}
	var b strings.Builder
	b.WriteString("# " + reportTitle + "\n\n")
	mdFacts(&b, headerFacts(r))
	b.WriteString("**" + mdText(r.Summary()) + "**\n\n")
	secs := sections(r)
	b.WriteString("## Checks\n\n")
	if len(r.Checks) == 0 {
		b.WriteString("No checks ran.\n\n")
	} else {
		b.WriteString("| Status | ID | Check | Summary |\n| --- | --- | --- | --- |\n")
		for _, s := range secs {
			for i := range s.checks {
				c := &s.checks[i]
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n",
					mdText(statusMark(c.Status)+" "+statusWord(c.Status)),
					mdCell(mdCode(c.ID)), mdText(c.Title), mdText(checkLine(c)))
			}
		}
		b.WriteString("\n")
	}
	for _, s := range secs {
		b.WriteString("## " + mdText(s.title) + "\n\n")
		for i := range s.checks {
			c := &s.checks[i]
			b.WriteString("### " + statusMark(c.Status) + " " + mdCode(c.ID) + " " + mdText(c.Title) + "\n\n")
			mdFacts(&b, checkFacts(c))
			for j := range c.Findings {
				mdFinding(&b, &c.Findings[j])
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdFinding writes one finding: a heading with its severity and code,
// its facts, its evidence folded, and a flowchart per name.
func mdFinding(b *strings.Builder, f *Finding) {
	b.WriteString("#### " + mdText(string(f.Severity)) + " " + mdCode(f.Code) + "\n\n")
	mdFacts(b, findingFacts(f))
	if len(f.Evidence) > 0 {
		b.WriteString("<details>\n<summary>" + html.EscapeString(evidenceTitle(f)) + "</summary>\n\n")
		mdFence(b, "text", strings.Join(f.Evidence, "\n"))
		b.WriteString("</details>\n\n")
	}
	for i, n := range f.Names {
		if i == maxNamesDrawn {
			b.WriteString(mdText(moreNames(len(f.Names)-maxNamesDrawn)) + ".\n\n")
			break
		}
		b.WriteString(mdCode(n.Name) + " " + mdText(nameStep(n)) + "\n\n")
		mdFence(b, "mermaid", Mermaid(n.Node))
	}
}

// mdFacts writes facts as a bulleted list.
func mdFacts(b *strings.Builder, fs []fact) {
	if len(fs) == 0 {
		return
	}
	for _, f := range fs {
		b.WriteString("- **" + mdText(f.label) + ":** ")
		if f.codes != nil {
			codes := make([]string, len(f.codes))
			for i, c := range f.codes {
				codes[i] = mdCode(c)
			}
			b.WriteString(strings.Join(codes, ", "))
		} else {
			b.WriteString(mdText(f.text))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// mdText makes s inline Markdown text that reads as itself: the
// punctuation Markdown would take as emphasis, strikethrough, a link,
// code, HTML or a table's cell border is backslash-escaped, as is an "&"
// that would start an entity, and a line break becomes <br>, so a value
// stays on its table row or list item. It is never put at the start of a
// line, where "#" or "-" would start a block.
func mdText(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[<|~", r) || r == '&' && isEntity(s[i:]):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString("<br>")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isEntity reports whether s starts with what Markdown reads as an entity
// or character reference: "&name;", "&#123;" or "&#x1F;".
func isEntity(s string) bool {
	end := strings.IndexByte(s, ';')
	if end < 2 {
		return false
	}
	body := s[1:end]
	digits, isDigit := body, func(r rune) bool { return r >= '0' && r <= '9' }
	if strings.HasPrefix(body, "#x") || strings.HasPrefix(body, "#X") {
		digits = body[2:]
		isDigit = func(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' }
	} else if strings.HasPrefix(body, "#") {
		digits = body[1:]
	} else {
		isDigit = func(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
	}
	return digits != "" && strings.IndexFunc(digits, func(r rune) bool { return !isDigit(r) }) < 0
}

// mdCode makes s an inline code span, fenced with one backtick more than
// the longest run it holds; a code span is one line.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || (strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ")) {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCell escapes the "|" a code span holds for a table cell: GFM splits
// cells before it reads code spans.
func mdCell(code string) string { return strings.ReplaceAll(code, "|", `\|`) }

// mdFence writes content as a fenced code block of lang, its fence longer
// than any run of backticks in it so nothing inside can close it.
func mdFence(b *strings.Builder, lang, content string) {
	fence := strings.Repeat("`", max(3, longestRun(content, '`')+1))
	content = strings.ReplaceAll(content, "\r\n", "\n")
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	b.WriteString(fence + lang + "\n" + content + fence + "\n\n")
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// htmlStyle is the page's only style: readable in light and dark mode,
// nothing fetched.
const htmlStyle = `:root { color-scheme: light dark; }
body { font-family: system-ui, sans-serif; line-height: 1.45; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; }
th, td { border: 1px solid #8888; padding: .25rem .5rem; text-align: left; vertical-align: top; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { overflow-x: auto; padding: .5rem; border: 1px solid #8888; }
tr.fail td:first-child, tr.crashed td:first-child, h3.fail, h3.crashed { color: #d73a49; }
tr.warn td:first-child, h3.warn { color: #b08800; }
`

// WriteHTML writes the Markdown report's content as one standalone page:
// inline style, no script and nothing loaded from elsewhere. Every text
// is HTML-escaped. The flowcharts are <pre class="mermaid"> blocks, which
// read as text and which a page that loads mermaid draws.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		r = &Report{}
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + reportTitle + "</title>\n<style>\n" + htmlStyle + "</style>\n</head>\n<body>\n")
	b.WriteString("<h1>" + reportTitle + "</h1>\n")
	htmlFacts(&b, headerFacts(r))
	b.WriteString("<p><strong>" + htmlText(r.Summary()) + "</strong></p>\n")
	secs := sections(r)
	b.WriteString("<h2>Checks</h2>\n")
	if len(r.Checks) == 0 {
		b.WriteString("<p>No checks ran.</p>\n")
	} else {
		b.WriteString("<table>\n<thead><tr><th>Status</th><th>ID</th><th>Check</th><th>Summary</th></tr></thead>\n<tbody>\n")
		for _, s := range secs {
			for i := range s.checks {
				c := &s.checks[i]
				fmt.Fprintf(&b, "<tr class=\"%s\"><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>\n",
					htmlClass(c.Status), htmlText(statusMark(c.Status)+" "+statusWord(c.Status)),
					htmlText(c.ID), htmlText(c.Title), htmlText(checkLine(c)))
			}
		}
		b.WriteString("</tbody>\n</table>\n")
	}
	for _, s := range secs {
		b.WriteString("<h2>" + htmlText(s.title) + "</h2>\n")
		for i := range s.checks {
			c := &s.checks[i]
			fmt.Fprintf(&b, "<h3 class=\"%s\">%s <code>%s</code> %s</h3>\n",
				htmlClass(c.Status), htmlText(statusMark(c.Status)), htmlText(c.ID), htmlText(c.Title))
			htmlFacts(&b, checkFacts(c))
			for j := range c.Findings {
				htmlFinding(&b, &c.Findings[j])
			}
		}
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlFinding writes one finding as mdFinding does.
func htmlFinding(b *strings.Builder, f *Finding) {
	b.WriteString("<h4>" + htmlText(string(f.Severity)) + " <code>" + htmlText(f.Code) + "</code></h4>\n")
	htmlFacts(b, findingFacts(f))
	if len(f.Evidence) > 0 {
		b.WriteString("<details>\n<summary>" + htmlText(evidenceTitle(f)) + "</summary>\n<pre>")
		b.WriteString(html.EscapeString(strings.Join(f.Evidence, "\n")))
		b.WriteString("</pre>\n</details>\n")
	}
	for i, n := range f.Names {
		if i == maxNamesDrawn {
			b.WriteString("<p>" + htmlText(moreNames(len(f.Names)-maxNamesDrawn)) + ".</p>\n")
			break
		}
		b.WriteString("<p><code>" + htmlText(n.Name) + "</code> " + htmlText(nameStep(n)) + "</p>\n")
		b.WriteString("<pre class=\"mermaid\">\n" + html.EscapeString(Mermaid(n.Node)) + "</pre>\n")
	}
}

// htmlFacts writes facts as a bulleted list.
func htmlFacts(b *strings.Builder, fs []fact) {
	if len(fs) == 0 {
		return
	}
	b.WriteString("<ul>\n")
	for _, f := range fs {
		b.WriteString("<li><strong>" + htmlText(f.label) + ":</strong> ")
		if f.codes != nil {
			codes := make([]string, len(f.codes))
			for i, c := range f.codes {
				codes[i] = "<code>" + htmlText(c) + "</code>"
			}
			b.WriteString(strings.Join(codes, ", "))
		} else {
			b.WriteString(htmlText(f.text))
		}
		b.WriteString("</li>\n")
	}
	b.WriteString("</ul>\n")
}

// htmlText escapes s for an element's content, line breaks kept as <br>.
func htmlText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}

// htmlClass is the CSS class of a status; it is one of the fixed status
// names, so it needs no escaping beyond the name itself.
func htmlClass(s Status) string { return html.EscapeString(s.String()) }
