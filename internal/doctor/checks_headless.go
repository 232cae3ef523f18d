package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/explain"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// state is the cluster as the record engine reads it (converted as the
// live source converts it), built once.
func (in *Input) state() *cluster.State {
	in.stateOnce.Do(func() {
		st := &cluster.State{}
		for _, n := range in.Namespaces {
			st.Namespaces = append(st.Namespaces, cluster.Namespace{Name: n.Name})
		}
		for i := range in.Services {
			s, _ := kubeconv.Service(&in.Services[i])
			st.Services = append(st.Services, s)
		}
		for i := range in.EndpointSlices {
			if es, _ := kubeconv.EndpointSlice(&in.EndpointSlices[i]); es != nil {
				st.EndpointSlices = append(st.EndpointSlices, *es)
			}
		}
		for i := range in.Pods {
			p, _ := kubeconv.Pod(&in.Pods[i])
			st.Pods = append(st.Pods, p)
		}
		in.st = st
	})
	return in.st
}

// snapshot is the record engine over the whole state with the cluster
// DNS's options, built once (the headless and the answers checks both
// need it).
func (in *Input) snapshot() (*zone.Snapshot, error) {
	in.snapOnce.Do(func() { in.snap, in.snapErr = zone.Build(in.state(), in.zoneOptions()) })
	return in.snap, in.snapErr
}

// zoneOptions are the record engine's options the cluster DNS runs with:
// its Corefile's kubernetes block, else the defaults.
func (in *Input) zoneOptions() zone.Options {
	if d := in.DNS(); d.Config != nil {
		if b := clusterBlock(d.Config); b != nil {
			return b.Kubernetes.ZoneOptions()
		}
	}
	return zone.DefaultOptions()
}

// flowNode is where in the seed's flowchart a cause makes a name fail.
func flowNode(code string) string {
	switch code {
	case explain.CodeServiceNotHeadless:
		return "B"
	case explain.CodeHeadlessNoPorts, explain.CodePortUnnamed, explain.CodePortNameNotFound, explain.CodePortProtocolMismatch:
		return "F"
	case explain.CodeEndpointSliceNoHostname, explain.CodePodNoHostname, explain.CodePodSubdomainMismatch,
		explain.CodePodSubdomainServiceMissing, explain.CodeHostnameInvalid:
		return "I"
	case explain.CodePodNotReady, explain.CodeNoReadyEndpoints, explain.CodePodTerminating, explain.CodePodNoIP,
		explain.CodePodNotScheduled, explain.CodeSelectorMatchesNoPods, explain.CodeSelectorlessNoEndpoints,
		explain.CodeEndpointSlicePortMismatch, explain.CodePublishNotReadyInUse:
		return "E"
	}
	return "A"
}

// symptomOf is the seed's symptom a cause explains.
func symptomOf(code string, qtype uint16) string {
	switch {
	case qtype == dns.TypeSRV:
		return SymptomNoSRV
	case flowNode(code) == "I":
		return SymptomNoPodName
	case code == explain.CodePodNotReady:
		return SymptomOneIP
	}
	return SymptomNXDOMAIN
}

// causeGroup is explain's causes of one code over every name.
type causeGroup struct {
	code, severity, fix string
	messages            []string
	objects             []string
	names               []NameAt
	symptoms            []string
}

func checkHeadless(ctx context.Context, in *Input, c *Check) {
	if why := in.need(ResServices, ResEndpointSlices, ResPods, ResNamespaces); why != "" {
		c.notRun(why)
		return
	}
	opts := in.zoneOptions()
	ex, err := explain.New(in.state(), opts)
	if err != nil {
		c.notRun("the record engine refused the options: " + err.Error())
		return
	}
	zoneName := strings.TrimSuffix(opts.Zones[0], ".") + "."
	// A per-pod name that resolves is not explained: explaining one costs
	// what its Service's endpoints cost, and a Service of thousands of
	// pods would cost that many times over. The whole state's snapshot
	// says which resolve.
	full, err := in.snapshot()
	if err != nil {
		c.notRun("the record engine refused the options: " + err.Error())
		return
	}

	var headless []*corev1.Service
	for i := range in.Services {
		s := &in.Services[i]
		if s.Spec.ClusterIP == corev1.ClusterIPNone && in.inScope(s.Namespace) {
			headless = append(headless, s)
		}
	}
	groups := map[string]*causeGroup{}
	var order []string
	names, failing := 0, 0
	for _, s := range headless {
		if ctx.Err() != nil {
			c.notRun("interrupted")
			return
		}
		qs, err := ex.ServiceQuestions(s.Namespace, s.Name)
		if err != nil {
			continue // not in the engine's state (converting it failed)
		}
		base := strings.ToLower(s.Name + "." + s.Namespace + ".svc." + zoneName)
		for _, n := range qs {
			names++
			perPod := (n.Type == dns.TypeA || n.Type == dns.TypeAAAA) && n.Name != base
			if perPod {
				if a := full.Lookup(n.Name, n.Type); a.Rcode == dns.RcodeSuccess && len(a.Answer) > 0 {
					continue
				}
			}
			r := ex.Explain(n.Name, n.Type)
			bad := false
			for _, cause := range r.Causes {
				if cause.Severity == explain.SeverityInfo {
					continue
				}
				bad = true
				g, ok := groups[cause.Code]
				if !ok {
					g = &causeGroup{code: cause.Code, severity: cause.Severity, fix: cause.Fix}
					groups[cause.Code] = g
					order = append(order, cause.Code)
				}
				if cause.Severity == explain.SeverityError {
					g.severity = explain.SeverityError
				}
				typ := dns.TypeToString[n.Type]
				g.messages = append(g.messages, fmt.Sprintf("%s %s: %s", n.Name, typ, cause.Message))
				// explain names objects "Kind ns/name"; the doctor "Kind/ns/name".
				if obj := strings.Replace(cause.Object, " ", "/", 1); obj != "" && !slices.Contains(g.objects, obj) {
					g.objects = append(g.objects, obj)
				}
				g.names = append(g.names, NameAt{Name: n.Name, Type: typ, Node: flowNode(cause.Code)})
				if sy := symptomOf(cause.Code, n.Type); !slices.Contains(g.symptoms, sy) {
					g.symptoms = append(g.symptoms, sy)
				}
			}
			if bad {
				failing++
			}
		}
	}
	c.Summary = fmt.Sprintf("%d headless Service(s), %d name(s) explained, %d with a problem", len(headless), names, failing)
	for _, code := range order {
		g := groups[code]
		const shown = 20
		evidence := g.messages[:min(len(g.messages), shown)]
		if len(g.messages) > shown {
			evidence = append(slices.Clone(evidence), fmt.Sprintf("... and %d more", len(g.messages)-shown))
		}
		c.add(Finding{Code: g.code, Severity: Severity(g.severity), Objects: g.objects,
			Message:  fmt.Sprintf("%d name(s) (explain's cause %s): %s", len(g.messages), g.code, strings.SplitN(g.messages[0], ": ", 2)[1]),
			Evidence: evidence, Fix: g.fix, Explains: g.symptoms, Names: g.names})
	}
}
