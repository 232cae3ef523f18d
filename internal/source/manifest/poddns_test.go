package manifest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

func TestPodDNSFieldsAreWhatTheKubeletReads(t *testing.T) {
	st := load(t, `
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: prod}
spec:
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: prod}
spec:
  dnsPolicy: ClusterFirst
  dnsConfig:
    nameservers: [10.0.0.53]
    searches: [corp.example]
    options: [{name: ndots, value: "2"}, {name: single-request-reopen}]
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: prod}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: isolated, namespace: prod}
spec:
  dnsPolicy: None
  dnsConfig: {nameservers: [1.1.1.1]}
  containers: [{name: c, image: x}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      dnsPolicy: Default
      containers: [{name: c, image: x}]
`)
	two := "2"
	tests := []struct {
		rule string
		pod  string
		want cluster.Pod
	}{
		{"no dnsPolicy is left empty (ClusterFirst)", "plain", cluster.Pod{}},
		{"dnsConfig nameservers, searches and options, values kept", "tuned", cluster.Pod{DNSPolicy: cluster.DNSClusterFirst, DNSConfig: &cluster.PodDNSConfig{
			Nameservers: []string{"10.0.0.53"}, Searches: []string{"corp.example"},
			Options: []cluster.PodDNSOption{{Name: "ndots", Value: &two}, {Name: "single-request-reopen"}}}}},
		{"hostNetwork and ClusterFirstWithHostNet", "agent", cluster.Pod{DNSPolicy: cluster.DNSClusterFirstWithHostNet, HostNetwork: true}},
		{"None with its nameservers", "isolated", cluster.Pod{DNSPolicy: cluster.DNSNone, DNSConfig: &cluster.PodDNSConfig{Nameservers: []string{"1.1.1.1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			p := findPod(t, st, "prod", tt.pod)
			got := cluster.Pod{DNSPolicy: p.DNSPolicy, DNSConfig: p.DNSConfig, HostNetwork: p.HostNetwork}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v (config %+v), want %+v (config %+v)", got, got.DNSConfig, tt.want, tt.want.DNSConfig)
			}
		})
	}
	t.Run("workload pods carry the template's dnsPolicy", func(t *testing.T) {
		n := 0
		for _, p := range st.Pods {
			if strings.HasPrefix(p.Name, "api-") {
				n++
				if p.DNSPolicy != cluster.DNSDefault {
					t.Errorf("%s: dnsPolicy %q", p.Name, p.DNSPolicy)
				}
			}
		}
		if n == 0 {
			t.Error("no pod derived from Deployment api")
		}
	})
}

func TestPodDNSValuesTheAPIServerRefuses(t *testing.T) {
	tests := []struct{ rule, spec, want string }{
		{"an unknown dnsPolicy", "dnsPolicy: ClusterOnly", `spec.dnsPolicy: unsupported value "ClusterOnly"`},
		{"dnsPolicy None without a nameserver", "dnsPolicy: None", "spec.dnsConfig.nameservers: required"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			err := loadError(t, map[string]string{"p.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: prod}\nspec:\n  " + tt.spec + "\n  containers: [{name: c, image: x}]\n"})
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
