package kube

import (
	"log/slog"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// The informer caches do not hold API objects: the transform converts each
// object as it arrives into the cluster model, and the caches keep that
// (with the object's identity) instead. The zone is given the same
// pointers, so an endpoint lives once in memory, in its compact form,
// rather than as a typed object in the cache plus a converted copy in the
// snapshot. Stored values are never modified: an update stores a new one.

// objectID is what client-go needs of a stored object: the cache key
// (namespace and name) and the resourceVersion, which the store tracks and
// the informer compares to tell resyncs from updates.
type objectID struct {
	namespace, name, resourceVersion string
}

func (id *objectID) version() string { return id.resourceVersion }

func idOf(m *metav1.ObjectMeta) objectID {
	return objectID{namespace: m.Namespace, name: m.Name, resourceVersion: m.ResourceVersion}
}

// GetObjectMeta makes the stored values metav1.ObjectMetaAccessors, which
// is what meta.Accessor, and so the cache key functions, accept. The
// ObjectMeta is made per call rather than kept: three strings per object
// instead of a whole ObjectMeta, for a short-lived allocation per event.
func (id *objectID) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: id.namespace, Name: id.name, ResourceVersion: id.resourceVersion}
}

// storedService is a cached Service. Its svc has no Selector (see
// transform): what is served never reads it.
type storedService struct {
	objectID
	svc cluster.Service
	// kind is the programming-latency label (KindClusterIP, ...).
	kind string
}

// storedSlice is a cached EndpointSlice.
type storedSlice struct {
	objectID
	// service is "<ns>/<name>" of the service the slice belongs to (its
	// kubernetes.io/service-name label); empty when it has no label.
	service string
	// imported is "<ns>/<name>" of the ServiceImport the slice holds
	// endpoints of (multicluster.kubernetes.io/service-name); usually "".
	imported string
	// trigger is the endpoints.kubernetes.io/last-change-trigger-time
	// annotation; zero when absent or unparsable.
	trigger time.Time
	// slice is nil for FQDN slices, which no DNS server reads.
	slice *cluster.EndpointSlice
}

// storedImport is a cached ServiceImport (multicluster zones only).
type storedImport struct {
	objectID
	imp cluster.ServiceImport
}

// storedNamespace is a cached Namespace: its name is all DNS reads.
type storedNamespace struct{ objectID }

// storedPod is a cached Pod (verified pod records only).
type storedPod struct {
	objectID
	pod cluster.Pod
}

// transform is the informers' transform: it converts an API object into
// what the cache keeps, with the same conversion as manifests get, and logs
// the values DNS cannot use once per object version.
//
// An object whose resourceVersion is the one already stored is the stored
// value: a re-list after a lost watch brings every object again, and most
// are unchanged. Keeping the stored value means nothing is converted or
// held twice, and the event handlers see old == new and skip the zone.
func transform(log *slog.Logger, stored cache.KeyGetter, targetRefs bool) func(any) (any, error) {
	return func(obj any) (any, error) {
		if m, ok := obj.(metav1.ObjectMetaAccessor); ok && stored != nil {
			if meta := m.GetObjectMeta(); meta.GetResourceVersion() != "" {
				if old, ok, _ := stored.GetByKey(cache.MetaObjectToName(meta).String()); ok {
					if id, ok := old.(interface{ version() string }); ok && id.version() == meta.GetResourceVersion() {
						return old, nil
					}
				}
			}
		}
		switch o := obj.(type) {
		case *corev1.Service:
			// The conversion reads the name, namespace and the spec fields
			// DNS uses, nothing else.
			svc, err := kubeconv.Service(o)
			if err != nil {
				log.Warn("service has values DNS cannot use", "service", o.Namespace+"/"+o.Name, "err", err)
			}
			// The selector is not kept: no record depends on it (the
			// latency label, kind, is taken from it here), and a map
			// per Service would be a large part of what a Service costs.
			svc.Selector = nil
			return &storedService{objectID: idOf(&o.ObjectMeta), svc: svc, kind: serviceKind(o)}, nil
		case *discoveryv1.EndpointSlice:
			st := &storedSlice{objectID: idOf(&o.ObjectMeta)}
			var pk stringPacker
			if name := o.Labels[discoveryv1.LabelServiceName]; name != "" {
				st.service = o.Namespace + "/" + name
			}
			if name := o.Labels[kubeconv.LabelImportServiceName]; name != "" {
				st.imported = o.Namespace + "/" + name
			}
			pk.add(&st.namespace, &st.name, &st.resourceVersion, &st.service, &st.imported)
			if ts, ok := o.Annotations[annTrigger]; ok {
				if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					st.trigger = t
				}
			}
			es, err := kubeconv.EndpointSlice(o)
			if err != nil {
				log.Warn("EndpointSlice has values DNS cannot use", "endpointslice", o.Namespace+"/"+o.Name, "err", err)
			}
			if es != nil {
				st.slice = compact(es, targetRefs, &pk)
			}
			pk.pack()
			return st, nil
		case *corev1.Namespace:
			return &storedNamespace{idOf(&o.ObjectMeta)}, nil
		case *unstructured.Unstructured:
			// The dynamic informer's objects: ServiceImports.
			if o.GetKind() != "ServiceImport" {
				return obj, nil
			}
			var si kubeconv.ServiceImport
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &si); err != nil {
				log.Warn("ServiceImport cannot be read", "serviceimport", o.GetNamespace()+"/"+o.GetName(), "err", err)
			}
			imp, err := kubeconv.ServiceImportOf(&si)
			if err != nil {
				log.Warn("ServiceImport has values DNS cannot use", "serviceimport", o.GetNamespace()+"/"+o.GetName(), "err", err)
			}
			return &storedImport{objectID: objectID{namespace: o.GetNamespace(), name: o.GetName(), resourceVersion: o.GetResourceVersion()}, imp: imp}, nil
		case *corev1.Pod:
			// Converted from the fields pod records read only, so that the
			// model holds no labels, container ports or owners it does not
			// need.
			pod, err := kubeconv.Pod(trimPod(o))
			if err != nil {
				log.Warn("pod has values DNS cannot use", "pod", o.Namespace+"/"+o.Name, "err", err)
			}
			return &storedPod{objectID: idOf(&o.ObjectMeta), pod: pod}, nil
		}
		// Already stored (client-go does not transform twice, but a
		// transform must be idempotent).
		return obj, nil
	}
}

// serviceKind is the latency label of a service, as CoreDNS names them.
func serviceKind(svc *corev1.Service) string {
	switch {
	case svc.Spec.ClusterIP != corev1.ClusterIPNone:
		return KindClusterIP
	case len(svc.Spec.Selector) > 0:
		return KindHeadlessWithSelector
	}
	return KindHeadlessWithoutSelector
}

// trimPod keeps what pod records read: identity, hostname, subdomain,
// node, phase, IPs, readiness and the deletion timestamp.
func trimPod(o *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, DeletionTimestamp: o.DeletionTimestamp},
		Spec: corev1.PodSpec{
			Hostname:  o.Spec.Hostname,
			Subdomain: o.Spec.Subdomain,
			NodeName:  o.Spec.NodeName,
		},
		Status: corev1.PodStatus{Phase: o.Status.Phase, PodIP: o.Status.PodIP, PodIPs: o.Status.PodIPs},
	}
	for _, c := range o.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return out
}

// compact returns the slice with the same values in fewer allocations, as
// it is kept for as long as it does not change: the endpoints in an array of
// their exact length (an endpoint's addresses are in place, see
// cluster.Addresses), every targetRef in one array, the targetRef's namespace and name sharing the slice's namespace
// and the endpoint's hostname when equal (a StatefulSet's pods), and one
// string per distinct zone name.
//
// Without targetRefs, the endpoints' targetRefs are dropped: DNS reads them
// only to name endpoints after their pods (--endpoint-pod-names), and they
// are most of what a hostname-less endpoint costs.
func compact(es *cluster.EndpointSlice, targetRefs bool, pk *stringPacker) *cluster.EndpointSlice {
	out := *es
	out.Endpoints = make([]cluster.Endpoint, len(es.Endpoints))
	nref := 0
	for i := range es.Endpoints {
		if es.Endpoints[i].TargetRef != nil && targetRefs {
			nref++
		}
	}
	refs := make([]cluster.ObjectRef, 0, nref)
	names := map[string]string{}
	intern := func(s string) string {
		if s == "" {
			return ""
		}
		if v, ok := names[s]; ok {
			return v
		}
		names[s] = s
		return s
	}
	for i := range es.Endpoints {
		e := es.Endpoints[i]
		if !targetRefs {
			e.TargetRef = nil
		}
		if r := e.TargetRef; r != nil {
			ref := *r
			// Equal strings replaced by one already held: the decoder
			// allocated each of them.
			if ref.Kind == "Pod" {
				ref.Kind = "Pod"
			}
			if ref.Namespace == out.Namespace {
				ref.Namespace = out.Namespace
			}
			if ref.Name == e.Hostname {
				ref.Name = e.Hostname
			}
			refs = append(refs, ref)
			e.TargetRef = &refs[len(refs)-1]
		}
		e.Zone = intern(e.Zone)
		out.Endpoints[i] = e
	}
	if len(es.Endpoints) == 0 {
		out.Endpoints = es.Endpoints
	}
	pk.add(&out.Name, &out.Namespace, &out.ServiceName, &out.ManagedBy, &out.ImportName, &out.SourceCluster)
	for i := range out.Endpoints {
		e := &out.Endpoints[i]
		pk.add(&e.Hostname, &e.Zone)
		if r := e.TargetRef; r != nil {
			pk.add(&r.Kind, &r.Namespace, &r.Name)
		}
	}
	return &out
}

// stringPacker moves the strings an object keeps into one allocation of
// their own. The decoder allocates every string of an object among
// everything else it allocates for it, nearly all of which is garbage once
// the object is converted: the few strings kept would each hold on to a
// block of the heap that is otherwise free (most of them are small enough
// to share one with garbage). Packed, an object keeps one allocation
// instead of dozens, and the heap after the first list is dense.
type stringPacker struct {
	dst []*string
}

// add registers strings to be packed (empty ones are left alone).
func (p *stringPacker) add(ss ...*string) {
	for _, s := range ss {
		if *s != "" {
			p.dst = append(p.dst, s)
		}
	}
}

// pack copies the registered strings into one string and points each at
// its part of it; equal strings share a part.
func (p *stringPacker) pack() {
	if len(p.dst) == 0 {
		return
	}
	type span struct{ lo, hi int }
	at := make(map[string]span, len(p.dst))
	n := 0
	for _, s := range p.dst {
		if _, ok := at[*s]; !ok {
			at[*s] = span{n, n + len(*s)}
			n += len(*s)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range p.dst {
		if sp := at[*s]; sp.lo == b.Len() && sp.hi > sp.lo {
			b.WriteString(*s)
		}
	}
	all := b.String()
	for _, s := range p.dst {
		sp := at[*s]
		*s = all[sp.lo:sp.hi]
	}
	p.dst = p.dst[:0]
}
