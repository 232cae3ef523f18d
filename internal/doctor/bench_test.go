package doctor

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// large is the healthy cluster plus services Services of pods pods each,
// one in five headless with hostnames (a StatefulSet's), in 20
// namespaces.
func large(services, pods int) *fixture { return largeIn(services, pods, 20) }

// largeIn is large with the Services spread over nss namespaces.
func largeIn(services, pods, nss int) *fixture {
	c := healthy()
	for n := range nss {
		c.objects = append(c.objects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", n)}})
	}
	for s := range services {
		ns, name := fmt.Sprintf("ns-%d", s%nss), fmt.Sprintf("svc-%d", s)
		headless := s%5 == 0
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
		if headless {
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		} else {
			ip := fmt.Sprintf("10.96.%d.%d", 10+s/250, s%250+1)
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
		}
		c.objects = append(c.objects, svc)
		var eps []discoveryv1.Endpoint
		for p := range pods {
			pod := fmt.Sprintf("%s-%d", name, p)
			ip := fmt.Sprintf("10.%d.%d.%d", 100+s/250, s%250, p+1)
			spec := corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", p%3), Containers: []corev1.Container{{Name: "c", Image: "app"}}}
			ep := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: ns}}
			if headless {
				spec.Hostname, spec.Subdomain = pod, name
				ep.Hostname = ptr(pod)
			}
			c.objects = append(c.objects, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns, Labels: map[string]string{"app": name},
				OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: name, Controller: ptr(true)}}}, Spec: spec, Status: readyStatus(ip, "c")})
			eps = append(eps, ep)
		}
		c.objects = append(c.objects, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name + "-abc", Namespace: ns,
			Labels: map[string]string{"kubernetes.io/service-name": name}}, AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
			Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80)), Protocol: ptr(corev1.ProtocolTCP)}}})
	}
	return c
}

// BenchmarkDoctor2000Services is issue 15's scale: 2,000 Services and
// 20,000 pods, read (through the fake client) and checked, the DNS pods
// asked on loopback; the metrics window is 10 ms (a real run adds its
// --metrics-window, 10 s, while the other checks run).
func BenchmarkDoctor2000Services(b *testing.B) {
	c := large(2000, 10)
	for b.Loop() {
		client := fake.NewClientset(c.objects...)
		start := time.Now()
		in, err := Read(context.Background(), client, "https://bench", nil)
		if err != nil {
			b.Fatal(err)
		}
		read := time.Since(start)
		c.samplers(in)
		c.dnsServers(b, in)
		r := Run(context.Background(), in, Options{})
		if r.Failed() {
			b.Fatalf("a finding at error:\n%s", dump(r))
		}
		b.ReportMetric(read.Seconds(), "read-s")
		b.ReportMetric(time.Since(start).Seconds(), "total-s")
	}
}

// BenchmarkHeadlessFewNamespaces is the headless check where namespaces
// hold thousands of pods each (the benchmark's state: 4 namespaces).
func BenchmarkHeadlessFewNamespaces(b *testing.B) {
	c := largeIn(2000, 10, 4)
	client := fake.NewClientset(c.objects...)
	in, err := Read(context.Background(), client, "https://bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var chk Check
		checkHeadless(context.Background(), in, &chk)
	}
}
