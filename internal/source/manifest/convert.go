package manifest

import (
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// This file converts typed objects into the DNS-relevant model and checks
// the values DNS depends on, as the API server's validation would. The
// results are kept on the Object for Load; nothing is derived here.

// fieldError is an invalid value at a path of the object.
type fieldError struct {
	path []any
	msg  string
}

type fieldErrors []fieldError

func (fe *fieldErrors) add(path []any, format string, args ...any) {
	*fe = append(*fe, fieldError{path: path, msg: fmt.Sprintf(format, args...)})
}

// at returns path extended by more; the result never shares path's array.
func at(path []any, more ...any) []any {
	return append(path[:len(path):len(path)], more...)
}

// Parsed forms kept on Objects.
type (
	parsedNamespace struct{ name string }

	parsedService struct {
		svc cluster.Service
		// explicitIPs is set when the manifest gives clusterIP(s).
		explicitIPs bool
		policy      corev1.IPFamilyPolicy
		families    []corev1.IPFamily
	}

	parsedPod struct {
		pod cluster.Pod
	}

	parsedEndpointSlice struct {
		slice *cluster.EndpointSlice // nil for FQDN slices
	}

	parsedEndpoints struct {
		labels      map[string]string
		annotations map[string]string
		subsets     []parsedSubset
	}

	parsedSubset struct {
		ports    []cluster.EndpointPort
		ready    []cluster.Endpoint
		notReady []cluster.Endpoint
	}

	// parsedWorkload is a pod-creating controller.
	parsedWorkload struct {
		template cluster.Pod // the pod template, as a pod without name or status
		replicas int
		// StatefulSet
		serviceName  string
		ordinalStart int
		// Job
		indexed bool
		owner   *cluster.ObjectRef
	}
)

// convert returns the parsed form of a typed object.
func convert(obj runtime.Object, fe *fieldErrors) any {
	switch o := obj.(type) {
	case *corev1.Namespace:
		return &parsedNamespace{name: o.Name}
	case *corev1.Service:
		return convertService(o, fe)
	case *corev1.Pod:
		return &parsedPod{pod: convertPod(&o.ObjectMeta, &o.Spec, &o.Status, nil, fe)}
	case *discoveryv1.EndpointSlice:
		return convertEndpointSlice(o, fe)
	//lint:ignore SA1019 legacy v1 Endpoints are still written by users and mirrored into slices, as the real mirroring controller does
	case *corev1.Endpoints:
		return convertEndpoints(o, fe)
	case *appsv1.StatefulSet:
		w := convertWorkload(&o.ObjectMeta, o.Spec.Replicas, &o.Spec.Template, fe)
		w.serviceName = o.Spec.ServiceName
		if o.Spec.Ordinals != nil {
			if o.Spec.Ordinals.Start < 0 {
				fe.add([]any{"spec", "ordinals", "start"}, "must be greater than or equal to 0")
			}
			w.ordinalStart = int(o.Spec.Ordinals.Start)
		}
		return w
	case *appsv1.Deployment:
		return convertWorkload(&o.ObjectMeta, o.Spec.Replicas, &o.Spec.Template, fe)
	case *appsv1.ReplicaSet:
		return convertWorkload(&o.ObjectMeta, o.Spec.Replicas, &o.Spec.Template, fe)
	case *appsv1.DaemonSet:
		one := int32(1) // one node: there are no Node objects to count
		return convertWorkload(&o.ObjectMeta, &one, &o.Spec.Template, fe)
	case *batchv1.Job:
		return convertJob(o, fe)
	}
	return nil
}

func convertWorkload(meta *metav1.ObjectMeta, replicas *int32, tmpl *corev1.PodTemplateSpec, fe *fieldErrors) *parsedWorkload {
	w := &parsedWorkload{replicas: 1, owner: controllerOf(meta)}
	if replicas != nil {
		if *replicas < 0 {
			fe.add([]any{"spec", "replicas"}, "must be greater than or equal to 0, got %d", *replicas)
		}
		w.replicas = max(int(*replicas), 0)
	}
	w.template = convertPod(&tmpl.ObjectMeta, &tmpl.Spec, nil, []any{"spec", "template"}, fe)
	return w
}

func convertJob(job *batchv1.Job, fe *fieldErrors) *parsedWorkload {
	parallelism := int32(1)
	if p := job.Spec.Parallelism; p != nil {
		if *p < 0 {
			fe.add([]any{"spec", "parallelism"}, "must be greater than or equal to 0, got %d", *p)
		}
		parallelism = max(*p, 0)
	}
	w := convertWorkload(&job.ObjectMeta, &parallelism, &job.Spec.Template, fe)
	if c := job.Spec.Completions; c != nil {
		if *c < 0 {
			fe.add([]any{"spec", "completions"}, "must be greater than or equal to 0, got %d", *c)
		}
		w.replicas = min(w.replicas, max(int(*c), 0))
	}
	switch m := job.Spec.CompletionMode; {
	case m == nil || *m == batchv1.NonIndexedCompletion:
	case *m == batchv1.IndexedCompletion:
		w.indexed = true
		if job.Spec.Completions == nil {
			fe.add([]any{"spec", "completions"}, "required when completionMode is Indexed")
		}
	default:
		fe.add([]any{"spec", "completionMode"}, "unsupported value %q: want NonIndexed or Indexed", *m)
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		w.replicas = 0
	}
	return w
}

func controllerOf(meta *metav1.ObjectMeta) *cluster.ObjectRef {
	if ref := metav1.GetControllerOfNoCopy(meta); ref != nil {
		return &cluster.ObjectRef{Kind: ref.Kind, Namespace: meta.Namespace, Name: ref.Name}
	}
	return nil
}

// convertPod converts a pod, or a pod template when status is nil. base is
// the path of the object holding metadata and spec.
//
// Status fields are read independently: the phase defaults to Running, the
// IPs are status.podIP and status.podIPs (Load allocates some for a Running
// pod without any), Ready is the Ready condition if listed, else whether the
// pod is Running.
func convertPod(meta *metav1.ObjectMeta, spec *corev1.PodSpec, status *corev1.PodStatus, base []any, fe *fieldErrors) cluster.Pod {
	p := cluster.Pod{
		Name:      meta.Name,
		Namespace: meta.Namespace,
		Hostname:  spec.Hostname,
		Subdomain: spec.Subdomain,
		NodeName:  spec.NodeName,
		Owner:     controllerOf(meta),
		Phase:     cluster.PodRunning,
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if len(meta.Labels) > 0 {
		p.Labels = maps.Clone(meta.Labels)
	}
	specPath := at(base, "spec")
	if p.Hostname != "" {
		checkDNSLabel(at(specPath, "hostname"), p.Hostname, fe)
	}
	if p.Subdomain != "" {
		checkDNSLabel(at(specPath, "subdomain"), p.Subdomain, fe)
	}
	for i := range spec.Containers {
		p.Ports = appendContainerPorts(p.Ports, spec.Containers[i].Ports, at(specPath, "containers", i, "ports"), fe)
	}
	// Sidecars (restartable init containers) serve named ports too; FindPort
	// looks at them after the containers.
	for i, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			p.Ports = appendContainerPorts(p.Ports, c.Ports, at(specPath, "initContainers", i, "ports"), fe)
		}
	}
	if t := meta.DeletionTimestamp; t != nil {
		ts := t.Time
		p.DeletionTimestamp = &ts
	}
	convertPodDNS(&p, spec, specPath, fe)
	if status == nil {
		p.Ready = true
		return p
	}

	statusPath := at(base, "status")
	switch ph := cluster.PodPhase(status.Phase); ph {
	case "":
	case cluster.PodPending, cluster.PodRunning, cluster.PodSucceeded, cluster.PodFailed, cluster.PodUnknown:
		p.Phase = ph
	default:
		fe.add(at(statusPath, "phase"), "unsupported value %q: want Pending, Running, Succeeded, Failed or Unknown", ph)
	}
	if status.PodIP != "" {
		if a, ok := parseIP(at(statusPath, "podIP"), status.PodIP, fe); ok {
			p.IPs = append(p.IPs, a)
		}
	}
	for i, pip := range status.PodIPs {
		path := at(statusPath, "podIPs", i, "ip")
		a, ok := parseIP(path, pip.IP, fe)
		if !ok {
			continue
		}
		if i == 0 && len(p.IPs) == 1 {
			if a != p.IPs[0] {
				fe.add(path, "must equal status.podIP %s", p.IPs[0])
			}
			continue
		}
		p.IPs = append(p.IPs, a)
	}
	if len(p.IPs) > 2 || (len(p.IPs) == 2 && p.IPs[0].Is4() == p.IPs[1].Is4()) {
		fe.add(at(statusPath, "podIPs"), "must hold at most one IPv4 and one IPv6 address")
	}
	p.Ready = p.Phase == cluster.PodRunning
	for _, c := range status.Conditions {
		if c.Type == corev1.PodReady {
			p.Ready = c.Status == corev1.ConditionTrue
			break
		}
	}
	return p
}

func appendContainerPorts(dst []cluster.ContainerPort, ports []corev1.ContainerPort, path []any, fe *fieldErrors) []cluster.ContainerPort {
	for j, cp := range ports {
		pp := at(path, j)
		checkPort(at(pp, "containerPort"), cp.ContainerPort, fe)
		if cp.Name != "" {
			if errs := validation.IsValidPortName(cp.Name); len(errs) > 0 {
				fe.add(at(pp, "name"), "invalid port name %q: %s", cp.Name, strings.Join(errs, "; "))
			}
		}
		dst = append(dst, cluster.ContainerPort{
			Name:          cp.Name,
			ContainerPort: cp.ContainerPort,
			Protocol:      protocol(at(pp, "protocol"), cp.Protocol, fe),
		})
	}
	return dst
}

func convertService(s *corev1.Service, fe *fieldErrors) *parsedService {
	spec := &s.Spec
	ps := &parsedService{
		svc: cluster.Service{
			Name:                     s.Name,
			Namespace:                s.Namespace,
			Type:                     cluster.ServiceType(spec.Type),
			PublishNotReadyAddresses: spec.PublishNotReadyAddresses,
		},
		families: spec.IPFamilies,
	}
	svc := &ps.svc
	if svc.Namespace == "" {
		svc.Namespace = "default"
	}
	switch svc.Type {
	case "":
		svc.Type = cluster.ServiceTypeClusterIP
	case cluster.ServiceTypeClusterIP, cluster.ServiceTypeNodePort, cluster.ServiceTypeLoadBalancer, cluster.ServiceTypeExternalName:
	default:
		fe.add([]any{"spec", "type"}, "unsupported value %q: want ClusterIP, NodePort, LoadBalancer or ExternalName", spec.Type)
	}
	// An empty selector is no selector: the API server stores an empty map
	// as none, and controllers read it as nil.
	if len(spec.Selector) > 0 {
		svc.Selector = maps.Clone(spec.Selector)
	}

	// Cluster IPs.
	ips, ipsPath := spec.ClusterIPs, []any{"spec", "clusterIPs"}
	if len(ips) == 0 && spec.ClusterIP != "" {
		ips, ipsPath = []string{spec.ClusterIP}, []any{"spec", "clusterIP"}
	} else if spec.ClusterIP != "" && len(ips) > 0 && ips[0] != spec.ClusterIP {
		fe.add([]any{"spec", "clusterIPs", 0}, "%q must equal spec.clusterIP %q", ips[0], spec.ClusterIP)
	}
	if svc.Type == cluster.ServiceTypeExternalName {
		if len(ips) > 0 {
			fe.add(ipsPath, "must be empty for type ExternalName")
		}
		ips = nil
		name := strings.TrimSuffix(spec.ExternalName, ".")
		if name == "" {
			fe.add([]any{"spec", "externalName"}, "required for type ExternalName")
		} else if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			fe.add([]any{"spec", "externalName"}, "invalid name %q: %s", spec.ExternalName, strings.Join(errs, "; "))
		}
		svc.ExternalName = spec.ExternalName
	}
	for i, ip := range ips {
		path := ipsPath
		if len(ipsPath) == 2 && ipsPath[1] == "clusterIPs" {
			path = at(ipsPath, i)
		}
		if ip == corev1.ClusterIPNone {
			if i > 0 || len(ips) > 1 {
				fe.add(path, `"None" must be the only cluster IP`)
			}
			svc.Headless = true
			continue
		}
		if a, ok := parseIP(path, ip, fe); ok {
			svc.ClusterIPs = append(svc.ClusterIPs, a)
		}
	}
	if n := len(svc.ClusterIPs); n > 2 || (n == 2 && svc.ClusterIPs[0].Is4() == svc.ClusterIPs[1].Is4()) {
		fe.add(ipsPath, "must hold at most one IPv4 and one IPv6 address")
	}
	ps.explicitIPs = len(svc.ClusterIPs) > 0

	if p := spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
			ps.policy = *p
		default:
			fe.add([]any{"spec", "ipFamilyPolicy"}, "unsupported value %q: want SingleStack, PreferDualStack or RequireDualStack", *p)
		}
	}
	for i, f := range spec.IPFamilies {
		path := []any{"spec", "ipFamilies", i}
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			fe.add(path, "unsupported value %q: want IPv4 or IPv6", f)
		} else if i > 0 && f == spec.IPFamilies[0] {
			fe.add(path, "duplicate family %s", f)
		} else if i < len(svc.ClusterIPs) && familyName(svc.ClusterIPs[i]) != string(f) {
			fe.add(path, "%s does not match cluster IP %s", f, svc.ClusterIPs[i])
		}
	}
	if len(spec.IPFamilies) > 2 {
		fe.add([]any{"spec", "ipFamilies"}, "may hold at most two families")
	}
	if ps.policy == corev1.IPFamilyPolicySingleStack && (len(spec.IPFamilies) > 1 || len(svc.ClusterIPs) > 1) {
		fe.add([]any{"spec", "ipFamilyPolicy"}, "SingleStack allows one IP family")
	}

	// Ports. (The API server also wants ports on services that are not
	// headless and names on all ports of multi-port services; DNS copes
	// without, and test fixtures rely on that, so neither is checked.)
	names := map[string]bool{}
	for i, sp := range spec.Ports {
		path := []any{"spec", "ports", i}
		checkPort(at(path, "port"), sp.Port, fe)
		if sp.Name != "" {
			if errs := validation.IsDNS1123Label(sp.Name); len(errs) > 0 {
				fe.add(at(path, "name"), "invalid port name %q: %s", sp.Name, strings.Join(errs, "; "))
			}
			if names[sp.Name] {
				fe.add(at(path, "name"), "duplicate port name %q", sp.Name)
			}
			names[sp.Name] = true
		}
		port := cluster.ServicePort{Name: sp.Name, Port: sp.Port, Protocol: protocol(at(path, "protocol"), sp.Protocol, fe)}
		switch tp := sp.TargetPort; tp.Type {
		case intstr.Int:
			if tp.IntVal != 0 {
				checkPort(at(path, "targetPort"), tp.IntVal, fe)
			}
			port.TargetPort.Number = tp.IntVal
		case intstr.String:
			if tp.StrVal != "" {
				if errs := validation.IsValidPortName(tp.StrVal); len(errs) > 0 {
					fe.add(at(path, "targetPort"), "invalid port name %q: %s", tp.StrVal, strings.Join(errs, "; "))
				}
			}
			port.TargetPort.Name = tp.StrVal
		}
		svc.Ports = append(svc.Ports, port)
	}
	return ps
}

func convertEndpointSlice(es *discoveryv1.EndpointSlice, fe *fieldErrors) *parsedEndpointSlice {
	slice := &cluster.EndpointSlice{
		Name:        es.Name,
		Namespace:   es.Namespace,
		ServiceName: es.Labels[discoveryv1.LabelServiceName],
		AddressType: cluster.AddressType(es.AddressType),
		ManagedBy:   es.Labels[discoveryv1.LabelManagedBy],
	}
	if ts, ok := es.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			slice.LastChangeTriggerTime = t
		}
	}
	switch slice.AddressType {
	case cluster.AddressTypeIPv4, cluster.AddressTypeIPv6:
	case cluster.AddressTypeFQDN:
		return &parsedEndpointSlice{} // deprecated; no DNS server reads them
	case "":
		fe.add([]any{"addressType"}, "required")
		return &parsedEndpointSlice{}
	default:
		fe.add([]any{"addressType"}, "unsupported value %q: want IPv4, IPv6 or FQDN", es.AddressType)
		return &parsedEndpointSlice{}
	}
	for i, ep := range es.Endpoints {
		path := []any{"endpoints", i}
		e := cluster.Endpoint{
			Conditions: cluster.EndpointConditions{
				Ready:       cloneBool(ep.Conditions.Ready),
				Serving:     cloneBool(ep.Conditions.Serving),
				Terminating: cloneBool(ep.Conditions.Terminating),
			},
			TargetRef: objectRef(ep.TargetRef),
		}
		if len(ep.Addresses) == 0 {
			fe.add(at(path, "addresses"), "must hold at least one address")
		}
		for j, s := range ep.Addresses {
			a, ok := parseIP(at(path, "addresses", j), s, fe)
			if !ok {
				continue
			}
			if familyName(a) != string(slice.AddressType) {
				fe.add(at(path, "addresses", j), "%s is not an %s address (addressType)", a, slice.AddressType)
				continue
			}
			e.Addresses = append(e.Addresses, a)
		}
		if ep.Hostname != nil {
			checkDNSLabel(at(path, "hostname"), *ep.Hostname, fe)
			e.Hostname = *ep.Hostname
		}
		if ep.NodeName != nil {
			e.NodeName = *ep.NodeName
		}
		if ep.Zone != nil {
			e.Zone = *ep.Zone
		}
		slice.Endpoints = append(slice.Endpoints, e)
	}
	for i, p := range es.Ports {
		path := []any{"ports", i}
		port := cluster.EndpointPort{Protocol: cluster.ProtocolTCP}
		if p.Name != nil {
			port.Name = *p.Name
		}
		if p.Port != nil {
			checkPort(at(path, "port"), *p.Port, fe)
			n := *p.Port
			port.Port = &n
		}
		if p.Protocol != nil {
			port.Protocol = protocol(at(path, "protocol"), *p.Protocol, fe)
		}
		slice.Ports = append(slice.Ports, port)
	}
	return &parsedEndpointSlice{slice: slice}
}

//lint:ignore SA1019 legacy v1 Endpoints are mirrored into slices, as the real mirroring controller does
func convertEndpoints(e *corev1.Endpoints, fe *fieldErrors) *parsedEndpoints {
	pe := &parsedEndpoints{labels: e.Labels, annotations: e.Annotations}
	for i, ss := range e.Subsets {
		path := []any{"subsets", i}
		var sub parsedSubset
		for j, p := range ss.Ports {
			pp := at(path, "ports", j)
			checkPort(at(pp, "port"), p.Port, fe)
			port := p.Port
			sub.ports = append(sub.ports, cluster.EndpointPort{Name: p.Name, Port: &port, Protocol: protocol(at(pp, "protocol"), p.Protocol, fe)})
		}
		sub.ready = convertAddresses(ss.Addresses, at(path, "addresses"), fe)
		sub.notReady = convertAddresses(ss.NotReadyAddresses, at(path, "notReadyAddresses"), fe)
		pe.subsets = append(pe.subsets, sub)
	}
	return pe
}

func convertAddresses(addrs []corev1.EndpointAddress, path []any, fe *fieldErrors) []cluster.Endpoint {
	var out []cluster.Endpoint
	for i, a := range addrs {
		ip, ok := parseIP(at(path, i, "ip"), a.IP, fe)
		if !ok {
			continue
		}
		e := cluster.Endpoint{Addresses: []netip.Addr{ip}, Hostname: a.Hostname, TargetRef: objectRef(a.TargetRef)}
		if a.Hostname != "" {
			checkDNSLabel(at(path, i, "hostname"), a.Hostname, fe)
		}
		if a.NodeName != nil {
			e.NodeName = *a.NodeName
		}
		out = append(out, e)
	}
	return out
}

func objectRef(r *corev1.ObjectReference) *cluster.ObjectRef {
	if r == nil {
		return nil
	}
	return &cluster.ObjectRef{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	return cluster.Bool(*b)
}

// parseIP parses an IP address as the API server accepts it: no zone, no
// IPv4-mapped IPv6 form, no leading zeros.
func parseIP(path []any, s string, fe *fieldErrors) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		fe.add(path, "%q is not a valid IP address", s)
		return netip.Addr{}, false
	}
	return a, true
}

func checkPort(path []any, port int32, fe *fieldErrors) {
	if port < 1 || port > 65535 {
		fe.add(path, "port %d out of range 1-65535", port)
	}
}

func checkDNSLabel(path []any, s string, fe *fieldErrors) {
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		fe.add(path, "invalid DNS label %q: %s", s, strings.Join(errs, "; "))
	}
}

// protocol defaults an empty protocol to TCP, as the API server does.
func protocol(path []any, p corev1.Protocol, fe *fieldErrors) cluster.Protocol {
	switch p {
	case "":
		return cluster.ProtocolTCP
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return cluster.Protocol(p)
	}
	fe.add(path, "unsupported protocol %q: want TCP, UDP or SCTP", p)
	return cluster.Protocol(p)
}
