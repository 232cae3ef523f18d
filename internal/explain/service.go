package explain

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// walkService explains <svc>.<ns>.svc.<zone>. It returns more service keys
// the answer depends on (an ExternalName's in-zone target).
func (e *Explainer) walkService(r *Result, svc *cluster.Service, f zone.ServiceFacts) []string {
	ref := svc.Ref().String()
	if svc.Type == cluster.ServiceTypeExternalName {
		return e.walkExternal(r, svc, f)
	}
	if svc.PublishNotReadyAddresses {
		r.add(Cause{Code: CodePublishNotReadyInUse, Severity: SeverityInfo, Object: ref, Field: "spec.publishNotReadyAddresses", Where: svc.Origin.String(),
			Message: "publishNotReadyAddresses is true: pods are published before they are Ready (and while terminating)",
			Fix:     "remove it once the workload no longer needs DNS before readiness"})
	}
	if !svc.Headless {
		r.step("headless?", "no: spec.clusterIP "+addrs(svc.ClusterIPs)+"; the name answers the cluster IP, whatever the endpoints", ref, "spec.clusterIPs", svc.Origin)
		if r.qtype == dns.TypeSRV && len(svc.Ports) == 0 {
			r.step("ports", "the service has no ports: no SRV records", ref, "spec.ports", svc.Origin)
		}
		if e.opts.IgnoreEmptyService {
			e.endpoints(r, svc, f, true)
		}
		if (r.qtype == dns.TypeA || r.qtype == dns.TypeAAAA) && !hasFamily(svc.ClusterIPs, r.qtype) {
			r.step("address family", "the service has no "+familyName(r.qtype)+" cluster IP: NODATA, never NXDOMAIN", ref, "spec.clusterIPs", svc.Origin)
		}
		if r.qtype == dns.TypeA || r.qtype == dns.TypeAAAA {
			e.notHeadless(r, svc, f)
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
	e.endpoints(r, svc, f, true)
	return nil
}

// notHeadless is the seed's opening symptom: "nslookup returns only a
// single IP when several pods are running". A Service with a cluster IP
// answers that one virtual IP, however many pods back it. When a
// StatefulSet names the Service (its pods' subdomain), peers meant to find
// each other through it get the virtual IP instead: a warning. When several
// ready endpoints stand behind it, that is how a ClusterIP Service works,
// but it is the answer to the question a person asking about it has.
func (e *Explainer) notHeadless(r *Result, svc *cluster.Service, f zone.ServiceFacts) {
	ref := svc.Ref().String()
	var sets []string
	for _, p := range e.podsByNS[strings.ToLower(svc.Namespace)] {
		if p.Owner != nil && p.Owner.Kind == "StatefulSet" && p.Subdomain == svc.Name {
			sets = appendOnce(sets, p.Owner.Name)
		}
	}
	ready := len(f.Published)
	fix := fmt.Sprintf("make the Service headless (spec.clusterIP: None; clusterIP cannot be changed in place: delete and recreate %s), or add a second, headless Service for the peers and point the StatefulSet's serviceName at it", svc.Name)
	switch {
	case len(sets) > 0:
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityWarning, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
			Message: fmt.Sprintf("StatefulSet %s names this Service (spec.serviceName), but it has cluster IP %s: the name answers that one virtual IP, not the %d ready pod(s), so peers cannot find each other through it (per-pod names <pod>.%s still work)", strings.Join(sets, ", "), addrs(svc.ClusterIPs), ready, svc.Name),
			Fix:     fix})
	case ready > 1:
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityInfo, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
			Message: fmt.Sprintf("%d ready endpoints stand behind cluster IP %s: the name answers only the virtual IP (kube-proxy spreads connections over the pods); a client that needs every pod's address needs a headless Service", ready, addrs(svc.ClusterIPs)),
			Fix:     "nothing to fix for load-balanced clients; for peer discovery, " + fix})
	}
}

// walkExternal explains an ExternalName Service's CNAME, as the engine
// publishes it.
func (e *Explainer) walkExternal(r *Result, svc *cluster.Service, f zone.ServiceFacts) []string {
	ref := svc.Ref().String()
	r.step("type", "ExternalName: the name is a CNAME to "+strings.TrimSpace(svc.ExternalName), ref, "spec.externalName", svc.Origin)
	if f.ExternalTarget == "" {
		r.add(Cause{Code: CodeExternalNameTarget, Severity: SeverityError, Object: ref, Field: "spec.externalName", Where: svc.Origin.String(),
			Message: fmt.Sprintf("externalName %q is not a DNS name: no CNAME is published and the name does not exist", svc.ExternalName),
			Fix:     "set spec.externalName to a DNS name; for an IP, use a selectorless Service with an EndpointSlice instead"})
		return nil
	}
	t := e.base.NameFacts(f.ExternalTarget)
	c := Cause{Code: CodeExternalNameTarget, Severity: SeverityInfo, Object: ref, Field: "spec.externalName", Where: svc.Origin.String()}
	switch {
	case !t.InZone():
		c.Message = fmt.Sprintf("the target %s is outside the cluster zone: the client's resolver looks it up after the CNAME (clusterdns does not forward)", t.Name)
	case t.Schema.Kind == schema.ServiceName && e.services[key(t.Schema.Namespace, t.Schema.Service)] == nil:
		c.Message = fmt.Sprintf("the target %s is a Service that does not exist: the CNAME leads nowhere", t.Name)
		r.add(c)
		return []string{key(t.Schema.Namespace, t.Schema.Service)}
	case t.Schema.Kind == schema.ServiceName:
		c.Message = fmt.Sprintf("the target %s is in the cluster zone: clusterdns follows it", t.Name)
		r.add(c)
		return []string{key(t.Schema.Namespace, t.Schema.Service)}
	default:
		c.Message = fmt.Sprintf("the target %s is in the cluster zone: clusterdns follows it", t.Name)
	}
	r.add(c)
	return nil
}

func (e *Explainer) headlessNoPorts(r *Result, svc *cluster.Service) {
	r.add(Cause{Code: CodeHeadlessNoPorts, Severity: SeverityWarning, Object: svc.Ref().String(), Field: "spec.ports", Where: svc.Origin.String(),
		Message: "the headless Service has no ports: its EndpointSlices have endpoints but no ports, so there are no SRV records; A/AAAA and per-pod names still work (what a real cluster does, whatever older guides say)",
		Fix:     "add a named port to spec.ports, e.g. - name: http, port: 80"})
}
