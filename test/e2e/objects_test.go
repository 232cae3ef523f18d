//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// namespace creates a namespace for one test.
func (e *environment) namespace(t *testing.T, name string) string {
	t.Helper()
	_, err := e.cs.CoreV1().Namespaces().Create(ctxFor(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// svcPort is a named TCP service port; target is a port number or name.
func svcPort(name string, port int32, target string) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.Parse(target)}
}

type svcOpt func(*corev1.Service)

func headless(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }

func dualStack(s *corev1.Service) {
	p := corev1.IPFamilyPolicyPreferDualStack
	s.Spec.IPFamilyPolicy = &p
}

func publishNotReady(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }

func selector(kv ...string) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Selector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Spec.Selector[kv[i]] = kv[i+1]
		}
	}
}

func noSelector(s *corev1.Service) { s.Spec.Selector = nil }

// createService creates a Service selecting app=<name> unless an option
// changes that.
func (e *environment) createService(t *testing.T, ns, name string, ports []corev1.ServicePort, opts ...svcOpt) *corev1.Service {
	t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    ports,
		},
	}
	for _, o := range opts {
		o(s)
	}
	out, err := e.cs.CoreV1().Services(ns).Create(ctxFor(t), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating service %s/%s: %v", ns, name, err)
	}
	return out
}

// deleteService deletes a Service and waits until it is gone.
func (e *environment) deleteService(t *testing.T, ns, name string) {
	t.Helper()
	ctx := ctxFor(t)
	if err := e.cs.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting service %s/%s: %v", ns, name, err)
	}
	eventually(t, expectTimeout, "service "+ns+"/"+name+" gone", func() (bool, string) {
		_, err := e.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// podTemplate is a pod with one container that exposes the given named
// ports ("name=port").
func podTemplate(labels map[string]string, ports ...string) corev1.PodTemplateSpec {
	var cps []corev1.ContainerPort
	for _, p := range ports {
		name, num, _ := strings.Cut(p, "=")
		var n int32
		fmt.Sscan(num, &n)
		cps = append(cps, corev1.ContainerPort{Name: name, ContainerPort: n, Protocol: corev1.ProtocolTCP})
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers:                    []corev1.Container{{Name: "main", Image: "registry.invalid/e2e:1", Ports: cps}},
		},
	}
}

// createStatefulSet creates a StatefulSet <name> (pods app=<name>) with
// serviceName <service> and Parallel pod management.
func (e *environment) createStatefulSet(t *testing.T, ns, name, service string, replicas int32, tmpl corev1.PodTemplateSpec) {
	t.Helper()
	sel := map[string]string{}
	for k, v := range tmpl.Labels {
		sel[k] = v
	}
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			ServiceName:         service,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: sel},
			Template:            tmpl,
		},
	}
	if _, err := e.cs.AppsV1().StatefulSets(ns).Create(ctxFor(t), ss, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating statefulset %s/%s: %v", ns, name, err)
	}
}

func (e *environment) scaleStatefulSet(t *testing.T, ns, name string, replicas int) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := e.cs.AppsV1().StatefulSets(ns).Patch(ctxFor(t), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("scaling statefulset %s/%s to %d: %v", ns, name, replicas, err)
	}
}

func (e *environment) createDeployment(t *testing.T, ns, name string, replicas int32, tmpl corev1.PodTemplateSpec) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels},
			Template: tmpl,
		},
	}
	if _, err := e.cs.AppsV1().Deployments(ns).Create(ctxFor(t), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating deployment %s/%s: %v", ns, name, err)
	}
}

// pod is what the tests need to know of a running pod.
type pod struct {
	name string
	uid  types.UID
	v4   string
	v6   string
}

// waitPods waits until exactly the pods matching selector exist, none of
// them terminating, all with addresses (when the fake kubelet runs them),
// and returns them sorted by name. names, when given, must be the pod names.
func (e *environment) waitPods(t *testing.T, ns, sel string, n int, names ...string) []pod {
	t.Helper()
	ctx := ctxFor(t)
	var out []pod
	eventually(t, 60*time.Second, fmt.Sprintf("%d running pods %s in %s", n, sel, ns), func() (bool, string) {
		l, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, err.Error()
		}
		out = out[:0]
		var state []string
		ok := len(l.Items) == n
		for _, p := range l.Items {
			q := pod{name: p.Name, uid: p.UID}
			for _, ip := range p.Status.PodIPs {
				if net.ParseIP(ip.IP).To4() != nil {
					q.v4 = ip.IP
				} else {
					q.v6 = ip.IP
				}
			}
			state = append(state, fmt.Sprintf("%s(node=%q ip=%q deleting=%v)", p.Name, p.Spec.NodeName, p.Status.PodIP, p.DeletionTimestamp != nil))
			if p.DeletionTimestamp != nil || q.v4 == "" {
				ok = false
			}
			out = append(out, q)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
		if ok && len(names) > 0 {
			var got []string
			for _, p := range out {
				got = append(got, p.name)
			}
			ok = slices.Equal(got, names)
		}
		return ok, strings.Join(state, ", ")
	})
	return out
}

func v4s(ps []pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.v4)
	}
	return out
}

func v6s(ps []pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.v6)
	}
	return out
}

// endpoint is one hand-made EndpointSlice endpoint.
type endpoint struct {
	ip       string
	hostname string
	notReady bool
}

// applySlice creates or replaces a hand-made EndpointSlice for a
// selectorless service.
func (e *environment) applySlice(t *testing.T, ns, name, service string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...endpoint) {
	t.Helper()
	ctx := ctxFor(t)
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: service,
			discoveryv1.LabelManagedBy:   "e2e.clusterdns.io",
		}},
		AddressType: family,
		Ports:       ports,
	}
	for _, ep := range eps {
		x := discoveryv1.Endpoint{Addresses: []string{ep.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(!ep.notReady)}}
		if ep.hostname != "" {
			x.Hostname = ptr(ep.hostname)
		}
		s.Endpoints = append(s.Endpoints, x)
	}
	cur, err := e.cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = e.cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, s, metav1.CreateOptions{})
	case err == nil:
		s.ResourceVersion = cur.ResourceVersion
		_, err = e.cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("writing EndpointSlice %s/%s: %v", ns, name, err)
	}
}

func slicePort(name string, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr(name), Port: ptr(port), Protocol: ptr(corev1.ProtocolTCP)}
}

// forceDelete deletes a pod at once, as `kubectl delete --grace-period=0 --force`.
func (e *environment) forceDelete(t *testing.T, ns, name string) {
	t.Helper()
	err := e.cs.CoreV1().Pods(ns).Delete(ctxFor(t), name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting pod %s/%s: %v", ns, name, err)
	}
}

// srvTargets lists "port <endpoint>.<svc>.<ns>.svc.<zone>." for SRV checks.
func srvTargets(port int, svc, ns string, endpoints ...string) []string {
	var out []string
	for _, ep := range endpoints {
		out = append(out, fmt.Sprintf("%d %s", port, fqdn(ep, svc, ns, "svc")))
	}
	return out
}

func intOrString(s string) intstr.IntOrString { return intstr.Parse(s) }

// createPod creates a bare pod; hostname and subdomain are set when given.
func (e *environment) createPod(t *testing.T, ns, name string, labels map[string]string, hostname, subdomain string, ports ...string) {
	t.Helper()
	tmpl := podTemplate(labels, ports...)
	p := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	p.Name, p.Namespace = name, ns
	p.Spec.Hostname, p.Spec.Subdomain = hostname, subdomain
	if _, err := e.cs.CoreV1().Pods(ns).Create(ctxFor(t), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s/%s: %v", ns, name, err)
	}
}

// createExternalName creates an ExternalName Service.
func (e *environment) createExternalName(t *testing.T, ns, name, target string) {
	t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target},
	}
	if _, err := e.cs.CoreV1().Services(ns).Create(ctxFor(t), s, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ExternalName service %s/%s: %v", ns, name, err)
	}
}
