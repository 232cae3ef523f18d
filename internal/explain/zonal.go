package explain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// walkZonal explains a zonal name (<topology>.pin|prefer._zone.<svc>...):
// whether zonal names are on, whether the Service has them, and which of
// its endpoints the topology zone holds, from the engine's ZonalFacts.
func (e *Explainer) walkZonal(r *Result, svc *cluster.Service, f zone.ServiceFacts, s schema.Name) {
	ref := svc.Ref().String()
	zf := e.base.ZonalFacts(svc, e.slicesBySvc[key(svc.Namespace, svc.Name)], s.Topology, s.Prefer)
	directive := schema.DirectivePin
	if s.Prefer {
		directive = schema.DirectivePrefer
	}
	if !zf.Enabled {
		r.step("zonal", "zonal names are not answered: --zonal is off", "", "", cluster.Origin{})
		r.add(Cause{Code: CodeZonalOff, Severity: SeverityError, Object: ref,
			Message: "zonal names (" + directive + "._zone) exist only when the server answers them; this one does not, so the name is NXDOMAIN",
			Fix:     "serve with --zonal (or `zonal` in the Corefile's kubernetes block)"})
		return
	}
	if !svc.Headless || svc.Type == cluster.ServiceTypeExternalName {
		r.step("headless?", "no: zonal names exist for headless Services only", ref, "spec.clusterIP", svc.Origin)
		r.add(Cause{Code: CodeServiceNotHeadless, Severity: SeverityError, Object: ref, Field: "spec.clusterIP", Where: svc.Origin.String(),
			Message: "a Service with a cluster IP has no zonal names (its virtual IP has no zone): NXDOMAIN, as CoreDNS answers",
			Fix:     "use a headless Service (clusterIP: None), or route by topology with the Service's trafficDistribution instead"})
		return
	}
	e.endpoints(r, svc, f, false)
	r.step("zones", "ready endpoints by zone: "+zoneCounts(zf.ByZone), ref, "", cluster.Origin{})
	switch {
	case zf.FellBack:
		r.step("zonal", fmt.Sprintf("prefer: no ready endpoint is in %s, so every ready endpoint answers", zf.Topology), ref, "", cluster.Origin{})
		r.add(Cause{Code: CodeZonalFallback, Severity: SeverityWarning, Object: ref,
			Message: fmt.Sprintf("no ready endpoint of %s is in zone %s: the prefer name falls back to all %d of them (%s)", svc.Name, zf.Topology, len(zf.Answered), zoneCounts(zf.ByZone)),
			Fix:     zoneFix(svc, zf)})
	case len(zf.Answered) == 0:
		r.step("zonal", fmt.Sprintf("pin: no ready endpoint is in %s: the name exists with no records (NODATA for every type)", zf.Topology), ref, "", cluster.Origin{})
		r.add(Cause{Code: CodeZonalZoneEmpty, Severity: SeverityError, Object: ref,
			Message: fmt.Sprintf("no ready endpoint of %s is in zone %s (%s): the pinned name answers nothing", svc.Name, zf.Topology, zoneCounts(zf.ByZone)),
			Fix:     zoneFix(svc, zf)})
	default:
		var labels []string
		for _, a := range zf.Answered {
			labels = append(labels, a.Label+" ("+a.Addr.String()+")")
		}
		r.step("zonal", fmt.Sprintf("%d ready endpoint(s) in %s: %s", len(zf.Answered), zf.Topology, strings.Join(labels, " ")), ref, "", cluster.Origin{})
	}
}

// zoneCounts renders addresses by zone: "us-east-1a: 2, (no zone): 1".
func zoneCounts(by map[string]int) string {
	if len(by) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(no zone)"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, by[k]))
	}
	return strings.Join(parts, ", ")
}

// zoneFix says where an endpoint's zone comes from.
func zoneFix(svc *cluster.Service, zf zone.ZonalFacts) string {
	if len(zf.ByZone) == 1 && zf.ByZone[""] > 0 {
		return "no endpoint carries a zone: the EndpointSlice controller copies it from the node's topology.kubernetes.io/zone label (kubectl get nodes -L topology.kubernetes.io/zone); a hand-written slice sets endpoints[].zone"
	}
	return fmt.Sprintf("ask a zone the endpoints are in, or schedule pods of %s there (topology spread constraints); kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o yaml shows each endpoint's zone", svc.Name, svc.Namespace, svc.Name)
}
