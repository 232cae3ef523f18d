package explain

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// walkPod explains a name in the pod tree.
func (e *Explainer) walkPod(r *Result, n zone.NameFacts) *zone.Snapshot {
	s := n.Schema
	if s.Kind == schema.PodTree {
		r.step("name", schema.PodDomain(n.Zone)+" exists, with no records", "", "", cluster.Origin{})
		return e.snapshot(nil, nil)
	}
	ns := s.Namespace
	if !e.checkNamespace(r, ns) || s.Kind != schema.PodName {
		return e.snapshot(nil, []string{ns})
	}
	switch e.opts.PodRecords {
	case zone.PodsDisabled:
		r.step("pod records", "disabled (--pod-records): <ip>.<namespace>.pod names do not exist; they were removed from the DNS specification", "", "", cluster.Origin{})
	case zone.PodsInsecure:
		r.step("pod records", "insecure: any IP-shaped label answers that IP, unchecked", "", "", cluster.Origin{})
	case zone.PodsVerified:
		ip, ok := schema.ParseDashedIP(s.Label)
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

// walkReverse explains a PTR name: which Services hold the address, and
// why an endpoint holding it is not published.
func (e *Explainer) walkReverse(r *Result, n zone.NameFacts) *zone.Snapshot {
	ip := n.Addr
	if !ip.IsValid() {
		r.step("address", "not a full address: no PTR", "", "", cluster.Origin{})
		return e.snapshot(nil, nil)
	}
	keys := e.byIP[ip]
	r.step("address", fmt.Sprintf("%s is held by %d service(s) [%s]", ip, len(keys), strings.Join(keys, " ")), "", "", cluster.Origin{})
	if len(keys) == 0 {
		for _, p := range e.state.Pods {
			for _, a := range p.IPs {
				if a.Unmap() == ip {
					r.add(Cause{Code: CodeSelectorMatchesNoPods, Severity: SeverityWarning, Object: p.Ref().String(), Field: "metadata.labels", Where: p.Origin.String(),
						Message: fmt.Sprintf("pod %s has this address but backs no Service: only Service cluster IPs and endpoints have PTR records", p.Name),
						Fix:     "put the pod behind a (headless) Service to give it a name"})
				}
			}
		}
	}
	for _, k := range keys {
		s := e.services[k]
		if s == nil {
			continue
		}
		for _, u := range e.facts(s).Unpublished {
			if u.Addr == ip && u.Why == zone.NotReady {
				e.endpointNotReady(r, s, u.Slice, u.EndpointRef())
			}
		}
	}
	return e.snapshot(keys, nil)
}
