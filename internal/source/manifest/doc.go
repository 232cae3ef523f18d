// Package manifest reads Kubernetes manifest files into a cluster.State,
// playing the parts of a cluster that decide DNS: the API server's defaults
// and validation, the workload controllers, IP allocation and the
// EndpointSlice and EndpointSlice mirroring controllers.
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
// ReplicaSet and DaemonSet, and batch/v1 Job; other kinds are skipped. The
// values DNS depends on are validated (IPs, ports, port names, hostnames and
// subdomains, protocols, ExternalName targets). Every problem is reported as
// an *Error naming the file, the document and the line of the offending
// field; all of them are reported, not just the first.
//
// # Deriving
//
// From the objects read, Load derives what a cluster would hold:
//
//   - the namespaces of all objects, and default, kube-system, kube-public
//     and kube-node-lease;
//   - the pods of StatefulSets (<name>-<ordinal>, hostname and subdomain
//     set), Deployments (<name>-<hash>-<suffix>), ReplicaSets, DaemonSets
//     (one pod: there are no nodes) and Jobs (Indexed Jobs get hostnames
//     <name>-<index>), with deterministic names standing in for random ones.
//     A Pod written in the manifests replaces a derived pod of the same
//     name, and a workload that the manifests' pods or ReplicaSets name as
//     their controller (a dump of a live cluster) is not expanded again;
//   - pod status: a pod without status is Running and Ready; otherwise each
//     field is read on its own (phase defaults to Running, Ready to whether
//     the pod is Running);
//   - pod IPs for Running pods that have none and cluster IPs for services
//     that need them, handed out in namespace/name order from the
//     configured CIDRs, skipping addresses the manifests use;
//   - EndpointSlices for services with a selector, by the rules of the
//     EndpointSlice controller (k8s.io/endpointslice), unless the manifests
//     hold the controller's (or unmanaged) slices for the service;
//   - EndpointSlices mirrored from v1 Endpoints of existing selectorless
//     services, by the rules of the EndpointSlice mirroring controller
//     (Endpoints of other services are ignored, as in a cluster).
//
// Derived objects carry the Origin of the object they came from with
// Origin.Derived saying how. The State is sorted by namespace and name, so
// the same input always gives the same State.
//
// # Not done
//
// There are no Nodes, so endpoint zones are empty and pods bound to
// missing nodes are not dropped, and a DaemonSet has one pod. Readiness
// probes, pod lifecycles and rollouts are not simulated: a manifest says
// what state a pod is in. The kubernetes Service in default is not made up.
// EndpointSlices of addressType FQDN are ignored: DNS servers do not read
// them.
package manifest
