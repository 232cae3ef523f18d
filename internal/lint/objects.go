package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// podTemplate is the pod spec an object makes pods from (a Pod's own).
type podTemplate struct {
	labels map[string]string
	spec   *corev1.PodSpec
	base   string // field path of the spec: "spec" or "spec.template.spec"
}

func templateOf(o *object) (podTemplate, bool) {
	const tmpl = "spec.template.spec"
	switch t := o.Typed.(type) {
	case *corev1.Pod:
		return podTemplate{t.Labels, &t.Spec, "spec"}, true
	case *appsv1.StatefulSet:
		return podTemplate{t.Spec.Template.Labels, &t.Spec.Template.Spec, tmpl}, true
	case *appsv1.Deployment:
		return podTemplate{t.Spec.Template.Labels, &t.Spec.Template.Spec, tmpl}, true
	case *appsv1.ReplicaSet:
		return podTemplate{t.Spec.Template.Labels, &t.Spec.Template.Spec, tmpl}, true
	case *appsv1.DaemonSet:
		return podTemplate{t.Spec.Template.Labels, &t.Spec.Template.Spec, tmpl}, true
	case *batchv1.Job:
		return podTemplate{t.Spec.Template.Labels, &t.Spec.Template.Spec, tmpl}, true
	}
	return podTemplate{}, false
}

// indexedJob reports whether the object is an Indexed Job, whose pods get
// hostnames from the Job controller whatever the template says.
func indexedJob(o *object) bool {
	j, ok := o.Typed.(*batchv1.Job)
	return ok && j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

// dnsA is the question type names are checked with.
const dnsA = dns.TypeA

// serviceFQDN is the name of a Service in the (first) cluster zone.
func (l *linter) serviceFQDN(ns, name string) string { return schema.Service(name, ns, l.zone) }

// endpointFQDN is the per-pod name <host>.<service> in the cluster zone.
func (l *linter) endpointFQDN(host, ns, service string) string {
	return schema.Endpoint(host, l.serviceFQDN(ns, service))
}

// show renders a name for people: without the trailing dot.
func show(name string) string { return strings.TrimSuffix(name, ".") }

// answer says what the zone answers for the name: "NXDOMAIN", "no SRV
// records (NODATA)" or "10.244.0.1, 10.244.0.2".
func (l *linter) answer(name string, qtype uint16) string {
	a := l.snap.Lookup(name, qtype)
	switch {
	case a.Rcode == dns.RcodeNameError:
		return "NXDOMAIN"
	case a.Rcode != dns.RcodeSuccess:
		return dns.RcodeToString[a.Rcode]
	case len(a.Answer) == 0:
		return fmt.Sprintf("NODATA (no %s records)", dns.TypeToString[qtype])
	}
	var out []string
	for _, r := range a.Answer {
		switch rr := r.RR.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		case *dns.SRV:
			out = append(out, fmt.Sprintf("%d %s", rr.Port, show(rr.Target)))
		case *dns.CNAME:
			out = append(out, show(rr.Target))
		default:
			out = append(out, r.RR.String())
		}
	}
	return list(out, 3)
}

// addresses returns the A and AAAA answers of a name.
func (l *linter) addresses(name string) []string {
	var out []string
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		for _, r := range l.snap.Lookup(name, qt).Answer {
			switch rr := r.RR.(type) {
			case *dns.A:
				out = append(out, rr.A.String())
			case *dns.AAAA:
				out = append(out, rr.AAAA.String())
			}
		}
	}
	return out
}

// resolves reports whether the name has addresses.
func (l *linter) resolves(name string) bool { return len(l.addresses(name)) > 0 }

// perPodNames are the <hostname>.<subdomain>.<ns>.svc names the pods ask
// for, in pod order, without repeats.
func (l *linter) perPodNames(pods []*cluster.Pod) []string {
	var out []string
	for _, p := range pods {
		if p.Hostname == "" || p.Subdomain == "" {
			continue
		}
		if n := l.endpointFQDN(p.Hostname, p.Namespace, p.Subdomain); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// list renders at most n items and how many more there are.
func list(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

func podNames(pods []*cluster.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}
