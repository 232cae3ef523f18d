package controller

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

var (
	v4 = netip.MustParseAddr("10.244.0.5")
	v6 = netip.MustParseAddr("fd00::5")
)

// webService selects app=web in default.
func webService() *cluster.Service {
	return &cluster.Service{Name: "web", Namespace: "default", Selector: map[string]string{"app": "web"}}
}

// webPod is a Running, Ready pod that web selects.
func webPod() *cluster.Pod {
	return &cluster.Pod{
		Name: "web-0", Namespace: "default", Labels: map[string]string{"app": "web"},
		Phase: cluster.PodRunning, Ready: true, IPs: []netip.Addr{v4}, NodeName: "node-1",
	}
}

func boolString(c cluster.Condition) string {
	if !c.IsSet() {
		return "nil"
	}
	return c.String()
}

func TestSelectorMatchesEmptySelectorSelectsNothing(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name     string
		selector map[string]string
		want     bool
	}{
		{"nil selector", nil, false},
		{"empty selector", map[string]string{}, false},
		{"one pair held", map[string]string{"app": "web"}, true},
		{"every pair held", map[string]string{"app": "web", "tier": "front"}, true},
		{"value differs", map[string]string{"app": "api"}, false},
		{"key missing", map[string]string{"app": "web", "zone": "a"}, false},
		{"value case differs", map[string]string{"app": "Web"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SelectorMatches(tt.selector, labels); got != tt.want {
				t.Errorf("SelectorMatches(%v) = %v, want %v", tt.selector, got, tt.want)
			}
		})
	}
}

func TestPodIsEndpointUnlessTerminalOrWithoutIP(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		pod  func(p *cluster.Pod)
		want bool
	}{
		{"running and ready", func(p *cluster.Pod) {}, true},
		{"not ready", func(p *cluster.Pod) { p.Ready = false }, true},
		{"terminating", func(p *cluster.Pod) { p.DeletionTimestamp = &now }, true},
		{"pending with an IP", func(p *cluster.Pod) { p.Phase = cluster.PodPending }, true},
		{"unknown phase with an IP", func(p *cluster.Pod) { p.Phase = cluster.PodUnknown }, true},
		{"succeeded", func(p *cluster.Pod) { p.Phase = cluster.PodSucceeded }, false},
		{"failed", func(p *cluster.Pod) { p.Phase = cluster.PodFailed }, false},
		{"no IP", func(p *cluster.Pod) { p.IPs = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := webPod()
			tt.pod(p)
			if got := PodIsEndpoint(p); got != tt.want {
				t.Errorf("PodIsEndpoint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPodEndpointHostnameOnlyWhenSubdomainIsServiceName(t *testing.T) {
	tests := []struct {
		name                string
		hostname, subdomain string
		want                string
		reason              HostnameReason
	}{
		{"subdomain is the service name", "web-0", "web", "web-0", HostnamePublished},
		{"no hostname", "", "web", "", NoHostname},
		{"no subdomain", "web-0", "", "", SubdomainDiffers},
		{"subdomain names another service", "web-0", "db", "", SubdomainDiffers},
		// The controller compares with ==: DNS names are case-insensitive,
		// the controller is not.
		{"subdomain differs in case", "web-0", "Web", "", SubdomainDiffers},
		{"subdomain is the FQDN", "web-0", "web.default.svc", "", SubdomainDiffers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := webPod()
			p.Hostname, p.Subdomain = tt.hostname, tt.subdomain
			ep, ok := PodEndpoint(p, webService(), cluster.AddressTypeIPv4)
			if !ok {
				t.Fatal("no endpoint")
			}
			if ep.Hostname != tt.want {
				t.Errorf("hostname %q, want %q", ep.Hostname, tt.want)
			}
			if m := Membership(p, webService()); m.HostnameReason != tt.reason || m.Hostname != tt.want {
				t.Errorf("Membership hostname %q (%v), want %q (%v)", m.Hostname, m.HostnameReason, tt.want, tt.reason)
			}
		})
	}
}

func TestPodEndpointReadyIsPublishNotReadyOrServingAndNotTerminating(t *testing.T) {
	now := time.Now()
	tests := []struct {
		podReady, terminating, publish bool
		ready, serving                 bool
		reason                         Reason
	}{
		{podReady: true, ready: true, serving: true, reason: Ready},
		{podReady: false, ready: false, serving: false, reason: NotReady},
		{podReady: true, terminating: true, ready: false, serving: true, reason: Terminating},
		{podReady: false, terminating: true, ready: false, serving: false, reason: Terminating},
		{podReady: true, publish: true, ready: true, serving: true, reason: Ready},
		{podReady: false, publish: true, ready: true, serving: false, reason: NotReady},
		{podReady: true, terminating: true, publish: true, ready: true, serving: true, reason: Terminating},
		{podReady: false, terminating: true, publish: true, ready: true, serving: false, reason: Terminating},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("ready=%v,terminating=%v,publishNotReady=%v", tt.podReady, tt.terminating, tt.publish)
		t.Run(name, func(t *testing.T) {
			p := webPod()
			p.Ready = tt.podReady
			if tt.terminating {
				p.DeletionTimestamp = &now
			}
			svc := webService()
			svc.PublishNotReadyAddresses = tt.publish
			ep, ok := PodEndpoint(p, svc, cluster.AddressTypeIPv4)
			if !ok {
				t.Fatal("no endpoint")
			}
			c := ep.Conditions
			if boolString(c.Ready) != fmt.Sprint(tt.ready) || boolString(c.Serving) != fmt.Sprint(tt.serving) || boolString(c.Terminating) != fmt.Sprint(tt.terminating) {
				t.Errorf("conditions ready=%s serving=%s terminating=%s, want %v %v %v",
					boolString(c.Ready), boolString(c.Serving), boolString(c.Terminating), tt.ready, tt.serving, tt.terminating)
			}
			m := Membership(p, svc)
			if m.Reason != tt.reason || m.Ready() != tt.ready {
				t.Errorf("Membership reason %v ready %v, want %v %v", m.Reason, m.Ready(), tt.reason, tt.ready)
			}
		})
	}
}

func TestPodEndpointPerAddressFamily(t *testing.T) {
	p := webPod()
	p.IPs = []netip.Addr{v4, v6}
	for _, fam := range []cluster.AddressType{cluster.AddressTypeIPv4, cluster.AddressTypeIPv6} {
		ep, ok := PodEndpoint(p, webService(), fam)
		if !ok || ep.Addresses.Len() != 1 || cluster.FamilyOf(ep.Addresses.At(0)) != fam {
			t.Errorf("%s: endpoint %+v, %v", fam, ep, ok)
		}
		if ep.TargetRef == nil || *ep.TargetRef != (cluster.ObjectRef{Kind: "Pod", Namespace: "default", Name: "web-0"}) {
			t.Errorf("%s: target %v", fam, ep.TargetRef)
		}
	}
	p.IPs = []netip.Addr{v4}
	if ep, ok := PodEndpoint(p, webService(), cluster.AddressTypeIPv6); ok {
		t.Errorf("IPv4-only pod has an IPv6 endpoint %+v", ep)
	}
}

func TestPodEndpointNoneForPodsNotSelected(t *testing.T) {
	tests := []struct {
		name string
		pod  func(p *cluster.Pod)
		svc  func(s *cluster.Service)
	}{
		{"labels differ", func(p *cluster.Pod) { p.Labels = map[string]string{"app": "api"} }, func(*cluster.Service) {}},
		{"other namespace", func(p *cluster.Pod) { p.Namespace = "prod" }, func(*cluster.Service) {}},
		{"selectorless service", func(*cluster.Pod) {}, func(s *cluster.Service) { s.Selector = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, svc := webPod(), webService()
			tt.pod(p)
			tt.svc(svc)
			if ep, ok := PodEndpoint(p, svc, cluster.AddressTypeIPv4); ok {
				t.Errorf("endpoint %+v", ep)
			}
			if m := Membership(p, svc); m.Reason != NotSelected || m.Listed() || m.Ready() {
				t.Errorf("Membership %+v, want not selected", m)
			}
		})
	}
}

func TestTargetPortNamedTargetPortsResolveOnContainerPorts(t *testing.T) {
	pod := &cluster.Pod{Ports: []cluster.ContainerPort{
		{Name: "http", ContainerPort: 8080, Protocol: cluster.ProtocolTCP},
		{Name: "dns", ContainerPort: 5353, Protocol: cluster.ProtocolUDP},
		{Name: "http", ContainerPort: 9090, Protocol: cluster.ProtocolTCP}, // a sidecar's, listed after
	}}
	tests := []struct {
		name   string
		sp     cluster.ServicePort
		want   int32
		wantOK bool
	}{
		{"unset is the service port", cluster.ServicePort{Port: 80, Protocol: cluster.ProtocolTCP}, 80, true},
		{"a number is itself", cluster.ServicePort{Port: 80, TargetPort: cluster.PortRef{Number: 8000}, Protocol: cluster.ProtocolTCP}, 8000, true},
		{"a name is the first container port of that name", cluster.ServicePort{Port: 80, TargetPort: cluster.PortRef{Name: "http"}, Protocol: cluster.ProtocolTCP}, 8080, true},
		{"a name with the service port's protocol", cluster.ServicePort{Port: 53, TargetPort: cluster.PortRef{Name: "dns"}, Protocol: cluster.ProtocolUDP}, 5353, true},
		{"a name of another protocol is not found", cluster.ServicePort{Port: 53, TargetPort: cluster.PortRef{Name: "dns"}, Protocol: cluster.ProtocolTCP}, 0, false},
		{"an unknown name is not found", cluster.ServicePort{Port: 80, TargetPort: cluster.PortRef{Name: "web"}, Protocol: cluster.ProtocolTCP}, 0, false},
		{"names are compared exactly", cluster.ServicePort{Port: 80, TargetPort: cluster.PortRef{Name: "HTTP"}, Protocol: cluster.ProtocolTCP}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TargetPort(pod, tt.sp)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("TargetPort = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMembershipReasons(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		pod  func(p *cluster.Pod)
		want Reason
	}{
		{"not selected", func(p *cluster.Pod) { p.Labels = nil }, NotSelected},
		{"succeeded", func(p *cluster.Pod) { p.Phase = cluster.PodSucceeded }, Finished},
		{"failed, even with an IP", func(p *cluster.Pod) { p.Phase = cluster.PodFailed }, Finished},
		{"pending on no node without IP", func(p *cluster.Pod) { p.Phase, p.NodeName, p.IPs = cluster.PodPending, "", nil }, NotScheduled},
		{"pending on a node without IP", func(p *cluster.Pod) { p.Phase, p.IPs = cluster.PodPending, nil }, NoIP},
		{"running without IP", func(p *cluster.Pod) { p.IPs = nil }, NoIP},
		{"terminating", func(p *cluster.Pod) { p.DeletionTimestamp = &now }, Terminating},
		{"terminating and not ready", func(p *cluster.Pod) { p.DeletionTimestamp, p.Ready = &now, false }, Terminating},
		{"not ready", func(p *cluster.Pod) { p.Ready = false }, NotReady},
		{"ready", func(p *cluster.Pod) {}, Ready},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := webPod()
			tt.pod(p)
			m := Membership(p, webService())
			if m.Reason != tt.want {
				t.Errorf("reason %v, want %v", m.Reason, tt.want)
			}
			if m.Listed() != PodIsEndpoint(p) && m.Reason != NotSelected {
				t.Errorf("Listed %v, PodIsEndpoint %v", m.Listed(), PodIsEndpoint(p))
			}
		})
	}
}

// Membership and PodEndpoint agree for every combination of the pod's
// state and the service's publishNotReadyAddresses.
func TestMembershipAgreesWithPodEndpoint(t *testing.T) {
	now := time.Now()
	phases := []cluster.PodPhase{cluster.PodPending, cluster.PodRunning, cluster.PodSucceeded, cluster.PodFailed, cluster.PodUnknown}
	ipSets := [][]netip.Addr{nil, {v4}, {v6}, {v4, v6}}
	n := 0
	for _, phase := range phases {
		for _, ips := range ipSets {
			for bits := range 1 << 7 {
				p := webPod()
				p.Phase, p.IPs = phase, ips
				p.Ready = bits&1 != 0
				if bits&2 != 0 {
					p.DeletionTimestamp = &now
				}
				if bits&4 != 0 {
					p.NodeName = ""
				}
				if bits&8 != 0 {
					p.Hostname = "h"
				}
				if bits&16 != 0 {
					p.Subdomain = "web"
				}
				if bits&32 != 0 {
					p.Labels = map[string]string{"app": "other"}
				}
				svc := webService()
				svc.PublishNotReadyAddresses = bits&64 != 0
				m := Membership(p, svc)
				for _, fam := range []cluster.AddressType{cluster.AddressTypeIPv4, cluster.AddressTypeIPv6} {
					n++
					ep, ok := PodEndpoint(p, svc, fam)
					hasFam := false
					for _, a := range ips {
						hasFam = hasFam || cluster.FamilyOf(a) == fam
					}
					if ok != (m.Listed() && hasFam) {
						t.Fatalf("%+v %s: PodEndpoint %v, Membership %v", p, fam, ok, m.Reason)
					}
					if !ok {
						continue
					}
					if ep.Conditions.Ready.IsTrue() != m.Ready() || ep.Hostname != m.Hostname || ep.Conditions != m.Conditions ||
						!ep.Conditions.Serving.IsSet() || !ep.Conditions.Terminating.IsSet() {
						t.Fatalf("%+v %s: endpoint %+v, membership %+v", p, fam, ep, m)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}
