package resolv

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
)

// Kubelet is what the kubelet composes a pod's resolv.conf from, besides
// the pod.
type Kubelet struct {
	// ClusterDNS is --cluster-dns (the kube-dns Service IP, or the
	// NodeLocal DNSCache address).
	ClusterDNS []string
	// ClusterDomain is --cluster-domain ("cluster.local").
	ClusterDomain string
	// Host is the node's resolv.conf (kubelet --resolv-conf).
	Host Config
	// NoResolvConf: kubelet runs with --resolv-conf="" (Default-policy pods
	// get nameserver 127.0.0.1 and search ".").
	NoResolvConf bool
	// LegacySearchLimits: the limits before ExpandedDNSConfig (GA in 1.28):
	// 6 search domains, 256 characters.
	LegacySearchLimits bool
}

// Kubelet limits (formDNSConfigFitsLimits).
const (
	maxPodNameservers   = 3
	maxSearchPaths      = 32
	maxSearchChars      = 2048
	legacySearchPaths   = 6
	legacySearchChars   = 256
	maxSearchEntryChars = 253
)

// DefaultClusterDNS is the kubelet's --cluster-dns in a cluster made by
// kubeadm with its default service CIDR (10.96.0.0/12): the tenth address,
// the kube-dns Service's cluster IP. Models use it when nothing else is known.
const DefaultClusterDNS = "10.96.0.10"

// ClusterFirst is the resolv.conf of a ClusterFirst pod in namespace with
// the cluster domain zone and DNS server dnsIP, on a node whose search list
// is nodeSearch: what most pods have.
func ClusterFirst(namespace, zone, dnsIP string, nodeSearch ...string) Config {
	c, _ := Compose(&cluster.Pod{Namespace: namespace}, Kubelet{ClusterDNS: []string{dnsIP}, ClusterDomain: zone, Host: Config{Search: nodeSearch}})
	return c
}

// hostConfig reads the node's resolv.conf as the kubelet does
// (parseResolvConf): every nameserver, the last search line (trailing dots
// trimmed, "." dropped; domain lines ignored), the last options line.
func hostConfig(c Config) Config {
	var out Config
	text := c.text
	if text == "" {
		text = c.String()
	}
	for _, l := range lines(text) {
		f := l.f
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				out.Nameservers = append(out.Nameservers, f[1])
			}
		case "search":
			out.Search = []string{}
			for _, s := range f[1:] {
				if s != "." {
					out.Search = append(out.Search, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			out.Options = append([]string{}, f[1:]...)
		}
	}
	return out
}

// Compose is the kubelet's GetPodDNS: the resolv.conf a pod gets from its
// dnsPolicy, hostNetwork and dnsConfig. The notes say what the kubelet
// decided or dropped (the events it would record).
func Compose(pod *cluster.Pod, k Kubelet) (Config, []string) {
	var notes []string
	policy := pod.DNSPolicy
	if policy == "" {
		policy = cluster.DNSClusterFirst
	}
	clusterType := false
	switch policy {
	case cluster.DNSClusterFirstWithHostNet:
		clusterType = true
	case cluster.DNSClusterFirst:
		if pod.HostNetwork {
			notes = append(notes, "dnsPolicy ClusterFirst with hostNetwork: the kubelet uses the node's resolv.conf (Default); set dnsPolicy ClusterFirstWithHostNet for cluster names")
		} else {
			clusterType = true
		}
	}
	if clusterType && len(k.ClusterDNS) == 0 {
		notes = append(notes, "the kubelet has no --cluster-dns (event MissingClusterDNS): the pod gets the node's resolv.conf")
		clusterType = false
		if policy == cluster.DNSClusterFirstWithHostNet || policy == cluster.DNSClusterFirst {
			policy = cluster.DNSDefault
		}
	}
	host := hostConfig(k.Host)
	var c Config
	switch {
	case policy == cluster.DNSNone:
		c = Config{}
	case clusterType:
		c.Nameservers = append([]string(nil), k.ClusterDNS...)
		search := host.Search
		if k.ClusterDomain != "" {
			z := strings.TrimSuffix(k.ClusterDomain, ".")
			search = append(schema.SearchPath(pod.Namespace, z), host.Search...)
		}
		c.Search = dedup(search)
		c.Options = []string{"ndots:5"}
	default:
		c = host
		if k.NoResolvConf {
			c.Nameservers = []string{"127.0.0.1"}
			c.Search = []string{"."}
		}
	}
	if dc := pod.DNSConfig; dc != nil {
		c.Nameservers = dedup(append(c.Nameservers, dc.Nameservers...))
		c.Search = dedup(append(c.Search, dc.Searches...))
		c.Options = mergeOptions(c.Options, dc.Options)
	}
	if len(c.Nameservers) > maxPodNameservers {
		notes = append(notes, fmt.Sprintf("nameserver limits were exceeded (event DNSConfigForming): the kubelet keeps the first %d of %s", maxPodNameservers, strings.Join(c.Nameservers, " ")))
		c.Nameservers = c.Nameservers[:maxPodNameservers]
	}
	var n []string
	c.Search, n = fitSearch(c.Search, k.LegacySearchLimits)
	notes = append(notes, n...)
	return c, notes
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions merges dnsConfig options by name, the pod's values winning.
// The kubelet goes through a map, so the order in the real file is random;
// here the base order is kept and new names follow in the pod's order.
func mergeOptions(base []string, pod []cluster.PodDNSOption) []string {
	type opt struct{ name, val string }
	var out []opt
	idx := map[string]int{}
	set := func(name, val string) {
		if i, ok := idx[name]; ok {
			out[i].val = val
			return
		}
		idx[name] = len(out)
		out = append(out, opt{name, val})
	}
	for _, o := range base {
		n, v, _ := strings.Cut(o, ":")
		set(n, v)
	}
	for _, o := range pod {
		v := ""
		if o.Value != nil {
			v = *o.Value
		}
		set(o.Name, v)
	}
	res := make([]string, 0, len(out))
	for _, o := range out {
		if o.val != "" {
			res = append(res, o.name+":"+o.val)
		} else {
			res = append(res, o.name)
		}
	}
	return res
}

// fitSearch is formDNSSearchFitsLimits: at most 32 entries, entries over
// 253 characters dropped, then entries cut from the end until the line is
// at most 2048 characters (legacy: 6 and 256).
func fitSearch(s []string, legacy bool) ([]string, []string) {
	paths, chars := maxSearchPaths, maxSearchChars
	if legacy {
		paths, chars = legacySearchPaths, legacySearchChars
	}
	var notes []string
	if len(s) > paths {
		notes = append(notes, fmt.Sprintf("search line limits were exceeded (event DNSConfigForming): the kubelet keeps the first %d of %d search domains", paths, len(s)))
		s = s[:paths]
	}
	var kept []string
	for _, d := range s {
		if len(d) > maxSearchEntryChars {
			notes = append(notes, fmt.Sprintf("search domain %.40q... is longer than %d characters: the kubelet drops it", d, maxSearchEntryChars))
			continue
		}
		kept = append(kept, d)
	}
	s = kept
	if l := len(strings.Join(s, " ")); l > chars {
		cut, cutLen := 0, 0
		for i := len(s) - 1; i >= 0; i-- {
			cutLen += len(s[i]) + 1
			cut++
			if l-cutLen <= chars {
				break
			}
		}
		notes = append(notes, fmt.Sprintf("the search line is %d characters, over %d: the kubelet drops the last %d domain(s)", l, chars, cut))
		s = s[:len(s)-cut]
	}
	return s, notes
}
