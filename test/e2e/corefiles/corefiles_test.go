package corefiles

import (
	"testing"
	"time"
)

// With nothing changed it is kubeadm's Corefile but for the upstream.
func TestKubeadmDefault(t *testing.T) {
	want := `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`
	if got := (Kubeadm{Upstream: "/etc/resolv.conf", Lameduck: 5 * time.Second}).String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
