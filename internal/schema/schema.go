// Package schema is the DNS name schema of Kubernetes (the DNS-Based Service
// Discovery specification): how a Service, its ports, its endpoints, a pod
// and a namespace are named below a cluster zone, and how a name below the
// zone reads back into those parts.
//
// It is the one place these names are spelled: the record engine (package
// zone), explain, probe, lint and the resolver models build and parse names
// here rather than concatenating labels themselves. It says nothing about
// which names exist: that is the engine's decision.
//
// Names are lower case (DNS compares case-insensitively; the engine stores
// canonical names). A zone argument is used as given: pass "cluster.local."
// for a fully qualified name, "cluster.local" for a search domain.
package schema

import (
	"net/netip"
	"strings"
)

// The labels that split the cluster zone into its two trees.
const (
	SvcLabel = "svc"
	PodLabel = "pod"
)

// The infixes that end a name's part in each tree: "<svc>.<ns>" + SvcInfix
// + "<zone>", "<ip>.<ns>" + PodInfix + "<zone>". Constants, so that hot
// paths can compare against them without allocating.
const (
	SvcInfix = "." + SvcLabel + "."
	PodInfix = "." + PodLabel + "."
)

// IsServiceFromKey reports whether name is ServiceFromKey(key, zone),
// without making it.
func IsServiceFromKey(name, key, zone string) bool {
	return len(name) == len(key)+len(SvcInfix)+len(zone) && name[:len(key)] == key &&
		name[len(key):len(key)+len(SvcInfix)] == SvcInfix && name[len(key)+len(SvcInfix):] == zone
}

// lower is strings.ToLower, which returns s itself when it has no upper
// case, so canonical input costs no allocation.
func lower(s string) string { return strings.ToLower(s) }

// ServiceKey is "<service>.<namespace>": a Service's name relative to the
// svc tree, the key the engine stores a Service's names under.
func ServiceKey(namespace, name string) string {
	return lower(name) + "." + lower(namespace)
}

// ServiceFromKey is "<key>.svc.<zone>" for a ServiceKey.
func ServiceFromKey(key, zone string) string { return key + "." + SvcLabel + "." + zone }

// Service is "<service>.<namespace>.svc.<zone>": a Service's A, AAAA and SRV
// name (and an ExternalName's CNAME).
func Service(name, namespace, zone string) string {
	return ServiceFromKey(ServiceKey(namespace, name), zone)
}

// Namespace is "<namespace>.svc.<zone>", the first search domain of a pod
// in that namespace.
func Namespace(namespace, zone string) string { return lower(namespace) + "." + SvcDomain(zone) }

// SvcDomain is "svc.<zone>".
func SvcDomain(zone string) string { return SvcLabel + "." + zone }

// PodDomain is "pod.<zone>".
func PodDomain(zone string) string { return PodLabel + "." + zone }

// VersionName is "dns-version.<zone>", the TXT record of the schema version.
func VersionName(zone string) string { return "dns-version." + zone }

// NameserverName is "ns.dns.<zone>", the target of the apex NS record.
func NameserverName(zone string) string { return "ns.dns." + zone }

// PodNamespace is "<namespace>.pod.<zone>".
func PodNamespace(namespace, zone string) string { return lower(namespace) + "." + PodDomain(zone) }

// Pod is "<dashed-ip>.<namespace>.pod.<zone>": a pod record.
func Pod(ip netip.Addr, namespace, zone string) string {
	return DashedIP(ip) + "." + PodNamespace(namespace, zone)
}

// Port is "_<port>._<proto>.<service name>": the SRV name of a named port.
// service is a name made by Service.
func Port(port, proto, service string) string {
	return "_" + lower(port) + "._" + lower(proto) + "." + service
}

// ClusterEndpointLabel is "<label>.<cluster>": what stands for an
// endpoint's label below a service in a multicluster zone
// (<endpoint>.<cluster>.<svc>.<ns>.svc.<zone>).
func ClusterEndpointLabel(label, cluster string) string { return lower(label) + "." + lower(cluster) }

// Endpoint is "<label>.<service name>": the per-endpoint (per-pod) name.
// service is a name made by Service.
func Endpoint(label, service string) string { return lower(label) + "." + service }

// SearchPath is the search list the kubelet writes for a ClusterFirst pod
// in namespace: "<ns>.svc.<zone>", "svc.<zone>", "<zone>".
func SearchPath(namespace, zone string) []string {
	return []string{Namespace(namespace, zone), SvcDomain(zone), zone}
}

// DashedIP is the label an address is named by where no hostname names it
// (endpoints without a hostname, pod records): 10.244.1.5 -> "10-244-1-5",
// 2001:db8::1 -> "2001-db8--1", with "0" appended when the IPv6 form ends in
// a dash (2001:db8:: -> "2001-db8--0"), as CoreDNS spells it.
func DashedIP(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		return strings.ReplaceAll(a.Unmap().String(), ".", "-")
	}
	s := strings.ReplaceAll(a.String(), ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

// ParseDashedIP is the inverse of DashedIP as the pod-record rule reads it:
// exactly three dashes and no "--" is IPv4, anything else is IPv6.
func ParseDashedIP(label string) (netip.Addr, bool) {
	var s string
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		s = strings.ReplaceAll(label, "-", ".")
	} else {
		s = strings.ReplaceAll(label, "-", ":")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// Kind is what shape a name below a cluster zone has.
type Kind int

// Shapes of names below a cluster zone.
const (
	// Unknown is a name of no shape the schema defines (its top label is
	// neither svc nor pod, and it is not one of the apex's own names).
	Unknown Kind = iota
	// Apex is the zone itself.
	Apex
	// DNSVersion is "dns-version.<zone>", the schema version TXT record.
	DNSVersion
	// Nameserver is "ns.dns.<zone>", the apex's NS target.
	Nameserver
	// SvcTree is "svc.<zone>".
	SvcTree
	// NamespaceName is "<ns>.svc.<zone>".
	NamespaceName
	// ServiceName is "<svc>.<ns>.svc.<zone>".
	ServiceName
	// EndpointName is "<label>.<svc>.<ns>.svc.<zone>".
	EndpointName
	// PortName is "_<port>._<proto>.<svc>.<ns>.svc.<zone>" (the underscores
	// are optional in what clients may send; see Name.Port).
	PortName
	// BelowService is a name deeper than any the svc tree defines.
	BelowService
	// PodTree is "pod.<zone>".
	PodTree
	// PodNamespaceName is "<ns>.pod.<zone>".
	PodNamespaceName
	// PodName is "<dashed-ip>.<ns>.pod.<zone>".
	PodName
	// BelowPod is a name deeper than a pod record.
	BelowPod
	// ZonalName is "<topology-zone>.pin|prefer._zone.<svc>.<ns>.svc.<zone>":
	// a headless Service's endpoints in one topology zone (CoreDNS's
	// "zonal" option). The topology zone may span labels (zone label
	// values may hold dots); the engine decides whether the name exists.
	ZonalName
)

var kindNames = [...]string{"unknown", "apex", "dns-version", "nameserver", "svc tree", "namespace", "service", "endpoint", "port", "below a service", "pod tree", "pod namespace", "pod", "below a pod", "zonal"}

// The labels of a zonal name: the "_zone" label below the service and the
// two directives before it.
const (
	ZoneLabel       = "_zone"
	DirectivePin    = "pin"
	DirectivePrefer = "prefer"
)

// Zonal is "<topology>.<directive>._zone.<service>": the zonal name of a
// Service name for a topology zone (lower-cased, as the engine compares it)
// and DirectivePin or DirectivePrefer.
func Zonal(topology, directive, service string) string {
	return lower(topology) + "." + directive + "." + ZoneLabel + "." + service
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Name is a name below a cluster zone read into its parts. Parts a kind
// does not have are empty.
type Name struct {
	Kind      Kind
	Namespace string
	Service   string
	// Label is an endpoint's label (EndpointName) or a pod record's dashed
	// IP (PodName).
	Label string
	// Port and Proto are a PortName's labels with at most one leading
	// underscore removed each, as CoreDNS reads them.
	Port, Proto string
	// Topology is a ZonalName's topology zone (its labels joined by dots)
	// and Prefer its directive (false: pin).
	Topology string
	Prefer   bool
	// Cluster is an EndpointName's cluster in a multicluster zone
	// (ParseMulticluster): <label>.<cluster>.<svc>.<ns>.svc.<zone>.
	Cluster string
}

// ParseMulticluster is Parse for a name below a multicluster zone
// (clusterset.local), where the services are ServiceImports: two labels
// below a service are an endpoint and its cluster unless either starts
// with an underscore (then a port name, as CoreDNS reads them), and there
// are no zonal names.
func ParseMulticluster(labels []string) Name {
	n := Parse(labels)
	switch n.Kind {
	case PortName:
		l := labels[0:2]
		if !strings.HasPrefix(l[0], "_") && !strings.HasPrefix(l[1], "_") {
			n.Kind, n.Label, n.Cluster, n.Port, n.Proto = EndpointName, l[0], l[1], "", ""
		}
	case ZonalName:
		n.Kind, n.Topology, n.Prefer = BelowService, "", false
	}
	return n
}

// Parse reads the labels of a name below a zone, leftmost first (as
// dns.SplitDomainName gives them for the name with the zone removed). It
// expects lower case and allocates nothing (but for the topology of a
// zonal name whose topology zone spans labels).
func Parse(labels []string) Name {
	n := len(labels)
	if n == 0 {
		return Name{Kind: Apex}
	}
	switch labels[n-1] {
	case SvcLabel:
		return parseSvc(labels[:n-1])
	case PodLabel:
		return parsePod(labels[:n-1])
	}
	switch {
	case n == 1 && labels[0] == "dns-version":
		return Name{Kind: DNSVersion}
	case n == 2 && labels[0] == "ns" && labels[1] == "dns":
		return Name{Kind: Nameserver}
	}
	return Name{Kind: Unknown}
}

// parseSvc reads the labels above "svc".
func parseSvc(l []string) Name {
	n := len(l)
	if n == 0 {
		return Name{Kind: SvcTree}
	}
	out := Name{Kind: NamespaceName, Namespace: l[n-1]}
	if n == 1 {
		return out
	}
	out.Service = l[n-2]
	switch n {
	case 2:
		out.Kind = ServiceName
	case 3:
		out.Kind, out.Label = EndpointName, l[0]
	case 4:
		out.Kind = PortName
		out.Port = strings.TrimPrefix(l[0], "_")
		out.Proto = strings.TrimPrefix(l[1], "_")
	default:
		out.Kind = BelowService
		if l[n-3] == ZoneLabel && (l[n-4] == DirectivePin || l[n-4] == DirectivePrefer) {
			out.Kind = ZonalName
			out.Prefer = l[n-4] == DirectivePrefer
			out.Topology = strings.Join(l[:n-4], ".")
		}
	}
	return out
}

// parsePod reads the labels above "pod".
func parsePod(l []string) Name {
	switch len(l) {
	case 0:
		return Name{Kind: PodTree}
	case 1:
		return Name{Kind: PodNamespaceName, Namespace: l[0]}
	case 2:
		return Name{Kind: PodName, Namespace: l[1], Label: l[0]}
	}
	return Name{Kind: BelowPod, Namespace: l[len(l)-1]}
}
