package doctor

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// checkDef is one check: what it is, and the function that runs it.
type checkDef struct {
	id    string
	group Group
	title string
	// run fills the check's Summary and Findings, or sets Status to
	// StatusNotRun with Why.
	run func(ctx context.Context, in *Input, c *Check)
}

// checks are every check, in report order within their groups.
var checks = []checkDef{
	{"dns.found", GroupClusterDNS, "the cluster DNS behind the kube-dns Service", checkFound},
	{"dns.ready", GroupClusterDNS, "its pods are Ready", checkReady},
	{"dns.restarts", GroupClusterDNS, "restarts and how its containers last ended", checkRestarts},
	{"dns.memory", GroupClusterDNS, "memory limit for the cluster's size", checkMemory},
	{"dns.replicas", GroupClusterDNS, "replicas for the cluster's size", checkReplicas},
	{"dns.spread", GroupClusterDNS, "replicas spread over nodes", checkSpread},
	{"dns.version", GroupClusterDNS, "known problems of its version", checkVersion},
	{"dns.nodelocal", GroupClusterDNS, "NodeLocal DNSCache", checkNodeLocal},
	{"dns.config-forming", GroupClusterDNS, "the kubelet's resolv.conf warnings (DNSConfigForming)", checkConfigForming},
	{"config.corefile", GroupConfig, "the Corefile reads", checkCorefile},
	{"config.staleness", GroupConfig, "how stale an answer can be, across the caches", checkStaleness},
	{"config.loop", GroupConfig, "forwarding loop", checkLoop},
	{"config.ready", GroupConfig, "readiness: the ready plugin and the probe", checkReadyPlugin},
	{"config.lameduck", GroupConfig, "lame duck against the termination grace period", checkLameduck},
	{"config.reverse", GroupConfig, "reverse names outside the cluster", checkReverse},
	{"config.max-concurrent", GroupConfig, "a bound on forwarded queries", checkMaxConcurrent},
	{"config.pods", GroupConfig, "pods verified and autopath", checkPodsMode},
	{"config.endpoints", GroupConfig, "the kube-dns Service's endpoints", checkDNSEndpoints},
	{"config.network-policy", GroupConfig, "NetworkPolicies let pods reach the cluster DNS", checkNetworkPolicy},
	{"headless.names", GroupHeadless, "every headless Service's names", checkHeadless},
	{"clients.dns-policy", GroupClients, "workloads' DNS policy and nameservers", checkDNSPolicy},
	{"clients.ndots", GroupClients, "what workloads' resolver settings cost", checkNdots},
	{"controlplane.endpointslice-lag", GroupControlPlane, "how soon the EndpointSlice controller publishes a change", checkSliceLag},
	// The metric checks run last: their second scrapes come a window
	// after the first, taken when the run starts.
	{"controlplane.list-latency", GroupControlPlane, "the API server's LIST latency for what a cluster DNS watches", checkAPILatency},
	{"metrics.dns-pods", GroupMetrics, "SERVFAIL rate and latency of each DNS pod", checkDNSMetrics},
	// The answers check asks the DNS pods: after the second scrapes, so
	// that the metrics window holds the cluster's traffic, not the
	// doctor's.
	{"answers.dns-servers", GroupAnswers, "what each DNS server answers, against the cluster state", checkAnswers},
}

// Options tune a run.
type Options struct {
	// Progress, when set, hears what the doctor is doing (stderr).
	Progress func(string)
}

// Run runs every check on in. A check that panics is reported as crashed
// and the others still run.
func Run(ctx context.Context, in *Input, opts Options) *Report {
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	r := &Report{Cluster: in.Host, Started: in.Now, DNS: in.DNS().Name()}
	in.StartSampling(ctx)
	for _, def := range checks {
		if ctx.Err() != nil {
			r.Checks = append(r.Checks, Check{ID: def.id, Group: def.group, Title: def.title, Status: StatusNotRun, Why: "interrupted: " + ctx.Err().Error()})
			continue
		}
		progress("checking " + def.id)
		r.Checks = append(r.Checks, runOne(ctx, in, def))
	}
	r.sort()
	r.Duration = Duration(time.Since(in.Now))
	return r
}

func runOne(ctx context.Context, in *Input, def checkDef) (c Check) {
	start := time.Now()
	c = Check{ID: def.id, Group: def.group, Title: def.title, Findings: []Finding{}}
	defer func() {
		if p := recover(); p != nil {
			c.Status, c.Findings = StatusCrashed, []Finding{}
			c.Why = fmt.Sprintf("the check failed: %v\n%s", p, firstFrames(debug.Stack()))
		}
		c.Duration = Duration(time.Since(start))
		c.settle()
	}()
	def.run(ctx, in, &c)
	return c
}

// firstFrames keeps the top of a stack trace.
func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	return strings.Join(lines[:min(len(lines), 12)], "\n")
}

// notRun marks c as not run, for why.
func (c *Check) notRun(why string) { c.Status, c.Why = StatusNotRun, why }

// add adds a finding.
func (c *Check) add(f Finding) {
	if f.Objects == nil {
		f.Objects = []string{}
	}
	c.Findings = append(c.Findings, f)
}

// dnsNeeding is the cluster DNS, or nil with c marked not run when none
// was found or one of the resources could not be listed.
func dnsNeeding(in *Input, c *Check, resources ...string) *ClusterDNS {
	d := dnsOrNotRun(in, c)
	if d == nil {
		return nil
	}
	if why := in.need(resources...); why != "" {
		c.notRun(why)
		return nil
	}
	return d
}

// dnsOrNotRun is the cluster DNS, or nil with c marked not run when none
// was found.
func dnsOrNotRun(in *Input, c *Check) *ClusterDNS {
	d := in.DNS()
	if d.Why != "" {
		c.notRun("no cluster DNS found: " + d.Why)
		return nil
	}
	return d
}
