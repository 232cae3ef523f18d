// Package doctor runs the seed's whole troubleshooting procedure against a
// live cluster and reports it as one findings model: checks, each with a
// stable ID and a status, holding findings with a stable code, a severity,
// the objects involved, evidence, the threshold and its source, and a fix.
//
// The per-name findings are explain's causes, from the same record engine;
// the Corefile is read with package corefile's parser. Every renderer
// (text, JSON, Markdown, HTML) prints the same Report, so no format can say
// more or less than another.
//
// It is read-only: it lists and gets objects, and changes nothing. A check
// it cannot run (no permission, nothing to look at) says so and why,
// rather than passing silently; a check that fails unexpectedly is
// reported as crashed, and the others still run.
package doctor

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Status is how a check ended.
type Status int

// The statuses, best first.
const (
	StatusOK Status = iota
	StatusWarn
	StatusFail
	// StatusNotRun: the check could not run (Check.Why says why: no
	// permission, not reachable, not applicable).
	StatusNotRun
	// StatusCrashed: the check itself failed (Check.Why has the error).
	StatusCrashed
)

var statusNames = [...]string{"ok", "warn", "fail", "not-run", "crashed"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalText writes the status's name (JSON).
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status's name.
func (s *Status) UnmarshalText(b []byte) error {
	i := slices.Index(statusNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown status %q", b)
	}
	*s = Status(i)
	return nil
}

// Severity of a finding, as explain's causes have it.
type Severity string

// Severities, worst first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 2
	case SeverityWarning:
		return 1
	}
	return 0
}

// Threshold is a measured value against a limit, with where the limit
// comes from ("seed", "CoreDNS Scaling_CoreDNS.md", ...).
type Threshold struct {
	Value  string `json:"value"`
	Limit  string `json:"limit"`
	Source string `json:"source"`
}

func (t *Threshold) String() string {
	return fmt.Sprintf("%s against %s (%s)", t.Value, t.Limit, t.Source)
}

// Finding is one thing a check found.
type Finding struct {
	// Code is stable: tools and people filter on it.
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	// Objects are the objects involved, as Kind/namespace/name (or
	// Kind/name for cluster-scoped ones), most relevant first.
	Objects []string `json:"objects"`
	Message string   `json:"message"`
	// Evidence is what was seen (field values, counts, log lines).
	Evidence  []string   `json:"evidence,omitempty"`
	Threshold *Threshold `json:"threshold,omitempty"`
	Fix       string     `json:"fix,omitempty"`
	// Explains are the symptoms of the seed this finding can cause.
	Explains []string `json:"explains,omitempty"`
	// Names are DNS names the finding is about, each with the step of
	// the seed's flowchart where it fails (Markdown draws it).
	Names []NameAt `json:"names,omitempty"`
}

// NameAt is a DNS name and the node of the seed's flowchart (Flowchart)
// where its resolution goes wrong.
type NameAt struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Node string `json:"node"`
}

// Check is one check and what it found.
type Check struct {
	// ID is stable ("dns.pods", "config.staleness", ...).
	ID    string `json:"id"`
	Group Group  `json:"group"`
	Title string `json:"title"`
	// Status: ok, warn, fail (from the worst finding), not-run, crashed.
	Status Status `json:"status"`
	// Why says why a check did not run or crashed.
	Why string `json:"why,omitempty"`
	// Summary is one line: what was looked at, with counts.
	Summary  string    `json:"summary"`
	Findings []Finding `json:"findings"`
	Duration Duration  `json:"duration"`
}

// Group is a section of the report, in the order of the seed's procedure.
type Group string

// The groups, in report order.
const (
	GroupClusterDNS   Group = "cluster-dns"
	GroupConfig       Group = "configuration"
	GroupControlPlane Group = "control-plane"
	GroupHeadless     Group = "headless-services"
	GroupAnswers      Group = "answers"
	GroupClients      Group = "clients"
	GroupMetrics      Group = "metrics"
)

// Groups lists the groups in report order, with their titles.
var Groups = []struct {
	Group Group
	Title string
}{
	{GroupClusterDNS, "The cluster DNS itself"},
	{GroupConfig, "Its configuration"},
	{GroupControlPlane, "The control plane"},
	{GroupHeadless, "Headless Services"},
	{GroupAnswers, "What the DNS servers answer"},
	{GroupClients, "Clients"},
	{GroupMetrics, "Metrics of the DNS pods"},
}

func groupOrder(g Group) int {
	return slices.IndexFunc(Groups, func(x struct {
		Group Group
		Title string
	}) bool {
		return x.Group == g
	})
}

// Duration is a time.Duration that JSON writes in seconds.
type Duration time.Duration

// MarshalJSON writes seconds with millisecond precision.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", time.Duration(d).Seconds())), nil
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if _, err := fmt.Sscanf(string(b), "%g", &s); err != nil {
		return fmt.Errorf("duration %s: %w", b, err)
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// Report is a whole run.
type Report struct {
	// Cluster is the API server's address.
	Cluster string `json:"cluster"`
	// DNS names the cluster DNS found (its Service and workload), if any.
	DNS      string    `json:"dns"`
	Started  time.Time `json:"started"`
	Duration Duration  `json:"duration"`
	Checks   []Check   `json:"checks"`
}

// settle sets a check's status from its findings (unless it did not run
// or crashed), and sorts its findings worst first, stably.
func (c *Check) settle() {
	slices.SortStableFunc(c.Findings, func(a, b Finding) int { return b.Severity.rank() - a.Severity.rank() })
	if c.Status >= StatusNotRun {
		return
	}
	c.Status = StatusOK
	for _, f := range c.Findings {
		switch f.Severity {
		case SeverityError:
			c.Status = StatusFail
		case SeverityWarning:
			c.Status = max(c.Status, StatusWarn)
		}
	}
}

// sort puts the checks in group order, stably.
func (r *Report) sort() {
	slices.SortStableFunc(r.Checks, func(a, b Check) int { return groupOrder(a.Group) - groupOrder(b.Group) })
}

// Count is how many checks ended with each status.
func (r *Report) Count() map[Status]int {
	n := map[Status]int{}
	for _, c := range r.Checks {
		n[c.Status]++
	}
	return n
}

// Failed reports whether a finding is at error (exit status 1).
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return true
		}
	}
	return false
}

// Summary is the report's one-line count, worst first: "14 checks: 2
// fail, 3 warn, 8 ok, 1 not run (no permission: 1)".
func (r *Report) Summary() string {
	n := r.Count()
	parts := []string{}
	for _, s := range []Status{StatusCrashed, StatusFail, StatusWarn, StatusOK, StatusNotRun} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], strings.ReplaceAll(s.String(), "-", " ")))
		}
	}
	return fmt.Sprintf("%d checks: %s", len(r.Checks), strings.Join(parts, ", "))
}
