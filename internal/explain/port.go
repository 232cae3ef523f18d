package explain

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// walkPort explains _<port>._<proto>.<svc>.<ns>.svc.<zone>.
func (e *Explainer) walkPort(r *Result, n zone.NameFacts, svc *cluster.Service, f zone.ServiceFacts, port, proto string) {
	ref := svc.Ref().String()
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
	match, idx := namedPort(svc, port)
	if match == nil && port != "" {
		e.portNotFound(r, svc, port, proto)
		return
	}
	if match != nil {
		r.step("named port", fmt.Sprintf("spec.ports[%d] is %s %d/%s", idx, match.Name, match.Port, match.Protocol), ref, fmt.Sprintf("spec.ports[%d]", idx), svc.Origin)
		if proto != "" && !strings.EqualFold(string(match.Protocol), proto) {
			r.add(Cause{Code: CodePortProtocolMismatch, Severity: SeverityError, Object: ref, Field: fmt.Sprintf("spec.ports[%d].protocol", idx), Where: svc.Origin.String(),
				Message: fmt.Sprintf("port %s is %s, the query asks for _%s", match.Name, match.Protocol, strings.ToLower(proto)),
				Fix:     "query " + schema.Port(match.Name, string(match.Protocol), schema.Service(svc.Name, svc.Namespace, n.Zone))})
			return
		}
	}
	if !svc.Headless {
		r.step("headless?", "no: the SRV record points at the service name with the service port", ref, "spec.clusterIP", svc.Origin)
		return
	}
	r.step("headless?", "yes: one SRV record per ready endpoint, pointing at its per-pod name, with the endpoint's port (the resolved targetPort)", ref, "spec.clusterIP", svc.Origin)
	if ready := e.endpoints(r, svc, f, true); ready > 0 && match != nil {
		e.slicePorts(r, f, match)
	}
}

// namedPort is the Service port of that name (case-insensitive, as DNS
// names are), and its index.
func namedPort(svc *cluster.Service, port string) (*cluster.ServicePort, int) {
	for i := range svc.Ports {
		if port != "" && strings.EqualFold(svc.Ports[i].Name, port) {
			return &svc.Ports[i], i
		}
	}
	return nil, -1
}

// portNotFound explains a port name the Service does not have.
func (e *Explainer) portNotFound(r *Result, svc *cluster.Service, port, proto string) {
	ref := svc.Ref().String()
	var named []string
	for i, sp := range svc.Ports {
		if sp.Name != "" {
			named = append(named, fmt.Sprintf("%s/%s", sp.Name, sp.Protocol))
			continue
		}
		r.add(Cause{Code: CodePortUnnamed, Severity: SeverityError, Object: ref, Field: fmt.Sprintf("spec.ports[%d].name", i), Where: svc.Origin.String(),
			Message: fmt.Sprintf("port %d has no name, so no _<name>._%s SRV record exists for it (SRV on the bare service name still lists it)", sp.Port, strings.ToLower(string(sp.Protocol))),
			Fix:     fmt.Sprintf("name it: spec.ports[%d].name: %s", i, port)})
	}
	c := Cause{Code: CodePortNameNotFound, Severity: SeverityError, Object: ref, Field: "spec.ports[].name", Where: svc.Origin.String(),
		Message: fmt.Sprintf("the Service has no port named %q; its named ports are [%s]", port, strings.Join(named, " "))}
	if near := nearest(port, names(svc.Ports)); len(near) > 0 {
		c.Fix = "did you mean _" + near[0] + "._" + strings.ToLower(proto) + "?"
	} else {
		c.Fix = fmt.Sprintf("add name: %s to the port, or query one of the named ports", port)
	}
	r.add(c)
}

// slicePorts: the slices must carry the port, with a number the engine can
// publish, for the SRV records to exist.
func (e *Explainer) slicePorts(r *Result, f zone.ServiceFacts, match *cluster.ServicePort) {
	for _, sf := range f.Slices {
		es := sf.Slice
		if sf.HasPort(match.Name, "") || len(es.Endpoints) == 0 {
			continue
		}
		msg := fmt.Sprintf("EndpointSlice %s has no port named %s with a port number, so its endpoints get no _%s SRV record", es.Name, match.Name, strings.ToLower(match.Name))
		fix := fmt.Sprintf("add ports: [{name: %s, port: %d, protocol: %s}] to the slice", match.Name, match.Port, match.Protocol)
		if match.TargetPort.Name != "" {
			msg += fmt.Sprintf(" (targetPort %q: no container of the pods declares a port of that name and protocol)", match.TargetPort.Name)
			fix = fmt.Sprintf("declare containers[].ports[].name: %s in the pod template, or use a numeric targetPort", match.TargetPort.Name)
		}
		r.add(Cause{Code: CodeEndpointSlicePortMismatch, Severity: SeverityError, Object: es.Ref().String(), Field: "ports", Where: es.Origin.String(), Message: msg, Fix: fix})
	}
}
