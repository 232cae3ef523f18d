package zone

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// PodRecords selects how <a-b-c-d>.<ns>.pod.<zone> names are answered.
type PodRecords int

// Pod record modes, as CoreDNS's "pods" option.
const (
	// PodsDisabled answers NXDOMAIN for every name below <ns>.pod.<zone>.
	PodsDisabled PodRecords = iota
	// PodsInsecure turns the label back into an IP and answers it unchecked
	// (the namespace must still exist).
	PodsInsecure
	// PodsVerified answers only for a pod with that IP in that namespace.
	PodsVerified
)

// ParsePodRecords parses "disabled", "insecure" or "verified".
func ParsePodRecords(s string) (PodRecords, error) {
	switch strings.ToLower(s) {
	case "disabled":
		return PodsDisabled, nil
	case "insecure":
		return PodsInsecure, nil
	case "verified":
		return PodsVerified, nil
	}
	return 0, fmt.Errorf("pod records %q: want disabled, insecure or verified", s)
}

// String returns the option's name.
func (p PodRecords) String() string {
	switch p {
	case PodsInsecure:
		return "insecure"
	case PodsVerified:
		return "verified"
	}
	return "disabled"
}

// Options configure Build. The zero value is not useful: start from
// DefaultOptions.
type Options struct {
	// Zones are the forward zones served (e.g. "cluster.local."). The first is
	// the primary zone: PTR targets are built in it.
	Zones []string
	// ReverseZones are the reverse zones answered with PTR records
	// (e.g. "in-addr.arpa.", "ip6.arpa.", "10.in-addr.arpa.").
	ReverseZones []string
	// TTL is the TTL of every synthesized record and the SOA MINIMUM. The
	// dns-version TXT record always has 28800.
	TTL uint32
	// PodRecords selects the <a-b-c-d>.<ns>.pod.<zone> behaviour.
	PodRecords PodRecords
	// EndpointPodNames names endpoints without a hostname after their pod
	// (targetRef) instead of their dashed IP.
	EndpointPodNames bool
	// Namespaces, if not empty, are the only namespaces served; names in
	// other namespaces do not exist.
	Namespaces []string
	// IgnoreEmptyService makes ClusterIP services with no ready endpoints not
	// exist, as CoreDNS's "ignore empty_service".
	IgnoreEmptyService bool
	// MulticlusterZones are forward zones (each one of Zones) answered from
	// the Multi-Cluster Services API's ServiceImports and their
	// EndpointSlices instead of Services, as CoreDNS's "multicluster"
	// option: <svc>.<ns>.svc.<zone> and <endpoint>.<cluster>.<svc>...
	MulticlusterZones []string
	// Zonal answers <topology-zone>.pin|prefer._zone.<svc>.<ns>.svc.<zone>
	// for headless services from their endpoints' zone field, as CoreDNS's
	// "zonal" option.
	Zonal bool
	// NameserverIPs are the server's own addresses. The apex NS set names
	// the Services whose endpoints carry one of them, else ns.dns.<zone>
	// with these addresses.
	NameserverIPs []netip.Addr
	// Serial is the SOA serial of a built snapshot. The serving loop sets
	// it with NextSerial; sources do not.
	Serial uint32
}

// DefaultOptions are the defaults of "clusterdns serve": cluster.local, both
// reverse trees, TTL 5, pod records disabled.
func DefaultOptions() Options {
	return Options{
		Zones:        []string{"cluster.local."},
		ReverseZones: []string{"in-addr.arpa.", "ip6.arpa."},
		TTL:          5,
	}
}

// MaxTTL is the largest accepted TTL, as CoreDNS.
const MaxTTL = 3600

// normalize validates the options and returns a copy with every zone in
// canonical form (lower case, fully qualified).
func (o Options) normalize() (Options, error) {
	if len(o.Zones) == 0 {
		return o, fmt.Errorf("no zone to serve")
	}
	if o.TTL > MaxTTL {
		return o, fmt.Errorf("ttl %d: must be between 0 and %d", o.TTL, MaxTTL)
	}
	n := o
	n.Zones = nil
	n.ReverseZones = nil
	seen := map[string]bool{}
	for _, z := range o.Zones {
		c, err := canonicalZone(z)
		if err != nil {
			return o, err
		}
		if isReverseName(c) {
			return o, fmt.Errorf("zone %q is a reverse zone: give it as a reverse zone", z)
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		n.Zones = append(n.Zones, c)
	}
	for _, z := range o.ReverseZones {
		c, err := canonicalZone(z)
		if err != nil {
			return o, err
		}
		if !isReverseName(c) {
			return o, fmt.Errorf("reverse zone %q is not under in-addr.arpa or ip6.arpa", z)
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		n.ReverseZones = append(n.ReverseZones, c)
	}
	n.MulticlusterZones = nil
	for _, z := range o.MulticlusterZones {
		c, err := canonicalZone(z)
		if err != nil {
			return o, err
		}
		if !slices.Contains(n.Zones, c) {
			return o, fmt.Errorf("multicluster zone %q is not one of the served zones (%s)", z, strings.Join(n.Zones, " "))
		}
		if !slices.Contains(n.MulticlusterZones, c) {
			n.MulticlusterZones = append(n.MulticlusterZones, c)
		}
	}
	n.Namespaces = append([]string(nil), o.Namespaces...)
	for i, ns := range n.Namespaces {
		n.Namespaces[i] = strings.ToLower(ns)
	}
	return n, nil
}

func canonicalZone(z string) (string, error) {
	c := strings.ToLower(dns.Fqdn(strings.TrimSpace(z)))
	if c == "." {
		return "", fmt.Errorf("zone %q: the root cannot be served", z)
	}
	if _, ok := dns.IsDomainName(c); !ok {
		return "", fmt.Errorf("zone %q is not a domain name", z)
	}
	return c, nil
}

func isReverseName(name string) bool {
	return dns.IsSubDomain("in-addr.arpa.", name) || dns.IsSubDomain("ip6.arpa.", name)
}
