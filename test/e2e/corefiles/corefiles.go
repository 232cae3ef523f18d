// Package corefiles writes the Corefile that the tests and the benchmark
// run on clusterdns and on CoreDNS alike: kubeadm's
// (cmd/kubeadm/app/phases/addons/dns), with the test's addresses, API
// server and upstream. It does not check what it writes; the Corefile
// reader (internal/corefile) and CoreDNS do.
package corefiles

import (
	"fmt"
	"strings"
	"time"
)

// Kubeadm is kubeadm's Corefile with what a test changes.
type Kubeadm struct {
	// Port of the block (53 when 0); Bind, when set, its bind address.
	Port int
	Bind string
	// Kubeconfig, when set, is the kubernetes plugin's kubeconfig (else the
	// in-cluster service account).
	Kubeconfig string
	// Zone is the cluster zone (cluster.local when "").
	Zone string
	// TTL is the kubernetes plugin's ttl (kubeadm's 30 when 0).
	TTL int
	// Pods is the kubernetes plugin's pods mode (kubeadm's insecure when "").
	Pods string
	// Upstream is forward's TO (an address or a resolv.conf).
	Upstream string
	// Health, Ready and Metrics are ports on Host (127.0.0.1 when "") for
	// health, ready and prometheus; 0 leaves kubeadm's (the plugins'
	// defaults, and prometheus :9153).
	Health, Ready, Metrics int
	Host                   string
	// Lameduck is health's lameduck (kubeadm's 5s; 0: none).
	Lameduck time.Duration
	// Reload is the reload line ("reload" when ""); NoReload drops it.
	Reload   string
	NoReload bool
	// Extra lines at the end of the block (e.g. "autopath @kubernetes").
	Extra []string
}

// String is the Corefile.
func (k Kubeadm) String() string {
	port, zone, ttl, reload, pods := k.Port, k.Zone, k.TTL, k.Reload, k.Pods
	if pods == "" {
		pods = "insecure"
	}
	if port == 0 {
		port = 53
	}
	if zone == "" {
		zone = "cluster.local"
	}
	if ttl == 0 {
		ttl = 30
	}
	if reload == "" {
		reload = "reload"
	}
	host := k.Host
	if host == "" {
		host = "127.0.0.1"
	}
	at := func(p int) string {
		if p == 0 {
			return ""
		}
		return fmt.Sprintf(" %s:%d", host, p)
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, "    "+format+"\n", args...) }
	fmt.Fprintf(&b, ".:%d {\n", port)
	if k.Bind != "" {
		line("bind %s", k.Bind)
	}
	line("errors")
	if k.Lameduck > 0 {
		line("health%s {\n       lameduck %s\n    }", at(k.Health), k.Lameduck)
	} else {
		line("health%s", at(k.Health))
	}
	line("ready%s", at(k.Ready))
	line("kubernetes %s in-addr.arpa ip6.arpa {", zone)
	if k.Kubeconfig != "" {
		line("   kubeconfig %s", k.Kubeconfig)
	}
	line("   pods %s\n       fallthrough in-addr.arpa ip6.arpa\n       ttl %d\n    }", pods, ttl)
	if k.Metrics == 0 {
		line("prometheus :9153")
	} else {
		line("prometheus%s", at(k.Metrics))
	}
	line("forward . %s {\n       max_concurrent 1000\n    }", k.Upstream)
	line("cache 30 {\n       disable success %s\n       disable denial %s\n    }", zone, zone)
	line("loop")
	if !k.NoReload {
		line("%s", reload)
	}
	line("loadbalance")
	for _, e := range k.Extra {
		line("%s", e)
	}
	b.WriteString("}\n")
	return b.String()
}
