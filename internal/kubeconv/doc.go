// Package kubeconv converts Kubernetes API objects (k8s.io/api core/v1
// Namespace, Service, Pod and Endpoints, discovery/v1 EndpointSlice, apps/v1
// StatefulSet, Deployment, ReplicaSet and DaemonSet, batch/v1 Job) into the
// cluster model, checking the values DNS depends on as the API server's
// validation would: IPs, ports, port names, hostnames and subdomains,
// protocols, IP families, ExternalName targets, DNS policies.
//
// Both sources use it, so a field means the same whether it was read from a
// manifest (package source/manifest) or from a live cluster (package
// source/kube). A problem is reported with the field path it was found at
// (Problem.Path), which the manifest reader turns into a line of its file;
// the rest of the object is still converted.
//
// It derives nothing: workloads become controller.Workload descriptions
// and v1 Endpoints controller.Endpoints, which package controller expands
// the way a cluster's controllers would. Defaults the API server applies
// to a field when it stores an object (an empty protocol is TCP, an empty
// namespace is default, an empty Service type is ClusterIP) are applied
// here.
package kubeconv
