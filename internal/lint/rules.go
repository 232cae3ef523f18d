package lint

import (
	"fmt"
	"slices"
	"strings"
)

// Severity is how bad a finding is. The zero value is Info.
type Severity int

// Severities, in increasing order.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// ParseSeverity parses "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, fmt.Errorf("severity %q: want error, warning or info", s)
}

// sarifLevel is the SARIF 2.1.0 level of a severity.
func (s Severity) sarifLevel() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "note"
}

// Rule describes one check. IDs are stable: they are what --disable and the
// clusterdns.io/lint-ignore annotation name.
type Rule struct {
	ID string
	// Severity is the usual severity; a few rules report some findings
	// lower or higher, as their Summary says.
	Severity Severity
	// Summary says what the rule finds, in one line.
	Summary string
	// Fix is the usual fix, in one line. Findings carry a fix specific to
	// the case.
	Fix string
}

// Rule IDs.
const (
	RuleSubdomainNoService          = "subdomain-no-service"
	RuleSubdomainServiceNotHeadless = "subdomain-service-not-headless"
	RuleSubdomainServiceNotSelected = "subdomain-service-not-selecting"
	RuleHostnameWithoutSubdomain    = "hostname-without-subdomain"
	RuleStatefulSetServiceMissing   = "statefulset-service-missing"
	RuleStatefulSetNotHeadless      = "statefulset-service-not-headless"
	RuleHeadlessPortUnnamed         = "headless-port-unnamed"
	RuleHeadlessNoPorts             = "headless-no-ports"
	RuleSelectorMatchesNothing      = "selector-matches-nothing"
	RuleSelectorlessNoEndpoints     = "selectorless-no-endpoints"
	RuleTargetPortNameUnknown       = "target-port-name-unknown"
	RulePublishNotReady             = "publish-not-ready"
	RuleLabelInvalid                = "label-invalid"
	RuleNdotsShortNames             = "ndots-short-names"
	RuleDNSConfigInvalid            = "dnsconfig-invalid"
	RuleImportNoEndpoints           = "serviceimport-no-endpoints"
	RuleImportNoHostnames           = "serviceimport-headless-no-hostnames"
	RuleImportSliceNoCluster        = "serviceimport-slice-no-cluster"
)

var rules = []Rule{
	{RuleSubdomainNoService, Error,
		"a pod (template) `subdomain` names no Service in its namespace: its `<hostname>.<subdomain>` name does not exist",
		"set `subdomain` to the name of the headless Service that selects the pod, or create that Service"},
	{RuleSubdomainServiceNotHeadless, Warning,
		"`subdomain` names a Service with a cluster IP (or an ExternalName): the Service name answers the cluster IP, not the pods",
		"set `clusterIP: None` on the Service, or point `subdomain` at a headless Service"},
	{RuleSubdomainServiceNotSelected, Error,
		"`subdomain` (or a StatefulSet's `serviceName`) names a headless Service whose selector does not select the pods: no per-pod names",
		"make the Service's selector match the pod template's labels"},
	{RuleHostnameWithoutSubdomain, Warning,
		"`hostname` is set but `subdomain` is not: the pod gets no DNS name",
		"set `subdomain` to the name of a headless Service that selects the pod"},
	{RuleStatefulSetServiceMissing, Error,
		"a StatefulSet's `serviceName` names no Service in its namespace (warning when `serviceName` is empty: it is optional, but the pods then get no per-pod names)",
		"create a headless Service named as `serviceName` that selects the pods"},
	{RuleStatefulSetNotHeadless, Warning,
		"a StatefulSet's `serviceName` names a Service with a cluster IP: the Service name answers the cluster IP, not the peers",
		"set `clusterIP: None` on the Service, or name a headless Service in `serviceName`"},
	{RuleHeadlessPortUnnamed, Warning,
		"a headless Service port has no `name`, so it has no `_<name>._<proto>` SRV record (error when the Service has several ports, or its targetPort or a workload refers to a port by name)",
		"give every port of the Service a `name`"},
	{RuleHeadlessNoPorts, Warning,
		"a headless Service has no ports: A records and per-pod names still exist, SRV records do not",
		"add the ports clients look up with SRV, each with a `name`"},
	{RuleSelectorMatchesNothing, Warning,
		"no pod or pod template in the inputs matches a Service's selector, so it has no endpoints (info when the inputs hold no workload in that namespace)",
		"fix the selector or the pod template labels so that they match, and lint the Service together with its workloads"},
	{RuleSelectorlessNoEndpoints, Warning,
		"a Service without a selector has no EndpointSlice or Endpoints in the inputs",
		"add an EndpointSlice labelled `kubernetes.io/service-name: <service>` (or v1 Endpoints named as the Service)"},
	{RuleTargetPortNameUnknown, Error,
		"a named `targetPort` is declared by no container of the pods the Service selects: the port is left out of their endpoints",
		"name the container port as the `targetPort` (same protocol), or use the port number"},
	{RulePublishNotReady, Info,
		"`publishNotReadyAddresses: true`: pods are in DNS before they are Ready",
		"remove `publishNotReadyAddresses` unless peers must find each other before they are Ready"},
	{RuleLabelInvalid, Error,
		"a hostname, subdomain, StatefulSet serviceName, Service or namespace name that is not a DNS label, or a port name that breaks the IANA service-name rules (15 characters)",
		"use lower-case letters, digits and '-' (at most 63 characters; port names at most 15 with a letter)"},
	{RuleNdotsShortNames, Info,
		"a workload on ClusterFirst DNS refers (in env, args or command) to an in-cluster name with fewer dots than ndots: each lookup first tries the search path",
		"write the name fully qualified with a trailing dot, or set a lower ndots in `dnsConfig.options`"},
	{RuleDNSConfigInvalid, Error,
		"`dnsPolicy`/`dnsConfig` the API server rejects or the kubelet ignores (None without nameservers, more than 3 nameservers, ClusterFirst with hostNetwork, ...)",
		"fix `dnsPolicy` and `dnsConfig` as the message says"},
	{RuleImportNoEndpoints, Warning,
		"a ServiceImport (Multi-Cluster Services) has no EndpointSlice labelled `multicluster.kubernetes.io/service-name` in the inputs: a Headless import has no names in the multicluster zone (info for a ClusterSetIP import, whose clusterset IP still answers)",
		"export the Service from the clusters that serve it; the MCS implementation writes the slices"},
	{RuleImportNoHostnames, Warning,
		"a Headless ServiceImport's endpoints have no `hostname`: their `<endpoint>.<cluster>.<svc>` names are dashed IPs that change when a pod moves (info when only some lack one)",
		"back the exported Service with a StatefulSet (its pods get hostnames), or give the endpoints hostnames"},
	{RuleImportSliceNoCluster, Error,
		"an EndpointSlice labelled `multicluster.kubernetes.io/service-name` lacks `multicluster.kubernetes.io/source-cluster`: its endpoints are not published",
		"set the source-cluster label (the MCS implementation does)"},
}

// Rules returns every rule, in a stable order.
func Rules() []Rule { return slices.Clone(rules) }

func ruleByID(id string) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

func ruleIndex(id string) int {
	return slices.IndexFunc(rules, func(r Rule) bool { return r.ID == id })
}
