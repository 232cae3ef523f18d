package explain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// walk follows the name's shape (as the engine reads it) through the
// decision tree and returns the snapshot of the objects it depends on.
func (e *Explainer) walk(r *Result, n zone.NameFacts) *zone.Snapshot {
	if n.Reverse {
		return e.walkReverse(r, n)
	}
	s := n.Schema
	switch s.Kind {
	case schema.ServiceName, schema.EndpointName, schema.PortName, schema.BelowService, schema.ZonalName:
		if n.Multicluster {
			return e.walkImport(r, n)
		}
		return e.walkSvc(r, n)
	case schema.PodTree, schema.PodNamespaceName, schema.PodName, schema.BelowPod:
		return e.walkPod(r, n)
	case schema.Apex:
		r.step("name", "the zone apex: SOA and NS only", "", "", cluster.Origin{})
	case schema.DNSVersion:
		r.step("name", "the schema version record: TXT "+zone.SchemaVersion, "", "", cluster.Origin{})
	case schema.Nameserver:
		r.step("name", "the nameserver name of the zone apex", "", "", cluster.Origin{})
	case schema.SvcTree:
		r.step("name", schema.SvcDomain(n.Zone)+" holds the namespaces: it exists, with no records", "", "", cluster.Origin{})
	case schema.NamespaceName:
		if e.checkNamespace(r, s.Namespace) {
			r.step("name", "a namespace name: it exists, with no records", "", "", cluster.Origin{})
		}
	default:
		labels := strings.Split(strings.TrimSuffix(strings.TrimSuffix(n.Name, n.Zone), "."), ".")
		r.step("name", fmt.Sprintf("%q is neither %s nor %s: no name of that shape exists in the cluster zone", labels[len(labels)-1], schema.SvcLabel, schema.PodLabel), "", "", cluster.Origin{})
		r.add(Cause{Code: CodeServiceNotFound, Severity: SeverityError,
			Message: fmt.Sprintf("cluster names have the form %s or %s", schema.Service("<service>", "<namespace>", n.Zone), schema.PodNamespace("<pod-ip>.<namespace>", n.Zone)),
			Fix:     "use " + schema.Service("<service>", "<namespace>", n.Zone)})
	}
	return e.snapshot(nil, nil)
}

// checkNamespace says whether the namespace exists in the state and whether
// the engine serves it (--namespaces).
func (e *Explainer) checkNamespace(r *Result, ns string) bool {
	nsObj := e.namespaces[ns]
	switch {
	case nsObj != nil && !e.base.ExposedNamespace(ns):
		r.step("namespace", ns+" exists but is not served (--namespaces)", "Namespace "+ns, "", nsObj.Origin)
		r.add(Cause{Code: CodeNamespaceNotFound, Severity: SeverityError, Object: "Namespace " + ns,
			Message: fmt.Sprintf("namespace %s is not in --namespaces %s, so its names do not exist", ns, strings.Join(e.opts.Namespaces, ",")),
			Fix:     "add it to --namespaces, or drop the option"})
		return false
	case nsObj != nil:
		r.step("namespace", ns+" exists", "Namespace "+ns, "", nsObj.Origin)
		return true
	}
	r.step("namespace", ns+" does not exist", "", "", cluster.Origin{})
	var names []string
	for k := range e.namespaces {
		names = append(names, k)
	}
	c := Cause{Code: CodeNamespaceNotFound, Severity: SeverityError, Object: "Namespace " + ns,
		Message: fmt.Sprintf("there is no namespace %s, so nothing below %s exists", ns, strings.TrimSuffix(schema.Namespace(ns, ""), "."))}
	if near := nearest(ns, names); len(near) > 0 {
		c.Fix = "did you mean " + strings.Join(near, " or ") + "?"
	} else {
		c.Fix = "kubectl get namespaces"
	}
	r.add(c)
	return false
}

// walkSvc explains a name below a Service: the service name, a per-endpoint
// name or a port name.
func (e *Explainer) walkSvc(r *Result, n zone.NameFacts) *zone.Snapshot {
	s := n.Schema
	ns := s.Namespace
	if !e.checkNamespace(r, ns) {
		return e.snapshot(nil, nil)
	}
	svc := e.services[key(ns, s.Service)]
	if svc == nil {
		e.serviceMissing(r, ns, s.Service, s.Kind == schema.EndpointName)
		return e.snapshot(nil, []string{ns})
	}
	ref := svc.Ref().String()
	kind := string(svc.Type)
	if svc.Headless {
		kind = "headless"
	}
	r.step("service", s.Service+" exists ("+kind+")", ref, "", svc.Origin)
	f := e.facts(svc)
	keys := []string{key(ns, s.Service)}
	switch s.Kind {
	case schema.ServiceName:
		keys = append(keys, e.walkService(r, svc, f)...)
	case schema.EndpointName:
		e.walkEndpoint(r, svc, f, s.Label)
	case schema.PortName:
		e.walkPort(r, n, svc, f, s.Port, s.Proto)
	case schema.ZonalName:
		e.walkZonal(r, svc, f, s)
	default:
		name := schema.Service(s.Service, ns, n.Zone)
		r.step("name", "too many labels below the service: names under a service are <endpoint>.<service> or _<port>._<proto>.<service>", "", "", cluster.Origin{})
		r.add(Cause{Code: CodeServiceNotFound, Severity: SeverityError, Object: ref,
			Message: "the name has too many labels for a service name: no such name exists",
			Fix:     fmt.Sprintf("use %s, %s or %s", name, schema.Endpoint("<hostname>", name), schema.Port("<port>", "<proto>", name))})
	}
	return e.snapshot(keys, []string{ns})
}

// facts asks the engine what it decides for a Service.
func (e *Explainer) facts(svc *cluster.Service) zone.ServiceFacts {
	return e.base.ServiceFacts(svc, e.slicesBySvc[key(svc.Namespace, svc.Name)])
}

// serviceMissing explains a missing service: near misses, and pods whose
// subdomain names it.
func (e *Explainer) serviceMissing(r *Result, ns, svcName string, perPod bool) {
	r.step("service", svcName+" does not exist in "+ns, "", "", cluster.Origin{})
	if perPod {
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
