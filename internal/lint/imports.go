package lint

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// checkImports runs the rules about ServiceImports (the Multi-Cluster
// Services API) and the EndpointSlices an MCS implementation writes for
// them: what the engine's ImportFacts says of each.
func (l *linter) checkImports() {
	slicesOf := map[nsName][]*cluster.EndpointSlice{}
	for i := range l.state.EndpointSlices {
		es := &l.state.EndpointSlices[i]
		if es.ImportName != "" {
			k := nsName{es.Namespace, es.ImportName}
			slicesOf[k] = append(slicesOf[k], es)
		}
	}
	for i := range l.state.ServiceImports {
		si := &l.state.ServiceImports[i]
		o := l.objectOf(si.Origin)
		if o == nil {
			continue
		}
		f := l.snap.ImportFacts(si, slicesOf[nsName{si.Namespace, si.Name}])
		for _, es := range f.Unattached {
			if so := l.objectOf(es.Origin); so != nil {
				l.report(so, RuleImportSliceNoCluster, Error, "metadata.labels",
					fmt.Sprintf("EndpointSlice %s is labelled %s=%s but has no %s label: its endpoints have no cluster to be named under (<endpoint>.<cluster>.%s), so no DNS server publishes them",
						es.Name, kubeconv.LabelImportServiceName, si.Name, kubeconv.LabelSourceCluster, si.Name), "")
			}
		}
		if len(f.Slices) == 0 {
			sev, what := Warning, "a Headless import has no names at all (NXDOMAIN)"
			if si.Type != cluster.ServiceImportHeadless {
				sev, what = Info, "the clusterset IP still answers, but no per-cluster endpoint names exist"
			}
			l.report(o, RuleImportNoEndpoints, sev, "metadata.name",
				fmt.Sprintf("no EndpointSlice in the inputs is labelled %s=%s with a %s: %s", kubeconv.LabelImportServiceName, si.Name, kubeconv.LabelSourceCluster, what), "")
			continue
		}
		if si.Type == cluster.ServiceImportHeadless {
			l.checkImportHostnames(o, si, f)
		}
	}
}

// checkImportHostnames reports a Headless import whose endpoints have no
// hostname: their per-cluster names are their dashed IPs, which change
// when a pod moves, so peers cannot be addressed by a stable name.
func (l *linter) checkImportHostnames(o *object, si *cluster.ServiceImport, f zone.ImportFacts) {
	var unnamed []string
	total := 0
	for _, es := range f.Slices {
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			for _, a := range ep.Addresses.All() {
				total++
				if label, from := zone.EndpointName(ep, a, l.snap.Options().EndpointPodNames); from != "hostname" {
					unnamed = append(unnamed, schema.ClusterEndpointLabel(label, es.SourceCluster)+"."+si.Name)
				}
			}
		}
	}
	if len(unnamed) == 0 {
		return
	}
	sev := Info
	if len(unnamed) == total {
		sev = Warning
	}
	n := len(unnamed)
	if n > 3 {
		unnamed = append(unnamed[:3], "...")
	}
	l.report(o, RuleImportNoHostnames, sev, "spec.type",
		fmt.Sprintf("Headless ServiceImport %s: %d of %d endpoint(s) have no hostname, so their names in the multicluster zone are their addresses (%s), which change when a pod moves", si.Name, n, total, strings.Join(unnamed, ", ")), "")
}
