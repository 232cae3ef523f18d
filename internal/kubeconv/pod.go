package kubeconv

import (
	"maps"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// convertPod converts a pod, or a pod template when status is nil. base is
// the path of the object holding metadata and spec.
//
// Status fields are read independently: the phase defaults to Running, the
// IPs are status.podIP and status.podIPs (the controller allocates some for
// a Running pod without any), Ready is the Ready condition if listed, else
// whether the pod is Running. A template is Running and Ready.
func convertPod(meta *metav1.ObjectMeta, spec *corev1.PodSpec, status *corev1.PodStatus, base Path, ps *Problems) cluster.Pod {
	p := cluster.Pod{
		Name:      meta.Name,
		Namespace: meta.Namespace,
		Hostname:  spec.Hostname,
		Subdomain: spec.Subdomain,
		NodeName:  spec.NodeName,
		Owner:     controllerOf(meta),
		Phase:     cluster.PodRunning,
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if len(meta.Labels) > 0 {
		p.Labels = maps.Clone(meta.Labels)
	}
	specPath := base.At("spec")
	if p.Hostname != "" {
		checkDNSLabel(specPath.At("hostname"), p.Hostname, ps)
	}
	if p.Subdomain != "" {
		checkDNSLabel(specPath.At("subdomain"), p.Subdomain, ps)
	}
	p.Ports = podPorts(spec, specPath, ps)
	if t := meta.DeletionTimestamp; t != nil {
		ts := t.Time
		p.DeletionTimestamp = &ts
	}
	convertPodDNS(&p, spec, specPath, ps)
	if status == nil {
		p.Ready = true
		return p
	}
	convertPodStatus(&p, status, base.At("status"), ps)
	return p
}

// podPorts lists the container ports of the containers and then of the
// sidecars (restartable init containers), which serve named ports too:
// FindPort looks at them in that order.
func podPorts(spec *corev1.PodSpec, specPath Path, ps *Problems) []cluster.ContainerPort {
	var out []cluster.ContainerPort
	for i := range spec.Containers {
		out = appendContainerPorts(out, spec.Containers[i].Ports, specPath.At("containers", i, "ports"), ps)
	}
	for i, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = appendContainerPorts(out, c.Ports, specPath.At("initContainers", i, "ports"), ps)
		}
	}
	return out
}

func appendContainerPorts(dst []cluster.ContainerPort, ports []corev1.ContainerPort, path Path, ps *Problems) []cluster.ContainerPort {
	for j, cp := range ports {
		pp := path.At(j)
		checkPort(pp.At("containerPort"), cp.ContainerPort, ps)
		if cp.Name != "" {
			if errs := validation.IsValidPortName(cp.Name); len(errs) > 0 {
				ps.add(pp.At("name"), "invalid port name %q: %s", cp.Name, strings.Join(errs, "; "))
			}
		}
		dst = append(dst, cluster.ContainerPort{
			Name:          cp.Name,
			ContainerPort: cp.ContainerPort,
			Protocol:      protocol(pp.At("protocol"), cp.Protocol, ps),
		})
	}
	return dst
}

// convertPodStatus reads the phase, the IPs and the Ready condition.
func convertPodStatus(p *cluster.Pod, status *corev1.PodStatus, statusPath Path, ps *Problems) {
	switch ph := cluster.PodPhase(status.Phase); ph {
	case "":
	case cluster.PodPending, cluster.PodRunning, cluster.PodSucceeded, cluster.PodFailed, cluster.PodUnknown:
		p.Phase = ph
	default:
		ps.add(statusPath.At("phase"), "unsupported value %q: want Pending, Running, Succeeded, Failed or Unknown", ph)
	}
	p.IPs = podIPs(status, statusPath, ps)
	p.Ready = p.Phase == cluster.PodRunning
	for _, c := range status.Conditions {
		if c.Type == corev1.PodReady {
			p.Ready = c.Status == corev1.ConditionTrue
			break
		}
	}
}

// podIPs reads status.podIP and status.podIPs, whose first entry must
// repeat status.podIP.
func podIPs(status *corev1.PodStatus, statusPath Path, ps *Problems) []netip.Addr {
	var ips []netip.Addr
	if status.PodIP != "" {
		if a, ok := parseIP(statusPath.At("podIP"), status.PodIP, ps); ok {
			ips = append(ips, a)
		}
	}
	for i, pip := range status.PodIPs {
		path := statusPath.At("podIPs", i, "ip")
		a, ok := parseIP(path, pip.IP, ps)
		if !ok {
			continue
		}
		if i == 0 && len(ips) == 1 {
			if a != ips[0] {
				ps.add(path, "must equal status.podIP %s", ips[0])
			}
			continue
		}
		ips = append(ips, a)
	}
	if !oneAddressPerFamily(ips) {
		ps.add(statusPath.At("podIPs"), "must hold at most one IPv4 and one IPv6 address")
	}
	return ips
}

// convertPodDNS copies the fields the kubelet writes the pod's resolv.conf
// from: dnsPolicy, dnsConfig and hostNetwork. It checks what the API server
// would refuse: an unknown policy, and policy None without a nameserver.
func convertPodDNS(p *cluster.Pod, spec *corev1.PodSpec, specPath Path, ps *Problems) {
	p.HostNetwork = spec.HostNetwork
	switch pol := cluster.DNSPolicy(spec.DNSPolicy); pol {
	case "", cluster.DNSClusterFirst, cluster.DNSClusterFirstWithHostNet, cluster.DNSDefault, cluster.DNSNone:
		p.DNSPolicy = pol
	default:
		ps.add(specPath.At("dnsPolicy"), "unsupported value %q: want ClusterFirst, ClusterFirstWithHostNet, Default or None", pol)
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
		ps.add(specPath.At("dnsConfig", "nameservers"), "required: at least one nameserver when dnsPolicy is None")
	}
}
