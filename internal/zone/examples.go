package zone

import (
	"slices"
	"sort"

	"github.com/clusterdns/clusterdns/internal/cluster"

	"github.com/miekg/dns"
)

// Question is a name and type to ask.
type Question struct {
	Name string
	Type uint16
}

// Examples picks up to n questions that get answers from the snapshot, one
// of each kind first (a headless service, an SRV name, a per-pod name, a
// ClusterIP service, an ExternalName, a PTR), for people to try.
func (s *Snapshot) Examples(n int) []Question {
	byName := map[string]nameInfo{}
	s.eachName(func(n nameInfo) { byName[n.name] = n })
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	type want struct {
		kind     NodeKind
		qtype    uint16
		headless int // 1 headless only, -1 not headless, 0 either
	}
	wants := []want{
		{KindPort, dns.TypeSRV, 1},
		{KindService, dns.TypeA, 1},
		{KindEndpoint, dns.TypeA, 1},
		{KindService, dns.TypeA, -1},
		{KindService, dns.TypeCNAME, 0},
		{KindReverse, dns.TypePTR, 0},
		{KindVersion, dns.TypeTXT, 0},
	}
	var out []Question
	// The headless names shown are all of the first headless service that
	// has SRV records, so that they tell one story.
	var story *nameInfo
	pick := func(w want, sameService bool) *nameInfo {
		for _, name := range names {
			nd := byName[name]
			if nd.kind != w.kind || !slices.Contains(nd.types, w.qtype) {
				continue
			}
			if nd.service != nil && ((w.headless == 1 && !nd.service.Headless) || (w.headless == -1 && nd.service.Headless)) {
				continue
			}
			if sameService && (story == nil || nd.service != story.service) {
				continue
			}
			return &nd
		}
		return nil
	}
	for _, w := range wants {
		var nd *nameInfo
		if w.headless == 1 {
			nd = pick(w, true)
		}
		if nd == nil {
			nd = pick(w, false)
		}
		if nd == nil {
			continue
		}
		if story == nil && w.headless == 1 {
			story = nd
		}
		out = append(out, Question{Name: nd.name, Type: w.qtype})
		if len(out) == n {
			break
		}
	}
	return out
}

// ServiceQuestions lists every name a service contributes to the zone with
// each type that has records there (the service name, its SRV names, its
// per-endpoint names), sorted; nil if the service has no names. A headless
// service without ready endpoints has none: its name is NXDOMAIN.
func (s *Snapshot) ServiceQuestions(namespace, name string) []Question {
	return s.fragmentQuestions(s.services.get(ServiceKey(namespace, name)))
}

// ImportQuestions is ServiceQuestions for a ServiceImport: its names in the
// multicluster zones.
func (s *Snapshot) ImportQuestions(namespace, name string) []Question {
	return s.fragmentQuestions(s.imports.get(ServiceKey(namespace, name)))
}

// Imports lists the ServiceImports the snapshot answers ("ns/name"),
// sorted.
func (s *Snapshot) Imports() []string {
	var out []string
	s.imports.each(func(_ string, f *fragment) { out = append(out, f.data.svc.Namespace+"/"+f.data.svc.Name) })
	sort.Strings(out)
	return out
}

// fragmentQuestions lists a fragment's names with their types.
func (s *Snapshot) fragmentQuestions(f *fragment) []Question {
	if f == nil {
		return nil
	}
	var out []Question
	for _, nd := range f.nodes {
		for _, x := range nd.answers {
			out = append(out, Question{Name: nd.name, Type: x.qtype})
		}
		for _, x := range nd.stored {
			out = append(out, Question{Name: nd.name, Type: x.qtype})
		}
	}
	s.eachEndpointName(f, func(name string, types []uint16) {
		for _, qt := range types {
			out = append(out, Question{Name: name, Type: qt})
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// Services lists the services the snapshot holds (in served namespaces),
// sorted by namespace and name.
func (s *Snapshot) Services() []*cluster.Service {
	var out []*cluster.Service
	s.services.each(func(_ string, f *fragment) { out = append(out, f.data.svc) })
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}
