package kubeconv

import (
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
)

func convertService(s *corev1.Service, ps *Problems) *controller.Service {
	spec := &s.Spec
	cs := &controller.Service{
		Service: cluster.Service{
			Name:                     s.Name,
			Namespace:                s.Namespace,
			Type:                     serviceType(spec.Type, ps),
			PublishNotReadyAddresses: spec.PublishNotReadyAddresses,
		},
	}
	for _, f := range spec.IPFamilies {
		cs.IPFamilies = append(cs.IPFamilies, cluster.AddressType(f))
	}
	svc := &cs.Service
	if svc.Namespace == "" {
		svc.Namespace = "default"
	}
	// An empty selector is no selector: the API server stores an empty map
	// as none, and controllers read it as nil.
	if len(spec.Selector) > 0 {
		svc.Selector = maps.Clone(spec.Selector)
	}
	convertClusterIPs(svc, spec, ps)
	cs.IPFamilyPolicy = ipFamilies(svc, spec, ps)
	svc.Ports = servicePorts(spec.Ports, ps)
	return cs
}

// serviceType defaults an empty type to ClusterIP.
func serviceType(t corev1.ServiceType, ps *Problems) cluster.ServiceType {
	switch st := cluster.ServiceType(t); st {
	case "":
		return cluster.ServiceTypeClusterIP
	case cluster.ServiceTypeClusterIP, cluster.ServiceTypeNodePort, cluster.ServiceTypeLoadBalancer, cluster.ServiceTypeExternalName:
		return st
	default:
		ps.add(Path{"spec", "type"}, "unsupported value %q: want ClusterIP, NodePort, LoadBalancer or ExternalName", t)
		return st
	}
}

// convertClusterIPs reads spec.clusterIPs (or spec.clusterIP) and, for an
// ExternalName service, spec.externalName.
func convertClusterIPs(svc *cluster.Service, spec *corev1.ServiceSpec, ps *Problems) {
	ips, ipsPath := spec.ClusterIPs, Path{"spec", "clusterIPs"}
	if len(ips) == 0 && spec.ClusterIP != "" {
		ips, ipsPath = []string{spec.ClusterIP}, Path{"spec", "clusterIP"}
	} else if spec.ClusterIP != "" && len(ips) > 0 && ips[0] != spec.ClusterIP {
		ps.add(Path{"spec", "clusterIPs", 0}, "%q must equal spec.clusterIP %q", ips[0], spec.ClusterIP)
	}
	if svc.Type == cluster.ServiceTypeExternalName {
		if len(ips) > 0 {
			ps.add(ipsPath, "must be empty for type ExternalName")
		}
		ips = nil
		svc.ExternalName = externalName(spec.ExternalName, ps)
	}
	for i, ip := range ips {
		path := ipsPath
		if len(ipsPath) == 2 && ipsPath[1] == "clusterIPs" {
			path = ipsPath.At(i)
		}
		if ip == corev1.ClusterIPNone {
			if i > 0 || len(ips) > 1 {
				ps.add(path, `"None" must be the only cluster IP`)
			}
			svc.Headless = true
			continue
		}
		if a, ok := parseIP(path, ip, ps); ok {
			svc.ClusterIPs = append(svc.ClusterIPs, a)
		}
	}
	if !oneAddressPerFamily(svc.ClusterIPs) {
		ps.add(ipsPath, "must hold at most one IPv4 and one IPv6 address")
	}
}

// externalName checks an ExternalName target: required, a DNS name.
func externalName(name string, ps *Problems) string {
	trimmed := strings.TrimSuffix(name, ".")
	if trimmed == "" {
		ps.add(Path{"spec", "externalName"}, "required for type ExternalName")
	} else if errs := validation.IsDNS1123Subdomain(trimmed); len(errs) > 0 {
		ps.add(Path{"spec", "externalName"}, "invalid name %q: %s", name, strings.Join(errs, "; "))
	}
	return name
}

// ipFamilies checks spec.ipFamilyPolicy and spec.ipFamilies against each
// other and the cluster IPs, and returns the policy ("" when unset or
// invalid).
func ipFamilies(svc *cluster.Service, spec *corev1.ServiceSpec, ps *Problems) controller.IPFamilyPolicy {
	var policy controller.IPFamilyPolicy
	if p := spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
			policy = controller.IPFamilyPolicy(*p)
		default:
			ps.add(Path{"spec", "ipFamilyPolicy"}, "unsupported value %q: want SingleStack, PreferDualStack or RequireDualStack", *p)
		}
	}
	for i, f := range spec.IPFamilies {
		path := Path{"spec", "ipFamilies", i}
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			ps.add(path, "unsupported value %q: want IPv4 or IPv6", f)
		} else if i > 0 && f == spec.IPFamilies[0] {
			ps.add(path, "duplicate family %s", f)
		} else if i < len(svc.ClusterIPs) && cluster.FamilyOf(svc.ClusterIPs[i]) != cluster.AddressType(f) {
			ps.add(path, "%s does not match cluster IP %s", f, svc.ClusterIPs[i])
		}
	}
	if len(spec.IPFamilies) > 2 {
		ps.add(Path{"spec", "ipFamilies"}, "may hold at most two families")
	}
	if policy == controller.SingleStack && (len(spec.IPFamilies) > 1 || len(svc.ClusterIPs) > 1) {
		ps.add(Path{"spec", "ipFamilyPolicy"}, "SingleStack allows one IP family")
	}
	return policy
}

// servicePorts converts spec.ports. (The API server also wants ports on
// services that are not headless and names on all ports of multi-port
// services; DNS copes without, and test fixtures rely on that, so neither
// is checked.)
func servicePorts(ports []corev1.ServicePort, ps *Problems) []cluster.ServicePort {
	var out []cluster.ServicePort
	names := map[string]bool{}
	for i, sp := range ports {
		path := Path{"spec", "ports", i}
		checkPort(path.At("port"), sp.Port, ps)
		if sp.Name != "" {
			if errs := validation.IsDNS1123Label(sp.Name); len(errs) > 0 {
				ps.add(path.At("name"), "invalid port name %q: %s", sp.Name, strings.Join(errs, "; "))
			}
			if names[sp.Name] {
				ps.add(path.At("name"), "duplicate port name %q", sp.Name)
			}
			names[sp.Name] = true
		}
		port := cluster.ServicePort{Name: sp.Name, Port: sp.Port, Protocol: protocol(path.At("protocol"), sp.Protocol, ps)}
		port.TargetPort = targetPort(path.At("targetPort"), sp.TargetPort, ps)
		out = append(out, port)
	}
	return out
}

// targetPort reads a targetPort: a port number or a port name, 0 or "" when
// unset.
func targetPort(path Path, tp intstr.IntOrString, ps *Problems) cluster.PortRef {
	switch tp.Type {
	case intstr.Int:
		if tp.IntVal != 0 {
			checkPort(path, tp.IntVal, ps)
		}
		return cluster.PortRef{Number: tp.IntVal}
	case intstr.String:
		if tp.StrVal != "" {
			if errs := validation.IsValidPortName(tp.StrVal); len(errs) > 0 {
				ps.add(path, "invalid port name %q: %s", tp.StrVal, strings.Join(errs, "; "))
			}
		}
		return cluster.PortRef{Name: tp.StrVal}
	}
	return cluster.PortRef{}
}
