package controller

import (
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// The EndpointSlice controller's rules (k8s.io/endpointslice), for the
// derivation and for diagnostics (explain, lint) that must say why a pod is
// or is not an endpoint: they call these, never a restatement of them.

// SelectorMatches reports whether a Service selector selects the labels.
// An empty selector selects nothing: a Service without one is selectorless.
func SelectorMatches(selector, labels map[string]string) bool {
	return len(selector) > 0 && selectorMatches(selector, labels)
}

// selectorMatches is labels.Set(selector).AsSelector().Matches: every pair
// of the selector is in the labels (an empty selector matches everything).
func selectorMatches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// PodIsEndpoint is endpointslice/util.ShouldPodBeInEndpoints with
// terminating pods included (as the controller does for EndpointSlices):
// the pod is not terminal (Succeeded, Failed) and has an IP.
func PodIsEndpoint(pod *cluster.Pod) bool {
	r := podState(pod)
	return r.listed()
}

// PodEndpoint is the endpoint the controller writes for the pod behind the
// service in one address family (conditions, hostname), if it writes one:
// the service selects the pod, the pod is an endpoint (PodIsEndpoint) and
// it has an address of the family.
func PodEndpoint(pod *cluster.Pod, svc *cluster.Service, family cluster.AddressType) (cluster.Endpoint, bool) {
	return Membership(pod, svc).endpoint(pod, family)
}

// TargetPort is endpointslice.FindPort: the port a service port sends to on
// the pod. An unset targetPort is the service port, a number is itself, a
// name is the container port of that name and the service port's protocol
// (containers first, then sidecars); false when no container port has it,
// and the controller then leaves the port out of the pod's endpoint.
func TargetPort(pod *cluster.Pod, sp cluster.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Name != "":
		for _, cp := range pod.Ports {
			if cp.Name == sp.TargetPort.Name && cp.Protocol == sp.Protocol {
				return cp.ContainerPort, true
			}
		}
		return 0, false
	case sp.TargetPort.Number != 0:
		return sp.TargetPort.Number, true
	}
	return sp.Port, true
}

// Reason says why a pod is or is not an endpoint of a service, and for an
// endpoint in what state its pod is.
type Reason uint8

// Reasons, in the order the controller decides them.
const (
	// NotSelected: the service has no selector, is in another namespace
	// or its selector does not select the pod's labels.
	NotSelected Reason = iota
	// Finished: the pod is Succeeded or Failed; terminal pods are left out.
	Finished
	// NotScheduled: the pod is Pending on no node and has no IP yet.
	NotScheduled
	// NoIP: the pod has no IP; the controller leaves it out until it has.
	NoIP
	// Terminating: the pod has a deletion timestamp. It is listed, serving
	// as long as it is Ready, and not ready (unless the service publishes
	// not-ready addresses).
	Terminating
	// NotReady: the pod's Ready condition is false. It is listed, not
	// ready (unless the service publishes not-ready addresses).
	NotReady
	// Ready: the pod is listed and ready.
	Ready
)

var reasonNames = [...]string{
	NotSelected:  "not selected",
	Finished:     "finished",
	NotScheduled: "not scheduled",
	NoIP:         "no IP",
	Terminating:  "terminating",
	NotReady:     "not ready",
	Ready:        "ready",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// listed reports whether the controller writes an endpoint for a pod in
// this state.
func (r Reason) listed() bool { return r >= Terminating }

// HostnameReason says whether an endpoint gets its pod's hostname.
type HostnameReason uint8

// Hostname reasons (ShouldSetHostname).
const (
	// HostnamePublished: the pod has a hostname and its subdomain is the
	// service's name.
	HostnamePublished HostnameReason = iota
	// NoHostname: the pod's spec.hostname is empty.
	NoHostname
	// SubdomainDiffers: the pod's spec.subdomain is not the service's name
	// (compared exactly, as the controller does).
	SubdomainDiffers
)

var hostnameReasonNames = [...]string{
	HostnamePublished: "hostname published",
	NoHostname:        "no hostname",
	SubdomainDiffers:  "subdomain is not the service name",
}

func (r HostnameReason) String() string {
	if int(r) < len(hostnameReasonNames) {
		return hostnameReasonNames[r]
	}
	return "unknown"
}

// PodMembership is what the EndpointSlice controller makes of one pod for
// one service.
type PodMembership struct {
	// Reason is why the pod is not an endpoint or, for an endpoint
	// (Listed), the state of its pod.
	Reason Reason
	// Conditions are the conditions of the pod's endpoint; all unset when it
	// is not listed. Ready is what decides DNS: publishNotReadyAddresses
	// makes every listed pod ready whatever its Reason.
	Conditions cluster.EndpointConditions
	// Hostname is the hostname of the pod's endpoint (or of the endpoint
	// it would have if it were listed), "" when none is published, and
	// HostnameReason why. Both are set for every pod, selected or not.
	Hostname       string
	HostnameReason HostnameReason
}

// Listed reports whether the controller writes an endpoint for the pod (in
// each family it has an address of).
func (m PodMembership) Listed() bool { return m.Reason.listed() }

// Ready reports whether the pod's endpoint is listed and ready.
func (m PodMembership) Ready() bool {
	return m.Listed() && m.Conditions.Ready.IsTrue()
}

// Membership says whether the service's EndpointSlices list the pod, why
// not, with which conditions, and whether under its hostname. PodEndpoint
// and the derivation are built on it, so they cannot disagree.
func Membership(pod *cluster.Pod, svc *cluster.Service) PodMembership {
	if pod.Namespace != svc.Namespace || !SelectorMatches(svc.Selector, pod.Labels) {
		m := PodMembership{Reason: NotSelected}
		m.setHostname(pod, svc)
		return m
	}
	return membership(pod, svc)
}

// membership is Membership for a pod the service selects.
func membership(pod *cluster.Pod, svc *cluster.Service) PodMembership {
	m := PodMembership{Reason: podState(pod)}
	m.setHostname(pod, svc)
	if !m.Listed() {
		return m
	}
	// podToEndpoint: serving is the Ready condition, ready also needs the
	// pod not to be terminating, unless the service publishes not-ready
	// addresses.
	serving := pod.Ready
	terminating := pod.Terminating()
	m.Conditions = cluster.EndpointConditions{
		Ready:       cluster.Bool(svc.PublishNotReadyAddresses || (serving && !terminating)),
		Serving:     cluster.Bool(serving),
		Terminating: cluster.Bool(terminating),
	}
	return m
}

// podState is the Reason of a selected pod.
func podState(pod *cluster.Pod) Reason {
	switch {
	case pod.Phase == cluster.PodSucceeded || pod.Phase == cluster.PodFailed:
		return Finished
	case len(pod.IPs) == 0 && pod.Phase == cluster.PodPending && pod.NodeName == "":
		return NotScheduled
	case len(pod.IPs) == 0:
		return NoIP
	case pod.Terminating():
		return Terminating
	case !pod.Ready:
		return NotReady
	}
	return Ready
}

// setHostname is ShouldSetHostname: a hostname and a subdomain naming this
// service (in its namespace), compared exactly.
func (m *PodMembership) setHostname(pod *cluster.Pod, svc *cluster.Service) {
	switch {
	case pod.Hostname == "":
		m.HostnameReason = NoHostname
	case pod.Subdomain != svc.Name || pod.Namespace != svc.Namespace:
		m.HostnameReason = SubdomainDiffers
	default:
		m.HostnameReason, m.Hostname = HostnamePublished, pod.Hostname
	}
}

// endpoint is endpointslice.podToEndpoint: the endpoint of a listed pod for
// one address family, if the pod has addresses of it.
func (m PodMembership) endpoint(pod *cluster.Pod, family cluster.AddressType) (cluster.Endpoint, bool) {
	if !m.Listed() {
		return cluster.Endpoint{}, false
	}
	var addrs []netip.Addr
	for _, a := range pod.IPs {
		if cluster.FamilyOf(a) == family {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return cluster.Endpoint{}, false
	}
	return cluster.Endpoint{
		Addresses:  cluster.AddressesOf(addrs...),
		Hostname:   m.Hostname,
		Conditions: m.Conditions,
		TargetRef:  &cluster.ObjectRef{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name},
	}, true
}
