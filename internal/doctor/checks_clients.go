package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/lint"
	corev1 "k8s.io/api/core/v1"
)

// workloadKey names a pod's workload: its controller (kind/ns/name, a
// ReplicaSet's pods by the ReplicaSet, whose pods share one spec), else
// the pod.
func workloadKey(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return objName(o.Kind, p.Namespace, o.Name)
		}
	}
	return podObj(p)
}

// clientPods are the pods in scope that are clients of the cluster DNS
// (not the DNS pods themselves), one per workload.
func (in *Input) clientPods() []*corev1.Pod {
	d := in.DNS()
	seen := map[string]bool{}
	var out []*corev1.Pod
	for i := range in.Pods {
		p := &in.Pods[i]
		if !in.inScope(p.Namespace) || slices.Contains(d.Pods, p) || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if k := workloadKey(p); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// dnsAddrs are the addresses a pod may name to reach the cluster DNS: the
// kube-dns Service's cluster IPs and NodeLocal DNSCache's link-local one.
func (in *Input) dnsAddrs() []string {
	out := []string{"169.254.20.10"}
	if s := in.DNS().Service; s != nil {
		out = append(out, s.Spec.ClusterIPs...)
		if s.Spec.ClusterIP != "" && !slices.Contains(out, s.Spec.ClusterIP) {
			out = append(out, s.Spec.ClusterIP)
		}
	}
	return out
}

func checkDNSPolicy(_ context.Context, in *Input, c *Check) {
	if why := in.need(ResPods); why != "" {
		c.notRun(why)
		return
	}
	type group struct {
		code      string
		severity  Severity
		message   string
		fix       string
		explains  []string
		workloads []string
	}
	groups := map[string]*group{}
	add := func(code string, sev Severity, msg, fix string, explains []string, w string) {
		g, ok := groups[code]
		if !ok {
			g = &group{code: code, severity: sev, message: msg, fix: fix, explains: explains}
			groups[code] = g
		}
		g.workloads = append(g.workloads, w)
	}
	pods := in.clientPods()
	dnsIPs := in.dnsAddrs()
	for _, p := range pods {
		w := workloadKey(p)
		policy := p.Spec.DNSPolicy
		if policy == "" {
			policy = corev1.DNSClusterFirst
		}
		switch {
		case p.Spec.HostNetwork && policy == corev1.DNSClusterFirst && p.Namespace != SystemNamespace:
			add("hostnetwork-clusterfirst", SeverityWarning,
				"on hostNetwork with dnsPolicy ClusterFirst, which the kubelet turns into Default: the pod uses the node's resolv.conf and no cluster name resolves",
				"dnsPolicy: ClusterFirstWithHostNet", []string{SymptomNXDOMAIN}, w)
		case policy == corev1.DNSNone || (policy == corev1.DNSDefault && p.Namespace != SystemNamespace):
			var ns []string
			if p.Spec.DNSConfig != nil {
				ns = p.Spec.DNSConfig.Nameservers
			}
			if policy == corev1.DNSDefault {
				add("dns-policy-default", SeverityInfo,
					"dnsPolicy Default: the pod uses its node's resolv.conf, so cluster names do not resolve (fine for a pod that needs none)",
					"dnsPolicy: ClusterFirst, unless the pod must not use the cluster DNS", []string{SymptomNXDOMAIN}, w)
			} else if !slices.ContainsFunc(ns, func(a string) bool { return slices.Contains(dnsIPs, a) }) {
				add("custom-nameservers", SeverityInfo,
					"dnsPolicy None with nameservers that are not the cluster DNS: cluster names resolve only if those servers forward them",
					"list the kube-dns Service IP in dnsConfig.nameservers, or use ClusterFirst", []string{SymptomNXDOMAIN}, w)
			}
		}
	}
	c.Summary = fmt.Sprintf("%d workload(s) looked at", len(pods))
	codes := slices.Sorted(maps.Keys(groups))
	for _, code := range codes {
		g := groups[code]
		sort.Strings(g.workloads)
		c.add(Finding{Code: g.code, Severity: g.severity, Objects: g.workloads,
			Message: fmt.Sprintf("%d workload(s) %s", len(g.workloads), g.message), Fix: g.fix, Explains: g.explains})
	}
}

// checkNdots runs lint's search-path rules on the live pod specs (one per
// workload) and the Services: the same engine as `clusterdns lint`.
func checkNdots(ctx context.Context, in *Input, c *Check) {
	if why := in.need(ResPods, ResServices); why != "" {
		c.notRun(why)
		return
	}
	var buf bytes.Buffer
	doc := func(v any) {
		b, err := json.Marshal(v)
		if err == nil {
			buf.WriteString("---\n")
			buf.Write(b)
			buf.WriteString("\n")
		}
	}
	for i := range in.Services {
		s := in.Services[i]
		s.APIVersion, s.Kind = "v1", "Service"
		s.ManagedFields = nil
		doc(s)
	}
	pods := in.clientPods()
	owner := map[string]string{}
	for _, p := range pods {
		owner[podObj(p)] = workloadKey(p)
		q := *p
		q.APIVersion, q.Kind = "v1", "Pod"
		q.ManagedFields, q.Status = nil, corev1.PodStatus{}
		doc(q)
	}
	opts := lint.Options{Zones: in.zoneOptions().Zones, Enable: []string{lint.RuleNdotsShortNames}}
	rep, err := lint.Lint(ctx, []string{"-"}, &buf, opts)
	if err != nil {
		c.notRun("lint: " + err.Error())
		return
	}
	if len(rep.Errors) > 0 {
		c.notRun(fmt.Sprintf("lint could not read the live objects: %v", rep.Errors[0]))
		return
	}
	c.Summary = fmt.Sprintf("%d workload(s) and %d Service(s) linted (%s)", len(pods), len(in.Services), lint.RuleNdotsShortNames)
	for _, f := range rep.Findings {
		if f.Suppressed {
			continue
		}
		obj := objName(f.Object.Kind, f.Object.Namespace, f.Object.Name)
		if w, ok := owner[obj]; ok {
			obj = w // the pod stands for its workload
		}
		sev := SeverityInfo
		if f.Severity >= lint.Warning {
			sev = SeverityWarning
		}
		c.add(Finding{Code: f.Rule, Severity: sev, Objects: []string{obj}, Message: strings.TrimSpace(f.Message), Fix: f.Fix,
			Evidence: []string{"field " + f.Field}, Explains: []string{SymptomSlowLookups}})
	}
}
