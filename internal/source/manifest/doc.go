// Package manifest reads Kubernetes manifest files into a cluster.State.
//
// # Reading
//
// Files hold YAML documents separated by "---" or JSON values; List objects
// (and typed lists such as ServiceList) are flattened. Objects are decoded
// into their k8s.io/api types as the API server decodes them: field names
// are case-sensitive and unknown or duplicate fields are errors. Unquoted
// yes/no/on/off are booleans, as in the YAML 1.1 reader kubectl uses. The
// kinds read are v1 Namespace, Service, Pod and Endpoints,
// discovery.k8s.io/v1 EndpointSlice, apps/v1 StatefulSet, Deployment,
// ReplicaSet and DaemonSet, and batch/v1 Job; other kinds are skipped.
// Package kubeconv converts the objects into the cluster model and checks
// the values DNS depends on (IPs, ports, port names, hostnames and
// subdomains, protocols, ExternalName targets); each problem it finds is
// placed at the line of its field. Every problem is reported as an *Error
// naming the file, the document and the line of the offending field; all
// of them are reported, not just the first. The input is bounded (Limits,
// Budget).
//
// # Deriving
//
// A file holds what was written to a cluster, not what the cluster made
// of it. Load hands the objects read (a second object of the same kind,
// namespace and name is an error) to package controller, which plays the
// control plane: the API server's defaults (the system namespaces, the
// Service default/kubernetes, cluster IPs), the workload controllers' pods
// and their IPs, and the EndpointSlice and EndpointSlice mirroring
// controllers. See that package for the rules. A Pod written in the
// manifests replaces a derived pod of the same name, and a workload that
// the manifests' pods or ReplicaSets name as their controller (a dump of a
// live cluster) is not expanded again; EndpointSlices written for a
// service stand for their controller's output.
//
// Derived objects carry the Origin of the object they came from with
// Origin.Derived saying how. The State is sorted by namespace and name, so
// the same input always gives the same State.
//
// EndpointSlices of addressType FQDN are read and ignored: DNS servers do
// not read them.
package manifest
