package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/zone"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Symptoms of the seed, for Finding.Explains.
const (
	SymptomAllDNSFails  = "all internal DNS fails"
	SymptomIntermittent = "lookups fail now and then (one bad replica)"
	SymptomStaleIP      = "clients keep a rescheduled pod's old IP"
	SymptomNXDOMAIN     = "nslookup returns NXDOMAIN"
	SymptomOneIP        = "nslookup returns one IP while several pods run"
	SymptomNoSRV        = "SRV lookups return nothing"
	SymptomNoPodName    = "a pod's own name does not resolve"
	SymptomSlowLookups  = "5-second stalls on short names"
)

func podObj(p *corev1.Pod) string { return objName("Pod", p.Namespace, p.Name) }

func checkFound(_ context.Context, in *Input, c *Check) {
	d := in.DNS()
	switch {
	case d.Why != "" && d.Service == nil && in.need(ResServices) != "":
		c.notRun(d.Why)
	case d.Service == nil:
		c.add(Finding{Code: "dns-service-missing", Severity: SeverityError, Objects: []string{objName("Service", SystemNamespace, DNSServiceName)},
			Message:  "there is no Service kube-system/kube-dns: pods' resolv.conf points at its cluster IP, so every lookup times out",
			Fix:      "restore the kube-dns Service of your cluster DNS (kubeadm: kubeadm init phase addon coredns)",
			Explains: []string{SymptomAllDNSFails}})
	case len(d.Service.Spec.Selector) == 0:
		c.add(Finding{Code: "dns-service-no-selector", Severity: SeverityWarning, Objects: []string{objName("Service", SystemNamespace, DNSServiceName)},
			Message: "the kube-dns Service has no selector: the doctor cannot tell which pods serve it"})
	case len(d.Pods) == 0 && in.need(ResPods) == "":
		c.add(Finding{Code: "dns-no-pods", Severity: SeverityError, Objects: []string{objName("Service", SystemNamespace, DNSServiceName)},
			Message:  fmt.Sprintf("no pod in %s matches the kube-dns Service's selector %s", SystemNamespace, selectorString(d.Service.Spec.Selector)),
			Fix:      "kubectl -n kube-system get deploy,pods -l " + selectorString(d.Service.Spec.Selector),
			Explains: []string{SymptomAllDNSFails}})
	}
	if d.Service != nil {
		c.Summary = fmt.Sprintf("%s: %d pod(s)", d.Name(), len(d.Pods))
		if d.Kind == KindKubeDNS {
			c.add(Finding{Code: "dns-kube-dns", Severity: SeverityWarning, Objects: []string{d.workload()},
				Message: "the cluster DNS is kube-dns, unmaintained since Kubernetes 1.18 replaced it with CoreDNS; its Corefile checks do not apply",
				Fix:     "migrate to CoreDNS (or clusterdns) as kubeadm does"})
		}
	}
}

// workload names the cluster DNS's Deployment, else its Service.
func (d *ClusterDNS) workload() string {
	if d.Deployment != nil {
		return objName("Deployment", d.Deployment.Namespace, d.Deployment.Name)
	}
	return objName("Service", SystemNamespace, DNSServiceName)
}

func selectorString(sel map[string]string) string {
	keys := slices.Sorted(maps.Keys(sel))
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func checkReady(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResPods)
	if d == nil {
		return
	}
	ready := 0
	var notReady []string
	for _, p := range d.Pods {
		if podReady(p) && p.DeletionTimestamp == nil {
			ready++
		} else {
			notReady = append(notReady, p.Name)
		}
	}
	c.Summary = fmt.Sprintf("%d of %d pod(s) Ready", ready, len(d.Pods))
	if dep := d.Deployment; dep != nil && dep.Spec.Replicas != nil {
		c.Summary += fmt.Sprintf("; Deployment wants %d, %d available", *dep.Spec.Replicas, dep.Status.AvailableReplicas)
	}
	switch {
	case len(d.Pods) > 0 && ready == 0:
		c.add(Finding{Code: "dns-no-ready-pods", Severity: SeverityError, Objects: podObjs(d.Pods, notReady),
			Message:  "no cluster DNS pod is Ready: the kube-dns Service has no ready endpoint and every lookup times out",
			Evidence: podStates(d.Pods), Fix: "kubectl -n kube-system describe pods -l " + selectorString(d.Service.Spec.Selector),
			Explains: []string{SymptomAllDNSFails}})
	case len(notReady) > 0:
		c.add(Finding{Code: "dns-pod-not-ready", Severity: SeverityWarning, Objects: podObjs(d.Pods, notReady),
			Message:  fmt.Sprintf("%d of %d cluster DNS pod(s) not Ready: the others carry the load", len(notReady), len(d.Pods)),
			Evidence: podStates(d.Pods), Fix: "kubectl -n kube-system describe pod " + strings.Join(notReady, " ")})
	}
}

func podObjs(pods []*corev1.Pod, names []string) []string {
	var out []string
	for _, p := range pods {
		if slices.Contains(names, p.Name) {
			out = append(out, podObj(p))
		}
	}
	return out
}

func podStates(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		s := fmt.Sprintf("%s: phase %s, Ready %v, node %s", p.Name, p.Status.Phase, podReady(p), p.Spec.NodeName)
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				s += fmt.Sprintf(", %s waiting: %s", cs.Name, w.Reason)
			}
		}
		out = append(out, s)
	}
	return out
}

func checkRestarts(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResPods)
	if d == nil {
		return
	}
	restartsOf(c, d.Pods, "cluster DNS")
}

// restartsOf reports the pods' restarts and how their containers last
// ended: OOMKilled and CrashLoopBackOff are errors.
func restartsOf(c *Check, pods []*corev1.Pod, what string) {
	total := 0
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			total += int(cs.RestartCount)
			last := cs.LastTerminationState.Terminated
			evidence := []string{fmt.Sprintf("%s container %s: restartCount %d", p.Name, cs.Name, cs.RestartCount)}
			if last != nil {
				evidence = append(evidence, fmt.Sprintf("last terminated: reason %s, exit code %d, at %s", last.Reason, last.ExitCode, last.FinishedAt.UTC().Format("2006-01-02 15:04:05Z")))
			}
			switch {
			case last != nil && last.Reason == "OOMKilled":
				c.add(Finding{Code: "dns-oomkilled", Severity: SeverityError, Objects: []string{podObj(p)},
					Message:  fmt.Sprintf("%s container %s was OOMKilled: its memory limit is too low for the cluster (or a re-list doubled its memory)", what, cs.Name),
					Evidence: evidence, Fix: "raise the container's memory limit (see dns.memory for the cluster's size)",
					Explains: []string{SymptomAllDNSFails, SymptomIntermittent}})
			case cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff":
				c.add(Finding{Code: "dns-crashloop", Severity: SeverityError, Objects: []string{podObj(p)},
					Message:  fmt.Sprintf("%s container %s is in CrashLoopBackOff", what, cs.Name),
					Evidence: evidence, Fix: fmt.Sprintf("kubectl -n %s logs %s -c %s --previous (a forwarding loop shows as \"plugin/loop: Loop ... detected\")", p.Namespace, p.Name, cs.Name),
					Explains: []string{SymptomAllDNSFails, SymptomIntermittent}})
			case cs.RestartCount >= 5:
				c.add(Finding{Code: "dns-restarts", Severity: SeverityWarning, Objects: []string{podObj(p)},
					Message:  fmt.Sprintf("%s container %s restarted %d times", what, cs.Name, cs.RestartCount),
					Evidence: evidence, Fix: fmt.Sprintf("kubectl -n %s logs %s -c %s --previous", p.Namespace, p.Name, cs.Name),
					Threshold: &Threshold{Value: fmt.Sprint(cs.RestartCount), Limit: "5 restarts", Source: "clusterdns doctor"},
					Explains:  []string{SymptomIntermittent}})
			case cs.RestartCount > 0:
				c.add(Finding{Code: "dns-restarts", Severity: SeverityInfo, Objects: []string{podObj(p)},
					Message: fmt.Sprintf("%s container %s restarted %d time(s)", what, cs.Name, cs.RestartCount), Evidence: evidence})
			}
		}
	}
	c.Summary = fmt.Sprintf("%d pod(s), %d restart(s) in all", len(pods), total)
}

// Memory sizing.
const (
	// coreDNSFormula is Scaling_CoreDNS.md's: MB = (pods + services) /
	// 1000 + 54; with autopath (pods verified), / 250 + 56.
	coreDNSFormulaSource = "CoreDNS kubernetes/Scaling_CoreDNS.md"
	// clusterdns's, from its own benchmark (bench/RESULTS.md, steady RSS
	// at 1k/16k, 1k/106k and 10k/151k services/endpoints, third memory
	// pass: 17-19, 34 and 66 MiB): 13 MiB + 0.18 MiB per 1,000 endpoints
	// + 2.6 MiB per 1,000 Services (199 MiB at 50k/310k, measured 186-189);
	// a re-list peaks at 1.25-1.4x.
	clusterdnsFormulaSource = "clusterdns bench/RESULTS.md (steady RSS, re-list peak 1.4x)"
	// memoryMargin: a limit under this times the need is a warning.
	memoryMargin = 1.5
)

func (in *Input) endpointCount() int {
	n := 0
	for _, es := range in.EndpointSlices {
		n += len(es.Endpoints)
	}
	return n
}

func checkMemory(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResPods, ResServices, ResEndpointSlices)
	if d == nil {
		return
	}
	pods, svcs, eps := len(in.Pods), len(in.Services), in.endpointCount()
	var needMiB float64
	var formula, source string
	switch d.Kind {
	case KindClusterDNS:
		needMiB = (13 + 0.18*float64(eps)/1000 + 2.6*float64(svcs)/1000) * 1.4
		formula = fmt.Sprintf("(13 + 0.18 x %d/1000 endpoints + 2.6 x %d/1000 services) x 1.4 re-list", eps, svcs)
		source = clusterdnsFormulaSource
	case KindCoreDNS:
		if d.watchesPods() {
			needMiB = float64(pods+svcs)/250 + 56
			formula = fmt.Sprintf("(%d pods + %d services) / 250 + 56 (pods verified or autopath)", pods, svcs)
		} else {
			needMiB = float64(pods+svcs)/1000 + 54
			formula = fmt.Sprintf("(%d pods + %d services) / 1000 + 54", pods, svcs)
		}
		source = coreDNSFormulaSource
	default:
		c.notRun("no sizing formula for " + d.Kind)
		return
	}
	need := int64(math.Ceil(needMiB)) << 20
	limit, ok := d.Container.Resources.Limits[corev1.ResourceMemory]
	c.Summary = fmt.Sprintf("the cluster (%d pods, %d services, %d endpoints) needs about %s (%s)", pods, svcs, eps, mib(need), formula)
	if !ok || limit.IsZero() {
		c.add(Finding{Code: "dns-memory-no-limit", Severity: SeverityInfo, Objects: []string{d.workload()},
			Message: fmt.Sprintf("container %s has no memory limit: it cannot be OOMKilled at a limit, but nothing bounds it either", d.Container.Name)})
		return
	}
	th := &Threshold{Value: "limit " + mib(limit.Value()), Limit: fmt.Sprintf("%.1fx %s", memoryMargin, mib(need)), Source: source}
	switch {
	case limit.Value() < need:
		c.add(Finding{Code: "dns-memory-limit-low", Severity: SeverityError, Objects: []string{d.workload()}, Threshold: th,
			Message:  fmt.Sprintf("container %s's memory limit %s is below what the cluster's size needs (%s): it will be OOMKilled, at the latest when a re-list doubles its memory", d.Container.Name, mib(limit.Value()), mib(need)),
			Fix:      fmt.Sprintf("set resources.limits.memory to at least %s", mib(int64(float64(need)*memoryMargin))),
			Explains: []string{SymptomAllDNSFails, SymptomIntermittent}})
	case float64(limit.Value()) < memoryMargin*float64(need):
		c.add(Finding{Code: "dns-memory-limit-low", Severity: SeverityWarning, Objects: []string{d.workload()}, Threshold: th,
			Message: fmt.Sprintf("container %s's memory limit %s leaves less than %.1fx what the cluster's size needs (%s)", d.Container.Name, mib(limit.Value()), memoryMargin, mib(need)),
			Fix:     fmt.Sprintf("set resources.limits.memory to at least %s", mib(int64(float64(need)*memoryMargin)))})
	}
	if cpu, ok := d.Container.Resources.Limits[corev1.ResourceCPU]; ok && !cpu.IsZero() {
		c.add(Finding{Code: "dns-cpu-limit", Severity: SeverityWarning, Objects: []string{d.workload()},
			Message: fmt.Sprintf("container %s has a CPU limit (%s): CFS throttling delays answers under load (kubeadm sets none)", d.Container.Name, cpu.String()),
			Fix:     "remove resources.limits.cpu, keep the request"})
	}
}

// watchesPods reports whether the Corefile's kubernetes plugin watches
// pods (pods verified, or autopath).
func (d *ClusterDNS) watchesPods() bool {
	if d.Config == nil {
		return false
	}
	for _, b := range d.Config.Blocks {
		if b.AutoPath != nil || (b.Kubernetes != nil && b.Kubernetes.PodRecords == zone.PodsVerified) {
			return true
		}
	}
	return false
}

func mib(b int64) string { return resource.NewQuantity(b, resource.BinarySI).String() }

// autoscalerParams is the linear or ladder parameters of the
// cluster-proportional-autoscaler that scales the cluster DNS.
type autoscalerParams struct {
	Linear *struct {
		CoresPerReplica           float64 `json:"coresPerReplica"`
		NodesPerReplica           float64 `json:"nodesPerReplica"`
		Min                       int     `json:"min"`
		Max                       int     `json:"max"`
		PreventSinglePointFailure bool    `json:"preventSinglePointFailure"`
	} `json:"linear"`
	Ladder *struct {
		CoresToReplicas [][2]float64 `json:"coresToReplicas"`
		NodesToReplicas [][2]float64 `json:"nodesToReplicas"`
	} `json:"ladder"`
}

// autoscaler finds the DNS autoscaler's Deployment and its parameters:
// the ConfigMap it names (--configmap), else its --default-params. The
// addon's defaults (256 cores and 16 nodes per replica, no single point of
// failure) stand in when none is installed.
func (in *Input) autoscaler() (who string, p autoscalerParams, source string) {
	for _, dep := range in.Deployments {
		if !slices.Contains([]string{"kube-dns-autoscaler", "dns-autoscaler", "coredns-autoscaler"}, dep.Name) {
			continue
		}
		cm, defaults := "", ""
		for _, ct := range dep.Spec.Template.Spec.Containers {
			for _, a := range append(slices.Clone(ct.Command), ct.Args...) {
				if v, ok := strings.CutPrefix(a, "--configmap="); ok {
					cm = v
				}
				if v, ok := strings.CutPrefix(a, "--default-params="); ok {
					defaults = v
				}
			}
		}
		who = objName("Deployment", dep.Namespace, dep.Name)
		for _, m := range in.ConfigMaps {
			if m.Name == cm {
				raw := map[string]json.RawMessage{}
				for k, v := range m.Data {
					raw[k] = json.RawMessage(v)
				}
				b, _ := json.Marshal(raw)
				if json.Unmarshal(b, &p) == nil && (p.Linear != nil || p.Ladder != nil) {
					return who, p, fmt.Sprintf("ConfigMap %s/%s", m.Namespace, m.Name)
				}
			}
		}
		if defaults != "" && json.Unmarshal([]byte(defaults), &p) == nil && (p.Linear != nil || p.Ladder != nil) {
			return who, p, who + " --default-params"
		}
	}
	p = autoscalerParams{}
	_ = json.Unmarshal([]byte(`{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}`), &p)
	return "", p, "the dns-horizontal-autoscaler addon's defaults (no autoscaler installed)"
}

// replicasFor is the autoscaler's answer for the cluster
// (cluster-proportional-autoscaler's linear and ladder rules).
func (p autoscalerParams) replicasFor(nodes int, cores float64) int {
	if l := p.Linear; l != nil {
		r := 0
		if l.CoresPerReplica > 0 {
			r = max(r, int(math.Ceil(cores/l.CoresPerReplica)))
		}
		if l.NodesPerReplica > 0 {
			r = max(r, int(math.Ceil(float64(nodes)/l.NodesPerReplica)))
		}
		if l.Max > 0 {
			r = min(r, l.Max)
		}
		r = max(r, l.Min, 1)
		if l.PreventSinglePointFailure && nodes > 1 {
			r = max(r, 2)
		}
		return r
	}
	step := func(ladder [][2]float64, x float64) int {
		r := 0
		for _, s := range ladder {
			if x >= s[0] {
				r = int(s[1])
			}
		}
		return r
	}
	return max(step(p.Ladder.CoresToReplicas, cores), step(p.Ladder.NodesToReplicas, float64(nodes)))
}

func checkReplicas(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResNodes, ResDeployments)
	if d == nil {
		return
	}
	if d.Deployment == nil || d.Deployment.Spec.Replicas == nil {
		c.notRun("the cluster DNS pods have no Deployment to count replicas of")
		return
	}
	nodes, cores := 0, 0.0
	for _, n := range in.Nodes {
		if n.Spec.Unschedulable {
			continue
		}
		nodes++
		cores += n.Status.Capacity.Cpu().AsApproximateFloat64()
	}
	who, p, source := in.autoscaler()
	want := p.replicasFor(nodes, cores)
	have := int(*d.Deployment.Spec.Replicas)
	c.Summary = fmt.Sprintf("%d replica(s) for %d schedulable node(s), %.0f cores; the autoscaler's rule gives %d (%s)", have, nodes, cores, want, source)
	if have < want {
		objs := []string{d.workload()}
		if who != "" {
			objs = append(objs, who)
		}
		c.add(Finding{Code: "dns-replicas-low", Severity: SeverityWarning, Objects: objs,
			Threshold: &Threshold{Value: fmt.Sprintf("%d replicas", have), Limit: fmt.Sprintf("%d replicas", want), Source: source},
			Message:   fmt.Sprintf("%d replica(s) where the autoscaler's rule for %d node(s) and %.0f cores gives %d", have, nodes, cores, want),
			Fix:       "kubectl -n kube-system scale " + strings.ToLower(strings.SplitN(d.workload(), "/", 2)[0]) + "/" + d.Deployment.Name + fmt.Sprintf(" --replicas=%d (or install the dns-horizontal-autoscaler)", want),
			Explains:  []string{SymptomIntermittent}})
	}
	if have == 1 && nodes > 1 {
		c.add(Finding{Code: "dns-single-replica", Severity: SeverityWarning, Objects: []string{d.workload()},
			Message:  "one replica: a restart, an eviction or a node drain stops all DNS in the cluster",
			Fix:      "run at least 2 replicas (preventSinglePointFailure in the autoscaler)",
			Explains: []string{SymptomAllDNSFails}})
	}
}

func checkSpread(_ context.Context, in *Input, c *Check) {
	d := dnsNeeding(in, c, ResPods, ResNodes)
	if d == nil {
		return
	}
	nodes := map[string][]string{}
	for _, p := range d.Pods {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			nodes[p.Spec.NodeName] = append(nodes[p.Spec.NodeName], p.Name)
		}
	}
	schedulable := 0
	for _, n := range in.Nodes {
		if !n.Spec.Unschedulable {
			schedulable++
		}
	}
	c.Summary = fmt.Sprintf("%d pod(s) on %d node(s) of %d schedulable", len(d.Pods), len(nodes), schedulable)
	if len(nodes) == 1 && len(d.Pods) > 1 && schedulable > 1 {
		var node string
		for n := range nodes {
			node = n
		}
		c.add(Finding{Code: "dns-replicas-one-node", Severity: SeverityWarning, Objects: append([]string{objName("Node", "", node)}, podObjs(d.Pods, nodes[node])...),
			Message:  fmt.Sprintf("all %d cluster DNS pods run on node %s: losing that node stops all DNS (the default anti-affinity is only preferred)", len(d.Pods), node),
			Fix:      "add a required podAntiAffinity on kubernetes.io/hostname, or a topologySpreadConstraint, to the Deployment",
			Explains: []string{SymptomAllDNSFails}})
	}
}

// versionFinding is a known problem of CoreDNS before a version.
type versionFinding struct {
	before   string
	code     string
	severity Severity
	message  string
}

// coreDNSVersions are the CoreDNS release notes' changes that matter to a
// cluster (notes/coredns-*.md, with their PRs).
var coreDNSVersions = []versionFinding{
	{"1.5.0", "coredns-no-ready-plugin", SeverityWarning, "has no ready plugin (added in 1.5.0): readiness can only use /health, which is up before the kubernetes plugin has synced"},
	{"1.6.9", "coredns-no-max-concurrent", SeverityInfo, "has no forward max_concurrent (added in 1.6.9): a slow upstream can grow memory without bound (coredns #4823)"},
	{"1.7.0", "coredns-tombstone-panic", SeverityError, "panics when an API watch is interrupted (fixed in 1.7.0 by PRs #3887/#3890, coredns #3860): API server jitter restarts every replica"},
	{"1.8.4", "coredns-publishes-not-ready", SeverityWarning, "publishes not-ready endpoints as records (fixed in 1.8.4, PR #4580): clients get IPs of pods that are not Ready"},
	{"1.9.4", "coredns-no-cache-disable", SeverityInfo, "has no cache `disable success|denial` (added in 1.9.4, PR #5540): the cluster zone cannot be kept out of the cache"},
}

func checkVersion(_ context.Context, in *Input, c *Check) {
	d := dnsOrNotRun(in, c)
	if d == nil {
		return
	}
	if d.Version == "" {
		c.notRun(fmt.Sprintf("the image tag of %s is not a version", d.Image))
		return
	}
	c.Summary = fmt.Sprintf("%s %s", d.Kind, d.Version)
	if d.Kind != KindCoreDNS {
		return
	}
	for _, v := range coreDNSVersions {
		if before(d.Version, v.before) {
			c.add(Finding{Code: v.code, Severity: v.severity, Objects: []string{d.workload()},
				Message:   "CoreDNS " + d.Version + " " + v.message,
				Threshold: &Threshold{Value: d.Version, Limit: ">= " + v.before, Source: "CoreDNS release notes"},
				Fix:       "upgrade CoreDNS"})
		}
	}
}

func checkNodeLocal(_ context.Context, in *Input, c *Check) {
	if why := in.need(ResDaemonSets); why != "" {
		c.notRun(why)
		return
	}
	ds := in.DNS().NodeLocal
	if ds == nil {
		c.notRun("NodeLocal DNSCache is not installed (no DaemonSet node-local-dns)")
		return
	}
	obj := objName("DaemonSet", ds.Namespace, ds.Name)
	c.Summary = fmt.Sprintf("%s: %d of %d node(s) ready", obj, ds.Status.NumberReady, ds.Status.DesiredNumberScheduled)
	if ds.Status.NumberReady < ds.Status.DesiredNumberScheduled {
		c.add(Finding{Code: "nodelocal-not-ready", Severity: SeverityError, Objects: []string{obj},
			Message:  fmt.Sprintf("NodeLocal DNSCache is ready on %d of %d nodes: pods on the others get no DNS (their resolv.conf points at the node-local address)", ds.Status.NumberReady, ds.Status.DesiredNumberScheduled),
			Fix:      "kubectl -n kube-system get pods -l k8s-app=node-local-dns -o wide",
			Explains: []string{SymptomAllDNSFails, SymptomIntermittent}})
	}
	if in.need(ResPods) != "" {
		return
	}
	var pods []*corev1.Pod
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.Namespace == ds.Namespace && slices.ContainsFunc(p.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "DaemonSet" && o.Name == ds.Name }) {
			pods = append(pods, p)
		}
	}
	sub := Check{}
	restartsOf(&sub, pods, "NodeLocal DNSCache")
	for _, f := range sub.Findings {
		f.Code = strings.Replace(f.Code, "dns-", "nodelocal-", 1)
		c.add(f)
	}
}

func checkConfigForming(_ context.Context, in *Input, c *Check) {
	if why := in.need(ResEvents); why != "" {
		c.notRun(why)
		return
	}
	byNode := map[string][]string{}
	count := map[string]int32{}
	for _, e := range in.Events {
		if e.Reason != "DNSConfigForming" {
			continue
		}
		node := e.Source.Host
		if node == "" {
			node = "(unknown node)"
		}
		msg := e.Message
		if !slices.Contains(byNode[node], msg) {
			byNode[node] = append(byNode[node], msg)
		}
		count[node] += max(e.Count, 1)
	}
	nodes := slices.Sorted(maps.Keys(byNode))
	c.Summary = fmt.Sprintf("%d node(s) with DNSConfigForming warnings (events expire, about an hour)", len(nodes))
	for _, n := range nodes {
		c.add(Finding{Code: "dns-config-forming", Severity: SeverityWarning, Objects: []string{objName("Node", "", n)},
			Message:  fmt.Sprintf("the kubelet on %s cut pods' resolv.conf (%d event(s)): more than 3 nameservers or 32 search domains / 2048 characters, from the node's resolv.conf plus the pods' dnsConfig", n, count[n]),
			Evidence: byNode[n],
			Fix:      "trim the node's /etc/resolv.conf (the kubelet's --resolv-conf) and the pods' dnsConfig.searches",
			Explains: []string{SymptomNXDOMAIN, SymptomSlowLookups}})
	}
}
