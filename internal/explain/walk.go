package explain

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// walk follows the name's shape through the decision tree and returns the
// snapshot of the objects it depends on.
func (e *Explainer) walk(r *Result, n name) *zone.Snapshot {
	if n.reverse {
		return e.walkReverse(r, n)
	}
	l := n.labels
	if len(l) == 0 {
		r.step("name", "the zone apex: SOA and NS only", "", "", cluster.Origin{})
		return e.snapshot(nil, nil)
	}
	switch l[len(l)-1] {
	case "svc":
		return e.walkSvc(r, n)
	case "pod":
		return e.walkPod(r, n)
	}
	switch {
	case len(l) == 1 && l[0] == "dns-version":
		r.step("name", "the schema version record: TXT "+zone.SchemaVersion, "", "", cluster.Origin{})
	case len(l) == 2 && l[0] == "ns" && l[1] == "dns":
		r.step("name", "the nameserver name of the zone apex", "", "", cluster.Origin{})
	default:
		r.step("name", fmt.Sprintf("%q is neither svc nor pod: no name of that shape exists in the cluster zone", l[len(l)-1]), "", "", cluster.Origin{})
		r.add(Cause{Code: CodeServiceNotFound, Severity: SeverityError,
			Message: fmt.Sprintf("cluster names have the form <service>.<namespace>.svc.%s or <pod-ip>.<namespace>.pod.%s", n.zone, n.zone),
			Fix:     fmt.Sprintf("use <service>.<namespace>.svc.%s", n.zone)})
	}
	return e.snapshot(nil, nil)
}

func (e *Explainer) checkNamespace(r *Result, ns string) bool {
	if nsObj := e.namespaces[ns]; nsObj != nil {
		exposed := len(e.opts.Namespaces) == 0
		for _, x := range e.opts.Namespaces {
			if strings.EqualFold(x, ns) {
				exposed = true
			}
		}
		if !exposed {
			r.step("namespace", ns+" exists but is not served (--namespaces)", "Namespace "+ns, "", nsObj.Origin)
			r.add(Cause{Code: CodeNamespaceNotFound, Severity: SeverityError, Object: "Namespace " + ns,
				Message: fmt.Sprintf("namespace %s is not in --namespaces %s, so its names do not exist", ns, strings.Join(e.opts.Namespaces, ",")),
				Fix:     "add it to --namespaces, or drop the option"})
			return false
		}
		r.step("namespace", ns+" exists", "Namespace "+ns, "", nsObj.Origin)
		return true
	}
	r.step("namespace", ns+" does not exist", "", "", cluster.Origin{})
	var names []string
	for k := range e.namespaces {
		names = append(names, k)
	}
	c := Cause{Code: CodeNamespaceNotFound, Severity: SeverityError, Object: "Namespace " + ns,
		Message: fmt.Sprintf("there is no namespace %s, so nothing below %s.svc exists", ns, ns)}
	if near := nearest(ns, names); len(near) > 0 {
		c.Fix = "did you mean " + strings.Join(near, " or ") + "?"
	} else {
		c.Fix = "kubectl get namespaces"
	}
	r.add(c)
	return false
}

func (e *Explainer) walkSvc(r *Result, n name) *zone.Snapshot {
	l := n.labels
	if len(l) == 1 {
		r.step("name", "svc."+n.zone+" holds the namespaces: it exists, with no records", "", "", cluster.Origin{})
		return e.snapshot(nil, nil)
	}
	ns := l[len(l)-2]
	if !e.checkNamespace(r, ns) || len(l) == 2 {
		if len(l) == 2 {
			r.step("name", "a namespace name: it exists, with no records", "", "", cluster.Origin{})
		}
		return e.snapshot(nil, nil)
	}
	svcName := l[len(l)-3]
	svc := e.services[key(ns, svcName)]
	if svc == nil {
		e.serviceMissing(r, ns, svcName, l)
		return e.snapshot(nil, []string{ns})
	}
	ref := svc.Ref().String()
	kind := string(svc.Type)
	if svc.Headless {
		kind = "headless"
	}
	r.step("service", svcName+" exists ("+kind+")", ref, "", svc.Origin)
	keys := []string{key(ns, svcName)}
	switch len(l) {
	case 3:
		keys = append(keys, e.walkService(r, n, svc)...)
	case 4:
		e.walkEndpoint(r, n, svc, l[0])
	case 5:
		e.walkPort(r, n, svc, l[0], l[1])
	default:
		r.step("name", fmt.Sprintf("%d labels below the service: names under a service are <endpoint>.<service> or _<port>._<proto>.<service>", len(l)-3), "", "", cluster.Origin{})
		r.add(Cause{Code: CodeServiceNotFound, Severity: SeverityError, Object: ref,
			Message: "the name has too many labels for a service name: no such name exists",
			Fix:     fmt.Sprintf("use %s.%s.svc.%s, <hostname>.%s.%s.svc.%s or _<port>._<proto>.%s.%s.svc.%s", svcName, ns, n.zone, svcName, ns, n.zone, svcName, ns, n.zone)})
	}
	return e.snapshot(keys, []string{ns})
}

// serviceMissing explains a missing service: near misses, and pods whose
// subdomain names it.
func (e *Explainer) serviceMissing(r *Result, ns, svcName string, l []string) {
	r.step("service", svcName+" does not exist in "+ns, "", "", cluster.Origin{})
	if len(l) == 4 {
		for _, p := range e.podsByNS[ns] {
			if strings.EqualFold(p.Subdomain, svcName) {
				r.add(Cause{Code: CodePodSubdomainServiceMissing, Severity: SeverityError, Object: p.Ref().String(), Field: "spec.subdomain", Where: p.Origin.String(),
					Message: fmt.Sprintf("pod %s asks for subdomain %s, but no Service %s exists in %s: per-pod names need a (headless) Service named like the subdomain", p.Name, svcName, svcName, ns),
					Fix:     fmt.Sprintf("create a headless Service %s in %s (clusterIP: None) whose selector matches the pod, or set spec.subdomain to an existing Service", svcName, ns)})
			}
		}
	}
	var here []string
	for _, s := range e.svcsByNS[ns] {
		here = append(here, strings.ToLower(s.Name))
	}
	c := Cause{Code: CodeServiceNotFound, Severity: SeverityError, Object: "Service " + ns + "/" + svcName,
		Message: fmt.Sprintf("there is no Service %s in namespace %s", svcName, ns)}
	var hints []string
	if near := nearest(svcName, here); len(near) > 0 {
		hints = append(hints, "did you mean "+strings.Join(near, " or ")+"?")
	}
	var elsewhere []string
	for k, s := range e.services {
		if strings.EqualFold(s.Name, svcName) && !strings.EqualFold(s.Namespace, ns) {
			elsewhere = append(elsewhere, k)
		}
	}
	sort.Strings(elsewhere)
	if len(elsewhere) > 0 {
		hints = append(hints, "a Service of that name exists in "+strings.Join(elsewhere, ", ")+": the namespace is part of the name")
	}
	if len(hints) == 0 {
		hints = append(hints, "kubectl get services -n "+ns)
	}
	c.Fix = strings.Join(hints, "; ")
	r.add(c)
}

// walkService explains <svc>.<ns>.svc.<zone>. It returns more service keys
// the answer depends on (an ExternalName's in-zone target).
func (e *Explainer) walkService(r *Result, n name, svc *cluster.Service) []string {
	ref := svc.Ref().String()
	if svc.Type == cluster.ServiceTypeExternalName {
		return e.walkExternal(r, n, svc)
	}
	if svc.PublishNotReadyAddresses {
		r.add(Cause{Code: CodePublishNotReadyInUse, Severity: SeverityInfo, Object: ref, Field: "spec.publishNotReadyAddresses", Where: svc.Origin.String(),
			Message: "publishNotReadyAddresses is true: pods are published before they are Ready (and while terminating)",
			Fix:     "remove it once the workload no longer needs DNS before readiness"})
	}
	if !svc.Headless {
		ips := addrs(svc.ClusterIPs)
		r.step("headless?", "no: spec.clusterIP "+ips+"; the name answers the cluster IP, whatever the endpoints", ref, "spec.clusterIPs", svc.Origin)
		if r.qtype == dns.TypeSRV {
			e.srvPorts(r, svc)
		}
		if e.opts.IgnoreEmptyService {
			e.endpoints(r, svc, true)
		}
		if (r.qtype == dns.TypeA || r.qtype == dns.TypeAAAA) && !hasFamily(svc.ClusterIPs, r.qtype) {
			r.step("address family", "the service has no "+familyName(r.qtype)+" cluster IP: NODATA, never NXDOMAIN", ref, "spec.clusterIPs", svc.Origin)
		}
		return nil
	}
	r.step("headless?", "yes: spec.clusterIP None; the name answers the ready endpoints' addresses", ref, "spec.clusterIP", svc.Origin)
	switch r.qtype {
	case dns.TypeSRV:
		r.step("query type", "SRV on the service name: one record per ready endpoint and port, named or not", "", "", cluster.Origin{})
		if len(svc.Ports) == 0 {
			e.headlessNoPorts(r, svc)
		}
	case dns.TypeA, dns.TypeAAAA:
		r.step("query type", dns.TypeToString[r.qtype]+": the ready endpoints' "+familyName(r.qtype)+" addresses", "", "", cluster.Origin{})
	}
	e.endpoints(r, svc, true)
	return nil
}

func (e *Explainer) walkExternal(r *Result, n name, svc *cluster.Service) []string {
	ref := svc.Ref().String()
	target := strings.TrimSuffix(strings.TrimSpace(svc.ExternalName), ".")
	r.step("type", "ExternalName: the name is a CNAME to "+target, ref, "spec.externalName", svc.Origin)
	if _, err := netip.ParseAddr(target); err == nil || target == "" {
		r.add(Cause{Code: CodeExternalNameTarget, Severity: SeverityError, Object: ref, Field: "spec.externalName", Where: svc.Origin.String(),
			Message: fmt.Sprintf("externalName %q is not a DNS name: no CNAME is published and the name does not exist", svc.ExternalName),
			Fix:     "set spec.externalName to a DNS name; for an IP, use a selectorless Service with an EndpointSlice instead"})
		return nil
	}
	fq := strings.ToLower(dns.Fqdn(target))
	for _, z := range e.zones {
		if dns.IsSubDomain(z, fq) {
			labels := dns.SplitDomainName(strings.TrimSuffix(fq, z))
			msg := fmt.Sprintf("the target %s is in the cluster zone: clusterdns follows it", fq)
			var keys []string
			if len(labels) == 3 && labels[2] == "svc" {
				keys = append(keys, key(labels[1], labels[0]))
				if e.services[key(labels[1], labels[0])] == nil {
					msg = fmt.Sprintf("the target %s is a Service that does not exist: the CNAME leads nowhere", fq)
				}
			}
			r.add(Cause{Code: CodeExternalNameTarget, Severity: SeverityInfo, Object: ref, Field: "spec.externalName", Where: svc.Origin.String(), Message: msg})
			return keys
		}
	}
	r.add(Cause{Code: CodeExternalNameTarget, Severity: SeverityInfo, Object: ref, Field: "spec.externalName", Where: svc.Origin.String(),
		Message: fmt.Sprintf("the target %s is outside the cluster zone: the client's resolver looks it up after the CNAME (clusterdns does not forward)", fq)})
	return nil
}

func (e *Explainer) headlessNoPorts(r *Result, svc *cluster.Service) {
	r.add(Cause{Code: CodeHeadlessNoPorts, Severity: SeverityWarning, Object: svc.Ref().String(), Field: "spec.ports", Where: svc.Origin.String(),
		Message: "the headless Service has no ports: its EndpointSlices have endpoints but no ports, so there are no SRV records; A/AAAA and per-pod names still work (what a real cluster does, whatever older guides say)",
		Fix:     "add a named port to spec.ports, e.g. - name: http, port: 80"})
}

func (e *Explainer) srvPorts(r *Result, svc *cluster.Service) {
	if len(svc.Ports) == 0 {
		r.step("ports", "the service has no ports: no SRV records", svc.Ref().String(), "spec.ports", svc.Origin)
	}
}

// endpoints reports the EndpointSlices of a service and, when none of their
// endpoints is ready, why. It returns the number of ready addresses.
func (e *Explainer) endpoints(r *Result, svc *cluster.Service, mustHaveReady bool) int {
	ref := svc.Ref().String()
	k := key(svc.Namespace, svc.Name)
	slices := e.slicesBySvc[k]
	ready, total := 0, 0
	var notReady []*cluster.Endpoint
	var notReadySlices []*cluster.EndpointSlice
	for _, es := range slices {
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			total += len(ep.Addresses)
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready += len(ep.Addresses)
			} else {
				notReady = append(notReady, ep)
				notReadySlices = append(notReadySlices, es)
			}
		}
	}
	var names []string
	for _, es := range slices {
		names = append(names, es.Name)
	}
	r.step("endpoints", fmt.Sprintf("%d EndpointSlice(s) labelled kubernetes.io/service-name=%s [%s]: %d address(es), %d ready", len(slices), svc.Name, strings.Join(names, " "), total, ready), ref, "", cluster.Origin{})
	if svc.Selector == nil {
		r.step("selector", "none: the endpoints are whatever EndpointSlices are written by hand (or mirrored from Endpoints)", ref, "spec.selector", svc.Origin)
		if len(slices) == 0 && mustHaveReady {
			r.add(Cause{Code: CodeSelectorlessNoEndpoints, Severity: SeverityError, Object: ref, Field: "spec.selector", Where: svc.Origin.String(),
				Message: "the Service has no selector and no EndpointSlice carries its name: nothing publishes addresses for it",
				Fix:     fmt.Sprintf("create an EndpointSlice in %s labelled kubernetes.io/service-name: %s with the addresses (and hostnames) to publish, or add a selector", svc.Namespace, svc.Name)})
		}
	} else {
		e.selected(r, svc)
	}
	for i, ep := range notReady {
		e.endpointNotReady(r, svc, notReadySlices[i], ep)
	}
	if ready == 0 && mustHaveReady && (svc.Headless || e.opts.IgnoreEmptyService) {
		msg := "no endpoint of the Service is ready, so a headless Service name does not exist (NXDOMAIN) and neither do its SRV and per-pod names"
		if !svc.Headless {
			msg = "no endpoint of the Service is ready and --ignore-empty-service is set, so the name does not exist"
		}
		r.add(Cause{Code: CodeNoReadyEndpoints, Severity: SeverityError, Object: ref, Message: msg,
			Fix: fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide; make the backing pods Ready", svc.Namespace, svc.Name)})
	}
	return ready
}

// selected reports the pods a selector picks and the ones that cannot be
// endpoints.
func (e *Explainer) selected(r *Result, svc *cluster.Service) []*cluster.Pod {
	ref := svc.Ref().String()
	var pods []*cluster.Pod
	for _, p := range e.podsByNS[strings.ToLower(svc.Namespace)] {
		if manifest.SelectorMatches(svc.Selector, p.Labels) {
			pods = append(pods, p)
		}
	}
	r.step("selector", fmt.Sprintf("%s selects %d pod(s)", labelString(svc.Selector), len(pods)), ref, "spec.selector", svc.Origin)
	if len(pods) == 0 && len(e.state.Pods) > 0 {
		r.add(Cause{Code: CodeSelectorMatchesNoPods, Severity: SeverityError, Object: ref, Field: "spec.selector", Where: svc.Origin.String(),
			Message: fmt.Sprintf("the selector %s matches no pod in %s", labelString(svc.Selector), svc.Namespace),
			Fix:     fmt.Sprintf("kubectl get pods -n %s --show-labels; make spec.selector match the pod template's labels", svc.Namespace)})
	}
	for _, p := range pods {
		e.podState(r, svc, p)
	}
	return pods
}

// podState adds the causes that keep a selected pod out of DNS.
func (e *Explainer) podState(r *Result, svc *cluster.Service, p *cluster.Pod) {
	pref := p.Ref().String()
	switch {
	case p.Phase == cluster.PodSucceeded || p.Phase == cluster.PodFailed:
		r.add(Cause{Code: CodePodNotReady, Severity: SeverityWarning, Object: pref, Field: "status.phase", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s has finished (phase %s): it is never an endpoint", p.Name, p.Phase)})
	case len(p.IPs) == 0 && p.NodeName == "" && p.Phase == cluster.PodPending:
		r.add(Cause{Code: CodePodNotScheduled, Severity: SeverityError, Object: pref, Field: "spec.nodeName", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s is not scheduled to a node, so it has no IP and no endpoint", p.Name),
			Fix:     fmt.Sprintf("kubectl describe pod -n %s %s (look at the scheduler's events)", p.Namespace, p.Name)})
	case len(p.IPs) == 0:
		r.add(Cause{Code: CodePodNoIP, Severity: SeverityError, Object: pref, Field: "status.podIPs", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s has no IP yet, so the EndpointSlice controller leaves it out", p.Name),
			Fix:     fmt.Sprintf("kubectl describe pod -n %s %s (sandbox or CNI problems)", p.Namespace, p.Name)})
	case p.Terminating() && !svc.PublishNotReadyAddresses:
		r.add(Cause{Code: CodePodTerminating, Severity: SeverityWarning, Object: pref, Field: "metadata.deletionTimestamp", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s is terminating: its endpoint is ready=false (serving may stay true) and it is gone from DNS", p.Name),
			Fix:     "expected during a rollout; a replacement pod gets the name once Ready"})
	case !p.Ready && !svc.PublishNotReadyAddresses:
		r.add(Cause{Code: CodePodNotReady, Severity: SeverityError, Object: pref, Field: "status.conditions[Ready]", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s is not Ready, so its endpoint is ready=false and it is left out of the Service's names", p.Name),
			Fix:     fmt.Sprintf("kubectl describe pod -n %s %s (readiness probe); or set publishNotReadyAddresses: true on the Service if peers must find it before it is Ready", p.Namespace, p.Name)})
	}
}

// endpointNotReady explains a ready=false endpoint through its pod, or as
// written in a hand-made slice.
func (e *Explainer) endpointNotReady(r *Result, svc *cluster.Service, es *cluster.EndpointSlice, ep *cluster.Endpoint) {
	if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
		if p := e.pods[key(ep.TargetRef.Namespace, ep.TargetRef.Name)]; p != nil {
			before := len(r.Causes)
			e.podState(r, svc, p)
			if len(r.Causes) > before {
				return
			}
		}
	}
	what := addrs(ep.Addresses)
	if ep.Hostname != "" {
		what = ep.Hostname + " (" + what + ")"
	}
	code, msg := CodePodNotReady, fmt.Sprintf("endpoint %s is ready=false in EndpointSlice %s: it is left out of every name", what, es.Name)
	if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
		code, msg = CodePodTerminating, fmt.Sprintf("endpoint %s is terminating (ready=false) in EndpointSlice %s: it is gone from DNS", what, es.Name)
	}
	r.add(Cause{Code: code, Severity: SeverityError, Object: es.Ref().String(), Field: "endpoints[].conditions.ready", Where: es.Origin.String(),
		Message: msg, Fix: "make the backing pod Ready (or, for a hand-written slice, set conditions.ready: true)"})
}

// walkEndpoint explains <label>.<svc>.<ns>.svc.<zone>: a per-pod name.
func (e *Explainer) walkEndpoint(r *Result, n name, svc *cluster.Service, label string) {
	ref := svc.Ref().String()
	ns := strings.ToLower(svc.Namespace)
	if svc.Type == cluster.ServiceTypeExternalName {
		r.step("type", "ExternalName: no names exist below it", ref, "spec.type", svc.Origin)
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityError, Object: ref, Field: "spec.type", Where: svc.Origin.String(),
			Message: "an ExternalName Service has no endpoints, so no per-pod names", Fix: "use a headless Service (clusterIP: None) with a selector"})
		return
	}
	if !zone.IsDNSLabel(label) {
		r.add(Cause{Code: CodeHostnameInvalid, Severity: SeverityError, Field: "spec.hostname",
			Message: fmt.Sprintf("%q is not a DNS label (1-63 letters, digits, '-'): no endpoint can be published under it", label),
			Fix:     "use a hostname of at most 63 lowercase letters, digits and '-'"})
		return
	}
	if svc.Headless {
		r.step("headless?", "yes: per-pod names are <hostname>.<service>", ref, "spec.clusterIP", svc.Origin)
	} else {
		r.step("headless?", "no: per-pod names still exist under a ClusterIP Service (CoreDNS answers them), but the service name itself answers the cluster IP", ref, "spec.clusterIP", svc.Origin)
	}
	if svc.PublishNotReadyAddresses {
		r.add(Cause{Code: CodePublishNotReadyInUse, Severity: SeverityInfo, Object: ref, Field: "spec.publishNotReadyAddresses", Where: svc.Origin.String(),
			Message: "publishNotReadyAddresses is true: pods are published before they are Ready"})
	}
	// Is there an endpoint published under the label?
	var found []string
	var names []string
	for _, es := range e.slicesBySvc[key(svc.Namespace, svc.Name)] {
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			for _, a := range ep.Addresses {
				l, by := zone.EndpointName(ep, a, e.opts.EndpointPodNames)
				names = append(names, l)
				if l != label {
					continue
				}
				found = append(found, a.String())
				r.step("EndpointSlice", fmt.Sprintf("endpoint %s of %s is named %s (from its %s)", a, es.Name, l, by), es.Ref().String(), "endpoints[].hostname", es.Origin)
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					r.step("ready?", "no: conditions.ready is false", es.Ref().String(), "endpoints[].conditions.ready", es.Origin)
					e.endpointNotReady(r, svc, es, ep)
				} else {
					r.step("ready?", "yes", es.Ref().String(), "endpoints[].conditions.ready", es.Origin)
				}
			}
		}
	}
	if len(found) > 0 {
		if !svc.Headless {
			r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityInfo, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
				Message: "the per-pod name resolves, but the Service has a cluster IP: peers that look up the service name get the virtual IP, not the pods",
				Fix:     "set clusterIP: None (recreate the Service) if clients need every pod's address"})
		}
		return
	}
	sort.Strings(names)
	r.step("EndpointSlice", fmt.Sprintf("no endpoint is named %s; the names published are [%s]", label, strings.Join(dedup(names), " ")), ref, "", cluster.Origin{})
	if !svc.Headless {
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityWarning, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
			Message: "per-pod names are meant for headless Services; this Service has a cluster IP",
			Fix:     "use a headless Service (clusterIP: None) named like the pods' spec.subdomain"})
	}
	e.whyNoEndpointName(r, svc, ns, label)
}

// whyNoEndpointName looks for the pod that was meant to be <label>.<svc>.
func (e *Explainer) whyNoEndpointName(r *Result, svc *cluster.Service, ns, label string) {
	ref := svc.Ref().String()
	matched := false
	for _, p := range e.podsByNS[ns] {
		pref := p.Ref().String()
		byHostname := strings.EqualFold(p.Hostname, label)
		byName := strings.EqualFold(p.Name, label)
		if !byHostname && !byName {
			continue
		}
		matched = true
		selected := svc.Selector != nil && manifest.SelectorMatches(svc.Selector, p.Labels)
		switch {
		case byHostname && !strings.EqualFold(p.Subdomain, svc.Name):
			msg := fmt.Sprintf("pod %s has hostname %s but spec.subdomain %q, not %q: the EndpointSlice controller sets the endpoint hostname only when the subdomain equals the Service name", p.Name, p.Hostname, p.Subdomain, svc.Name)
			if p.Subdomain == "" {
				msg = fmt.Sprintf("pod %s has hostname %s but no spec.subdomain: the EndpointSlice controller sets the endpoint hostname only when spec.subdomain equals the Service name", p.Name, p.Hostname)
			}
			r.add(Cause{Code: CodePodSubdomainMismatch, Severity: SeverityError, Object: pref, Field: "spec.subdomain", Where: p.Origin.String(),
				Message: msg, Fix: fmt.Sprintf("set spec.subdomain: %s on the pod (for a StatefulSet: spec.serviceName: %s)", svc.Name, svc.Name)})
		case byName && p.Hostname == "":
			r.add(Cause{Code: CodePodNoHostname, Severity: SeverityError, Object: pref, Field: "spec.hostname", Where: p.Origin.String(),
				Message: fmt.Sprintf("pod %s has no spec.hostname, so its endpoint has no hostname and is published under its IP (or pod name with --endpoint-pod-names), not as %s", p.Name, label),
				Fix:     fmt.Sprintf("set spec.hostname: %s and spec.subdomain: %s (a StatefulSet with serviceName: %s does this for every pod)", label, svc.Name, svc.Name)})
		case byName && !strings.EqualFold(p.Hostname, label):
			r.add(Cause{Code: CodePodNoHostname, Severity: SeverityWarning, Object: pref, Field: "spec.hostname", Where: p.Origin.String(),
				Message: fmt.Sprintf("pod %s has hostname %s: its per-pod name is %s.%s, not %s.%s", p.Name, p.Hostname, p.Hostname, svc.Name, label, svc.Name),
				Fix:     fmt.Sprintf("query %s.%s.%s.svc, or set spec.hostname: %s", p.Hostname, svc.Name, ns, label)})
		case svc.Selector != nil && !selected:
			r.add(Cause{Code: CodeSelectorMatchesNoPods, Severity: SeverityError, Object: ref, Field: "spec.selector", Where: svc.Origin.String(),
				Message: fmt.Sprintf("the Service selector %s does not select pod %s (labels %s), so the pod is no endpoint of it", labelString(svc.Selector), p.Name, labelString(p.Labels)),
				Fix:     "make the selector match the pod's labels"})
		default:
			before := len(r.Causes)
			e.podState(r, svc, p)
			if len(r.Causes) == before {
				// Hostname and subdomain are right and the pod is
				// ready: the slice lacks the hostname.
				r.add(Cause{Code: CodeEndpointSliceNoHostname, Severity: SeverityError, Object: ref, Field: "endpoints[].hostname",
					Message: fmt.Sprintf("pod %s has hostname %s and subdomain %s, but no EndpointSlice of the Service carries hostname %s for its address", p.Name, p.Hostname, p.Subdomain, label),
					Fix:     fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o yaml; for a hand-written slice set endpoints[].hostname: %s", ns, svc.Name, label)})
			}
		}
	}
	// A hand-written slice whose endpoint targets the pod but has no hostname.
	for _, es := range e.slicesBySvc[key(svc.Namespace, svc.Name)] {
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			if ep.Hostname == "" && ep.TargetRef != nil && strings.EqualFold(ep.TargetRef.Name, label) && e.pods[key(ep.TargetRef.Namespace, ep.TargetRef.Name)] == nil {
				matched = true
				r.add(Cause{Code: CodeEndpointSliceNoHostname, Severity: SeverityError, Object: es.Ref().String(), Field: fmt.Sprintf("endpoints[%d].hostname", i), Where: es.Origin.String(),
					Message: fmt.Sprintf("the endpoint for %s has no hostname, so it is published under %s", label, zone.DashedIP(first(ep.Addresses))),
					Fix:     fmt.Sprintf("set endpoints[%d].hostname: %s", i, label)})
			}
		}
	}
	if !matched {
		r.add(Cause{Code: CodePodNoHostname, Severity: SeverityError, Object: ref,
			Message: fmt.Sprintf("no pod in %s has spec.hostname %s (or is named so), and no endpoint of %s is published under that name", ns, label, svc.Name),
			Fix:     fmt.Sprintf("kubectl get pods -n %s -o custom-columns=NAME:.metadata.name,HOSTNAME:.spec.hostname,SUBDOMAIN:.spec.subdomain", ns)})
	}
	if svc.Selector == nil && len(e.slicesBySvc[key(svc.Namespace, svc.Name)]) == 0 {
		e.endpoints(r, svc, true)
	}
}

// walkPort explains _<port>._<proto>.<svc>.<ns>.svc.<zone>.
func (e *Explainer) walkPort(r *Result, n name, svc *cluster.Service, portLabel, protoLabel string) {
	ref := svc.Ref().String()
	port := strings.TrimPrefix(portLabel, "_")
	proto := strings.TrimPrefix(protoLabel, "_")
	r.step("query type", fmt.Sprintf("_%s._%s: SRV for the port named %q with protocol %s", port, proto, port, strings.ToUpper(proto)), "", "", cluster.Origin{})
	if svc.Type == cluster.ServiceTypeExternalName {
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityError, Object: ref, Field: "spec.type", Where: svc.Origin.String(),
			Message: "an ExternalName Service has no SRV names", Fix: "query the CNAME's target for SRV"})
		return
	}
	if r.qtype != dns.TypeSRV {
		r.step("type", "a _port._proto name has SRV records only; other types get NODATA", "", "", cluster.Origin{})
	}
	if len(svc.Ports) == 0 {
		if svc.Headless {
			e.headlessNoPorts(r, svc)
		} else {
			r.add(Cause{Code: CodePortNameNotFound, Severity: SeverityError, Object: ref, Field: "spec.ports", Where: svc.Origin.String(),
				Message: "the Service has no ports, so no SRV records", Fix: "add a named port to spec.ports"})
		}
		return
	}
	var named []string
	var match *cluster.ServicePort
	var matchIdx int
	for i := range svc.Ports {
		sp := &svc.Ports[i]
		if sp.Name != "" {
			named = append(named, fmt.Sprintf("%s/%s", sp.Name, sp.Protocol))
		}
		if port != "" && strings.EqualFold(sp.Name, port) {
			match, matchIdx = sp, i
		}
	}
	if match == nil && port != "" {
		for i, sp := range svc.Ports {
			if sp.Name == "" {
				r.add(Cause{Code: CodePortUnnamed, Severity: SeverityError, Object: ref, Field: fmt.Sprintf("spec.ports[%d].name", i), Where: svc.Origin.String(),
					Message: fmt.Sprintf("port %d has no name, so no _<name>._%s SRV record exists for it (SRV on the bare service name still lists it)", sp.Port, strings.ToLower(string(sp.Protocol))),
					Fix:     fmt.Sprintf("name it: spec.ports[%d].name: %s", i, port)})
			}
		}
		c := Cause{Code: CodePortNameNotFound, Severity: SeverityError, Object: ref, Field: "spec.ports[].name", Where: svc.Origin.String(),
			Message: fmt.Sprintf("the Service has no port named %q; its named ports are [%s]", port, strings.Join(named, " "))}
		if near := nearest(port, names(svc.Ports)); len(near) > 0 {
			c.Fix = "did you mean _" + near[0] + "._" + strings.ToLower(proto) + "?"
		} else {
			c.Fix = fmt.Sprintf("add name: %s to the port, or query one of the named ports", port)
		}
		r.add(c)
		return
	}
	if match != nil {
		r.step("named port", fmt.Sprintf("spec.ports[%d] is %s %d/%s", matchIdx, match.Name, match.Port, match.Protocol), ref, fmt.Sprintf("spec.ports[%d]", matchIdx), svc.Origin)
		if proto != "" && !strings.EqualFold(string(match.Protocol), proto) {
			r.add(Cause{Code: CodePortProtocolMismatch, Severity: SeverityError, Object: ref, Field: fmt.Sprintf("spec.ports[%d].protocol", matchIdx), Where: svc.Origin.String(),
				Message: fmt.Sprintf("port %s is %s, the query asks for _%s", match.Name, match.Protocol, strings.ToLower(proto)),
				Fix:     fmt.Sprintf("query _%s._%s.%s.%s.svc.%s", strings.ToLower(match.Name), strings.ToLower(string(match.Protocol)), svc.Name, svc.Namespace, n.zone)})
			return
		}
	}
	if !svc.Headless {
		r.step("headless?", "no: the SRV record points at the service name with the service port", ref, "spec.clusterIP", svc.Origin)
		return
	}
	r.step("headless?", "yes: one SRV record per ready endpoint, pointing at its per-pod name, with the endpoint's port (the resolved targetPort)", ref, "spec.clusterIP", svc.Origin)
	ready := e.endpoints(r, svc, true)
	if ready == 0 || match == nil {
		return
	}
	// Slices must carry the port for the SRV record to exist.
	for _, es := range e.slicesBySvc[key(svc.Namespace, svc.Name)] {
		has := false
		for _, p := range es.Ports {
			if strings.EqualFold(p.Name, match.Name) && p.Port != nil {
				has = true
			}
		}
		if !has && len(es.Endpoints) > 0 {
			msg := fmt.Sprintf("EndpointSlice %s has no port named %s, so its endpoints get no _%s SRV record", es.Name, match.Name, strings.ToLower(match.Name))
			fix := fmt.Sprintf("add ports: [{name: %s, port: %d, protocol: %s}] to the slice", match.Name, match.Port, match.Protocol)
			if match.TargetPort.Name != "" {
				msg += fmt.Sprintf(" (targetPort %q: no container of the pods declares a port of that name and protocol)", match.TargetPort.Name)
				fix = fmt.Sprintf("declare containers[].ports[].name: %s in the pod template, or use a numeric targetPort", match.TargetPort.Name)
			}
			r.add(Cause{Code: CodeEndpointSlicePortMismatch, Severity: SeverityError, Object: es.Ref().String(), Field: "ports", Where: es.Origin.String(), Message: msg, Fix: fix})
		}
	}
}

func (e *Explainer) walkPod(r *Result, n name) *zone.Snapshot {
	l := n.labels
	if len(l) == 1 {
		r.step("name", "pod."+n.zone+" exists, with no records", "", "", cluster.Origin{})
		return e.snapshot(nil, nil)
	}
	ns := l[len(l)-2]
	if !e.checkNamespace(r, ns) || len(l) != 3 {
		return e.snapshot(nil, []string{ns})
	}
	switch e.opts.PodRecords {
	case zone.PodsDisabled:
		r.step("pod records", "disabled (--pod-records): <ip>.<namespace>.pod names do not exist; they were removed from the DNS specification", "", "", cluster.Origin{})
	case zone.PodsInsecure:
		r.step("pod records", "insecure: any IP-shaped label answers that IP, unchecked", "", "", cluster.Origin{})
	case zone.PodsVerified:
		ip, ok := zone.ParseDashedIP(l[0])
		found := false
		for _, p := range e.podsByNS[ns] {
			for _, a := range p.IPs {
				if ok && a == ip {
					found = true
					r.step("pod records", "verified: pod "+p.Name+" has this IP", p.Ref().String(), "status.podIPs", p.Origin)
				}
			}
		}
		if !found {
			r.step("pod records", "verified: no pod in "+ns+" has this IP", "", "", cluster.Origin{})
		}
	}
	return e.snapshot(nil, []string{ns})
}

func (e *Explainer) walkReverse(r *Result, n name) *zone.Snapshot {
	ip, ok := zone.AddrFromReverse(n.fqdn)
	if !ok {
		r.step("address", "not a full address: no PTR", "", "", cluster.Origin{})
		return e.snapshot(nil, nil)
	}
	keys := e.byIP[ip]
	r.step("address", fmt.Sprintf("%s is held by %d service(s) [%s]", ip, len(keys), strings.Join(keys, " ")), "", "", cluster.Origin{})
	if len(keys) == 0 {
		for _, p := range e.state.Pods {
			for _, a := range p.IPs {
				if a == ip {
					r.add(Cause{Code: CodeSelectorMatchesNoPods, Severity: SeverityWarning, Object: p.Ref().String(), Field: "metadata.labels", Where: p.Origin.String(),
						Message: fmt.Sprintf("pod %s has this address but backs no Service: only Service cluster IPs and endpoints have PTR records", p.Name),
						Fix:     "put the pod behind a (headless) Service to give it a name"})
				}
			}
		}
	}
	for _, k := range keys {
		if s := e.services[k]; s != nil {
			for _, es := range e.slicesBySvc[k] {
				for i := range es.Endpoints {
					ep := &es.Endpoints[i]
					for _, a := range ep.Addresses {
						if a == ip && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
							e.endpointNotReady(r, s, es, ep)
						}
					}
				}
			}
		}
	}
	return e.snapshot(keys, nil)
}

// ExplainObject lists every name a Service or Pod should have and explains
// each (kind "service" or "pod").
func (e *Explainer) ExplainObject(kind, ns, objName string) ([]*Result, error) {
	z := e.zones[0]
	var qs []struct {
		name string
		t    uint16
	}
	add := func(n string, t uint16) {
		qs = append(qs, struct {
			name string
			t    uint16
		}{n, t})
	}
	switch kind {
	case "service", "svc":
		svc := e.services[key(ns, objName)]
		if svc == nil {
			return nil, fmt.Errorf("no Service %s/%s in the cluster state", ns, objName)
		}
		base := strings.ToLower(svc.Name) + "." + strings.ToLower(svc.Namespace) + ".svc." + z
		if svc.Type == cluster.ServiceTypeExternalName {
			add(base, dns.TypeCNAME)
			break
		}
		add(base, dns.TypeA)
		if hasFamily(svc.ClusterIPs, dns.TypeAAAA) {
			add(base, dns.TypeAAAA)
		}
		add(base, dns.TypeSRV)
		for _, p := range svc.Ports {
			name := p.Name
			if name == "" {
				name = fmt.Sprint(p.Port)
			}
			add("_"+strings.ToLower(name)+"._"+strings.ToLower(string(p.Protocol))+"."+base, dns.TypeSRV)
		}
		for _, p := range e.podsByNS[strings.ToLower(ns)] {
			if svc.Selector != nil && manifest.SelectorMatches(svc.Selector, p.Labels) && p.Hostname != "" {
				add(strings.ToLower(p.Hostname)+"."+base, dns.TypeA)
			}
		}
		for _, es := range e.slicesBySvc[key(ns, objName)] {
			for i := range es.Endpoints {
				for _, a := range es.Endpoints[i].Addresses {
					l, _ := zone.EndpointName(&es.Endpoints[i], a, e.opts.EndpointPodNames)
					add(l+"."+base, addrType(a))
				}
			}
		}
		for _, ip := range svc.ClusterIPs {
			rev, _ := dns.ReverseAddr(ip.String())
			add(rev, dns.TypePTR)
		}
	case "pod":
		p := e.pods[key(ns, objName)]
		if p == nil {
			return nil, fmt.Errorf("no Pod %s/%s in the cluster state", ns, objName)
		}
		for _, s := range e.svcsByNS[strings.ToLower(ns)] {
			if s.Selector == nil || !manifest.SelectorMatches(s.Selector, p.Labels) {
				continue
			}
			base := strings.ToLower(s.Name) + "." + strings.ToLower(s.Namespace) + ".svc." + z
			for _, ip := range p.IPs {
				label := zone.DashedIP(ip)
				if p.Hostname != "" && strings.EqualFold(p.Subdomain, s.Name) {
					label = strings.ToLower(p.Hostname)
				} else if e.opts.EndpointPodNames {
					label = strings.ToLower(p.Name)
				}
				add(label+"."+base, addrType(ip))
			}
			add(base, dns.TypeA)
		}
		if p.Subdomain != "" && p.Hostname != "" && e.services[key(ns, p.Subdomain)] == nil {
			add(strings.ToLower(p.Hostname)+"."+strings.ToLower(p.Subdomain)+"."+strings.ToLower(ns)+".svc."+z, dns.TypeA)
		}
		for _, ip := range p.IPs {
			rev, _ := dns.ReverseAddr(ip.String())
			add(rev, dns.TypePTR)
			if e.opts.PodRecords != zone.PodsDisabled {
				add(zone.DashedIP(ip)+"."+strings.ToLower(ns)+".pod."+z, addrType(ip))
			}
		}
		if len(qs) == 0 {
			return nil, fmt.Errorf("pod %s/%s backs no Service and has no IP: it has no DNS name", ns, objName)
		}
	default:
		return nil, fmt.Errorf("explain %s: want pod or service", kind)
	}
	seen := map[string]bool{}
	var out []*Result
	for _, q := range qs {
		k := q.name + "/" + dns.TypeToString[q.t]
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e.Explain(q.name, q.t))
	}
	return out, nil
}
