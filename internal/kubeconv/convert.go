package kubeconv

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
)

// Convert converts an object of a kind this package reads into what the
// control plane is given (its Origin is left for the caller to set). It
// also checks, as the API server does, that the names that become DNS
// labels are DNS labels: the name of a Namespace or Service (which may
// start with a digit: RelaxedServiceNameValidation) and the namespace of a
// namespaced object. The namespace is taken as it is: default it first.
// ok is false for other kinds.
func Convert(obj runtime.Object) (o controller.Object, problems Problems, ok bool) {
	meta, isMeta := obj.(metav1.Object)
	if !isMeta {
		return controller.Object{}, nil, false
	}
	o.Ref = cluster.ObjectRef{Namespace: meta.GetNamespace(), Name: meta.GetName()}
	switch obj.(type) {
	case *corev1.Namespace, *corev1.Service:
		checkDNSLabel(Path{"metadata", "name"}, meta.GetName(), &problems)
	}
	if ns := meta.GetNamespace(); ns != "" && ns != "default" {
		checkDNSLabel(Path{"metadata", "namespace"}, ns, &problems)
	}
	o.Ref.Kind, ok = convertObject(obj, &o, &problems)
	if !ok {
		return controller.Object{}, nil, false
	}
	return o, problems, true
}

// convertObject fills in the content of o and returns the object's kind.
func convertObject(obj runtime.Object, o *controller.Object, ps *Problems) (string, bool) {
	switch t := obj.(type) {
	case *corev1.Namespace:
		o.Namespace = &cluster.Namespace{Name: t.Name}
		return "Namespace", true
	case *corev1.Service:
		o.Service = convertService(t, ps)
		return "Service", true
	case *corev1.Pod:
		p := convertPod(&t.ObjectMeta, &t.Spec, &t.Status, nil, ps)
		o.Pod = &p
		return "Pod", true
	case *discoveryv1.EndpointSlice:
		o.EndpointSlice = convertEndpointSlice(t, ps)
		return "EndpointSlice", true
	//lint:ignore SA1019 legacy v1 Endpoints are still written by users and mirrored into slices, as the real mirroring controller does
	case *corev1.Endpoints:
		o.Endpoints = convertEndpoints(t, ps)
		return "Endpoints", true
	case *ServiceImport:
		o.ServiceImport = convertServiceImport(t, ps)
		return "ServiceImport", true
	}
	return convertWorkloadObject(obj, o, ps)
}

// convertWorkloadObject converts the pod-creating kinds.
func convertWorkloadObject(obj runtime.Object, o *controller.Object, ps *Problems) (string, bool) {
	switch t := obj.(type) {
	case *appsv1.StatefulSet:
		o.Workload = convertStatefulSet(t, ps)
		return "StatefulSet", true
	case *appsv1.Deployment:
		o.Workload = convertWorkload(&t.ObjectMeta, t.Spec.Replicas, &t.Spec.Template, ps)
		return "Deployment", true
	case *appsv1.ReplicaSet:
		o.Workload = convertWorkload(&t.ObjectMeta, t.Spec.Replicas, &t.Spec.Template, ps)
		return "ReplicaSet", true
	case *appsv1.DaemonSet:
		o.Workload = convertWorkload(&t.ObjectMeta, nil, &t.Spec.Template, ps)
		return "DaemonSet", true
	case *batchv1.Job:
		o.Workload = convertJob(t, ps)
		return "Job", true
	}
	return "", false
}

// Service converts an API Service. problems lists values DNS cannot use (an
// API server would have rejected them); the rest is still converted.
func Service(s *corev1.Service) (svc cluster.Service, problems error) {
	var ps Problems
	cs := convertService(s, &ps)
	return cs.Service, ps.Err()
}

// EndpointSlice converts an API EndpointSlice; nil for FQDN slices (no DNS
// server reads them) and slices of an unknown addressType.
func EndpointSlice(es *discoveryv1.EndpointSlice) (*cluster.EndpointSlice, error) {
	var ps Problems
	s := convertEndpointSlice(es, &ps)
	return s, ps.Err()
}

// Pod converts an API Pod (see PodStatus for how its status is read).
func Pod(p *corev1.Pod) (cluster.Pod, error) {
	var ps Problems
	pod := convertPod(&p.ObjectMeta, &p.Spec, &p.Status, nil, &ps)
	return pod, ps.Err()
}

func convertWorkload(meta *metav1.ObjectMeta, replicas *int32, tmpl *corev1.PodTemplateSpec, ps *Problems) *controller.Workload {
	w := &controller.Workload{Owner: controllerOf(meta)}
	if replicas != nil {
		if *replicas < 0 {
			ps.add(Path{"spec", "replicas"}, "must be greater than or equal to 0, got %d", *replicas)
		}
		n := *replicas
		w.Replicas = &n
	}
	w.Template = convertPod(&tmpl.ObjectMeta, &tmpl.Spec, nil, Path{"spec", "template"}, ps)
	return w
}

func convertStatefulSet(s *appsv1.StatefulSet, ps *Problems) *controller.Workload {
	w := convertWorkload(&s.ObjectMeta, s.Spec.Replicas, &s.Spec.Template, ps)
	w.ServiceName = s.Spec.ServiceName
	if s.Spec.Ordinals != nil {
		if s.Spec.Ordinals.Start < 0 {
			ps.add(Path{"spec", "ordinals", "start"}, "must be greater than or equal to 0")
		}
		w.OrdinalStart = int(s.Spec.Ordinals.Start)
	}
	return w
}

func convertJob(job *batchv1.Job, ps *Problems) *controller.Workload {
	if p := job.Spec.Parallelism; p != nil && *p < 0 {
		ps.add(Path{"spec", "parallelism"}, "must be greater than or equal to 0, got %d", *p)
	}
	w := convertWorkload(&job.ObjectMeta, nil, &job.Spec.Template, ps)
	if p := job.Spec.Parallelism; p != nil {
		n := *p
		w.Replicas = &n
	}
	if c := job.Spec.Completions; c != nil {
		if *c < 0 {
			ps.add(Path{"spec", "completions"}, "must be greater than or equal to 0, got %d", *c)
		}
		n := *c
		w.Completions = &n
	}
	switch m := job.Spec.CompletionMode; {
	case m == nil || *m == batchv1.NonIndexedCompletion:
	case *m == batchv1.IndexedCompletion:
		w.Indexed = true
		if job.Spec.Completions == nil {
			ps.add(Path{"spec", "completions"}, "required when completionMode is Indexed")
		}
	default:
		ps.add(Path{"spec", "completionMode"}, "unsupported value %q: want NonIndexed or Indexed", *m)
	}
	w.Suspended = job.Spec.Suspend != nil && *job.Spec.Suspend
	return w
}

func controllerOf(meta *metav1.ObjectMeta) *cluster.ObjectRef {
	if ref := metav1.GetControllerOfNoCopy(meta); ref != nil {
		return &cluster.ObjectRef{Kind: ref.Kind, Namespace: meta.Namespace, Name: ref.Name}
	}
	return nil
}
