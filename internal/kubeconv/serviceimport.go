package kubeconv

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// The Multi-Cluster Services API's ServiceImport (KEP-1645), as its
// published CRD (multicluster.x-k8s.io/v1alpha1) defines it. It is written
// out here rather than imported from sigs.k8s.io/mcs-api, whose module
// would pull a controller-runtime into a DNS server for one small type.

// ServiceImportGroupVersion is the API group and version of ServiceImport.
var ServiceImportGroupVersion = schema.GroupVersion{Group: "multicluster.x-k8s.io", Version: "v1alpha1"}

// ServiceImportResource is the resource a client lists and watches.
var ServiceImportResource = ServiceImportGroupVersion.WithResource("serviceimports")

// The labels an MCS implementation puts on the EndpointSlices of an import.
const (
	LabelImportServiceName = "multicluster.kubernetes.io/service-name"
	LabelSourceCluster     = "multicluster.kubernetes.io/source-cluster"
)

// ServiceImport is a ServiceImport object.
type ServiceImport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ServiceImportSpec   `json:"spec,omitempty"`
	Status            ServiceImportStatus `json:"status,omitempty"`
}

// ServiceImportSpec is spec of a ServiceImport.
type ServiceImportSpec struct {
	Ports                 []ServiceImportPort           `json:"ports"`
	IPs                   []string                      `json:"ips,omitempty"`
	Type                  string                        `json:"type"`
	SessionAffinity       corev1.ServiceAffinity        `json:"sessionAffinity,omitempty"`
	SessionAffinityConfig *corev1.SessionAffinityConfig `json:"sessionAffinityConfig,omitempty"`
}

// ServiceImportPort is one entry of spec.ports.
type ServiceImportPort struct {
	Name        string          `json:"name,omitempty"`
	Protocol    corev1.Protocol `json:"protocol,omitempty"`
	AppProtocol *string         `json:"appProtocol,omitempty"`
	Port        int32           `json:"port"`
}

// ServiceImportStatus is status of a ServiceImport.
type ServiceImportStatus struct {
	Clusters   []ClusterStatus    `json:"clusters,omitempty"`
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterStatus names a cluster exporting the service.
type ClusterStatus struct {
	Cluster string `json:"cluster"`
}

// DeepCopyObject implements runtime.Object.
func (s *ServiceImport) DeepCopyObject() runtime.Object {
	if s == nil {
		return nil
	}
	// Rare and small: a JSON round trip keeps the copy right as fields
	// are added.
	b, err := json.Marshal(s)
	if err != nil {
		panic("kubeconv: copying a ServiceImport: " + err.Error())
	}
	c := new(ServiceImport)
	if err := json.Unmarshal(b, c); err != nil {
		panic("kubeconv: copying a ServiceImport: " + err.Error())
	}
	return c
}

// convertServiceImport converts an import; its type must be ClusterSetIP
// or Headless, its IPs addresses.
func convertServiceImport(si *ServiceImport, ps *Problems) *cluster.ServiceImport {
	out := &cluster.ServiceImport{Name: si.Name, Namespace: si.Namespace, Type: cluster.ServiceImportType(si.Spec.Type)}
	switch out.Type {
	case cluster.ServiceImportClusterSetIP, cluster.ServiceImportHeadless:
	case "":
		ps.add(Path{"spec", "type"}, "required: ClusterSetIP or Headless")
	default:
		ps.add(Path{"spec", "type"}, "unsupported value %q: want ClusterSetIP or Headless", si.Spec.Type)
	}
	for i, ip := range si.Spec.IPs {
		if a, ok := parseIP(Path{"spec", "ips", i}, ip, ps); ok {
			out.IPs = append(out.IPs, a)
		}
	}
	for i, p := range si.Spec.Ports {
		path := Path{"spec", "ports", i}
		checkPort(path.At("port"), p.Port, ps)
		out.Ports = append(out.Ports, cluster.ServicePort{Name: p.Name, Port: p.Port, Protocol: protocol(path.At("protocol"), p.Protocol, ps)})
	}
	return out
}

// ServiceImportOf converts a ServiceImport.
func ServiceImportOf(si *ServiceImport) (cluster.ServiceImport, error) {
	var ps Problems
	out := convertServiceImport(si, &ps)
	return *out, ps.Err()
}
