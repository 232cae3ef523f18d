package explain

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// question is one name and type ExplainObject asks.
type question struct {
	name  string
	qtype uint16
}

// questions collects questions in order, once each.
type questions struct {
	list []question
	seen map[question]bool
}

func (q *questions) add(name string, qtype uint16) {
	k := question{name, qtype}
	if q.seen == nil {
		q.seen = map[question]bool{}
	}
	if !q.seen[k] {
		q.seen[k] = true
		q.list = append(q.list, k)
	}
}

// Question is a name and a type.
type Question struct {
	Name string
	Type uint16
}

// ServiceQuestions are the names a Service should have, as ExplainObject
// asks them: its name, its SRV names (an unnamed port's too, to say why it
// has none), a per-pod name for each endpoint the engine names and each
// selected pod with a hostname, its PTRs.
func (e *Explainer) ServiceQuestions(ns, name string) ([]Question, error) {
	svc := e.services[key(ns, name)]
	if svc == nil {
		return nil, fmt.Errorf("no Service %s/%s in the cluster state", ns, name)
	}
	var qs questions
	e.serviceQuestions(&qs, svc)
	out := make([]Question, len(qs.list))
	for i, q := range qs.list {
		out[i] = Question{Name: q.name, Type: q.qtype}
	}
	return out, nil
}

// ExplainObject lists every name a Service or Pod should have and explains
// each (kind "service" or "pod").
func (e *Explainer) ExplainObject(kind, ns, objName string) ([]*Result, error) {
	var qs questions
	switch kind {
	case "service", "svc":
		svc := e.services[key(ns, objName)]
		if svc == nil {
			return nil, fmt.Errorf("no Service %s/%s in the cluster state", ns, objName)
		}
		e.serviceQuestions(&qs, svc)
	case "pod":
		p := e.pods[key(ns, objName)]
		if p == nil {
			return nil, fmt.Errorf("no Pod %s/%s in the cluster state", ns, objName)
		}
		e.podQuestions(&qs, p)
		if len(qs.list) == 0 {
			return nil, fmt.Errorf("pod %s/%s backs no Service and has no IP: it has no DNS name", ns, objName)
		}
	default:
		return nil, fmt.Errorf("explain %s: want pod or service", kind)
	}
	out := make([]*Result, 0, len(qs.list))
	for _, q := range qs.list {
		out = append(out, e.Explain(q.name, q.qtype))
	}
	return out, nil
}

// serviceQuestions are the names a Service should have: its name, its SRV
// names, a per-pod name for each endpoint the engine names (and for each
// selected pod with a hostname, to say why it has none), its PTRs.
func (e *Explainer) serviceQuestions(qs *questions, svc *cluster.Service) {
	base := schema.Service(svc.Name, svc.Namespace, e.zones[0])
	if svc.Type == cluster.ServiceTypeExternalName {
		qs.add(base, dns.TypeCNAME)
		return
	}
	qs.add(base, dns.TypeA)
	if hasFamily(svc.ClusterIPs, dns.TypeAAAA) {
		qs.add(base, dns.TypeAAAA)
	}
	qs.add(base, dns.TypeSRV)
	for _, p := range svc.Ports {
		name := p.Name
		if name == "" {
			name = strconv.Itoa(int(p.Port))
		}
		qs.add(schema.Port(name, string(p.Protocol), base), dns.TypeSRV)
	}
	for _, p := range e.podsByNS[strings.ToLower(svc.Namespace)] {
		if p.Hostname != "" && controller.Membership(p, svc).Reason != controller.NotSelected {
			qs.add(schema.Endpoint(p.Hostname, base), dns.TypeA)
		}
	}
	f := e.facts(svc)
	for _, list := range [][]zone.EndpointFacts{f.Published, f.Unpublished} {
		for _, ef := range list {
			if ef.Label != "" {
				qs.add(schema.Endpoint(ef.Label, base), zone.AddrType(ef.Addr))
			}
		}
	}
	for _, ip := range svc.ClusterIPs {
		rev, _ := dns.ReverseAddr(ip.String())
		qs.add(rev, dns.TypePTR)
	}
}

// podQuestions are the names a Pod should have: the per-pod name under
// every Service whose EndpointSlice controller lists it (named as the
// controller and the engine name it), those Services' names, the name its
// subdomain asks for, its PTRs and pod records.
func (e *Explainer) podQuestions(qs *questions, p *cluster.Pod) {
	z := e.zones[0]
	for _, s := range e.svcsByNS[strings.ToLower(p.Namespace)] {
		if s.Selector == nil || controller.Membership(p, s).Reason == controller.NotSelected {
			continue
		}
		base := schema.Service(s.Name, s.Namespace, z)
		for _, ip := range p.IPs {
			ep, ok := controller.PodEndpoint(p, s, cluster.FamilyOf(ip))
			if !ok {
				// Not listed (no IP, finished): the name it would have.
				ep = cluster.Endpoint{Hostname: controller.Membership(p, s).Hostname, TargetRef: &cluster.ObjectRef{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}}
			}
			label, _ := zone.EndpointName(&ep, ip, e.opts.EndpointPodNames)
			qs.add(schema.Endpoint(label, base), zone.AddrType(ip))
		}
		qs.add(base, dns.TypeA)
	}
	if p.Subdomain != "" && p.Hostname != "" && e.services[key(p.Namespace, p.Subdomain)] == nil {
		qs.add(schema.Endpoint(p.Hostname, schema.Service(p.Subdomain, p.Namespace, z)), dns.TypeA)
	}
	for _, ip := range p.IPs {
		rev, _ := dns.ReverseAddr(ip.String())
		qs.add(rev, dns.TypePTR)
		if e.opts.PodRecords != zone.PodsDisabled {
			qs.add(schema.Pod(ip, p.Namespace, z), zone.AddrType(ip))
		}
	}
}
