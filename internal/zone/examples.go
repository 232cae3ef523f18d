package zone

import (
	"sort"

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
	names := make([]string, 0, len(s.nodes))
	for name := range s.nodes {
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
	for _, w := range wants {
		for _, name := range names {
			nd := s.nodes[name]
			if nd.kind != w.kind || nd.answers[w.qtype] == nil {
				continue
			}
			if nd.service != nil && ((w.headless == 1 && !nd.service.Headless) || (w.headless == -1 && nd.service.Headless)) {
				continue
			}
			out = append(out, Question{Name: name, Type: w.qtype})
			break
		}
		if len(out) == n {
			break
		}
	}
	return out
}
