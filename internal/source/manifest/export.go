package manifest

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// The conversions below let a live source (package source/kube) turn API
// objects into the cluster model with exactly the rules manifests get, so
// the two sources cannot disagree on what a field means. They derive
// nothing: a live cluster runs the real controllers.

// ConvertService converts an API Service. problems lists values DNS cannot
// use (an API server would have rejected them); the rest is still converted.
func ConvertService(s *corev1.Service) (svc cluster.Service, problems error) {
	var fe fieldErrors
	ps := convertService(s, &fe)
	return ps.svc, fe.err()
}

// ConvertEndpointSlice converts an API EndpointSlice; nil for FQDN slices.
func ConvertEndpointSlice(es *discoveryv1.EndpointSlice) (*cluster.EndpointSlice, error) {
	var fe fieldErrors
	p := convertEndpointSlice(es, &fe)
	return p.slice, fe.err()
}

// ConvertPod converts an API Pod.
func ConvertPod(p *corev1.Pod) (cluster.Pod, error) {
	var fe fieldErrors
	pod := convertPod(&p.ObjectMeta, &p.Spec, &p.Status, nil, &fe)
	return pod, fe.err()
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	var b strings.Builder
	for i, e := range fe {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", formatPath(e.path), e.msg)
	}
	return fmt.Errorf("%s", b.String())
}

// The EndpointSlice controller's rules as this package plays them, for
// diagnostics (explain, lint) that must say why a pod is or is not an
// endpoint without restating the rules.

// SelectorMatches reports whether a Service selector selects the labels.
func SelectorMatches(selector, labels map[string]string) bool {
	return len(selector) > 0 && selectorMatches(selector, labels)
}

// PodInEndpoints reports whether the controller lists the pod at all: it is
// not terminal (Succeeded, Failed) and has an IP.
func PodInEndpoints(pod *cluster.Pod) bool { return shouldPodBeInEndpoints(pod) }

// PodEndpoint is the endpoint the controller writes for the pod behind the
// service in one address family (readiness, hostname), if the pod has an
// address of that family.
func PodEndpoint(pod *cluster.Pod, svc *cluster.Service, family cluster.AddressType) (cluster.Endpoint, bool) {
	return podToEndpoint(pod, svc, family)
}

// TargetPort resolves a service port's targetPort against the pod as the
// controller does; false when a named targetPort matches no container port
// of the same protocol (the port is then left out for that pod).
func TargetPort(pod *cluster.Pod, sp cluster.ServicePort) (int32, bool) { return findPort(pod, sp) }

// PodIndex finds the pods a label selector selects without scanning every
// pod of the namespace: pods are indexed by namespace and by each label
// pair, and a selector is matched only against the pods holding its
// rarest pair. With a Service per workload, scanning made deriving
// slices (and lint's selector checks) quadratic in the objects.
type PodIndex struct {
	byNS   map[string][]*cluster.Pod
	byPair map[podLabel][]*cluster.Pod
}

type podLabel struct{ namespace, key, value string }

// NewPodIndex indexes pods; each namespace keeps the order pods are given in.
func NewPodIndex(pods []*cluster.Pod) *PodIndex {
	ix := &PodIndex{byNS: map[string][]*cluster.Pod{}, byPair: map[podLabel][]*cluster.Pod{}}
	for _, p := range pods {
		ix.byNS[p.Namespace] = append(ix.byNS[p.Namespace], p)
		for k, v := range p.Labels {
			l := podLabel{p.Namespace, k, v}
			ix.byPair[l] = append(ix.byPair[l], p)
		}
	}
	return ix
}

// Selected returns the pods of namespace ns whose labels hold every pair of
// selector, in index order; an empty selector selects every pod of the
// namespace (as the controller's labels.Set does). Callers that want
// "selects nothing" for an empty selector check that first.
func (ix *PodIndex) Selected(ns string, selector map[string]string) []*cluster.Pod {
	candidates := ix.byNS[ns]
	for k, v := range selector {
		c := ix.byPair[podLabel{ns, k, v}]
		if len(c) < len(candidates) {
			candidates = c
		}
		if len(c) == 0 {
			return nil
		}
	}
	var out []*cluster.Pod
	for _, p := range candidates {
		if selectorMatches(selector, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}
