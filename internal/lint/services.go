package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// checkServices runs the rules about Services.
func (l *linter) checkServices() {
	for _, e := range l.svcOrder {
		svc, o := e.svc, e.obj
		if svc.Type == cluster.ServiceTypeExternalName {
			continue
		}
		if svc.Headless {
			l.checkHeadlessPorts(o, svc)
		}
		if svc.Selector == nil {
			l.checkSelectorless(o, svc)
			continue
		}
		pods := l.selected(svc)
		if len(pods) == 0 {
			l.checkSelectsNothing(o, svc)
			continue
		}
		l.checkTargetPorts(o, svc, pods)
		if svc.PublishNotReadyAddresses {
			l.checkPublishNotReady(o, svc, pods)
		}
	}
}

// selected returns the pods the Service's selector selects.
func (l *linter) selected(svc *cluster.Service) []*cluster.Pod {
	if len(svc.Selector) == 0 {
		return nil // selects nothing, as controller.SelectorMatches
	}
	return l.podIndex.Selected(svc.Namespace, svc.Selector)
}

// readyEndpointNames are the names the zone publishes for the ready
// endpoints of the Service's EndpointSlices.
func (l *linter) readyEndpointNames(svc *cluster.Service) (names []string, endpoints int) {
	svcName := l.serviceFQDN(svc.Namespace, svc.Name)
	for _, es := range l.slices[nsName{svc.Namespace, svc.Name}] {
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			endpoints++
			for _, a := range ep.Addresses.All() {
				label, _ := zone.EndpointName(ep, a, l.snap.Options().EndpointPodNames)
				if n := label + "." + svcName; l.resolves(n) && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	return names, endpoints
}

func (l *linter) checkHeadlessPorts(o *object, svc *cluster.Service) {
	svcName := l.serviceFQDN(svc.Namespace, svc.Name)
	if len(svc.Ports) == 0 {
		field := "spec.ports"
		names, endpoints := l.readyEndpointNames(svc)
		var msg string
		if addrs := l.addresses(svcName); len(addrs) > 0 {
			msg = fmt.Sprintf("headless Service without ports: the EndpointSlice controller still lists its %d endpoint(s), with no ports, so %s answers %s", endpoints, show(svcName), list(addrs, 3))
			if len(names) > 0 {
				shown := make([]string, len(names))
				for i, n := range names {
					shown[i] = show(n)
				}
				msg += fmt.Sprintf(" and its per-pod names resolve (%s)", list(shown, 2))
			}
			msg += fmt.Sprintf("; only SRV records are missing (SRV %s: %s)", show(svcName), l.answer(svcName, dns.TypeSRV))
		} else {
			msg = fmt.Sprintf("headless Service without ports and no ready endpoint in these inputs (%s is NXDOMAIN): once pods are ready it answers their addresses and per-pod names, but it never has SRV records", show(svcName))
		}
		fix := "add the ports clients look up with SRV to spec.ports, each with a name"
		if cp := l.namedContainerPort(svc); cp != nil {
			fix = fmt.Sprintf("if clients look up SRV records, add the port to spec.ports with a name (name: %s, port: %d)", cp.Name, cp.ContainerPort)
		}
		l.report(o, RuleHeadlessNoPorts, Warning, field, msg, fix)
		return
	}
	srvRefs := l.srvRefs[nsName{svc.Namespace, svc.Name}]
	for i, sp := range svc.Ports {
		if sp.Name != "" {
			continue
		}
		field := fmt.Sprintf("spec.ports[%d]", i)
		proto := strings.ToLower(string(sp.Protocol))
		msg := fmt.Sprintf("%s (%d/%s) has no name, so no _<name>._%s.%s SRV record exists for it", field, sp.Port, sp.Protocol, proto, show(svcName))
		sev := Warning
		if len(svc.Ports) > 1 {
			sev = Error
			msg += "; the API server also rejects a Service with several ports unless each is named"
		}
		if sp.TargetPort.Name != "" {
			sev = Error
			msg += fmt.Sprintf("; its targetPort refers to the container port %q by name", sp.TargetPort.Name)
		}
		if len(srvRefs) > 0 {
			sev = Error
			msg += fmt.Sprintf("; %s looks up %s", srvRefs[0].obj.Ref(), srvRefs[0].name)
		}
		if port, ok := l.unnamedSlicePort(svc, sp.Protocol); ok {
			for _, r := range l.snap.Lookup(svcName, dns.TypeSRV).Answer {
				if srv, isSRV := r.RR.(*dns.SRV); isSRV && int32(srv.Port) == port {
					msg += fmt.Sprintf(" (SRV %s itself still lists it, with the endpoint port %d)", show(svcName), port)
					break
				}
			}
		}
		l.report(o, RuleHeadlessPortUnnamed, sev, field, msg, fmt.Sprintf("add name: %s to %s", l.portNameFor(svc, sp), field))
	}
}

// unnamedSlicePort is the port number the Service's EndpointSlices carry
// for its unnamed port of the protocol.
func (l *linter) unnamedSlicePort(svc *cluster.Service, proto cluster.Protocol) (int32, bool) {
	for _, es := range l.slices[nsName{svc.Namespace, svc.Name}] {
		for _, p := range es.Ports {
			if p.Name == "" && p.Protocol == proto && p.Port != nil {
				return *p.Port, true
			}
		}
	}
	return 0, false
}

// portNameFor suggests a name for an unnamed port: the targetPort's name,
// else the name of the container port it targets, else <proto>-<port>.
func (l *linter) portNameFor(svc *cluster.Service, sp cluster.ServicePort) string {
	if sp.TargetPort.Name != "" {
		return sp.TargetPort.Name
	}
	for _, p := range l.selected(svc) {
		if n, ok := controller.TargetPort(p, sp); ok {
			for _, cp := range p.Ports {
				if cp.ContainerPort == n && cp.Protocol == sp.Protocol && cp.Name != "" {
					return cp.Name
				}
			}
		}
	}
	return fmt.Sprintf("%s-%d", strings.ToLower(string(sp.Protocol)), sp.Port)
}

// namedContainerPort is the first named container port of the pods the
// Service selects, if any.
func (l *linter) namedContainerPort(svc *cluster.Service) *cluster.ContainerPort {
	if svc.Selector == nil {
		return nil
	}
	for _, p := range l.selected(svc) {
		for i := range p.Ports {
			if p.Ports[i].Name != "" {
				return &p.Ports[i]
			}
		}
	}
	return nil
}

// srvTarget returns the Service a _<port>._<proto>.<service>[.<ns>...]
// name refers to.
func srvTarget(r reference) (nsName, bool) {
	labels := strings.SplitN(strings.TrimSuffix(r.name, "."), ".", 5)
	if len(labels) < 3 || !strings.HasPrefix(labels[0], "_") || !strings.HasPrefix(labels[1], "_") {
		return nsName{}, false
	}
	ns := r.obj.Namespace
	if len(labels) > 3 {
		ns = labels[3]
	}
	return nsName{ns, labels[2]}, true
}

// consequence says what a Service without endpoints answers.
func (l *linter) consequence(svc *cluster.Service) string {
	svcName := l.serviceFQDN(svc.Namespace, svc.Name)
	if svc.Headless {
		return fmt.Sprintf("%s is %s", show(svcName), l.answer(svcName, dnsA))
	}
	return fmt.Sprintf("%s answers its cluster IP (%s), but no endpoint is behind it", show(svcName), list(l.addresses(svcName), 2))
}

func (l *linter) checkSelectsNothing(o *object, svc *cluster.Service) {
	msg := fmt.Sprintf("selector %s matches no pod in the inputs, so the Service has no endpoints: %s", cluster.FormatLabels(svc.Selector), l.consequence(svc))
	workloads := l.workloads[svc.Namespace]
	if len(workloads) == 0 {
		msg += fmt.Sprintf(" (the inputs hold no pod or workload in namespace %s: lint the Service together with its workloads)", svc.Namespace)
		l.report(o, RuleSelectorMatchesNothing, Info, "spec.selector", msg, "")
		return
	}
	// The nearest miss: the template sharing most of the selector.
	var best *object
	var bestLabels map[string]string
	bestScore := -1
	for _, w := range workloads {
		t, _ := templateOf(w)
		score := 0
		for k, v := range svc.Selector {
			if t.labels[k] == v {
				score += 2
			} else if _, ok := t.labels[k]; ok {
				score++
			}
		}
		if score > bestScore {
			best, bestLabels, bestScore = w, t.labels, score
		}
	}
	fix := ""
	if best != nil && bestScore > 0 {
		msg += fmt.Sprintf("; nearest: %s has pod labels %s", best.Ref(), cluster.FormatLabels(bestLabels))
		fix = fmt.Sprintf("make the selector match the pod labels of %s (%s), or fix those labels", best.Ref(), cluster.FormatLabels(bestLabels))
	}
	l.report(o, RuleSelectorMatchesNothing, Warning, "spec.selector", msg, fix)
}

func (l *linter) checkSelectorless(o *object, svc *cluster.Service) {
	if len(l.slices[nsName{svc.Namespace, svc.Name}]) > 0 {
		return
	}
	msg := "no selector and no EndpointSlice or Endpoints for it in the inputs: " + l.consequence(svc)
	for _, x := range l.objs {
		if x.Namespace != svc.Namespace {
			continue
		}
		switch t := x.Typed.(type) {
		//lint:ignore SA1019 legacy v1 Endpoints are still written by users and mirrored into slices, as the real mirroring controller does
		case *corev1.Endpoints:
			if x.Name == svc.Name {
				msg += fmt.Sprintf("; %s is not mirrored into an EndpointSlice", x.Ref())
				if t.Labels[discoveryv1.LabelSkipMirror] == "true" {
					msg += fmt.Sprintf(" (%s: \"true\")", discoveryv1.LabelSkipMirror)
				}
			}
		case *discoveryv1.EndpointSlice:
			if n := t.Labels[discoveryv1.LabelServiceName]; n != svc.Name && l.services[nsName{svc.Namespace, n}] == nil {
				if n == "" {
					msg += fmt.Sprintf("; %s has no %s label", x.Ref(), discoveryv1.LabelServiceName)
				} else {
					msg += fmt.Sprintf("; %s is labelled %s=%s, which names no Service", x.Ref(), discoveryv1.LabelServiceName, n)
				}
			}
		}
	}
	l.report(o, RuleSelectorlessNoEndpoints, Warning, "spec", msg,
		fmt.Sprintf("add an EndpointSlice labelled %s: %s (or v1 Endpoints named %s), or a selector", discoveryv1.LabelServiceName, svc.Name, svc.Name))
}

func (l *linter) checkTargetPorts(o *object, svc *cluster.Service, pods []*cluster.Pod) {
	svcName := l.serviceFQDN(svc.Namespace, svc.Name)
	for i, sp := range svc.Ports {
		if sp.TargetPort.Name == "" {
			continue
		}
		var missing []*object
		var example *cluster.Pod
		for _, p := range pods {
			if _, ok := controller.TargetPort(p, sp); ok {
				continue
			}
			w := l.objectOf(p.Origin)
			if w == nil || slices.Contains(missing, w) {
				continue
			}
			missing = append(missing, w)
			if example == nil {
				example = p
			}
		}
		if len(missing) == 0 {
			continue
		}
		field := fmt.Sprintf("spec.ports[%d].targetPort", i)
		var refs []string
		for _, w := range missing {
			refs = append(refs, w.Ref().String())
		}
		msg := fmt.Sprintf("%s %q (%s) is declared by no container of %s", field, sp.TargetPort.Name, sp.Protocol, list(refs, 2))
		var declared []string
		for _, cp := range example.Ports {
			if cp.Name == sp.TargetPort.Name {
				msg += fmt.Sprintf(" (it declares %q as %s, not %s)", cp.Name, cp.Protocol, sp.Protocol)
				declared = nil
				break
			}
			if cp.Name != "" {
				declared = append(declared, fmt.Sprintf("%s %d/%s", cp.Name, cp.ContainerPort, cp.Protocol))
			}
		}
		if len(declared) > 0 {
			msg += fmt.Sprintf(" (its named ports: %s)", list(declared, 3))
		}
		msg += ": the EndpointSlice controller leaves the port out of those pods' endpoints"
		if svc.Headless && sp.Name != "" {
			srv := schema.Port(sp.Name, string(sp.Protocol), svcName)
			msg += fmt.Sprintf(", so SRV %s has no record for them (%s)", show(srv), l.answer(srv, dns.TypeSRV))
		} else if !svc.Headless {
			msg += fmt.Sprintf(", so connections to port %d are not forwarded to them", sp.Port)
		}
		fix := fmt.Sprintf("name a container port %q (%s) in %s, or set %s to the port number", sp.TargetPort.Name, sp.Protocol, missing[0].Ref(), field)
		l.report(o, RuleTargetPortNameUnknown, Error, field, msg, fix)
	}
}

func (l *linter) checkPublishNotReady(o *object, svc *cluster.Service, pods []*cluster.Pod) {
	msg := "publishNotReadyAddresses: true: the EndpointSlice controller marks every pod's endpoint ready, so pods are in DNS before they pass their readiness checks"
	names, _ := l.readyEndpointNames(svc)
	for _, p := range pods {
		// In DNS only because of the option: listed by the controller,
		// and not ready without it (not Ready, or terminating).
		m := controller.Membership(p, svc)
		if !m.Listed() || m.Reason == controller.Ready {
			continue
		}
		state := "is not Ready"
		if m.Reason == controller.Terminating {
			state = "is terminating"
		}
		shown := ""
		for _, n := range names {
			if strings.HasPrefix(n, strings.ToLower(p.Hostname)+".") && p.Hostname != "" {
				shown = n
			}
		}
		if shown != "" {
			msg += fmt.Sprintf(" (here pod %s %s and %s answers %s)", p.Name, state, show(shown), list(l.addresses(shown), 2))
		} else {
			msg += fmt.Sprintf(" (here pod %s %s and %s still answers its address)", p.Name, state, show(l.serviceFQDN(svc.Namespace, svc.Name)))
		}
		break
	}
	l.report(o, RulePublishNotReady, Info, "spec.publishNotReadyAddresses", msg, "")
}
