// Package explain says why a DNS name of the cluster zone does or does not
// resolve. It asks the record engine (package zone) for the verdict, walks
// the decision tree of the seed document (headless? query type? named port?
// hostname on the EndpointSlice? ready?) over the cluster state, and names
// every cause it finds, with the object and field and a concrete fix.
//
// It derives no record itself: the answer is zone.Lookup's, on a snapshot
// built by zone.Build from the objects the name depends on. It does not talk
// to an API server (the caller brings a cluster.State) and it queries a DNS
// server only through Compare.
package explain

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Severities of causes, most severe first.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Cause codes: a contract (README, tests). Do not rename.
const (
	CodeNamespaceNotFound          = "namespace-not-found"
	CodeServiceNotFound            = "service-not-found"
	CodeNotInZone                  = "not-in-zone"
	CodeServiceNotHeadless         = "service-not-headless"
	CodeHeadlessNoPorts            = "headless-no-ports"
	CodePortUnnamed                = "port-unnamed"
	CodePortNameNotFound           = "port-name-not-found"
	CodePortProtocolMismatch       = "port-protocol-mismatch"
	CodeSelectorMatchesNoPods      = "selector-matches-no-pods"
	CodeSelectorlessNoEndpoints    = "selectorless-no-endpoints"
	CodeEndpointSlicePortMismatch  = "endpointslice-port-mismatch"
	CodePodNoHostname              = "pod-no-hostname"
	CodePodSubdomainMismatch       = "pod-subdomain-mismatch"
	CodePodSubdomainServiceMissing = "pod-subdomain-service-missing"
	CodeEndpointSliceNoHostname    = "endpointslice-missing-hostname"
	CodePodNotReady                = "pod-not-ready"
	CodePodTerminating             = "pod-terminating"
	CodePodNoIP                    = "pod-no-ip"
	CodePodNotScheduled            = "pod-not-scheduled"
	CodeNoReadyEndpoints           = "no-ready-endpoints"
	CodePublishNotReadyInUse       = "publish-not-ready-in-use"
	CodeHostnameInvalid            = "hostname-invalid"
	CodeSearchPathExpansion        = "search-path-expansion"
	CodeExternalNameTarget         = "externalname-target"
	CodeServerDisagrees            = "server-disagrees"
	CodeServerUnreachable          = "server-unreachable"
	CodeAutopath                   = "autopath"
	CodeZonalOff                   = "zonal-off"
	CodeZonalZoneEmpty             = "zonal-zone-empty"
	CodeZonalFallback              = "zonal-prefer-fallback"
	CodeImportNotFound             = "serviceimport-not-found"
	CodeImportNoEndpoints          = "serviceimport-no-endpoints"
	CodeImportNoPorts              = "serviceimport-no-ports"
	CodeMulticlusterNoCluster      = "multicluster-endpoint-needs-cluster"
)

// Codes lists every cause code, for documentation and tests.
var Codes = []string{
	CodeNamespaceNotFound, CodeServiceNotFound, CodeNotInZone, CodeServiceNotHeadless,
	CodeHeadlessNoPorts, CodePortUnnamed, CodePortNameNotFound, CodePortProtocolMismatch,
	CodeSelectorMatchesNoPods, CodeSelectorlessNoEndpoints, CodeEndpointSlicePortMismatch,
	CodePodNoHostname, CodePodSubdomainMismatch, CodePodSubdomainServiceMissing,
	CodeEndpointSliceNoHostname, CodePodNotReady, CodePodTerminating, CodePodNoIP,
	CodePodNotScheduled, CodeNoReadyEndpoints, CodePublishNotReadyInUse, CodeHostnameInvalid,
	CodeSearchPathExpansion, CodeExternalNameTarget, CodeServerDisagrees, CodeServerUnreachable,
	CodeAutopath, CodeZonalOff, CodeZonalZoneEmpty, CodeZonalFallback, CodeImportNotFound,
	CodeImportNoEndpoints, CodeImportNoPorts, CodeMulticlusterNoCluster,
}

// Step is one decision on the path through the tree.
type Step struct {
	Check  string `json:"check"`
	Result string `json:"result"`
	Object string `json:"object,omitempty"`
	Field  string `json:"field,omitempty"`
	Where  string `json:"where,omitempty"`
}

// Cause is one reason a name does not resolve as asked, or a notable fact.
type Cause struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Object   string `json:"object,omitempty"`
	Field    string `json:"field,omitempty"`
	Where    string `json:"where,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// ServerResult is what a live DNS server answered for the same question.
type ServerResult struct {
	Address string   `json:"address"`
	Rcode   string   `json:"rcode,omitempty"`
	Answer  []string `json:"answer"`
	Agrees  bool     `json:"agrees"`
	Error   string   `json:"error,omitempty"`
}

// Query is one question a client's search path sends for a short name.
type Query struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Rcode string `json:"rcode"`
}

// Result is the explanation of one question.
type Result struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Rcode  string   `json:"rcode"`
	Answer []string `json:"answer"`
	// Authority holds the SOA of a negative answer.
	Authority []string      `json:"authority,omitempty"`
	Path      []Step        `json:"path"`
	Causes    []Cause       `json:"causes"`
	Queries   []Query       `json:"queries,omitempty"`
	Server    *ServerResult `json:"server,omitempty"`
	// Records are the sources of the answer's records.
	Sources []string `json:"sources,omitempty"`

	qtype  uint16
	answer *zone.Answer
}

// Resolves reports whether the question gets data: NOERROR with at least one
// record of the asked type (or a CNAME leading to it).
func (r *Result) Resolves() bool {
	return r.Rcode == dns.RcodeToString[dns.RcodeSuccess] && len(r.Answer) > 0
}

// HasErrors reports whether any cause has error severity.
func (r *Result) HasErrors() bool {
	for _, c := range r.Causes {
		if c.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Explainer answers questions about one cluster state. Building it indexes
// the state once; each explanation then touches only what the name depends
// on.
type Explainer struct {
	state *cluster.State
	opts  zone.Options
	// base is the engine over the namespaces alone: it reads names
	// (zone, schema) and says which namespaces are served.
	base  *zone.Snapshot
	zones []string // canonical forward zones, the first one first

	namespaces  map[string]*cluster.Namespace
	services    map[string]*cluster.Service   // "ns/name"
	svcsByNS    map[string][]*cluster.Service // ns
	slicesBySvc map[string][]*cluster.EndpointSlice
	// imports and slicesByImport are the ServiceImports and their MCS
	// EndpointSlices (multicluster zones).
	imports        map[string]*cluster.ServiceImport
	slicesByImport map[string][]*cluster.EndpointSlice
	podsByNS       map[string][]*cluster.Pod
	pods           map[string]*cluster.Pod // "ns/name"
	byIP           map[netip.Addr][]string // service keys whose ClusterIPs or slices hold the IP

	// Search expands short names (nil: names are taken as fully qualified).
	Search SearchFunc

	// autopath is the configuration of the server's autopath, when on
	// (SetAutopath); full is the engine over the whole state it decides
	// on, built when first needed.
	autopath *autopath.Config
	full     *zone.Snapshot

	// snaps keeps the last sub-state snapshots built (snapshot), by the
	// services and pod namespaces they hold: explaining every name of a
	// Service (doctor) builds its snapshot once, not once per name.
	mu    sync.Mutex
	snaps map[string]*zone.Snapshot
}

// maxSnaps bounds the snapshots kept.
const maxSnaps = 16

// New indexes a state for explanations with the zone options the server uses.
func New(state *cluster.State, opts zone.Options) (*Explainer, error) {
	base, err := zone.Build(&cluster.State{Namespaces: state.Namespaces}, opts)
	if err != nil {
		return nil, err
	}
	e := &Explainer{
		state:          state,
		opts:           base.Options(),
		base:           base,
		zones:          base.Options().Zones,
		namespaces:     map[string]*cluster.Namespace{},
		services:       map[string]*cluster.Service{},
		svcsByNS:       map[string][]*cluster.Service{},
		slicesBySvc:    map[string][]*cluster.EndpointSlice{},
		imports:        map[string]*cluster.ServiceImport{},
		slicesByImport: map[string][]*cluster.EndpointSlice{},
		podsByNS:       map[string][]*cluster.Pod{},
		pods:           map[string]*cluster.Pod{},
		byIP:           map[netip.Addr][]string{},
	}
	e.Search = ResolverSearch(e.zones[0])
	e.index(state)
	return e, nil
}

// index keys the state's objects the way explanations look them up.
func (e *Explainer) index(state *cluster.State) {
	for i := range state.Namespaces {
		n := &state.Namespaces[i]
		e.namespaces[strings.ToLower(n.Name)] = n
	}
	for i := range state.Services {
		s := &state.Services[i]
		k := key(s.Namespace, s.Name)
		e.services[k] = s
		e.svcsByNS[strings.ToLower(s.Namespace)] = append(e.svcsByNS[strings.ToLower(s.Namespace)], s)
		for _, ip := range s.ClusterIPs {
			e.byIP[ip.Unmap()] = appendOnce(e.byIP[ip.Unmap()], k)
		}
	}
	for i := range state.ServiceImports {
		si := &state.ServiceImports[i]
		e.imports[key(si.Namespace, si.Name)] = si
	}
	for i := range state.EndpointSlices {
		es := &state.EndpointSlices[i]
		if es.ImportName != "" {
			ik := key(es.Namespace, es.ImportName)
			e.slicesByImport[ik] = append(e.slicesByImport[ik], es)
		}
		k := key(es.Namespace, es.ServiceName)
		e.slicesBySvc[k] = append(e.slicesBySvc[k], es)
		for _, ep := range es.Endpoints {
			for _, a := range ep.Addresses.All() {
				e.byIP[a.Unmap()] = appendOnce(e.byIP[a.Unmap()], k)
			}
		}
	}
	for i := range state.Pods {
		p := &state.Pods[i]
		e.podsByNS[strings.ToLower(p.Namespace)] = append(e.podsByNS[strings.ToLower(p.Namespace)], p)
		e.pods[key(p.Namespace, p.Name)] = p
	}
}

func key(ns, name string) string { return strings.ToLower(ns) + "/" + strings.ToLower(name) }

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// snapshot builds the zone over the objects a set of services depends on:
// every namespace, those services and their slices, and the pods of their
// namespaces. Names under a service depend only on it (and PTRs on the
// services holding the address), so its answers equal those of the whole
// cluster's snapshot.
func (e *Explainer) snapshot(svcKeys []string, podNS []string) *zone.Snapshot {
	id := strings.Join(svcKeys, ",") + "|" + strings.Join(podNS, ",")
	e.mu.Lock()
	snap, ok := e.snaps[id]
	e.mu.Unlock()
	if ok {
		return snap
	}
	snap = e.build(svcKeys, podNS)
	e.mu.Lock()
	if e.snaps == nil || len(e.snaps) >= maxSnaps {
		e.snaps = map[string]*zone.Snapshot{}
	}
	e.snaps[id] = snap
	e.mu.Unlock()
	return snap
}

// build builds the snapshot of snapshot.
func (e *Explainer) build(svcKeys []string, podNS []string) *zone.Snapshot {
	sub := &cluster.State{Namespaces: e.state.Namespaces}
	seen := map[string]bool{}
	for _, k := range svcKeys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if s := e.services[k]; s != nil {
			sub.Services = append(sub.Services, *s)
		}
		for _, es := range e.slicesBySvc[k] {
			sub.EndpointSlices = append(sub.EndpointSlices, *es)
		}
		if si := e.imports[k]; si != nil {
			sub.ServiceImports = append(sub.ServiceImports, *si)
			for _, es := range e.slicesByImport[k] {
				if es.ServiceName == "" { // not added above
					sub.EndpointSlices = append(sub.EndpointSlices, *es)
				}
			}
		}
	}
	for _, ns := range podNS {
		for _, p := range e.podsByNS[ns] {
			sub.Pods = append(sub.Pods, *p)
		}
	}
	snap, err := zone.Build(sub, e.opts)
	if err != nil {
		// New validated the options; Build cannot fail on them.
		panic(err)
	}
	return snap
}

// Explain explains one question. A name without a trailing dot and with
// fewer dots than ndots is first expanded through the search path of a pod
// in namespace (see ExplainShort).
func (e *Explainer) Explain(qname string, qtype uint16) *Result {
	r := &Result{Name: dns.Fqdn(qname), Type: dns.TypeToString[qtype], qtype: qtype, Answer: []string{}, Path: []Step{}, Causes: []Cause{}}
	n := e.base.NameFacts(qname)
	var snap *zone.Snapshot
	if !n.InZone() {
		snap = e.snapshot(nil, nil)
		r.step("zone", fmt.Sprintf("%s is outside the served zones (%s)", r.Name, strings.Join(e.base.Zones(), " ")), "", "", cluster.Origin{})
		r.add(Cause{Code: CodeNotInZone, Severity: SeverityError,
			Message: fmt.Sprintf("%s is not in the cluster zone; clusterdns refuses it and a pod's resolver would ask its upstream", r.Name),
			Fix:     fmt.Sprintf("names in the cluster end in .%s (services) or .%s (pods); check the zone (--zone) and the spelling", schema.SvcDomain(e.zones[0]), schema.PodDomain(e.zones[0]))})
	} else {
		r.step("zone", n.Zone+" is served", "", "", cluster.Origin{})
		snap = e.walk(r, n)
	}
	r.setVerdict(snap, qname, qtype)
	e.addAutopath(r, qname, qtype)
	sortCauses(r.Causes)
	return r
}

func (r *Result) setVerdict(snap *zone.Snapshot, qname string, qtype uint16) {
	a := snap.Lookup(qname, qtype)
	r.answer = a
	r.Rcode = dns.RcodeToString[a.Rcode]
	for _, rec := range a.Answer {
		r.Answer = append(r.Answer, rec.RR.String())
		if s := rec.From.String(); s != "" {
			r.Sources = append(r.Sources, s)
		}
	}
	for _, rec := range a.Ns {
		r.Authority = append(r.Authority, rec.RR.String())
	}
}

func (r *Result) step(check, result, object, field string, o cluster.Origin) {
	r.Path = append(r.Path, Step{Check: check, Result: result, Object: object, Field: field, Where: o.String()})
}

func (r *Result) add(c Cause) {
	for _, x := range r.Causes {
		if x.Code == c.Code && x.Object == c.Object && x.Field == c.Field {
			return
		}
	}
	r.Causes = append(r.Causes, c)
}

var severityRank = map[string]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}

// sortCauses orders causes most likely first: errors, then warnings, then
// facts, keeping the order the walk found them in otherwise.
func sortCauses(cs []Cause) {
	sort.SliceStable(cs, func(i, j int) bool { return severityRank[cs[i].Severity] < severityRank[cs[j].Severity] })
}
