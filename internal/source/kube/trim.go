package kube

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trim is the informer transform: it keeps only what the cluster model and
// the informer need (name, namespace, UID, resourceVersion, the labels and
// annotations DNS reads) and drops the rest before the object is stored,
// so the caches stay small at 150k pods.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return &corev1.Service{
			ObjectMeta: slimMeta(&o.ObjectMeta, nil, nil),
			Spec: corev1.ServiceSpec{
				Type:                     o.Spec.Type,
				ClusterIP:                o.Spec.ClusterIP,
				ClusterIPs:               o.Spec.ClusterIPs,
				Ports:                    o.Spec.Ports,
				Selector:                 o.Spec.Selector,
				ExternalName:             o.Spec.ExternalName,
				PublishNotReadyAddresses: o.Spec.PublishNotReadyAddresses,
				IPFamilies:               o.Spec.IPFamilies,
				IPFamilyPolicy:           o.Spec.IPFamilyPolicy,
			},
		}, nil
	case *discoveryv1.EndpointSlice:
		out := &discoveryv1.EndpointSlice{
			ObjectMeta:  slimMeta(&o.ObjectMeta, []string{discoveryv1.LabelServiceName, discoveryv1.LabelManagedBy}, []string{corev1.EndpointsLastChangeTriggerTime}),
			AddressType: o.AddressType,
			Ports:       o.Ports,
			Endpoints:   make([]discoveryv1.Endpoint, len(o.Endpoints)),
		}
		for i := range o.Endpoints {
			e := &o.Endpoints[i]
			out.Endpoints[i] = discoveryv1.Endpoint{
				Addresses:  e.Addresses,
				Conditions: e.Conditions,
				Hostname:   e.Hostname,
				NodeName:   e.NodeName,
				Zone:       e.Zone,
			}
			if e.TargetRef != nil {
				out.Endpoints[i].TargetRef = &corev1.ObjectReference{Kind: e.TargetRef.Kind, Namespace: e.TargetRef.Namespace, Name: e.TargetRef.Name}
			}
		}
		return out, nil
	case *corev1.Namespace:
		return &corev1.Namespace{ObjectMeta: slimMeta(&o.ObjectMeta, nil, nil)}, nil
	case *corev1.Pod:
		out := &corev1.Pod{
			ObjectMeta: slimMeta(&o.ObjectMeta, nil, nil),
			Spec: corev1.PodSpec{
				Hostname:  o.Spec.Hostname,
				Subdomain: o.Spec.Subdomain,
				NodeName:  o.Spec.NodeName,
			},
			Status: corev1.PodStatus{Phase: o.Status.Phase, PodIP: o.Status.PodIP, PodIPs: o.Status.PodIPs},
		}
		out.DeletionTimestamp = o.DeletionTimestamp
		for _, c := range o.Status.Conditions {
			if c.Type == corev1.PodReady {
				out.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
			}
		}
		return out, nil
	}
	return obj, nil
}

// slimMeta keeps identity and the named labels and annotations only.
func slimMeta(m *metav1.ObjectMeta, keepLabels, keepAnnotations []string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
	}
	out.Labels = pick(m.Labels, keepLabels)
	out.Annotations = pick(m.Annotations, keepAnnotations)
	return out
}

func pick(m map[string]string, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = make(map[string]string, len(keys))
			}
			out[k] = v
		}
	}
	return out
}
