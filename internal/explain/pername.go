package explain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// walkEndpoint explains <label>.<svc>.<ns>.svc.<zone>: a per-pod name.
func (e *Explainer) walkEndpoint(r *Result, svc *cluster.Service, f zone.ServiceFacts, label string) {
	ref := svc.Ref().String()
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
	if e.endpointsNamed(r, svc, f, label) {
		if !svc.Headless {
			r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityInfo, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
				Message: "the per-pod name resolves, but the Service has a cluster IP: peers that look up the service name get the virtual IP, not the pods",
				Fix:     "set clusterIP: None (recreate the Service) if clients need every pod's address"})
		}
		return
	}
	var names []string
	for _, p := range f.Published {
		names = append(names, p.Label)
	}
	sort.Strings(names)
	r.step("EndpointSlice", fmt.Sprintf("no endpoint is named %s; the names published are [%s]", label, strings.Join(dedup(names), " ")), ref, "", cluster.Origin{})
	if !svc.Headless {
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityWarning, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
			Message: "per-pod names are meant for headless Services; this Service has a cluster IP",
			Fix:     "use a headless Service (clusterIP: None) named like the pods' spec.subdomain"})
	}
	if svc.Selector == nil {
		e.handWrittenNoName(r, svc, f, label)
		return
	}
	e.whyNoEndpointName(r, svc, label)
}

// endpointsNamed reports the endpoints the engine names label (published
// or not ready) and reports whether there is one.
func (e *Explainer) endpointsNamed(r *Result, svc *cluster.Service, f zone.ServiceFacts, label string) bool {
	found := false
	for _, list := range [][]zone.EndpointFacts{f.Published, f.Unpublished} {
		for _, ef := range list {
			if ef.Label != label || (ef.Why != zone.Published && ef.Why != zone.NotReady) {
				continue
			}
			found = true
			es := ef.Slice
			r.step("EndpointSlice", fmt.Sprintf("endpoint %s of %s is named %s (from its %s)", ef.Addr, es.Name, ef.Label, ef.LabelFrom), es.Ref().String(), "endpoints[].hostname", es.Origin)
			if ef.Why == zone.NotReady {
				r.step("ready?", "no: conditions.ready is false", es.Ref().String(), "endpoints[].conditions.ready", es.Origin)
				e.endpointNotReady(r, svc, es, ef.EndpointRef())
			} else {
				r.step("ready?", "yes", es.Ref().String(), "endpoints[].conditions.ready", es.Origin)
			}
		}
	}
	return found
}

// handWrittenNoName explains a missing per-endpoint name of a selectorless
// Service: its EndpointSlices are written by hand (or mirrored from
// Endpoints), so no pod is involved and the fix is in the slice.
func (e *Explainer) handWrittenNoName(r *Result, svc *cluster.Service, f zone.ServiceFacts, label string) {
	if len(f.Slices) == 0 {
		e.endpoints(r, svc, f, true)
		return
	}
	for _, sf := range f.Slices {
		es := sf.Slice
		var unnamed []string
		idx := -1
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			if ep.Hostname != "" {
				continue
			}
			if idx < 0 || (ep.TargetRef != nil && strings.EqualFold(ep.TargetRef.Name, label)) {
				idx = i
			}
			for _, a := range ep.Addresses.All() {
				l, _ := zone.EndpointName(ep, a, e.opts.EndpointPodNames)
				unnamed = append(unnamed, l)
			}
		}
		if idx < 0 {
			continue
		}
		r.add(Cause{Code: CodeEndpointSliceNoHostname, Severity: SeverityError, Object: es.Ref().String(), Field: fmt.Sprintf("endpoints[%d].hostname", idx), Where: es.Origin.String(),
			Message: fmt.Sprintf("Service %s has no selector, so its EndpointSlice %s is written by hand; %d of its endpoints have no hostname and are published as [%s], none as %s", svc.Name, es.Name, len(unnamed), strings.Join(unnamed, " "), label),
			Fix:     fmt.Sprintf("set endpoints[%d].hostname: %s on the endpoint meant to be %s (in the slice, or the Endpoints object it is mirrored from)", idx, label, label)})
	}
	e.endpoints(r, svc, f, true)
}

// whyNoEndpointName looks for the pod that was meant to be <label>.<svc>,
// and asks the EndpointSlice controller's rules why its endpoint is not
// named so.
func (e *Explainer) whyNoEndpointName(r *Result, svc *cluster.Service, label string) {
	ns := strings.ToLower(svc.Namespace)
	matched := false
	for _, p := range e.podsByNS[ns] {
		byHostname := strings.EqualFold(p.Hostname, label)
		byName := strings.EqualFold(p.Name, label)
		if byHostname || byName {
			matched = true
			e.podNotNamed(r, svc, p, label, byHostname)
		}
	}
	if !matched {
		r.add(Cause{Code: CodePodNoHostname, Severity: SeverityError, Object: svc.Ref().String(),
			Message: fmt.Sprintf("no pod in %s has spec.hostname %s (or is named so), and no endpoint of %s is published under that name", ns, label, svc.Name),
			Fix:     fmt.Sprintf("kubectl get pods -n %s -o custom-columns=NAME:.metadata.name,HOSTNAME:.spec.hostname,SUBDOMAIN:.spec.subdomain", ns)})
	}
}

// podNotNamed explains why the pod meant to be <label>.<svc> is not.
func (e *Explainer) podNotNamed(r *Result, svc *cluster.Service, p *cluster.Pod, label string, byHostname bool) {
	pref, ref := p.Ref().String(), svc.Ref().String()
	m := controller.Membership(p, svc)
	switch {
	case byHostname && m.HostnameReason == controller.SubdomainDiffers:
		msg := fmt.Sprintf("pod %s has hostname %s but spec.subdomain %q, not %q: the EndpointSlice controller sets the endpoint hostname only when the subdomain equals the Service name", p.Name, p.Hostname, p.Subdomain, svc.Name)
		if p.Subdomain == "" {
			msg = fmt.Sprintf("pod %s has hostname %s but no spec.subdomain: the EndpointSlice controller sets the endpoint hostname only when spec.subdomain equals the Service name", p.Name, p.Hostname)
		}
		r.add(Cause{Code: CodePodSubdomainMismatch, Severity: SeverityError, Object: pref, Field: "spec.subdomain", Where: p.Origin.String(),
			Message: msg, Fix: fmt.Sprintf("set spec.subdomain: %s on the pod (for a StatefulSet: spec.serviceName: %s)", svc.Name, svc.Name)})
	case !byHostname && m.HostnameReason == controller.NoHostname:
		r.add(Cause{Code: CodePodNoHostname, Severity: SeverityError, Object: pref, Field: "spec.hostname", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s has no spec.hostname, so its endpoint has no hostname and is published under its IP (or pod name with --endpoint-pod-names), not as %s", p.Name, label),
			Fix:     fmt.Sprintf("set spec.hostname: %s and spec.subdomain: %s (a StatefulSet with serviceName: %s does this for every pod)", label, svc.Name, svc.Name)})
	case !byHostname:
		r.add(Cause{Code: CodePodNoHostname, Severity: SeverityWarning, Object: pref, Field: "spec.hostname", Where: p.Origin.String(),
			Message: fmt.Sprintf("pod %s has hostname %s: its per-pod name is %s.%s, not %s.%s", p.Name, p.Hostname, p.Hostname, svc.Name, label, svc.Name),
			Fix:     fmt.Sprintf("query %s.%s.%s.svc, or set spec.hostname: %s", p.Hostname, svc.Name, svc.Namespace, label)})
	case m.Reason == controller.NotSelected:
		r.add(Cause{Code: CodeSelectorMatchesNoPods, Severity: SeverityError, Object: ref, Field: "spec.selector", Where: svc.Origin.String(),
			Message: fmt.Sprintf("the Service selector %s does not select pod %s (labels %s), so the pod is no endpoint of it", cluster.FormatLabels(svc.Selector), p.Name, cluster.FormatLabels(p.Labels)),
			Fix:     "make the selector match the pod's labels"})
	case !e.podState(r, svc, p):
		// Hostname and subdomain are right and the pod is ready: the
		// slice lacks the hostname.
		r.add(Cause{Code: CodeEndpointSliceNoHostname, Severity: SeverityError, Object: ref, Field: "endpoints[].hostname",
			Message: fmt.Sprintf("pod %s has hostname %s and subdomain %s, but no EndpointSlice of the Service carries hostname %s for its address", p.Name, p.Hostname, p.Subdomain, label),
			Fix:     fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o yaml; for a hand-written slice set endpoints[].hostname: %s", svc.Namespace, svc.Name, label)})
	}
}
