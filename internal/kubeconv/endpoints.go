package kubeconv

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
)

// convertEndpointSlice converts an EndpointSlice; nil for FQDN slices
// (deprecated; no DNS server reads them) and slices whose addressType is
// missing or unknown.
func convertEndpointSlice(es *discoveryv1.EndpointSlice, ps *Problems) *cluster.EndpointSlice {
	slice := &cluster.EndpointSlice{
		Name:        es.Name,
		Namespace:   es.Namespace,
		ServiceName: es.Labels[discoveryv1.LabelServiceName],
		AddressType: cluster.AddressType(es.AddressType),
		ManagedBy:   es.Labels[discoveryv1.LabelManagedBy],
		// An MCS implementation's slice for a ServiceImport.
		ImportName:    es.Labels[LabelImportServiceName],
		SourceCluster: es.Labels[LabelSourceCluster],
	}
	if ts, ok := es.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			slice.LastChangeTriggerTime = t
		}
	}
	switch slice.AddressType {
	case cluster.AddressTypeIPv4, cluster.AddressTypeIPv6:
	case cluster.AddressTypeFQDN:
		return nil
	case "":
		ps.add(Path{"addressType"}, "required")
		return nil
	default:
		ps.add(Path{"addressType"}, "unsupported value %q: want IPv4, IPv6 or FQDN", es.AddressType)
		return nil
	}
	for i := range es.Endpoints {
		slice.Endpoints = append(slice.Endpoints, sliceEndpoint(&es.Endpoints[i], slice.AddressType, Path{"endpoints", i}, ps))
	}
	for i, p := range es.Ports {
		path := Path{"ports", i}
		port := cluster.EndpointPort{Protocol: cluster.ProtocolTCP}
		if p.Name != nil {
			port.Name = *p.Name
		}
		if p.Port != nil {
			checkPort(path.At("port"), *p.Port, ps)
			n := *p.Port
			port.Port = &n
		}
		if p.Protocol != nil {
			port.Protocol = protocol(path.At("protocol"), *p.Protocol, ps)
		}
		slice.Ports = append(slice.Ports, port)
	}
	return slice
}

// sliceEndpoint converts one endpoint of a slice of the address family.
func sliceEndpoint(ep *discoveryv1.Endpoint, family cluster.AddressType, path Path, ps *Problems) cluster.Endpoint {
	e := cluster.Endpoint{
		Conditions: cluster.EndpointConditions{
			Ready:       cluster.ConditionOf(ep.Conditions.Ready),
			Serving:     cluster.ConditionOf(ep.Conditions.Serving),
			Terminating: cluster.ConditionOf(ep.Conditions.Terminating),
		},
		TargetRef: objectRef(ep.TargetRef),
	}
	if len(ep.Addresses) == 0 {
		ps.add(path.At("addresses"), "must hold at least one address")
	}
	var addrs []netip.Addr
	for j, s := range ep.Addresses {
		a, ok := parseIP(path.At("addresses", j), s, ps)
		if !ok {
			continue
		}
		if cluster.FamilyOf(a) != family {
			ps.add(path.At("addresses", j), "%s is not an %s address (addressType)", a, family)
			continue
		}
		addrs = append(addrs, a)
	}
	e.Addresses = cluster.AddressesOf(addrs...)
	if ep.Hostname != nil {
		checkDNSLabel(path.At("hostname"), *ep.Hostname, ps)
		e.Hostname = *ep.Hostname
	}
	if ep.Zone != nil {
		e.Zone = *ep.Zone
	}
	return e
}

//lint:ignore SA1019 legacy v1 Endpoints are mirrored into slices, as the real mirroring controller does
func convertEndpoints(e *corev1.Endpoints, ps *Problems) *controller.Endpoints {
	out := &controller.Endpoints{Labels: e.Labels, Annotations: e.Annotations}
	for i, ss := range e.Subsets {
		path := Path{"subsets", i}
		var sub controller.EndpointSubset
		for j, p := range ss.Ports {
			pp := path.At("ports", j)
			checkPort(pp.At("port"), p.Port, ps)
			port := p.Port
			sub.Ports = append(sub.Ports, cluster.EndpointPort{Name: p.Name, Port: &port, Protocol: protocol(pp.At("protocol"), p.Protocol, ps)})
		}
		sub.Addresses = convertAddresses(ss.Addresses, path.At("addresses"), ps)
		sub.NotReadyAddresses = convertAddresses(ss.NotReadyAddresses, path.At("notReadyAddresses"), ps)
		out.Subsets = append(out.Subsets, sub)
	}
	return out
}

func convertAddresses(addrs []corev1.EndpointAddress, path Path, ps *Problems) []cluster.Endpoint {
	var out []cluster.Endpoint
	for i, a := range addrs {
		ip, ok := parseIP(path.At(i, "ip"), a.IP, ps)
		if !ok {
			continue
		}
		e := cluster.Endpoint{Addresses: cluster.AddressesOf(ip), Hostname: a.Hostname, TargetRef: objectRef(a.TargetRef)}
		if a.Hostname != "" {
			checkDNSLabel(path.At(i, "hostname"), a.Hostname, ps)
		}
		out = append(out, e)
	}
	return out
}
