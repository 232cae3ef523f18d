package doctor

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// egressToDNS says whether the NetworkPolicies of p's namespace let p send
// to every cluster DNS pod on 53/UDP and on 53/TCP. A pod no policy with
// egress selects may send anywhere; one that some do may send where one
// of their egress rules allows (NetworkPolicy semantics: the union).
func (in *Input) egressToDNS(p *corev1.Pod, d *ClusterDNS, nsLabels map[string]map[string]string) (udp, tcp bool, by []string) {
	var selecting []*networkingv1.NetworkPolicy
	for i := range in.NetworkPolicies {
		np := &in.NetworkPolicies[i]
		if np.Namespace != p.Namespace || !hasEgress(np) {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		selecting = append(selecting, np)
		by = append(by, objName("NetworkPolicy", np.Namespace, np.Name))
	}
	if len(selecting) == 0 {
		return true, true, nil
	}
	for _, np := range selecting {
		for _, rule := range np.Spec.Egress {
			if !reachesAll(rule.To, p.Namespace, d, nsLabels) {
				continue
			}
			if portAllows(rule.Ports, corev1.ProtocolUDP, d) {
				udp = true
			}
			if portAllows(rule.Ports, corev1.ProtocolTCP, d) {
				tcp = true
			}
		}
	}
	return udp, tcp, by
}

func hasEgress(np *networkingv1.NetworkPolicy) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return len(np.Spec.Egress) > 0
	}
	return slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
}

// reachesAll reports whether the peers (empty: anywhere) include every
// cluster DNS pod.
func reachesAll(peers []networkingv1.NetworkPolicyPeer, from string, d *ClusterDNS, nsLabels map[string]map[string]string) bool {
	if len(peers) == 0 {
		return true
	}
	for _, dp := range d.Pods {
		if !slices.ContainsFunc(peers, func(peer networkingv1.NetworkPolicyPeer) bool { return peerMatches(peer, from, dp, nsLabels) }) {
			return false
		}
	}
	return len(d.Pods) > 0
}

func peerMatches(peer networkingv1.NetworkPolicyPeer, from string, dp *corev1.Pod, nsLabels map[string]map[string]string) bool {
	if b := peer.IPBlock; b != nil {
		cidr, err := netip.ParsePrefix(b.CIDR)
		if err != nil {
			return false
		}
		for _, ip := range dp.Status.PodIPs {
			a, err := netip.ParseAddr(ip.IP)
			if err != nil || !cidr.Contains(a) {
				continue
			}
			excluded := slices.ContainsFunc(b.Except, func(e string) bool {
				ep, err := netip.ParsePrefix(e)
				return err == nil && ep.Contains(a)
			})
			if !excluded {
				return true
			}
		}
		return false
	}
	if peer.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil || !sel.Matches(labels.Set(nsLabels[dp.Namespace])) {
			return false
		}
	} else if dp.Namespace != from {
		return false // a podSelector alone is the policy's own namespace
	}
	if peer.PodSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if err != nil || !sel.Matches(labels.Set(dp.Labels)) {
			return false
		}
	}
	return true
}

// portAllows reports whether the ports (empty: all) allow protocol to the
// DNS port: 53, or the DNS container's port of that name.
func portAllows(ports []networkingv1.NetworkPolicyPort, protocol corev1.Protocol, d *ClusterDNS) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		proto := corev1.ProtocolTCP // the API's default
		if pp.Protocol != nil {
			proto = *pp.Protocol
		}
		if proto != protocol {
			continue
		}
		if pp.Port == nil {
			return true
		}
		port := pp.Port.IntValue()
		if pp.Port.StrVal != "" && d.Container != nil {
			for _, cp := range d.Container.Ports {
				if cp.Name == pp.Port.StrVal && cp.Protocol == protocol {
					port = int(cp.ContainerPort)
				}
			}
		}
		end := port
		if pp.EndPort != nil {
			end = int(*pp.EndPort)
		}
		if port <= 53 && 53 <= end {
			return true
		}
	}
	return false
}

func checkNetworkPolicy(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResNetworkPolicies, ResPods, ResNamespaces)
	if d == nil {
		return
	}
	if len(d.Pods) == 0 {
		c.notRun("no cluster DNS pod to reach")
		return
	}
	nsLabels := map[string]map[string]string{}
	for _, n := range in.Namespaces {
		l := map[string]string{"kubernetes.io/metadata.name": n.Name}
		for k, v := range n.Labels {
			l[k] = v
		}
		nsLabels[n.Name] = l
	}
	type blocked struct {
		udp, tcp  bool
		policies  []string
		workloads []string
	}
	byNS := map[string]*blocked{}
	pods := in.clientPods()
	for _, p := range pods {
		if p.Spec.HostNetwork {
			continue // NetworkPolicies do not apply to host-network pods
		}
		udp, tcp, by := in.egressToDNS(p, d, nsLabels)
		if udp && tcp {
			continue
		}
		b := byNS[p.Namespace]
		if b == nil {
			b = &blocked{udp: true, tcp: true}
			byNS[p.Namespace] = b
		}
		b.udp, b.tcp = b.udp && udp, b.tcp && tcp
		for _, x := range by {
			if !slices.Contains(b.policies, x) {
				b.policies = append(b.policies, x)
			}
		}
		b.workloads = append(b.workloads, workloadKey(p))
	}
	c.Summary = fmt.Sprintf("%d NetworkPolicies, %d workload(s) checked against 53/UDP and 53/TCP to the %d cluster DNS pod(s)", len(in.NetworkPolicies), len(pods), len(d.Pods))
	nss := slices.Sorted(maps.Keys(byNS))
	for _, ns := range nss {
		b := byNS[ns]
		sort.Strings(b.workloads)
		what, sev := "TCP", SeverityWarning
		if !b.udp {
			what, sev = "UDP", SeverityError
			if !b.tcp {
				what = "UDP and TCP"
			}
		}
		c.add(Finding{Code: "netpol-blocks-dns", Severity: sev, Objects: append(slices.Clone(b.policies), b.workloads...),
			Message:  fmt.Sprintf("in namespace %s, %d workload(s) may not send to the cluster DNS pods on port 53/%s under their egress NetworkPolicies (%s)", ns, len(b.workloads), what, strings.Join(b.policies, ", ")),
			Fix:      "add an egress rule to kube-system's kube-dns pods (namespaceSelector kubernetes.io/metadata.name: kube-system, podSelector k8s-app: kube-dns) on 53/UDP and 53/TCP",
			Explains: []string{SymptomAllDNSFails}})
	}
}
