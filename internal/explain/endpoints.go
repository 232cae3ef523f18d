package explain

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// endpoints reports the EndpointSlices of a service as the engine reads
// them and, when the engine publishes none of their addresses, why. It
// returns the number of published addresses.
func (e *Explainer) endpoints(r *Result, svc *cluster.Service, f zone.ServiceFacts, mustHaveReady bool) int {
	ref := svc.Ref().String()
	var names []string
	for _, sf := range f.Slices {
		names = append(names, sf.Slice.Name)
	}
	ready := len(f.Published)
	r.step("endpoints", fmt.Sprintf("%d EndpointSlice(s) labelled kubernetes.io/service-name=%s [%s]: %d address(es), %d ready", len(f.Slices), svc.Name, strings.Join(names, " "), ready+len(f.Unpublished), ready), ref, "", cluster.Origin{})
	if svc.Selector == nil {
		r.step("selector", "none: the endpoints are whatever EndpointSlices are written by hand (or mirrored from Endpoints)", ref, "spec.selector", svc.Origin)
		if len(f.Slices) == 0 && mustHaveReady {
			r.add(Cause{Code: CodeSelectorlessNoEndpoints, Severity: SeverityError, Object: ref, Field: "spec.selector", Where: svc.Origin.String(),
				Message: "the Service has no selector and no EndpointSlice carries its name: nothing publishes addresses for it",
				Fix:     fmt.Sprintf("create an EndpointSlice in %s labelled kubernetes.io/service-name: %s with the addresses (and hostnames) to publish, or add a selector", svc.Namespace, svc.Name)})
		}
	} else {
		e.selected(r, svc)
	}
	for _, u := range f.Unpublished {
		e.unpublished(r, svc, u)
	}
	if mustHaveReady && !f.Exists {
		msg := "no endpoint of the Service is ready, so a headless Service name does not exist (NXDOMAIN) and neither do its SRV and per-pod names"
		if !svc.Headless {
			msg = "no endpoint of the Service is ready and --ignore-empty-service is set, so the name does not exist"
		}
		r.add(Cause{Code: CodeNoReadyEndpoints, Severity: SeverityError, Object: ref, Message: msg,
			Fix: fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide; make the backing pods Ready", svc.Namespace, svc.Name)})
	}
	return ready
}

// unpublished says why the engine leaves an endpoint address out.
func (e *Explainer) unpublished(r *Result, svc *cluster.Service, u zone.EndpointFacts) {
	es := u.Slice
	field := fmt.Sprintf("endpoints[%d].addresses[%d]", u.Endpoint, u.Address)
	switch u.Why {
	case zone.NotReady:
		e.endpointNotReady(r, svc, es, u.EndpointRef())
	case zone.LabelNotDNS:
		r.add(Cause{Code: CodeHostnameInvalid, Severity: SeverityError, Object: es.Ref().String(), Field: fmt.Sprintf("endpoints[%d].hostname", u.Endpoint), Where: es.Origin.String(),
			Message: fmt.Sprintf("endpoint %s would be named %q (from its %s), which is not a DNS label: it is not published", u.Addr, u.Label, u.LabelFrom),
			Fix:     "use a hostname of at most 63 lowercase letters, digits and '-'"})
	default:
		r.step("EndpointSlice", fmt.Sprintf("address %s of %s is not published: %s (%s)", u.Addr, es.Name, u.Why, es.AddressType), es.Ref().String(), field, es.Origin)
	}
}

// selected reports the pods a selector picks and the ones that cannot be
// endpoints.
func (e *Explainer) selected(r *Result, svc *cluster.Service) []*cluster.Pod {
	ref := svc.Ref().String()
	var pods []*cluster.Pod
	for _, p := range e.podsByNS[strings.ToLower(svc.Namespace)] {
		if controller.Membership(p, svc).Reason != controller.NotSelected {
			pods = append(pods, p)
		}
	}
	r.step("selector", fmt.Sprintf("%s selects %d pod(s)", cluster.FormatLabels(svc.Selector), len(pods)), ref, "spec.selector", svc.Origin)
	if len(pods) == 0 && len(e.state.Pods) > 0 {
		r.add(Cause{Code: CodeSelectorMatchesNoPods, Severity: SeverityError, Object: ref, Field: "spec.selector", Where: svc.Origin.String(),
			Message: fmt.Sprintf("the selector %s matches no pod in %s", cluster.FormatLabels(svc.Selector), svc.Namespace),
			Fix:     fmt.Sprintf("kubectl get pods -n %s --show-labels; make spec.selector match the pod template's labels", svc.Namespace)})
	}
	for _, p := range pods {
		e.podState(r, svc, p)
	}
	return pods
}

// podState adds the cause that keeps a selected pod's endpoint out of DNS,
// as the EndpointSlice controller decides it (controller.Membership). It
// reports whether there was one.
func (e *Explainer) podState(r *Result, svc *cluster.Service, p *cluster.Pod) bool {
	m := controller.Membership(p, svc)
	if m.Reason == controller.NotSelected || m.Ready() {
		return false
	}
	pref := p.Ref().String()
	c := Cause{Object: pref, Where: p.Origin.String()}
	switch m.Reason {
	case controller.Finished:
		c.Code, c.Severity, c.Field = CodePodNotReady, SeverityWarning, "status.phase"
		c.Message = fmt.Sprintf("pod %s has finished (phase %s): it is never an endpoint", p.Name, p.Phase)
	case controller.NotScheduled:
		c.Code, c.Severity, c.Field = CodePodNotScheduled, SeverityError, "spec.nodeName"
		c.Message = fmt.Sprintf("pod %s is not scheduled to a node, so it has no IP and no endpoint", p.Name)
		c.Fix = fmt.Sprintf("kubectl describe pod -n %s %s (look at the scheduler's events)", p.Namespace, p.Name)
	case controller.NoIP:
		c.Code, c.Severity, c.Field = CodePodNoIP, SeverityError, "status.podIPs"
		c.Message = fmt.Sprintf("pod %s has no IP yet, so the EndpointSlice controller leaves it out", p.Name)
		c.Fix = fmt.Sprintf("kubectl describe pod -n %s %s (sandbox or CNI problems)", p.Namespace, p.Name)
	case controller.Terminating:
		c.Code, c.Severity, c.Field = CodePodTerminating, SeverityWarning, "metadata.deletionTimestamp"
		c.Message = fmt.Sprintf("pod %s is terminating: its endpoint is ready=false (serving may stay true) and it is gone from DNS", p.Name)
		c.Fix = "expected during a rollout; a replacement pod gets the name once Ready"
	default:
		c.Code, c.Severity, c.Field = CodePodNotReady, SeverityError, "status.conditions[Ready]"
		c.Message = fmt.Sprintf("pod %s is not Ready, so its endpoint is ready=false and it is left out of the Service's names", p.Name)
		c.Fix = fmt.Sprintf("kubectl describe pod -n %s %s (readiness probe); or set publishNotReadyAddresses: true on the Service if peers must find it before it is Ready", p.Namespace, p.Name)
	}
	r.add(c)
	return true
}

// endpointNotReady explains a ready=false endpoint through its pod, or as
// written in a hand-made slice.
func (e *Explainer) endpointNotReady(r *Result, svc *cluster.Service, es *cluster.EndpointSlice, ep *cluster.Endpoint) {
	if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
		if p := e.pods[key(ep.TargetRef.Namespace, ep.TargetRef.Name)]; p != nil && e.podState(r, svc, p) {
			return
		}
	}
	what := addrs(ep.Addresses.Slice())
	if ep.Hostname != "" {
		what = ep.Hostname + " (" + what + ")"
	}
	code, msg := CodePodNotReady, fmt.Sprintf("endpoint %s is ready=false in EndpointSlice %s: it is left out of every name", what, es.Name)
	if ep.Conditions.Terminating.IsTrue() {
		code, msg = CodePodTerminating, fmt.Sprintf("endpoint %s is terminating (ready=false) in EndpointSlice %s: it is gone from DNS", what, es.Name)
	}
	r.add(Cause{Code: code, Severity: SeverityError, Object: es.Ref().String(), Field: "endpoints[].conditions.ready", Where: es.Origin.String(),
		Message: msg, Fix: "make the backing pod Ready (or, for a hand-written slice, set conditions.ready: true)"})
}
