package explain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// walkImport explains a name below a service in a multicluster zone: the
// ServiceImport behind it, its MCS EndpointSlices, and the per-cluster
// endpoint names, from the engine's ImportFacts.
func (e *Explainer) walkImport(r *Result, n zone.NameFacts) *zone.Snapshot {
	s := n.Schema
	ns := s.Namespace
	if !e.checkNamespace(r, ns) {
		return e.snapshot(nil, nil)
	}
	k := key(ns, s.Service)
	si := e.imports[k]
	r.step("zone", n.Zone+" is a multicluster zone: its services are ServiceImports (multicluster.x-k8s.io)", "", "", cluster.Origin{})
	if si == nil {
		r.step("serviceimport", s.Service+" has no ServiceImport in "+ns, "", "", cluster.Origin{})
		c := Cause{Code: CodeImportNotFound, Severity: SeverityError, Object: "ServiceImport " + ns + "/" + s.Service,
			Message: fmt.Sprintf("there is no ServiceImport %s in namespace %s: the MCS implementation has not imported the service (no cluster exports it, or its ServiceExport failed)", s.Service, ns),
			Fix:     fmt.Sprintf("kubectl get serviceimports -n %s; export the service with a ServiceExport in the clusters that serve it", ns)}
		if svc := e.services[k]; svc != nil {
			c.Fix += fmt.Sprintf("; the local Service answers as %s", schema.Service(svc.Name, ns, e.zones[0]))
		}
		r.add(c)
		return e.snapshot(nil, []string{ns})
	}
	ref := si.Ref().String()
	f := e.base.ImportFacts(si, e.slicesByImport[k])
	r.step("serviceimport", fmt.Sprintf("%s exists (%s)", s.Service, si.Type), ref, "spec.type", si.Origin)
	var names []string
	for _, es := range f.Slices {
		names = append(names, es.Name+" ("+es.SourceCluster+")")
	}
	r.step("endpoints", fmt.Sprintf("%d EndpointSlice(s) labelled %s=%s [%s]: %d address(es) published", len(f.Slices), "multicluster.kubernetes.io/service-name", si.Name, strings.Join(names, " "), len(f.Published)), ref, "", cluster.Origin{})
	for _, es := range f.Unattached {
		r.add(Cause{Code: CodeImportNoEndpoints, Severity: SeverityError, Object: es.Ref().String(), Where: es.Origin.String(),
			Message: fmt.Sprintf("EndpointSlice %s names the import but has no multicluster.kubernetes.io/source-cluster label: its endpoints have no cluster to be named under, so they are not published", es.Name),
			Fix:     "the MCS implementation sets that label; check it"})
	}
	switch {
	case si.Type == cluster.ServiceImportClusterSetIP && len(si.Ports) == 0:
		r.add(Cause{Code: CodeImportNoPorts, Severity: SeverityError, Object: ref, Field: "spec.ports", Where: si.Origin.String(),
			Message: "a ClusterSetIP ServiceImport without ports has no records (CoreDNS builds its answers from the ports): NXDOMAIN",
			Fix:     "the exported Service needs ports; check the ServiceExport and the MCS implementation"})
	case si.Type == cluster.ServiceImportHeadless && len(f.Published) == 0:
		r.add(Cause{Code: CodeImportNoEndpoints, Severity: SeverityError, Object: ref,
			Message: fmt.Sprintf("the Headless ServiceImport %s has no ready endpoint in any cluster (%d EndpointSlice(s)): its names do not exist", si.Name, len(f.Slices)),
			Fix:     fmt.Sprintf("kubectl get endpointslices -n %s -l multicluster.kubernetes.io/service-name=%s; the exporting clusters' pods must be Ready", ns, si.Name)})
	}
	if s.Kind == schema.EndpointName {
		e.importEndpoint(r, si, f, s, n.Zone)
	}
	return e.snapshot([]string{k}, []string{ns})
}

// importEndpoint explains <endpoint>.<cluster>.<svc> in a multicluster
// zone, and the name without the cluster, which does not exist there.
func (e *Explainer) importEndpoint(r *Result, si *cluster.ServiceImport, f zone.ImportFacts, s schema.Name, zoneName string) {
	ref := si.Ref().String()
	var published []string
	for _, p := range f.Published {
		published = append(published, p.Label)
	}
	sort.Strings(published)
	published = dedup(published)
	if s.Cluster == "" {
		var full []string
		for _, p := range published {
			full = append(full, schema.Endpoint(p, schema.Service(si.Name, si.Namespace, zoneName)))
		}
		r.add(Cause{Code: CodeMulticlusterNoCluster, Severity: SeverityError, Object: ref,
			Message: fmt.Sprintf("in a multicluster zone an endpoint's name carries its cluster: <endpoint>.<cluster>.%s; %s.%s without it does not exist", si.Name, s.Label, si.Name),
			Fix:     "ask one of: " + strings.Join(full, " ")})
		return
	}
	want := schema.ClusterEndpointLabel(s.Label, s.Cluster)
	for _, p := range published {
		if p == want {
			r.step("endpoint", want+" is published", ref, "", cluster.Origin{})
			return
		}
	}
	r.step("endpoint", fmt.Sprintf("no endpoint is named %s; the names published are [%s]", want, strings.Join(published, " ")), ref, "", cluster.Origin{})
	r.add(Cause{Code: CodeServiceNotFound, Severity: SeverityError, Object: ref,
		Message: fmt.Sprintf("no ready endpoint of %s is %s in cluster %s", si.Name, s.Label, s.Cluster),
		Fix:     "endpoints without a hostname are named by their dashed IP; the names published are: " + strings.Join(published, " ")})
}
