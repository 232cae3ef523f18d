package lint

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// fieldProblem turns a value Decode rejected into a finding when a rule is
// about it, and reports whether it did.
func (l *linter) fieldProblem(o *object, p manifest.FieldProblem) bool {
	last := p.Path[strings.LastIndexByte(p.Path, '.')+1:]
	switch {
	case strings.HasPrefix(p.Message, "invalid DNS label") || strings.HasPrefix(p.Message, "invalid port name"):
		l.report(o, RuleLabelInvalid, Error, p.Path,
			fmt.Sprintf("%s: %s: the API server rejects the object", p.Path, p.Message), labelFix(p.Path))
		return true
	case last == "dnsPolicy" || strings.Contains(p.Path, ".dnsConfig"):
		fix := "use dnsPolicy ClusterFirst, ClusterFirstWithHostNet, Default or None"
		if last != "dnsPolicy" {
			fix = "list the nameservers (at most 3) in dnsConfig.nameservers, or use another dnsPolicy"
		}
		field := p.Path
		if t, ok := templateOf(o); ok && t.spec.DNSConfig == nil && strings.HasPrefix(p.Path, t.base+".dnsConfig") {
			field = t.base + ".dnsPolicy" // nothing written under dnsConfig: the policy asks for it
		}
		l.report(o, RuleDNSConfigInvalid, Error, field,
			fmt.Sprintf("%s: %s: the API server rejects the object", p.Path, p.Message), fix)
		return true
	}
	return false
}

// labelFix is the fix of a name at a field: port names of containers (and
// the targetPorts naming them) follow the IANA service-name rules, other
// names are DNS labels.
func labelFix(path string) string {
	if strings.HasSuffix(path, "targetPort") || strings.Contains(path, "ontainers[") {
		return "use at most 15 lower-case letters, digits and '-', with at least one letter and no '--' (an IANA service name)"
	}
	return "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
}

// checkWorkloads runs the rules about pods and pod templates.
func (l *linter) checkWorkloads() {
	for _, o := range l.objs {
		t, ok := templateOf(o)
		if !ok {
			continue
		}
		if o.Kind == "StatefulSet" {
			l.checkStatefulSet(o, t)
		} else {
			l.checkSubdomain(o, t)
		}
		l.checkDNSConfig(o, t)
		l.checkNdots(o, t)
	}
}

// selects reports whether the Service's selector selects the object's
// pods (its template's labels when it makes none).
func (l *linter) selects(svc *cluster.Service, o *object, t podTemplate) bool {
	pods := l.pods[o]
	if len(pods) == 0 {
		return controller.SelectorMatches(svc.Selector, t.labels)
	}
	for _, p := range pods {
		if controller.SelectorMatches(svc.Selector, p.Labels) {
			return true
		}
	}
	return false
}

// headlessSelecting names the headless Services of the namespace that
// select the object's pods: what a subdomain probably meant.
func (l *linter) headlessSelecting(o *object, t podTemplate) []string {
	var out []string
	for _, e := range l.svcByNS[o.Namespace] {
		if e.svc.Headless && e.svc.Selector != nil && l.selects(e.svc, o, t) {
			out = append(out, e.svc.Name)
		}
	}
	return out
}

// checkSubdomain checks spec.hostname and spec.subdomain of a pod or a
// template other than a StatefulSet's (whose controller sets both).
func (l *linter) checkSubdomain(o *object, t podTemplate) {
	spec := t.spec
	sub, host := spec.Subdomain, spec.Hostname
	field := t.base + ".subdomain"
	if sub == "" {
		if host == "" || indexedJob(o) {
			return
		}
		msg := fmt.Sprintf("%s.hostname %q is set without %s.subdomain: the pod gets no DNS name, since the EndpointSlice controller publishes a pod's hostname only for the Service its subdomain names", t.base, host, t.base)
		fix := ""
		if c := l.headlessSelecting(o, t); len(c) > 0 {
			fix = fmt.Sprintf("set %s.subdomain: %s (the headless Service that selects this pod) to get %s", t.base, c[0], show(l.endpointFQDN(host, o.Namespace, c[0])))
		}
		l.report(o, RuleHostnameWithoutSubdomain, Warning, t.base+".hostname", msg, fix)
		return
	}
	if len(validation.IsDNS1123Label(sub)) > 0 {
		return // label-invalid
	}
	names := l.perPodNames(l.pods[o])
	e := l.services[nsName{o.Namespace, sub}]
	if e == nil {
		msg := fmt.Sprintf("%s %q names no Service in namespace %s", field, sub, o.Namespace)
		if len(names) > 0 {
			msg += fmt.Sprintf(", so %s is %s", show(names[0]), l.answer(names[0], dnsA))
		} else {
			msg += ": the pods get no per-pod DNS name"
		}
		fix := fmt.Sprintf("create a headless Service named %q that selects the pod", sub)
		if c := l.headlessSelecting(o, t); len(c) > 0 {
			msg += fmt.Sprintf("; the headless Service %q selects this pod", c[0])
			fix = fmt.Sprintf("set %s: %s, or create a headless Service named %q", field, c[0], sub)
		}
		l.report(o, RuleSubdomainNoService, Error, field, msg, fix)
		return
	}
	l.checkNamedService(o, t, field, e.svc, names, RuleSubdomainServiceNotHeadless, "pod labels", "pod")
}

// notHeadless describes a subdomain or serviceName naming a Service that
// is not headless, with what the zone answers.
func (l *linter) notHeadless(field string, svc *cluster.Service, names []string) string {
	svcName := l.serviceFQDN(svc.Namespace, svc.Name)
	if svc.Type == cluster.ServiceTypeExternalName {
		return fmt.Sprintf("%s %q names an ExternalName Service (%s is a CNAME to %s): it has no endpoints, so the pods get no per-pod names", field, svc.Name, show(svcName), svc.ExternalName)
	}
	msg := fmt.Sprintf("%s %q names a Service with a cluster IP: %s answers %s, not the pods' addresses", field, svc.Name, show(svcName), l.answer(svcName, dnsA))
	if len(names) > 0 {
		if l.resolves(names[0]) {
			msg += fmt.Sprintf("; %s does resolve (to %s), as CoreDNS publishes endpoint hostnames of any Service, but the DNS specification promises per-pod names only for headless Services", show(names[0]), list(l.addresses(names[0]), 2))
		} else {
			msg += fmt.Sprintf("; %s is %s", show(names[0]), l.answer(names[0], dnsA))
		}
	}
	return msg
}

func notHeadlessFix(svc *cluster.Service, field string) string {
	if svc.Type == cluster.ServiceTypeExternalName {
		return fmt.Sprintf("point %s at a headless Service that selects the pods", field)
	}
	return fmt.Sprintf("add a headless Service (clusterIP: None) for the pods and name it in %s; clusterIP cannot be changed in place, so making %s headless means recreating it", field, svc.Name)
}

func (l *linter) notSelecting(field string, svc *cluster.Service, t podTemplate, names []string) string {
	return fmt.Sprintf("%s %q names a headless Service whose selector %s does not match the pod labels %s: the EndpointSlice controller writes no endpoint for these pods, so %s is %s",
		field, svc.Name, cluster.FormatLabels(svc.Selector), cluster.FormatLabels(t.labels), show(names[0]), l.answer(names[0], dnsA))
}

// checkStatefulSet checks spec.serviceName.
func (l *linter) checkStatefulSet(o *object, t podTemplate) {
	sts := o.Typed.(*appsv1.StatefulSet)
	sn := sts.Spec.ServiceName
	const field = "spec.serviceName"
	pods := l.pods[o]
	if sn == "" {
		msg := "spec.serviceName is empty: it is optional in recent Kubernetes, but the pods"
		if len(pods) > 0 {
			msg += " (" + list(podNames(pods), 3) + ")"
		}
		msg += " then get no per-pod DNS names"
		fix := ""
		if c := l.headlessSelecting(o, t); len(c) > 0 {
			fix = fmt.Sprintf("set spec.serviceName: %s (the headless Service that selects the pods)", c[0])
		}
		l.report(o, RuleStatefulSetServiceMissing, Warning, field, msg, fix)
		return
	}
	if errs := validation.IsDNS1123Label(sn); len(errs) > 0 {
		l.report(o, RuleLabelInvalid, Error, field,
			fmt.Sprintf("%s: invalid DNS label %q: %s: the API server rejects it (it becomes every pod's spec.subdomain)", field, sn, strings.Join(errs, "; ")), labelFix(field))
		return
	}
	names := l.perPodNames(pods)
	e := l.services[nsName{o.Namespace, sn}]
	if e == nil {
		msg := fmt.Sprintf("%s %q names no Service in namespace %s", field, sn, o.Namespace)
		if len(names) > 0 {
			msg += fmt.Sprintf(", so %s is %s", show(names[0]), l.answer(names[0], dnsA))
		}
		fix := fmt.Sprintf("create a headless Service named %q that selects the pods (%s)", sn, cluster.FormatLabels(t.labels))
		if c := l.headlessSelecting(o, t); len(c) > 0 {
			msg += fmt.Sprintf("; the headless Service %q selects these pods", c[0])
			fix = fmt.Sprintf("set %s: %s, or create a headless Service named %q", field, c[0], sn)
		}
		l.report(o, RuleStatefulSetServiceMissing, Error, field, msg, fix)
		return
	}
	l.checkNamedService(o, t, field, e.svc, names, RuleStatefulSetNotHeadless, "pod template labels", "template")
}

// checkNamedService checks the Service a subdomain or serviceName names: it
// must be headless (notHeadless is the rule to report otherwise) and select
// the pods. labels and holder name the pods' side in the fix.
func (l *linter) checkNamedService(o *object, t podTemplate, field string, svc *cluster.Service, names []string, notHeadless, labels, holder string) {
	if svc.Type == cluster.ServiceTypeExternalName || !svc.Headless {
		l.report(o, notHeadless, Warning, field, l.notHeadless(field, svc, names), notHeadlessFix(svc, field))
		return
	}
	if svc.Selector != nil && len(names) > 0 && !l.selects(svc, o, t) {
		l.report(o, RuleSubdomainServiceNotSelected, Error, field, l.notSelecting(field, svc, t, names),
			fmt.Sprintf("make the selector of Service %s (%s) match the %s, or add those labels to the %s", svc.Name, cluster.FormatLabels(svc.Selector), labels, holder))
	}
}

// Limits of validatePodDNSConfig (k8s.io/kubernetes pkg/apis/core/validation).
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

// checkDNSConfig checks what the API server's validation of dnsConfig
// rejects beyond what Decode checks (an unknown policy, None without
// nameservers), and a policy that silently does not apply.
func (l *linter) checkDNSConfig(o *object, t podTemplate) {
	spec := t.spec
	if spec.DNSPolicy == corev1.DNSClusterFirst {
		// Asked for cluster DNS explicitly: does the kubelet give it?
		cfg, _ := resolv.Compose(l.podFor(o, t), resolv.Kubelet{ClusterDNS: []string{clusterDNS}, ClusterDomain: strings.TrimSuffix(l.zone, ".")})
		if !slices.Contains(cfg.Nameservers, clusterDNS) && spec.HostNetwork {
			l.report(o, RuleDNSConfigInvalid, Warning, t.base+".dnsPolicy",
				fmt.Sprintf("%s.dnsPolicy is ClusterFirst with hostNetwork: true: the kubelet then writes the node's resolv.conf (Default), so cluster names do not resolve", t.base),
				fmt.Sprintf("set %s.dnsPolicy: ClusterFirstWithHostNet", t.base))
		}
	}
	c := spec.DNSConfig
	if c == nil {
		return
	}
	base := t.base + ".dnsConfig"
	if n := len(c.Nameservers); n > maxDNSNameservers {
		l.report(o, RuleDNSConfigInvalid, Error, base+".nameservers",
			fmt.Sprintf("%s.nameservers lists %d servers: the API server rejects more than %d", base, n, maxDNSNameservers), "keep at most 3 nameservers")
	}
	for i, ns := range c.Nameservers {
		if a, err := netip.ParseAddr(ns); err != nil || a.Zone() != "" {
			f := fmt.Sprintf("%s.nameservers[%d]", base, i)
			l.report(o, RuleDNSConfigInvalid, Error, f, fmt.Sprintf("%s %q is not an IP address: the API server rejects it", f, ns), "write the nameserver as an IP address")
		}
	}
	if n := len(c.Searches); n > maxDNSSearchPaths {
		l.report(o, RuleDNSConfigInvalid, Error, base+".searches",
			fmt.Sprintf("%s.searches lists %d domains: the API server rejects more than %d", base, n, maxDNSSearchPaths), "keep at most 32 search domains")
	}
	if n := len(strings.Join(c.Searches, " ")); n > maxDNSSearchListChars {
		l.report(o, RuleDNSConfigInvalid, Error, base+".searches",
			fmt.Sprintf("%s.searches is %d characters long: the API server rejects more than %d", base, n, maxDNSSearchListChars), "shorten the search list to at most 2048 characters")
	}
	for i, s := range c.Searches {
		if s == "." {
			continue
		}
		if errs := validation.IsDNS1123SubdomainWithUnderscore(strings.TrimSuffix(s, ".")); len(errs) > 0 {
			f := fmt.Sprintf("%s.searches[%d]", base, i)
			l.report(o, RuleDNSConfigInvalid, Error, f,
				fmt.Sprintf("%s %q is not a domain name: %s: the API server rejects it", f, s, strings.Join(errs, "; ")), "correct or remove the search domain")
		}
	}
	for i, opt := range c.Options {
		if opt.Name == "" {
			f := fmt.Sprintf("%s.options[%d]", base, i)
			l.report(o, RuleDNSConfigInvalid, Error, f, fmt.Sprintf("%s has no name: the API server rejects it", f), "give the option a name (ndots, timeout, attempts, ...)")
		}
	}
}
