// Package cluster is the DNS-relevant object model of a Kubernetes cluster:
// Services, EndpointSlices, Pods and Namespaces with only the fields that
// decide DNS records, plus where each object came from.
//
// It holds no rules. Which records exist is decided by package zone; how
// workloads become pods and pods become EndpointSlices is decided by the
// controllers (package controller plays them for manifests, a live cluster
// runs the real ones). No client-go type crosses this boundary.
package cluster

import (
	"encoding/json"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"time"
)

// Protocol is a port protocol as Kubernetes spells it: "TCP", "UDP" or "SCTP".
type Protocol string

// Port protocols.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// ServiceType is spec.type of a Service.
type ServiceType string

// Service types.
const (
	ServiceTypeClusterIP    ServiceType = "ClusterIP"
	ServiceTypeNodePort     ServiceType = "NodePort"
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
	ServiceTypeExternalName ServiceType = "ExternalName"
)

// Origin says where an object was read from, so that diagnostics can point
// at it. For manifests it is a file, the 0-based index of the YAML/JSON
// document in that file and the line the object starts on. For objects read
// from an API server File is empty. Derived is set on objects the source
// made up the way a cluster would (pods of a StatefulSet, EndpointSlices of
// the EndpointSlice controller) and says from what.
type Origin struct {
	File     string
	Document int
	Line     int
	Derived  string
}

// String renders the origin as "file:line" (plus what it was derived from).
func (o Origin) String() string {
	var s string
	switch {
	case o.File != "" && o.Line > 0:
		s = fmt.Sprintf("%s:%d", o.File, o.Line)
	case o.File != "":
		s = o.File
	}
	if o.Derived != "" {
		if s != "" {
			return s + " (" + o.Derived + ")"
		}
		return o.Derived
	}
	return s
}

// ObjectRef names an object: "Service default/web".
type ObjectRef struct {
	Kind      string
	Namespace string
	Name      string
}

// String renders the reference as kubectl would name it: "Service default/web".
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// PortRef is a Service targetPort: a number, a name, or unset (zero value),
// which Kubernetes defaults to the service port.
type PortRef struct {
	Number int32
	Name   string
}

// IsZero reports whether the targetPort was left unset.
func (p PortRef) IsZero() bool { return p.Number == 0 && p.Name == "" }

// String renders the reference as written in a manifest.
func (p PortRef) String() string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprint(p.Number)
}

// ServicePort is one entry of Service spec.ports.
type ServicePort struct {
	Name       string
	Port       int32
	TargetPort PortRef
	Protocol   Protocol
}

// Service holds the DNS-relevant part of a v1 Service.
type Service struct {
	Name      string
	Namespace string
	Type      ServiceType
	// Headless is spec.clusterIP "None".
	Headless bool
	// PublishNotReadyAddresses is spec.publishNotReadyAddresses. (Next to
	// Headless: the two booleans share a word.)
	PublishNotReadyAddresses bool
	// ClusterIPs is spec.clusterIPs (spec.clusterIP first); empty when headless
	// or ExternalName.
	ClusterIPs []netip.Addr
	Ports      []ServicePort
	// Selector is spec.selector; nil means the service is selectorless and its
	// EndpointSlices are written by hand or by another controller.
	Selector     map[string]string
	ExternalName string
	Origin       Origin
}

// Ref returns the object reference of the service.
func (s *Service) Ref() ObjectRef {
	return ObjectRef{Kind: "Service", Namespace: s.Namespace, Name: s.Name}
}

// AddressType is EndpointSlice addressType.
type AddressType string

// EndpointSlice address types.
const (
	AddressTypeIPv4 AddressType = "IPv4"
	AddressTypeIPv6 AddressType = "IPv6"
	AddressTypeFQDN AddressType = "FQDN"
)

// FamilyOf returns the address family of an address: IPv4 for an IPv4
// address or an IPv4-mapped IPv6 one (::ffff:a.b.c.d), else IPv6. It is the
// one place the family of an address is decided.
func FamilyOf(a netip.Addr) AddressType {
	if a.Is4() || a.Is4In6() {
		return AddressTypeIPv4
	}
	return AddressTypeIPv6
}

// Condition is one of endpoints[].conditions as the API has it: unset,
// false or true (a *bool there; a byte here, as a zone holds one per
// endpoint per condition). The zero value is unset.
type Condition uint8

const (
	ConditionUnset Condition = iota
	ConditionFalse
	ConditionTrue
)

// Bool is the condition set to b.
func Bool(b bool) Condition {
	if b {
		return ConditionTrue
	}
	return ConditionFalse
}

// ConditionOf is the condition of the API's *bool (nil: unset).
func ConditionOf(b *bool) Condition {
	if b == nil {
		return ConditionUnset
	}
	return Bool(*b)
}

// IsSet reports whether the condition is written.
func (c Condition) IsSet() bool { return c != ConditionUnset }

// IsTrue reports whether the condition is set and true.
func (c Condition) IsTrue() bool { return c == ConditionTrue }

// IsFalse reports whether the condition is set and false.
func (c Condition) IsFalse() bool { return c == ConditionFalse }

// Ptr is the condition as the API writes it: nil when unset.
func (c Condition) Ptr() *bool {
	if c == ConditionUnset {
		return nil
	}
	b := c == ConditionTrue
	return &b
}

// String is "true", "false" or "unset".
func (c Condition) String() string {
	switch c {
	case ConditionTrue:
		return "true"
	case ConditionFalse:
		return "false"
	}
	return "unset"
}

// EndpointConditions are endpoints[].conditions. An unset condition is
// unknown; consumers of the EndpointSlice API read an unset Ready as ready.
type EndpointConditions struct {
	Ready       Condition
	Serving     Condition
	Terminating Condition
}

// Endpoint is one entry of EndpointSlice endpoints.
type Endpoint struct {
	Addresses Addresses
	Hostname  string
	// TargetRef is the object backing the endpoint, usually a Pod; nil if none.
	TargetRef *ObjectRef
	// Zone is the endpoint's topology zone (zonal names). Its nodeName is
	// not kept: no record or explanation reads it, and a zone holds one
	// endpoint per pod.
	Zone       string
	Conditions EndpointConditions
}

// EndpointPort is one entry of EndpointSlice ports. A nil Port means "all
// ports" in the API; DNS has nothing to publish for it.
type EndpointPort struct {
	Name     string
	Port     *int32
	Protocol Protocol
}

// EndpointSlice holds the DNS-relevant part of a discovery/v1 EndpointSlice.
type EndpointSlice struct {
	Name      string
	Namespace string
	// ServiceName is the kubernetes.io/service-name label; empty if missing,
	// in which case no DNS server attaches the slice to a service.
	ServiceName string
	AddressType AddressType
	Endpoints   []Endpoint
	Ports       []EndpointPort
	// ManagedBy is the endpointslice.kubernetes.io/managed-by label.
	ManagedBy string
	// ImportName is the multicluster.kubernetes.io/service-name label: the
	// slice holds endpoints of the ServiceImport of that name, in
	// SourceCluster (multicluster.kubernetes.io/source-cluster), for the
	// Multi-Cluster Services API.
	ImportName    string
	SourceCluster string
	// LastChangeTriggerTime is the endpoints.kubernetes.io/last-change-trigger-time
	// annotation; zero if absent.
	LastChangeTriggerTime time.Time
	Origin                Origin
}

// Ref returns the object reference of the slice.
func (e *EndpointSlice) Ref() ObjectRef {
	return ObjectRef{Kind: "EndpointSlice", Namespace: e.Namespace, Name: e.Name}
}

// PodPhase is status.phase of a Pod.
type PodPhase string

// Pod phases.
const (
	PodPending   PodPhase = "Pending"
	PodRunning   PodPhase = "Running"
	PodSucceeded PodPhase = "Succeeded"
	PodFailed    PodPhase = "Failed"
	PodUnknown   PodPhase = "Unknown"
)

// ContainerPort is a named or unnamed port declared by one of a pod's containers.
type ContainerPort struct {
	Name          string
	ContainerPort int32
	Protocol      Protocol
}

// Pod holds the DNS-relevant part of a v1 Pod.
type Pod struct {
	Name      string
	Namespace string
	Labels    map[string]string
	Hostname  string
	Subdomain string
	// IPs is status.podIPs (status.podIP first).
	IPs   []netip.Addr
	Phase PodPhase
	// Ready is the status of the Ready condition.
	Ready bool
	// DeletionTimestamp is set once the pod is terminating.
	DeletionTimestamp *time.Time
	Ports             []ContainerPort
	NodeName          string
	// Owner is the controlling workload (a StatefulSet, ...), if any.
	Owner  *ObjectRef
	Origin Origin
	// DNSPolicy is spec.dnsPolicy; "" means the API default, ClusterFirst.
	DNSPolicy DNSPolicy
	// DNSConfig is spec.dnsConfig; nil when absent.
	DNSConfig *PodDNSConfig
	// HostNetwork is spec.hostNetwork.
	HostNetwork bool
}

// DNSPolicy is spec.dnsPolicy of a Pod: how the kubelet writes its resolv.conf.
type DNSPolicy string

// DNS policies.
const (
	DNSClusterFirst            DNSPolicy = "ClusterFirst"
	DNSClusterFirstWithHostNet DNSPolicy = "ClusterFirstWithHostNet"
	DNSDefault                 DNSPolicy = "Default"
	DNSNone                    DNSPolicy = "None"
)

// PodDNSConfig is spec.dnsConfig of a Pod, merged by the kubelet into the
// resolv.conf its dnsPolicy gives.
type PodDNSConfig struct {
	Nameservers []string
	Searches    []string
	Options     []PodDNSOption
}

// PodDNSOption is one entry of spec.dnsConfig.options; Value is nil for an
// option without a value ("rotate").
type PodDNSOption struct {
	Name  string
	Value *string
}

// Ref returns the object reference of the pod.
func (p *Pod) Ref() ObjectRef {
	return ObjectRef{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
}

// Terminating reports whether the pod has a deletion timestamp.
func (p *Pod) Terminating() bool { return p.DeletionTimestamp != nil }

// Namespace is a v1 Namespace.
type Namespace struct {
	Name   string
	Origin Origin
}

// ServiceImportType is spec.type of a ServiceImport.
type ServiceImportType string

// ServiceImport types (multicluster.x-k8s.io/v1alpha1).
const (
	ServiceImportClusterSetIP ServiceImportType = "ClusterSetIP"
	ServiceImportHeadless     ServiceImportType = "Headless"
)

// ServiceImport holds the DNS-relevant part of a Multi-Cluster Services
// ServiceImport (multicluster.x-k8s.io/v1alpha1): a service exported by
// the clusters of a clusterset, named in a multicluster zone
// (clusterset.local). Its endpoints are the EndpointSlices whose ImportName
// is its name.
type ServiceImport struct {
	Name      string
	Namespace string
	Type      ServiceImportType
	// IPs is spec.ips: the clusterset IPs of a ClusterSetIP import.
	IPs    []netip.Addr
	Ports  []ServicePort
	Origin Origin
}

// Ref returns the object reference of the import.
func (s *ServiceImport) Ref() ObjectRef {
	return ObjectRef{Kind: "ServiceImport", Namespace: s.Namespace, Name: s.Name}
}

// State is a consistent view of the DNS-relevant objects of a cluster at one
// moment. Sources build it; zone.Build reads it and never changes it.
type State struct {
	Namespaces     []Namespace
	Services       []Service
	EndpointSlices []EndpointSlice
	Pods           []Pod
	// ServiceImports are read only when a multicluster zone is served.
	ServiceImports []ServiceImport
}

// Addresses are the addresses of an endpoint (endpoints[].addresses), in
// their order. An endpoint nearly always has exactly one, and a cluster
// holds one endpoint per pod, so one address is kept in place (32 bytes,
// no allocation) rather than in a slice (a 24-byte header and a 24-byte
// element in an array of its own); several are kept in one array. The zero
// value holds none. Values are immutable: AddressesOf copies.
type Addresses struct {
	one netip.Addr
	// many holds every address when there is more than one, or when the
	// only one is the zero netip.Addr (so that one's validity tells
	// whether it is set).
	many *[]netip.Addr
}

// AddressesOf returns the addresses as Addresses.
func AddressesOf(a ...netip.Addr) Addresses {
	switch {
	case len(a) == 0:
		return Addresses{}
	case len(a) == 1 && a[0].IsValid():
		return Addresses{one: a[0]}
	}
	many := slices.Clone(a)
	return Addresses{many: &many}
}

// Len is the number of addresses.
func (a Addresses) Len() int {
	if a.many != nil {
		return len(*a.many)
	}
	if a.one.IsValid() {
		return 1
	}
	return 0
}

// At returns the i-th address; it panics when i is out of range, as
// indexing a slice does.
func (a Addresses) At(i int) netip.Addr {
	if a.many != nil {
		return (*a.many)[i]
	}
	if i != 0 || !a.one.IsValid() {
		panic(fmt.Sprintf("cluster.Addresses: index %d out of range [0:%d]", i, a.Len()))
	}
	return a.one
}

// All yields each address with its index.
func (a Addresses) All() iter.Seq2[int, netip.Addr] {
	return func(yield func(int, netip.Addr) bool) {
		if a.many != nil {
			for i, x := range *a.many {
				if !yield(i, x) {
					return
				}
			}
			return
		}
		if a.one.IsValid() {
			yield(0, a.one)
		}
	}
}

// Slice returns the addresses in a new slice (nil when there are none).
func (a Addresses) Slice() []netip.Addr {
	if a.many != nil {
		return slices.Clone(*a.many)
	}
	if a.one.IsValid() {
		return []netip.Addr{a.one}
	}
	return nil
}

// Equal reports whether a and b hold the same addresses in the same order.
func (a Addresses) Equal(b Addresses) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i, x := range a.All() {
		if b.At(i) != x {
			return false
		}
	}
	return true
}

// String formats the addresses as a slice of them prints: [a b].
func (a Addresses) String() string { return fmt.Sprint(a.Slice()) }

// MarshalJSON encodes the addresses as a JSON array, as the slice they
// replace encoded.
func (a Addresses) MarshalJSON() ([]byte, error) {
	s := a.Slice()
	if s == nil {
		return []byte("null"), nil
	}
	return json.Marshal(s)
}
