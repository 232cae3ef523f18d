package controller

import (
	"fmt"
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// Object is one object as written to the control plane. Ref names it and
// Origin says where it was read: errors about it, and the objects derived
// from it, point there. At most one of the content fields is set, matching
// Ref.Kind; an Object with none (an EndpointSlice of addressType FQDN, or
// one whose values could not be read) only implies its namespace.
type Object struct {
	Ref    cluster.ObjectRef
	Origin cluster.Origin

	Namespace     *cluster.Namespace
	Service       *Service
	Pod           *cluster.Pod
	EndpointSlice *cluster.EndpointSlice
	Endpoints     *Endpoints
	Workload      *Workload
	ServiceImport *cluster.ServiceImport
}

// IPFamilyPolicy is spec.ipFamilyPolicy of a Service.
type IPFamilyPolicy string

// IP family policies.
const (
	SingleStack      IPFamilyPolicy = "SingleStack"
	PreferDualStack  IPFamilyPolicy = "PreferDualStack"
	RequireDualStack IPFamilyPolicy = "RequireDualStack"
)

// Service is a Service as written, before the API server allocates its
// cluster IPs: ClusterIPs holds the ones written, if any.
type Service struct {
	cluster.Service
	// IPFamilyPolicy is spec.ipFamilyPolicy; "" when unset.
	IPFamilyPolicy IPFamilyPolicy
	// IPFamilies is spec.ipFamilies as written.
	IPFamilies []cluster.AddressType
}

// Workload is a pod-creating object: a StatefulSet, Deployment, ReplicaSet,
// DaemonSet or Job (the Object's Ref.Kind).
type Workload struct {
	// Template is spec.template as a pod without name or status (Ready, no
	// IPs).
	Template cluster.Pod
	// Replicas is spec.replicas, or a Job's spec.parallelism; nil when
	// unset (1). A DaemonSet has one pod whatever it says: there are no
	// nodes to count.
	Replicas *int32
	// Completions is a Job's spec.completions; nil when unset.
	Completions *int32
	// Suspended is a Job's spec.suspend.
	Suspended bool
	// Indexed is a Job's completionMode Indexed.
	Indexed bool
	// ServiceName is a StatefulSet's spec.serviceName, the subdomain of its
	// pods.
	ServiceName string
	// OrdinalStart is a StatefulSet's spec.ordinals.start.
	OrdinalStart int
	// Owner is the workload's own controller (the Deployment of a
	// ReplicaSet), if any.
	Owner *cluster.ObjectRef
}

// Endpoints is a v1 Endpoints object, which the EndpointSlice mirroring
// controller mirrors for a selectorless Service of the same name.
type Endpoints struct {
	Labels      map[string]string
	Annotations map[string]string
	Subsets     []EndpointSubset
}

// EndpointSubset is one entry of Endpoints subsets. Each endpoint holds one
// address.
type EndpointSubset struct {
	Ports             []cluster.EndpointPort
	Addresses         []cluster.Endpoint
	NotReadyAddresses []cluster.Endpoint
}

// Options are the cluster parameters objects do not carry.
type Options struct {
	// PodCIDRs are the ranges pod IPs are allocated from, at most one per
	// address family; the first is the primary family. Empty means the
	// default, 10.244.0.0/16.
	PodCIDRs []netip.Prefix
	// ServiceCIDRs are the ranges Service cluster IPs are allocated from,
	// at most one per address family; the first is the primary family.
	// Empty means the default, 10.96.0.0/12.
	ServiceCIDRs []netip.Prefix
}

// DefaultOptions returns the options of a default kubeadm or kind cluster:
// single-stack IPv4, pods in 10.244.0.0/16, services in 10.96.0.0/12.
func DefaultOptions() Options {
	return Options{
		PodCIDRs:     []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")},
	}
}

// Normalize fills in the defaults, masks the prefixes and checks that there
// is at most one per family and that each has room for addresses.
func (o Options) Normalize() (Options, error) {
	def := DefaultOptions()
	var err error
	if o.PodCIDRs, err = normalizeCIDRs("pod", o.PodCIDRs, def.PodCIDRs); err != nil {
		return o, err
	}
	if o.ServiceCIDRs, err = normalizeCIDRs("service", o.ServiceCIDRs, def.ServiceCIDRs); err != nil {
		return o, err
	}
	return o, nil
}

func normalizeCIDRs(what string, cidrs, def []netip.Prefix) ([]netip.Prefix, error) {
	if len(cidrs) == 0 {
		return def, nil
	}
	out := make([]netip.Prefix, 0, len(cidrs))
	seen := map[cluster.AddressType]bool{}
	for _, p := range cidrs {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid %s CIDR %v", what, p)
		}
		p = p.Masked()
		fam := cluster.FamilyOf(p.Addr())
		if seen[fam] {
			return nil, fmt.Errorf("%s CIDRs %v: more than one %s range", what, cidrs, fam)
		}
		seen[fam] = true
		if p.Bits() == p.Addr().BitLen() {
			return nil, fmt.Errorf("%s CIDR %v has no room for addresses", what, p)
		}
		out = append(out, p)
	}
	return out, nil
}

// Error is a problem found while deriving: Ref names the object it
// concerns, Origin where that object was read (for a derived object, the
// object it was derived from) and Err says what is wrong; its message
// names the object.
type Error struct {
	Ref    cluster.ObjectRef
	Origin cluster.Origin
	Err    error
}

// Error renders the error as "origin: message".
func (e *Error) Error() string {
	if o := e.Origin.String(); o != "" {
		return o + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
