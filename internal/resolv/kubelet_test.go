package resolv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

func str(s string) *string { return &s }

func TestComposeWritesWhatTheKubeletWrites(t *testing.T) {
	node, err := ParseString("# node\nnameserver 172.31.0.2\nnameserver 172.31.0.3\nsearch us-east-2.compute.internal .\noptions timeout:2\noptions edns0 trust-ad\n")
	if err != nil {
		t.Fatal(err)
	}
	k := Kubelet{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", Host: node}
	cf := "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal\nnameserver 10.96.0.10\noptions ndots:5\n"
	host := "search us-east-2.compute.internal\nnameserver 172.31.0.2\nnameserver 172.31.0.3\noptions edns0 trust-ad\n"
	tests := []struct {
		rule  string
		pod   cluster.Pod
		k     Kubelet
		want  string
		notes []string
	}{
		{"ClusterFirst: cluster DNS, namespace, svc, zone, then the node's search; exactly ndots:5",
			cluster.Pod{Namespace: "prod"}, k, cf, nil},
		{"an empty dnsPolicy is ClusterFirst", cluster.Pod{Namespace: "prod", DNSPolicy: ""}, k, cf, nil},
		{"ClusterFirst with hostNetwork falls back to Default",
			cluster.Pod{Namespace: "prod", DNSPolicy: cluster.DNSClusterFirst, HostNetwork: true}, k, host, []string{"ClusterFirstWithHostNet"}},
		{"ClusterFirstWithHostNet: cluster DNS for a hostNetwork pod",
			cluster.Pod{Namespace: "prod", DNSPolicy: cluster.DNSClusterFirstWithHostNet, HostNetwork: true}, k, cf, nil},
		{"Default: the node's nameservers, search (no .) and last options line",
			cluster.Pod{Namespace: "prod", DNSPolicy: cluster.DNSDefault}, k, host, nil},
		{"None: only dnsConfig, no ndots (the resolver's default 1)",
			cluster.Pod{Namespace: "prod", DNSPolicy: cluster.DNSNone, DNSConfig: &cluster.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"resolv.conf.local"}}},
			k, "search resolv.conf.local\nnameserver 1.1.1.1\n", nil},
		{"dnsConfig: nameservers and searches appended without duplicates, options merged by name (ndots replaced)",
			cluster.Pod{Namespace: "prod", DNSConfig: &cluster.PodDNSConfig{
				Nameservers: []string{"10.96.0.10", "10.0.0.53"},
				Searches:    []string{"cluster.local", "corp.example"},
				Options:     []cluster.PodDNSOption{{Name: "ndots", Value: str("2")}, {Name: "single-request-reopen"}},
			}},
			k, "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal corp.example\nnameserver 10.96.0.10\nnameserver 10.0.0.53\noptions ndots:2 single-request-reopen\n", nil},
		{"no --cluster-dns: ClusterFirst gets the node's file (MissingClusterDNS)",
			cluster.Pod{Namespace: "prod"}, Kubelet{ClusterDomain: "cluster.local", Host: node}, host, []string{"MissingClusterDNS"}},
		{"no cluster domain: only the node's search",
			cluster.Pod{Namespace: "prod"}, Kubelet{ClusterDNS: []string{"10.96.0.10"}, Host: node}, "search us-east-2.compute.internal\nnameserver 10.96.0.10\noptions ndots:5\n", nil},
		{"a node search domain equal to a cluster one is not repeated",
			cluster.Pod{Namespace: "prod"}, Kubelet{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", Host: Config{Search: []string{"cluster.local", "corp.example"}}},
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n", nil},
		{"Default with kubelet --resolv-conf=\"\": 127.0.0.1 and search .",
			cluster.Pod{Namespace: "prod", DNSPolicy: cluster.DNSDefault}, Kubelet{ClusterDNS: []string{"10.96.0.10"}, NoResolvConf: true}, "search .\nnameserver 127.0.0.1\n", nil},
		{"more than 3 nameservers: the first 3 are kept",
			cluster.Pod{Namespace: "prod", DNSConfig: &cluster.PodDNSConfig{Nameservers: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}}},
			k, "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal\nnameserver 10.96.0.10\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions ndots:5\n", []string{"nameserver limits"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, notes := Compose(&tt.pod, tt.k)
			if got := c.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if len(notes) != len(tt.notes) {
				t.Errorf("notes %q, want %d containing %q", notes, len(tt.notes), tt.notes)
			}
			for i, n := range tt.notes {
				if i < len(notes) && !strings.Contains(notes[i], n) {
					t.Errorf("note %q does not say %q", notes[i], n)
				}
			}
		})
	}
}

func TestComposeKeepsTheKubeletsSearchLimits(t *testing.T) {
	many := func(n, l int) []string {
		var out []string
		for i := range n {
			d := fmt.Sprintf("d%d.example", i)
			out = append(out, d+strings.Repeat("x", max(l-len(d), 0)))
		}
		return out
	}
	tests := []struct {
		rule   string
		search []string
		legacy bool
		want   int // search domains kept, of the pod's (the cluster's 3 come first)
	}{
		{"32 domains in all are kept", many(29, 10), false, 29},
		{"a 33rd is dropped", many(30, 10), false, 29},
		{"a domain over 253 characters is dropped", append(many(2, 10), strings.Repeat("a", 254)), false, 2},
		{"the line is cut from the end to 2048 characters", many(20, 120), false, 16},
		{"legacy limits: 6 domains", many(5, 10), true, 3},
		{"legacy limits: 256 characters", many(3, 80), true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			pod := &cluster.Pod{Namespace: "prod", DNSConfig: &cluster.PodDNSConfig{Searches: tt.search}}
			c, notes := Compose(pod, Kubelet{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", LegacySearchLimits: tt.legacy})
			if got := len(c.Search) - 3; got != tt.want {
				t.Errorf("kept %d of the pod's search domains, want %d (line %d chars)", got, tt.want, len(strings.Join(c.Search, " ")))
			}
			if tt.want < len(tt.search) && len(notes) == 0 {
				t.Errorf("no note for what was dropped")
			}
			limit := 2048
			if tt.legacy {
				limit = 256
			}
			if l := len(strings.Join(c.Search, " ")); l > limit {
				t.Errorf("search line %d characters, over %d", l, limit)
			}
		})
	}
}

func TestComposeFromManifestPods(t *testing.T) {
	st := fixtureState(t)
	k := Kubelet{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", Host: Config{Nameservers: []string{"172.31.0.2"}, Search: []string{"us-east-2.compute.internal"}}}
	tests := []struct{ pod, want string }{
		{"client", "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"tuned", "search prod.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal corp.example\nnameserver 10.96.0.10\noptions ndots:2 single-request-reopen\n"},
		{"hostnet", "search us-east-2.compute.internal\nnameserver 172.31.0.2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.pod, func(t *testing.T) {
			for i := range st.Pods {
				if p := &st.Pods[i]; p.Namespace == "prod" && p.Name == tt.pod {
					c, _ := Compose(p, k)
					if c.String() != tt.want {
						t.Errorf("got\n%s\nwant\n%s", c, tt.want)
					}
					return
				}
			}
			t.Fatalf("no pod prod/%s", tt.pod)
		})
	}
}
