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
