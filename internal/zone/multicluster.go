package zone

import (
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
)

// Multicluster zones (the Multi-Cluster Services API, KEP-1645), as
// CoreDNS's kubernetes plugin answers them with `multicluster ZONE`: the
// services are the ServiceImports, the endpoints the EndpointSlices an MCS
// implementation labels with the import's name and their source cluster.
// A ClusterSetIP import answers its clusterset IPs and SRV per port like a
// ClusterIP Service; a Headless import its ready endpoints. Endpoint names
// carry the cluster: <endpoint>.<cluster>.<svc>.<ns>.svc.<zone> (the name
// without the cluster does not exist). There are no ExternalNames, pod
// records, zonal names or PTRs there.

// table is the fragments a forward zone answers from.
func (s *Snapshot) table(z *servedZone) *shards[string, *fragment] {
	if z.multicluster {
		return &s.imports
	}
	return &s.services
}

// importService is a ServiceImport seen as the Service the engine derives
// records from: a ClusterSetIP import as a ClusterIP service of its
// clusterset IPs, a Headless one as a headless service.
func importService(si *cluster.ServiceImport) *cluster.Service {
	svc := &cluster.Service{Name: si.Name, Namespace: si.Namespace, Type: cluster.ServiceTypeClusterIP,
		Headless: si.Type == cluster.ServiceImportHeadless, Ports: si.Ports, Origin: si.Origin}
	if !svc.Headless {
		svc.ClusterIPs = si.IPs
	}
	return svc
}

// importAttached reports whether a slice holds endpoints of the import: its
// multicluster service-name label names it, in its namespace, and it says
// which cluster the endpoints are in.
func importAttached(es *cluster.EndpointSlice, si *cluster.ServiceImport) bool {
	return es.AddressType != cluster.AddressTypeFQDN && es.SourceCluster != "" &&
		strings.EqualFold(es.ImportName, si.Name) && strings.EqualFold(es.Namespace, si.Namespace)
}

// newImportFragment derives a ServiceImport's fragment (nil: gone, or not
// served).
func (s *Snapshot) newImportFragment(u ImportUpdate) *fragment {
	si := u.Import
	if si == nil || !s.namespaces[strings.ToLower(si.Namespace)] || !IsDNSLabel(strings.ToLower(si.Name)) {
		return nil
	}
	svc := importService(si)
	d := &serviceData{svc: svc, exists: true, imported: true, key: ServiceKey(si.Namespace, si.Name),
		src: (*importSource)(si)}
	for _, es := range u.Slices {
		if !importAttached(es, si) {
			continue
		}
		start := len(d.ready)
		d.ready = appendReady(d.ready, es, s.opts.EndpointPodNames)
		cl := strings.ToLower(es.SourceCluster)
		for i := start; i < len(d.ready); i++ {
			d.ready[i].label = schema.ClusterEndpointLabel(d.ready[i].label, cl)
		}
	}
	switch {
	case d.headless():
		d.exists = len(d.ready) > 0
	default:
		// CoreDNS's records of a ClusterSetIP import come from its ports
		// (no sentinel port as for a Service): none, no name.
		d.exists = len(si.Ports) > 0 && (!s.opts.IgnoreEmptyService || len(d.ready) > 0)
	}
	f := &fragment{data: d, digest: d.digest(false)*31 + 7}
	if !d.exists {
		return f
	}
	d.indexLabels()
	for _, z := range s.zones {
		if z.multicluster {
			s.addServiceNames(f, z)
		}
	}
	for _, nd := range f.nodes {
		f.stats.addNode(nd, 1)
	}
	return f
}
