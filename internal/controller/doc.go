// Package controller plays the parts of a Kubernetes control plane that
// decide DNS, for a state that has no control plane (manifests): given the
// objects as written, already converted to the cluster model, Derive
// returns the cluster.State a cluster holding them would reach.
//
// It plays
//
//   - the API server's defaults: the system namespaces (default,
//     kube-system, kube-public, kube-node-lease) and a namespace for every
//     namespace the objects use, the Service default/kubernetes (port https
//     443, the first address of the primary service CIDR), and cluster IP
//     allocation by spec.ipFamilies and spec.ipFamilyPolicy;
//   - the workload controllers: the pods of StatefulSets (<name>-<ordinal>,
//     hostname and subdomain set), Deployments (through a ReplicaSet named
//     <name>-<pod-template-hash>), ReplicaSets, DaemonSets (one pod: there
//     are no nodes) and Jobs (Indexed Jobs' pods get hostnames
//     <name>-<index>), with deterministic names standing in for random ones,
//     and pod IPs for Running pods that have none;
//   - the EndpointSlice controller (k8s.io/endpointslice): which pod is an
//     endpoint, its ready/serving/terminating conditions, its hostname
//     (only when the pod's subdomain is the service's name), named
//     targetPorts, slices of at most 100 endpoints and an empty placeholder
//     slice per family;
//   - the EndpointSlice mirroring controller: v1 Endpoints of existing
//     selectorless services become EndpointSlices.
//
// The controller's rules are exported (SelectorMatches, PodIsEndpoint,
// PodEndpoint, TargetPort, Membership, PodIndex) so that diagnostics say
// why a pod is or is not an endpoint with the very code that derives the
// slices, never a restatement of it.
//
// It does not read files or API objects (packages source/manifest and
// kubeconv do), validate field values (kubeconv does), decide DNS records
// (package zone does) or watch anything. There are no Nodes, so endpoint
// zones are empty and pods bound to missing nodes are not dropped.
// Readiness probes, pod lifecycles and rollouts are not simulated: the
// input says what state a pod is in. A live cluster runs the real
// controllers, and its state is read as it is.
package controller
