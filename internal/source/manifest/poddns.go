package manifest

import (
	"github.com/clusterdns/clusterdns/internal/cluster"
	corev1 "k8s.io/api/core/v1"
)

// convertPodDNS copies the fields the kubelet writes the pod's resolv.conf
// from: dnsPolicy, dnsConfig and hostNetwork. It checks what the API server
// would refuse: an unknown policy, and policy None without a nameserver.
func convertPodDNS(p *cluster.Pod, spec *corev1.PodSpec, specPath []any, fe *fieldErrors) {
	p.HostNetwork = spec.HostNetwork
	switch pol := cluster.DNSPolicy(spec.DNSPolicy); pol {
	case "", cluster.DNSClusterFirst, cluster.DNSClusterFirstWithHostNet, cluster.DNSDefault, cluster.DNSNone:
		p.DNSPolicy = pol
	default:
		fe.add(at(specPath, "dnsPolicy"), "unsupported value %q: want ClusterFirst, ClusterFirstWithHostNet, Default or None", pol)
	}
	if c := spec.DNSConfig; c != nil {
		dc := &cluster.PodDNSConfig{
			Nameservers: append([]string(nil), c.Nameservers...),
			Searches:    append([]string(nil), c.Searches...),
		}
		for _, o := range c.Options {
			opt := cluster.PodDNSOption{Name: o.Name}
			if o.Value != nil {
				v := *o.Value
				opt.Value = &v
			}
			dc.Options = append(dc.Options, opt)
		}
		p.DNSConfig = dc
	}
	if p.DNSPolicy == cluster.DNSNone && (p.DNSConfig == nil || len(p.DNSConfig.Nameservers) == 0) {
		fe.add(at(specPath, "dnsConfig", "nameservers"), "required: at least one nameserver when dnsPolicy is None")
	}
}
