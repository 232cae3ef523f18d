package lint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// WriteText writes one line per finding that is not suppressed,
// "file:line: severity rule: message", followed by an indented fix line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		if f.Suppressed {
			continue
		}
		b.WriteString(location(f.File, f.Line))
		fmt.Fprintf(&b, ": %s %s: %s", f.Severity, f.Rule, f.Message)
		if f.Template != "" {
			fmt.Fprintf(&b, " [%s]", f.Template)
		}
		fmt.Fprintf(&b, "\n    fix: %s\n", f.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func location(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// Summary is "3 findings (1 error, 1 warning, 1 info), 2 suppressed, in 14
// objects".
func (r *Report) Summary() string {
	var counts [3]int
	suppressed := 0
	for _, f := range r.Findings {
		if f.Suppressed {
			suppressed++
			continue
		}
		counts[f.Severity]++
	}
	n := counts[0] + counts[1] + counts[2]
	s := fmt.Sprintf("%d finding%s", n, plural(n))
	if n > 0 {
		s += fmt.Sprintf(" (%d error%s, %d warning%s, %d info)", counts[Error], plural(counts[Error]), counts[Warning], plural(counts[Warning]), counts[Info])
	}
	if suppressed > 0 {
		s += fmt.Sprintf(", %d suppressed by %s", suppressed, IgnoreAnnotation)
	}
	return s + fmt.Sprintf(" in %d object%s", r.Objects, plural(r.Objects))
}

func plural(n int, forms ...string) string {
	one, many := "", "s"
	if len(forms) == 2 {
		one, many = forms[0], forms[1]
	}
	if n == 1 {
		return one
	}
	return many
}

type jsonObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

type jsonFinding struct {
	File       string     `json:"file"`
	Line       int        `json:"line,omitempty"`
	Severity   string     `json:"severity"`
	Rule       string     `json:"rule"`
	Message    string     `json:"message"`
	Fix        string     `json:"fix"`
	Object     jsonObject `json:"object"`
	Field      string     `json:"field,omitempty"`
	Template   string     `json:"template,omitempty"`
	Suppressed bool       `json:"suppressed,omitempty"`
}

type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

type jsonReport struct {
	Findings []jsonFinding `json:"findings"`
	Errors   []jsonError   `json:"errors"`
	Summary  struct {
		Objects    int `json:"objects"`
		Errors     int `json:"error"`
		Warnings   int `json:"warning"`
		Info       int `json:"info"`
		Suppressed int `json:"suppressed"`
	} `json:"summary"`
}

// WriteJSON writes the report as one JSON document: findings (suppressed
// ones marked), input errors and counts.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{Findings: []jsonFinding{}, Errors: []jsonError{}}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, jsonFinding{
			File: f.File, Line: f.Line, Severity: f.Severity.String(), Rule: f.Rule, Message: f.Message, Fix: f.Fix,
			Object: jsonObject{f.Object.Kind, f.Object.Namespace, f.Object.Name}, Field: f.Field,
			Template: f.Template, Suppressed: f.Suppressed,
		})
		switch {
		case f.Suppressed:
			out.Summary.Suppressed++
		case f.Severity == Error:
			out.Summary.Errors++
		case f.Severity == Warning:
			out.Summary.Warnings++
		default:
			out.Summary.Info++
		}
	}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, jsonError{File: e.File, Line: e.Line, Message: e.Message})
	}
	out.Summary.Objects = r.Objects
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// SARIF 2.1.0, the parts used.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string          `json:"id"`
		Name                 string          `json:"name"`
		ShortDescription     sarifMessage    `json:"shortDescription"`
		FullDescription      sarifMessage    `json:"fullDescription"`
		Help                 sarifMessage    `json:"help"`
		DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
		Properties           sarifRuleProps  `json:"properties"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifRuleProps struct {
		Tags []string `json:"tags"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifMessage    `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
	sarifResult struct {
		RuleID              string             `json:"ruleId"`
		RuleIndex           int                `json:"ruleIndex"`
		Level               string             `json:"level"`
		Message             sarifMessage       `json:"message"`
		Locations           []sarifLocation    `json:"locations"`
		PartialFingerprints map[string]string  `json:"partialFingerprints"`
		Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
		Properties          *sarifResultProps  `json:"properties,omitempty"`
	}
	sarifResultProps struct {
		Field    string `json:"field,omitempty"`
		Fix      string `json:"fix"`
		Template string `json:"template,omitempty"`
	}
	sarifSuppression struct {
		Kind          string `json:"kind"`
		Justification string `json:"justification"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical  `json:"physicalLocation"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

// InformationURI is where the SARIF driver points people.
const InformationURI = "https://github.com/clusterdns/clusterdns"

// WriteSARIF writes the report as a SARIF 2.1.0 log for code scanning:
// one result per finding (suppressed ones with an inSource suppression),
// at the line of the field at fault, and input errors as tool execution
// notifications. version is the tool's version.
func (r *Report) WriteSARIF(w io.Writer, version string) error {
	driver := sarifDriver{Name: "clusterdns", Version: version, InformationURI: InformationURI}
	for _, rule := range rules {
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   rule.ID,
			Name:                 camel(rule.ID),
			ShortDescription:     sarifMessage{Text: strings.ReplaceAll(rule.Summary, "`", "")},
			FullDescription:      sarifMessage{Text: strings.ReplaceAll(rule.Summary, "`", "")},
			Help:                 sarifMessage{Text: "Fix: " + strings.ReplaceAll(rule.Fix, "`", "")},
			DefaultConfiguration: sarifRuleConfig{Level: rule.Severity.sarifLevel()},
			Properties:           sarifRuleProps{Tags: []string{"kubernetes", "dns"}},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	inv := sarifInvocation{ExecutionSuccessful: len(r.Errors) == 0}
	for _, e := range r.Errors {
		n := sarifNotification{Level: "error", Message: sarifMessage{Text: e.Message}}
		if e.File != "" {
			n.Locations = []sarifLocation{{PhysicalLocation: physical(e.File, e.Line)}}
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	run.Invocations = []sarifInvocation{inv}
	for _, f := range r.Findings {
		res := sarifResult{
			RuleID:    f.Rule,
			RuleIndex: ruleIndex(f.Rule),
			Level:     f.Severity.sarifLevel(),
			Message:   sarifMessage{Text: f.Message + "\nFix: " + f.Fix},
			Locations: []sarifLocation{{
				PhysicalLocation: physical(f.File, f.Line),
				LogicalLocations: []sarifLogical{{Name: f.Object.Name, FullyQualifiedName: f.Object.String(), Kind: "object"}},
			}},
			PartialFingerprints: map[string]string{"clusterdnsLint/v1": fingerprint(f)},
			Properties:          &sarifResultProps{Field: f.Field, Fix: f.Fix, Template: f.Template},
		}
		if f.Suppressed {
			res.Suppressions = []sarifSuppression{{Kind: "inSource", Justification: IgnoreAnnotation + " annotation on " + f.Object.String()}}
		}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

func physical(file string, line int) sarifPhysical {
	p := sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(file)}}
	if line > 0 {
		p.Region = &sarifRegion{StartLine: line}
	}
	return p
}

// artifactURI renders a file name as a SARIF URI: relative paths stay
// relative (code scanning resolves them against the repository root),
// absolute ones become file URIs, stdin is "stdin".
func artifactURI(file string) string {
	if file == StdinName {
		return "stdin"
	}
	slashed := filepath.ToSlash(file)
	if filepath.IsAbs(file) {
		return (&url.URL{Scheme: "file", Path: slashed}).String()
	}
	return (&url.URL{Path: strings.TrimPrefix(slashed, "./")}).String()
}

// fingerprint identifies a finding across edits that move lines: rule,
// object and field.
func fingerprint(f Finding) string {
	sum := sha256.Sum256([]byte(f.Rule + "\x00" + f.Object.String() + "\x00" + f.Field))
	return hex.EncodeToString(sum[:8])
}

// camel turns a rule ID into a SARIF rule name: "subdomain-no-service" ->
// "SubdomainNoService".
func camel(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
