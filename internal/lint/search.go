package lint

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/zone"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reference is a host name written in a container's env, args or command.
type reference struct {
	obj   *object
	field string // "spec.template.spec.containers[0].env[1].value"
	name  string // as written, lower case
}

// collectReferences finds the host names in the env values, args and
// commands of every container of every pod template.
func collectReferences(objs []*object) []reference {
	var out []reference
	for _, o := range objs {
		t, ok := templateOf(o)
		if !ok {
			continue
		}
		add := func(field, s string) {
			for _, n := range hostNames(s) {
				out = append(out, reference{obj: o, field: field, name: n})
			}
		}
		scan := func(kind string, cs []corev1.Container) {
			for i := range cs {
				c := &cs[i]
				base := fmt.Sprintf("%s.%s[%d]", t.base, kind, i)
				for j, s := range c.Command {
					add(fmt.Sprintf("%s.command[%d]", base, j), s)
				}
				for j, s := range c.Args {
					add(fmt.Sprintf("%s.args[%d]", base, j), s)
				}
				for j, e := range c.Env {
					add(fmt.Sprintf("%s.env[%d].value", base, j), e.Value)
				}
			}
		}
		scan("initContainers", t.spec.InitContainers)
		scan("containers", t.spec.Containers)
	}
	return out
}

// hostNames returns the words of s that look like DNS names with at least
// one dot (URL hosts included, ports and paths cut off), lower case. IP
// addresses and $(VAR) references are left out.
func hostNames(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == ',' || r == ';' || r == '=' || r == '"' || r == '\'' || r == '(' || r == ')' || r == '<' || r == '>'
	}) {
		if i := strings.Index(w, "://"); i >= 0 {
			w = w[i+3:]
		}
		if i := strings.LastIndexByte(w, '@'); i >= 0 {
			w = w[i+1:]
		}
		if i := strings.IndexAny(w, "/?#"); i >= 0 {
			w = w[:i]
		}
		if i := strings.LastIndexByte(w, ':'); i >= 0 {
			if _, err := strconv.Atoi(w[i+1:]); err == nil || i == len(w)-1 {
				w = w[:i]
			}
		}
		w = strings.ToLower(w)
		if !looksLikeName(w) {
			continue
		}
		if _, err := netip.ParseAddr(strings.TrimSuffix(w, ".")); err == nil {
			continue
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// looksLikeName: labels of letters, digits, '-' and '_', at least two of
// them, an optional trailing dot.
func looksLikeName(w string) bool {
	labels := strings.Split(strings.TrimSuffix(w, "."), ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !zone.IsDNSLabel(l) {
			return false
		}
	}
	return true
}

// clusterDNS stands for the cluster DNS Service address in the resolv.conf
// composed for a pod: lint only needs to know the pod asks cluster DNS.
const clusterDNS = resolv.DefaultClusterDNS

// model is the client lint assumes: glibc's getaddrinfo, the most common.
var model = resolv.Model{Libc: resolv.Glibc, Call: resolv.GetAddrInfo}

// checkNdots reports the in-cluster names a workload writes that its
// resolver reaches only after failed search-path queries. The resolv.conf
// is the one the kubelet composes for the pod and the queries those glibc
// sends (package resolv), each answered by the record engine.
func (l *linter) checkNdots(o *object, t podTemplate) {
	refs := l.references[o]
	if len(refs) == 0 {
		return
	}
	pod := l.podFor(o, t)
	cfg, _ := resolv.Compose(pod, resolv.Kubelet{ClusterDNS: []string{clusterDNS}, ClusterDomain: strings.TrimSuffix(l.zone, ".")})
	if !slices.Contains(cfg.Nameservers, clusterDNS) {
		return // the node's resolver (Default, hostNetwork) or dnsPolicy None
	}
	for _, r := range refs {
		if strings.HasSuffix(r.name, ".") || resolv.CheckName(r.name) != nil {
			continue
		}
		res := resolv.Simulate(cfg, r.name, model, resolv.Answers(l.snap, r.name, resolv.UpstreamNXDOMAIN))
		if !res.Resolved || res.Wasted == 0 {
			continue
		}
		switch l.snap.Kind(res.ResolvedBy) {
		case zone.KindService, zone.KindEndpoint, zone.KindPort, zone.KindPod:
		default:
			continue // not an in-cluster name, or the apex: not a workload's peer
		}
		var wasted []string
		for _, q := range res.Queries {
			if n := show(q.Name); !strings.EqualFold(q.Name, res.ResolvedBy) && !slices.Contains(wasted, n) {
				wasted = append(wasted, n)
			}
		}
		msg := fmt.Sprintf("%s refers to %q, which has %d dot(s), fewer than ndots:%d: %s asks %s first (NXDOMAIN), so every lookup sends %d %s, %d of them wasted, before %s answers",
			r.field, r.name, strings.Count(r.name, "."), res.View.Ndots, model, list(wasted, 2),
			len(res.Queries), plural(len(res.Queries), "query", "queries"), res.Wasted, show(res.ResolvedBy))
		var fixes []string
		for _, tip := range resolv.Advice(res) {
			if tip.Fix != "" && (tip.Code == "fqdn" || tip.Code == "trailing-dot" || tip.Code == "ndots") {
				fixes = append(fixes, tip.Fix)
			}
		}
		fix := strings.Join(fixes, ", or set ")
		if fix == "" {
			fix = fmt.Sprintf("write %q (fully qualified, with the trailing dot)", res.ResolvedBy)
		}
		l.report(o, RuleNdotsShortNames, Info, r.field, msg, fix)
	}
}

// podFor is a pod the object makes (its resolv.conf is what matters): a
// derived one, or the template converted as a pod when it makes none.
func (l *linter) podFor(o *object, t podTemplate) *cluster.Pod {
	if pods := l.pods[o]; len(pods) > 0 {
		return pods[0]
	}
	p, _ := kubeconv.Pod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace}, Spec: *t.spec})
	return &p
}
