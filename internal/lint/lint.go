// Package lint checks Kubernetes manifests for the mistakes that cost DNS
// names: per-pod names that do not exist, SRV records that are missing,
// Services that select nothing, resolver settings the API server rejects.
//
// It decodes manifests with package source/manifest, derives the cluster
// state they describe as Load does (package controller: the workload and
// EndpointSlice controllers' rules), builds the zone with package zone, and
// asks the zone what the cluster would answer. No DNS rule is restated here: a finding
// says what the engine answers (NXDOMAIN, addresses, no SRV record) and
// why, in terms of the objects.
//
// All inputs are linted together, so a Service in one file and its
// StatefulSet in another are checked against each other; linting files one
// at a time gives false findings.
package lint

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// Options configure a lint run.
type Options struct {
	// Zones are the cluster domains names are checked in, the first the
	// one pods' search lists hold (as serve's --zone); empty is
	// cluster.local.
	Zones []string
	// Manifest are the cluster parameters manifests do not carry (the
	// CIDRs IPs are given from).
	Manifest manifest.Options
	// Enable, if not empty, are the only rules run. Disable are rules not
	// run. Unknown IDs are an error.
	Enable, Disable []string
}

// Finding is one problem found.
type Finding struct {
	Rule     string
	Severity Severity
	// Message says what is wrong and what the cluster would answer; it
	// starts with the object ("StatefulSet default/web: ...").
	Message string
	// Fix says what to change, in one line.
	Fix string
	// File and Line locate the field at fault (Line 0: the file as a whole,
	// e.g. a kustomization whose output cannot be traced to a resource).
	File string
	Line int
	// Object is the object at fault and Field the field path in it.
	Object cluster.ObjectRef
	Field  string
	// Template is the "# Source:" of a Helm-rendered document read from
	// stdin, empty otherwise.
	Template string
	// Suppressed is set when the object's clusterdns.io/lint-ignore
	// annotation names the rule.
	Suppressed bool
}

// Report is the result of a lint run.
type Report struct {
	// Findings are sorted by file (in the order read), line and rule.
	// Suppressed findings are included.
	Findings []Finding
	// Errors are problems with the inputs. When there are any, no rule ran:
	// a partial set of objects gives false findings.
	Errors []InputError
	// Objects counts the objects read.
	Objects int
}

// Count returns how many findings that are not suppressed have at least
// the severity.
func (r *Report) Count(atLeast Severity) int {
	n := 0
	for _, f := range r.Findings {
		if !f.Suppressed && f.Severity >= atLeast {
			n++
		}
	}
	return n
}

// Lint reads paths ("-" for stdin) and checks everything read, together.
// The error is for invalid options only; problems with the inputs are in
// Report.Errors.
func Lint(ctx context.Context, paths []string, stdin io.Reader, opts Options) (*Report, error) {
	enabled, err := opts.enabled()
	if err != nil {
		return nil, err
	}
	zopts, err := opts.zoneOptions()
	if err != nil {
		return nil, err
	}
	in := read(ctx, paths, stdin, manifest.NewBudget(opts.Manifest.Limits))
	return run(in, opts, enabled, zopts), nil
}

// CheckIDs validates a list of rule IDs (for flags).
func CheckIDs(ids []string) error {
	var unknown []string
	for _, id := range ids {
		if _, ok := ruleByID(id); !ok {
			unknown = append(unknown, fmt.Sprintf("%q", id))
		}
	}
	if len(unknown) > 0 {
		all := make([]string, len(rules))
		for i, r := range rules {
			all[i] = r.ID
		}
		return fmt.Errorf("unknown rule %s (rules: %s)", strings.Join(unknown, ", "), strings.Join(all, ", "))
	}
	return nil
}

func (o Options) enabled() (map[string]bool, error) {
	if err := CheckIDs(o.Enable); err != nil {
		return nil, err
	}
	if err := CheckIDs(o.Disable); err != nil {
		return nil, err
	}
	on := map[string]bool{}
	for _, r := range rules {
		on[r.ID] = len(o.Enable) == 0 || slices.Contains(o.Enable, r.ID)
	}
	for _, id := range o.Disable {
		on[id] = false
	}
	return on, nil
}

func (o Options) zoneOptions() (zone.Options, error) {
	zo := zone.DefaultOptions()
	if len(o.Zones) > 0 {
		zo.Zones = o.Zones
	}
	if _, err := zone.Empty(zo); err != nil {
		return zo, err
	}
	return zo, nil
}

// linter holds one run.
type linter struct {
	objs     []*object
	enabled  map[string]bool
	findings []Finding

	state *cluster.State
	snap  *zone.Snapshot
	zone  string // "cluster.local."

	services   map[nsName]*serviceEntry
	svcOrder   []*serviceEntry
	svcByNS    map[string][]*serviceEntry
	byOrigin   map[cluster.Origin]*object
	pods       map[*object][]*cluster.Pod
	podIndex   *controller.PodIndex
	slices     map[nsName][]*cluster.EndpointSlice
	workloads  map[string][]*object // pod-making objects by namespace
	references map[*object][]reference
	srvRefs    map[nsName][]reference // _port._proto.<service> names, by service
}

type nsName struct{ namespace, name string }

type serviceEntry struct {
	obj *object
	svc *cluster.Service
}

func run(in *inputs, opts Options, enabled map[string]bool, zopts zone.Options) *Report {
	l := &linter{objs: in.objs, enabled: enabled}
	rep := &Report{Objects: len(in.objs)}

	// Values Decode rejects that a rule is about become findings of that
	// rule; everything else Decode reports is an input error.
	absorbed := map[string]bool{}
	for _, o := range in.objs {
		for _, p := range o.FieldProblems() {
			if l.fieldProblem(o, p) {
				absorbed[p.Err.Error()] = true
			}
		}
	}
	errs := slices.DeleteFunc(slices.Clone(in.errs), func(e InputError) bool {
		return e.raw != "" && absorbed[e.raw]
	})
	if len(errs) == 0 {
		l.derive(in, opts, zopts, &errs)
	}
	if len(errs) > 0 {
		sortErrors(errs, in.files)
		rep.Errors = errs
		return rep
	}
	l.collect()
	l.checkWorkloads()
	l.checkServices()
	l.checkImports()

	rep.Findings = l.findings
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(fileOrder(in.files, a.File), fileOrder(in.files, b.File)),
			strings.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			strings.Compare(a.Rule, b.Rule),
			strings.Compare(a.Message, b.Message))
	})
	return rep
}

func fileOrder(files map[string]int, f string) int {
	if i, ok := files[f]; ok {
		return i
	}
	return len(files)
}

func sortErrors(errs []InputError, files map[string]int) {
	slices.SortStableFunc(errs, func(a, b InputError) int {
		return cmp.Or(cmp.Compare(fileOrder(files, a.File), fileOrder(files, b.File)), cmp.Compare(a.Line, b.Line))
	})
}

// derive builds the state and the zone. Derivation problems (duplicate
// objects, exhausted CIDRs) are input errors.
func (l *linter) derive(in *inputs, opts Options, zopts zone.Options, errs *[]InputError) {
	objs := make([]manifest.Object, len(in.objs))
	for i, o := range in.objs {
		objs[i] = *o.Object
	}
	st, err := manifest.Derive(objs, opts.Manifest)
	if st == nil {
		*errs = append(*errs, InputError{Message: err.Error()})
		return
	}
	byOrigin := map[cluster.Origin]*object{}
	for _, o := range in.objs {
		byOrigin[o.Origin()] = o
	}
	for _, e := range manifest.Errors(err) {
		ie := fromManifestError(e)
		if o := byOrigin[cluster.Origin{File: e.File, Document: e.Document, Line: e.Line}]; o != nil && o.kustFile != "" {
			ie.File, ie.Line = o.at("")
			ie.Message = e.Err.Error() + " (as built by " + o.kustFile + ")"
		}
		*errs = append(*errs, ie)
	}
	if len(*errs) > 0 {
		return
	}
	snap, err := zone.Build(st, zopts)
	if err != nil {
		*errs = append(*errs, InputError{Message: err.Error()})
		return
	}
	l.state, l.snap, l.byOrigin = st, snap, byOrigin
	l.zone = snap.Zones()[0]
}

// collect indexes the state by the objects the findings are about.
func (l *linter) collect() {
	l.services = map[nsName]*serviceEntry{}
	l.svcByNS = map[string][]*serviceEntry{}
	l.pods = map[*object][]*cluster.Pod{}
	l.slices = map[nsName][]*cluster.EndpointSlice{}
	l.workloads = map[string][]*object{}
	for i := range l.state.Services {
		s := &l.state.Services[i]
		l.services[nsName{s.Namespace, s.Name}] = &serviceEntry{svc: s}
	}
	for _, o := range l.objs {
		if o.Kind == "Service" && o.Typed != nil {
			if e := l.services[nsName{o.Namespace, o.Name}]; e != nil && e.obj == nil {
				e.obj = o
				l.svcOrder = append(l.svcOrder, e)
				l.svcByNS[o.Namespace] = append(l.svcByNS[o.Namespace], e)
			}
		}
		if _, ok := templateOf(o); ok {
			l.workloads[o.Namespace] = append(l.workloads[o.Namespace], o)
		}
	}
	allPods := make([]*cluster.Pod, len(l.state.Pods))
	for i := range l.state.Pods {
		p := &l.state.Pods[i]
		allPods[i] = p
		if o := l.objectOf(p.Origin); o != nil {
			l.pods[o] = append(l.pods[o], p)
		}
	}
	l.podIndex = controller.NewPodIndex(allPods)
	for i := range l.state.EndpointSlices {
		es := &l.state.EndpointSlices[i]
		k := nsName{es.Namespace, es.ServiceName}
		l.slices[k] = append(l.slices[k], es)
	}
	l.references = map[*object][]reference{}
	l.srvRefs = map[nsName][]reference{}
	for _, r := range collectReferences(l.objs) {
		l.references[r.obj] = append(l.references[r.obj], r)
		if k, ok := srvTarget(r); ok {
			l.srvRefs[k] = append(l.srvRefs[k], r)
		}
	}
}

func (l *linter) objectOf(o cluster.Origin) *object {
	o.Derived = ""
	return l.byOrigin[o]
}

// report adds a finding about a field of an object. fix "" is the rule's.
func (l *linter) report(o *object, rule string, sev Severity, field, msg, fix string) {
	if !l.enabled[rule] {
		return
	}
	r, _ := ruleByID(rule)
	if fix == "" {
		fix = strings.ReplaceAll(r.Fix, "`", "")
	}
	file, line := o.at(field)
	l.findings = append(l.findings, Finding{
		Rule:       rule,
		Severity:   sev,
		Message:    o.Ref().String() + ": " + msg,
		Fix:        fix,
		File:       file,
		Line:       line,
		Object:     o.Ref(),
		Field:      field,
		Template:   o.template,
		Suppressed: slices.Contains(o.ignore, rule),
	})
}
