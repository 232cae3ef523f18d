package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// failover is the seed's headless failover: records live 5 s.
const (
	failover       = 5 * time.Second
	failoverSource = "seed: headless records' 5 s TTL"
)

// configOrNotRun is the parsed Corefile, or nil with c marked not run.
func configOrNotRun(in *Input, c *Check) (*ClusterDNS, *corefile.Config) {
	d := dnsOrNotRun(in, c)
	if d == nil {
		return nil, nil
	}
	switch {
	case d.Kind == KindKubeDNS || d.Kind == KindUnknown:
		c.notRun(fmt.Sprintf("the cluster DNS (%s) is not configured by a Corefile", d.Image))
	case d.Kind == KindClusterDNS && d.CorefileFrom == "":
		c.notRun("clusterdns runs from its flags, without a Corefile")
	case d.Config == nil:
		if why := in.need(ResConfigMaps); why != "" {
			c.notRun(why)
		} else {
			c.notRun("no Corefile found at " + d.CorefileFrom)
		}
	default:
		return d, d.Config
	}
	return nil, nil
}

// clusterBlock is the server block holding the kubernetes plugin.
func clusterBlock(cfg *corefile.Config) *corefile.ServerBlock {
	for i := range cfg.Blocks {
		if cfg.Blocks[i].Kubernetes != nil {
			return &cfg.Blocks[i]
		}
	}
	return nil
}

// kubernetesBlock is the Corefile's block with the kubernetes plugin, or
// nil with c marked not run.
func kubernetesBlock(in *Input, c *Check) (*ClusterDNS, *corefile.ServerBlock) {
	d, cfg := configOrNotRun(in, c)
	if cfg == nil {
		return nil, nil
	}
	b := clusterBlock(cfg)
	if b == nil {
		c.notRun("no kubernetes plugin")
	}
	return d, b
}

func blockObj(d *ClusterDNS, b *corefile.ServerBlock) string {
	return fmt.Sprintf("%s (line %d)", d.CorefileFrom, b.Pos.Line)
}

func checkCorefile(_ context.Context, in *Input, c *Check) {
	d := dnsOrNotRun(in, c)
	if d == nil {
		return
	}
	if d.Kind == KindKubeDNS || d.Kind == KindUnknown || (d.Kind == KindClusterDNS && d.CorefileFrom == "") {
		c.notRun("the cluster DNS is not configured by a Corefile")
		return
	}
	if why := in.need(ResConfigMaps); why != "" {
		c.notRun(why)
		return
	}
	if d.Config == nil {
		c.add(Finding{Code: "corefile-missing", Severity: SeverityError, Objects: []string{d.CorefileFrom},
			Message:  fmt.Sprintf("the DNS container reads its Corefile from %s, which does not exist: the pods cannot start", d.CorefileFrom),
			Fix:      "kubectl -n kube-system get configmap -o name; restore the Corefile",
			Explains: []string{SymptomAllDNSFails}})
		return
	}
	c.Summary = fmt.Sprintf("%s: %d server block(s)", d.CorefileFrom, len(d.Config.Blocks))
	var problems corefile.Problems
	if errors.As(d.ParseErr, &problems) {
		for _, p := range problems {
			c.add(Finding{Code: "corefile-unread", Severity: SeverityInfo, Objects: []string{d.CorefileFrom},
				Message: "clusterdns's Corefile reader does not take this part, so the checks below do not see it: " + p.Error()})
		}
	} else if d.ParseErr != nil {
		c.add(Finding{Code: "corefile-unread", Severity: SeverityInfo, Objects: []string{d.CorefileFrom}, Message: d.ParseErr.Error()})
	}
	if clusterBlock(d.Config) == nil {
		c.add(Finding{Code: "corefile-no-kubernetes", Severity: SeverityError, Objects: []string{d.CorefileFrom},
			Message:  "no server block has the kubernetes plugin: no cluster name resolves",
			Explains: []string{SymptomAllDNSFails, SymptomNXDOMAIN}})
	}
}

// layer is one cache between the cluster state and a client.
type layer struct {
	name string
	hold time.Duration
}

func clamp(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// covers reports whether the cache block covers zone and stores its kind
// of answer (success or denial) there.
func covers(ca *corefile.Cache, zone string, disabled []string) bool {
	in := func(zones []string) bool {
		return slices.ContainsFunc(zones, func(z string) bool { return dns.IsSubDomain(z, zone) })
	}
	return in(ca.Zones) && !in(disabled)
}

func checkStaleness(_ context.Context, in *Input, c *Check) {
	d, b := kubernetesBlock(in, c)
	if b == nil {
		return
	}
	k := b.Kubernetes
	zone := k.Zones[0]
	ttl := time.Duration(k.TTL) * time.Second
	var pos, neg []layer
	if ca := b.Cache; ca != nil {
		if covers(ca, zone, ca.DisableSuccess) {
			pos = append(pos, layer{"the cache plugin", clamp(ttl, ca.SuccessMinTTL, ca.SuccessMaxTTL)})
		}
		if covers(ca, zone, ca.DisableDenial) {
			neg = append(neg, layer{"the cache plugin (negative)", clamp(ttl, ca.DenialMinTTL, ca.DenialMaxTTL)})
		}
		if ca.ServeStale.Duration > 0 && (covers(ca, zone, ca.DisableSuccess) || covers(ca, zone, ca.DisableDenial)) {
			pos = append(pos, layer{"serve_stale (while the server cannot refresh)", ca.ServeStale.Duration})
		}
	}
	if d.NodeLocal != nil {
		// NodeLocal DNSCache's Corefile: success 30 s, denial 5 s, the
		// cache's 5 s minimum.
		pos = append(pos, layer{"NodeLocal DNSCache", clamp(ttl, 5*time.Second, 30*time.Second)})
		neg = append(neg, layer{"NodeLocal DNSCache (negative)", clamp(ttl, 5*time.Second, 5*time.Second)})
	}
	sum := func(ls []layer) (time.Duration, []string) {
		var t time.Duration
		var parts []string
		for _, l := range ls {
			t += l.hold
			parts = append(parts, fmt.Sprintf("%s %v", l.name, l.hold))
		}
		return t, parts
	}
	pt, pparts := sum(pos)
	nt, nparts := sum(neg)
	c.Summary = fmt.Sprintf("kubernetes ttl %v; an answer can be %v stale through the caches, an NXDOMAIN %v", ttl, pt, nt)
	obj := blockObj(d, b)
	if pt > failover {
		c.add(Finding{Code: "stale-answers", Severity: SeverityWarning, Objects: []string{obj},
			Message:   fmt.Sprintf("a cluster answer can be served %v after it changed (%s): a rescheduled pod's old IP outlives the 5 s failover", pt, strings.Join(pparts, " + ")),
			Threshold: &Threshold{Value: pt.String(), Limit: failover.String(), Source: failoverSource},
			Fix:       fmt.Sprintf("keep the cluster zone out of the cache (`cache 30 { disable success %s; disable denial %s }`, as kubeadm does) and the kubernetes ttl at 5", strings.TrimSuffix(zone, "."), strings.TrimSuffix(zone, ".")),
			Explains:  []string{SymptomStaleIP}})
	}
	if nt > failover {
		c.add(Finding{Code: "stale-nxdomain", Severity: SeverityWarning, Objects: []string{obj},
			Message:   fmt.Sprintf("an NXDOMAIN for a cluster name can be served %v after the name appeared (%s): a new StatefulSet peer stays unresolvable that long", nt, strings.Join(nparts, " + ")),
			Threshold: &Threshold{Value: nt.String(), Limit: failover.String(), Source: failoverSource},
			Fix:       "disable denial caching of the cluster zone; the SOA minimum follows the kubernetes ttl",
			Explains:  []string{SymptomNXDOMAIN}})
	}
	if ttl > failover {
		c.add(Finding{Code: "ttl-above-failover", Severity: SeverityInfo, Objects: []string{obj},
			Message:   fmt.Sprintf("cluster answers carry TTL %v (kubeadm's `ttl 30`): a client or cache that keeps answers for their TTL (nscd, a JVM, NodeLocal) keeps an old pod IP that long, and NXDOMAINs too (the SOA minimum follows ttl)", ttl),
			Threshold: &Threshold{Value: ttl.String(), Limit: failover.String(), Source: failoverSource},
			Fix:       "set `ttl 5` in the kubernetes block for headless failover",
			Explains:  []string{SymptomStaleIP}})
	}
}

func checkLoop(_ context.Context, in *Input, c *Check) {
	d, cfg := configOrNotRun(in, c)
	if cfg == nil {
		return
	}
	n := forEachForward(cfg, func(b *corefile.ServerBlock, f *corefile.Forward) {
		for _, u := range f.To {
			switch {
			case u.File == "" && u.Addr.Addr().Unmap().IsLoopback():
				c.add(Finding{Code: "forward-loopback", Severity: SeverityError, Objects: []string{blockObj(d, b)},
					Message:  fmt.Sprintf("forward %s sends to %s, a loopback address: in the DNS pod that is the server itself, a forwarding loop (CoreDNS's loop plugin stops the process; without it every outside name is SERVFAIL)", f.From, u.String()),
					Fix:      "forward to the upstream resolvers' real addresses",
					Explains: []string{SymptomAllDNSFails}})
			case u.File != "" && d.Template != nil && d.Template.DNSPolicy == corev1.DNSDefault:
				c.add(Finding{Code: "forward-node-resolv-conf", Severity: SeverityInfo, Objects: []string{blockObj(d, b)},
					Message: fmt.Sprintf("forward %s reads its upstreams from %s, the node's (dnsPolicy Default): if a node's lists 127.0.0.53 (systemd-resolved), the DNS pods on it forward to themselves and loop", f.From, u.File),
					Fix:     "point the kubelet's resolvConf at /run/systemd/resolve/resolv.conf on systemd-resolved nodes"})
			}
		}
	})
	for i := range cfg.Blocks {
		if b := &cfg.Blocks[i]; len(b.Forwards) > 0 && b.Loop == nil {
			c.add(Finding{Code: "loop-plugin-missing", Severity: SeverityInfo, Objects: []string{blockObj(d, b)},
				Message: "this block forwards without the loop plugin: a forwarding loop would show as SERVFAILs, not as a clear stop at start"})
		}
	}
	c.Summary = fmt.Sprintf("%d forward line(s)", n)
}

// forEachForward calls f for every forward line of the Corefile and
// returns how many there are.
func forEachForward(cfg *corefile.Config, f func(*corefile.ServerBlock, *corefile.Forward)) int {
	n := 0
	for i := range cfg.Blocks {
		b := &cfg.Blocks[i]
		for j := range b.Forwards {
			n++
			f(b, &b.Forwards[j])
		}
	}
	return n
}

// probePort resolves a probe's port against the container's named ports.
func probePort(p *corev1.Probe, ct *corev1.Container) (path string, port int, ok bool) {
	if p == nil || p.HTTPGet == nil {
		return "", 0, false
	}
	port = p.HTTPGet.Port.IntValue()
	if p.HTTPGet.Port.Type == intstr.String {
		for _, cp := range ct.Ports {
			if cp.Name == p.HTTPGet.Port.StrVal {
				port = int(cp.ContainerPort)
			}
		}
	}
	return p.HTTPGet.Path, port, true
}

// addrPort is the port of a plugin address (":8181", "0.0.0.0:8181"),
// or def.
func addrPort(addr string, def int) int {
	if addr == "" {
		return def
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		if n, err := strconv.Atoi(addr[i+1:]); err == nil {
			return n
		}
	}
	return def
}

func checkReadyPlugin(_ context.Context, in *Input, c *Check) {
	d, cfg := configOrNotRun(in, c)
	if cfg == nil {
		return
	}
	var ready *corefile.Ready
	for i := range cfg.Blocks {
		if cfg.Blocks[i].Ready != nil {
			ready = cfg.Blocks[i].Ready
		}
	}
	path, port, probed := probePort(d.Container.ReadinessProbe, d.Container)
	obj := d.workload()
	switch {
	case !probed:
		c.Summary = "no HTTP readiness probe"
		c.add(Finding{Code: "readiness-probe-missing", Severity: SeverityWarning, Objects: []string{obj},
			Message: "the DNS container has no HTTP readiness probe: a pod is in the Service before its kubernetes plugin has synced, answering SERVFAIL",
			Fix:     "readinessProbe: httpGet /ready on the ready plugin's port (8181)"})
	case ready == nil && path == "/ready":
		c.add(Finding{Code: "ready-plugin-missing", Severity: SeverityError, Objects: []string{obj, d.CorefileFrom},
			Message:  fmt.Sprintf("the readiness probe asks /ready on port %d, but the Corefile has no ready plugin: the pods never become Ready", port),
			Fix:      "add `ready` to the Corefile",
			Explains: []string{SymptomAllDNSFails}})
	case path == "/health":
		c.add(Finding{Code: "readiness-on-health", Severity: SeverityWarning, Objects: []string{obj},
			Message: "the readiness probe asks /health, which is up before the kubernetes plugin has synced: a new pod answers SERVFAIL for cluster names while in the Service",
			Fix:     "probe /ready on the ready plugin's port (8181)"})
	case ready != nil && path == "/ready" && addrPort(ready.Addr, 8181) != port:
		c.add(Finding{Code: "ready-port-mismatch", Severity: SeverityError, Objects: []string{obj, d.CorefileFrom},
			Message:  fmt.Sprintf("the readiness probe asks port %d, the ready plugin listens on %d: the pods never become Ready", port, addrPort(ready.Addr, 8181)),
			Explains: []string{SymptomAllDNSFails}})
	}
	if c.Summary == "" {
		c.Summary = fmt.Sprintf("readiness probe %s on port %d; ready plugin %v", path, port, ready != nil)
	}
}

func checkLameduck(_ context.Context, in *Input, c *Check) {
	d, cfg := configOrNotRun(in, c)
	if cfg == nil {
		return
	}
	grace := 30 * time.Second // the API default
	if g := d.Template.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	var health *corefile.Health
	var where *corefile.ServerBlock
	for i := range cfg.Blocks {
		if cfg.Blocks[i].Health != nil {
			health, where = cfg.Blocks[i].Health, &cfg.Blocks[i]
		}
	}
	if health == nil || health.Lameduck == 0 {
		c.Summary = fmt.Sprintf("no lame duck; terminationGracePeriodSeconds %v", grace)
		c.add(Finding{Code: "lameduck-missing", Severity: SeverityWarning, Objects: []string{d.CorefileFrom},
			Message:  "no `health { lameduck D }`: a DNS pod that is scaled down or rolled stops answering at once, while clients still send to it until its endpoint is removed (1 to 10 s)",
			Fix:      "`health { lameduck 5s }` as kubeadm has it",
			Explains: []string{SymptomIntermittent}})
		return
	}
	c.Summary = fmt.Sprintf("lame duck %v, terminationGracePeriodSeconds %v", health.Lameduck, grace)
	if health.Lameduck >= grace {
		c.add(Finding{Code: "lameduck-over-grace", Severity: SeverityError, Objects: []string{blockObj(d, where), d.workload()},
			Threshold: &Threshold{Value: health.Lameduck.String(), Limit: "< " + grace.String(), Source: "the pod's terminationGracePeriodSeconds"},
			Message:   fmt.Sprintf("lame duck %v is not shorter than the pods' termination grace period %v: the kubelet kills the server in the middle of it", health.Lameduck, grace),
			Fix:       "keep the lame duck well under terminationGracePeriodSeconds"})
	}
}

func checkReverse(_ context.Context, in *Input, c *Check) {
	d, b := kubernetesBlock(in, c)
	if b == nil {
		return
	}
	var reverse []string
	for _, z := range b.Kubernetes.Zones {
		if strings.HasSuffix(z, "in-addr.arpa.") || strings.HasSuffix(z, "ip6.arpa.") {
			reverse = append(reverse, z)
		}
	}
	c.Summary = fmt.Sprintf("reverse zones %v, fallthrough %v", reverse, b.Kubernetes.Fallthrough)
	for _, z := range reverse {
		through := slices.ContainsFunc(b.Kubernetes.Fallthrough, func(f string) bool { return dns.IsSubDomain(f, z) })
		if !through && len(b.Forwards) > 0 {
			c.add(Finding{Code: "reverse-no-fallthrough", Severity: SeverityWarning, Objects: []string{blockObj(d, b)},
				Message: fmt.Sprintf("the kubernetes plugin answers %s without fallthrough: a PTR lookup of an address outside the cluster gets NXDOMAIN instead of being forwarded", z),
				Fix:     "`fallthrough in-addr.arpa ip6.arpa` in the kubernetes block, as kubeadm has it"})
		}
	}
}

func checkMaxConcurrent(_ context.Context, in *Input, c *Check) {
	d, cfg := configOrNotRun(in, c)
	if cfg == nil {
		return
	}
	n := forEachForward(cfg, func(b *corefile.ServerBlock, f *corefile.Forward) {
		if f.MaxConcurrent == 0 {
			c.add(Finding{Code: "forward-unbounded", Severity: SeverityWarning, Objects: []string{blockObj(d, b)},
				Message: fmt.Sprintf("forward %s has no max_concurrent: a slow upstream piles up queries and memory until the pod is OOMKilled (coredns #4823)", f.From),
				Fix:     "`max_concurrent 1000` in the forward block, as kubeadm has it"})
		}
	})
	c.Summary = fmt.Sprintf("%d forward line(s)", n)
}

func checkPodsMode(_ context.Context, in *Input, c *Check) {
	d, b := kubernetesBlock(in, c)
	if b == nil {
		return
	}
	c.Summary = fmt.Sprintf("pods %v, autopath %v", b.Kubernetes.PodRecords, b.AutoPath != nil)
	if d.watchesPods() && d.Kind == KindCoreDNS {
		c.add(Finding{Code: "pods-verified-memory", Severity: SeverityInfo, Objects: []string{blockObj(d, b)},
			Message: fmt.Sprintf("pods verified (or autopath) makes CoreDNS watch every pod: %d pods here; its memory follows (pods + services) / 250 + 56 MB (see dns.memory)", len(in.Pods))})
	}
	if b.AutoPath != nil && d.NodeLocal != nil && d.Kind == KindCoreDNS {
		c.add(Finding{Code: "autopath-behind-nodelocal", Severity: SeverityError, Objects: []string{blockObj(d, b), objName("DaemonSet", d.NodeLocal.Namespace, d.NodeLocal.Name)},
			Message: "autopath with NodeLocal DNSCache: CoreDNS finds the pod by the query's source address, which is the node cache's, so autopath never applies (coredns #4308) while pods verified still costs its memory",
			Fix:     "remove autopath, or run clusterdns, whose autopath works behind a node cache"})
	}
}

func checkDNSEndpoints(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResEndpointSlices)
	if d == nil {
		return
	}
	total, ready := 0, 0
	var notReady []string
	for _, es := range in.EndpointSlices {
		if es.Namespace != SystemNamespace || es.Labels["kubernetes.io/service-name"] != DNSServiceName {
			continue
		}
		for _, ep := range es.Endpoints {
			total++
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready++
				continue
			}
			who := strings.Join(ep.Addresses, ",")
			if ep.TargetRef != nil {
				who = ep.TargetRef.Name + " " + who
			}
			notReady = append(notReady, who)
		}
	}
	c.Summary = fmt.Sprintf("%d of %d endpoint(s) ready", ready, total)
	obj := objName("Service", SystemNamespace, DNSServiceName)
	switch {
	case total == 0:
		c.add(Finding{Code: "dns-no-endpoints", Severity: SeverityError, Objects: []string{obj},
			Message: "the kube-dns Service has no endpoints: every lookup in the cluster times out", Explains: []string{SymptomAllDNSFails}})
	case ready == 0:
		c.add(Finding{Code: "dns-no-ready-endpoints", Severity: SeverityError, Objects: []string{obj}, Evidence: notReady,
			Message: "no endpoint of the kube-dns Service is ready: every lookup in the cluster times out", Explains: []string{SymptomAllDNSFails}})
	case len(notReady) > 0:
		c.add(Finding{Code: "dns-endpoints-not-ready", Severity: SeverityWarning, Objects: []string{obj}, Evidence: notReady,
			Message: fmt.Sprintf("%d of %d endpoints of the kube-dns Service are not ready", len(notReady), total)})
	}
}
