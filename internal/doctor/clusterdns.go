package doctor

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterdns/clusterdns/internal/corefile"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// DNSServiceName is the Service every pod's resolv.conf points at.
const DNSServiceName = "kube-dns"

// Kinds of cluster DNS, from the image of its container.
const (
	KindCoreDNS    = "coredns"
	KindClusterDNS = "clusterdns"
	KindKubeDNS    = "kube-dns"
	KindUnknown    = "unknown"
)

// ClusterDNS is the cluster DNS the doctor found behind the kube-dns
// Service: its pods (by the Service's selector), their Deployment, the
// DNS container, its version and its Corefile.
type ClusterDNS struct {
	Service    *corev1.Service
	Pods       []*corev1.Pod
	Deployment *appsv1.Deployment
	// Template is the pod spec (the Deployment's, else the first pod's).
	Template *corev1.PodSpec
	// Container is the DNS server's container in Template.
	Container *corev1.Container
	Kind      string
	Image     string
	// Version is the image tag without a leading v ("1.11.1"), "" when
	// the tag is not a version.
	Version string
	// Corefile is the text of the Corefile the container reads, from
	// CorefileFrom ("ConfigMap kube-system/coredns, key Corefile"); Config
	// is it parsed (nil when there is none), with ParseErr its problems.
	Corefile     string
	CorefileFrom string
	Config       *corefile.Config
	ParseErr     error
	// NodeLocal is NodeLocal DNSCache's DaemonSet, when installed.
	NodeLocal *appsv1.DaemonSet
	// Why is set when no cluster DNS was found.
	Why string
}

// Name names the cluster DNS for the report.
func (d *ClusterDNS) Name() string {
	if d.Why != "" {
		return "none found: " + d.Why
	}
	who := "Service " + SystemNamespace + "/" + DNSServiceName
	if d.Deployment != nil {
		who += ", Deployment " + d.Deployment.Namespace + "/" + d.Deployment.Name
	}
	if d.Image != "" {
		who += " (" + d.Image + ")"
	}
	return who
}

// DNS is the cluster DNS, found once.
func (in *Input) DNS() *ClusterDNS {
	in.dnsOnce.Do(func() { in.dns = in.findDNS() })
	return in.dns
}

func (in *Input) findDNS() *ClusterDNS {
	d := &ClusterDNS{}
	d.NodeLocal = in.nodeLocal()
	if why := in.need(ResServices); why != "" {
		d.Why = why
		return d
	}
	for i := range in.Services {
		s := &in.Services[i]
		if s.Namespace == SystemNamespace && s.Name == DNSServiceName {
			d.Service = s
		}
	}
	if d.Service == nil {
		d.Why = "there is no Service " + SystemNamespace + "/" + DNSServiceName
		return d
	}
	sel := labels.SelectorFromSet(d.Service.Spec.Selector)
	if len(d.Service.Spec.Selector) > 0 {
		for i := range in.Pods {
			p := &in.Pods[i]
			if p.Namespace == SystemNamespace && sel.Matches(labels.Set(p.Labels)) {
				d.Pods = append(d.Pods, p)
			}
		}
		d.Deployment = in.deploymentOf(d.Pods, sel)
	}
	switch {
	case d.Deployment != nil:
		d.Template = &d.Deployment.Spec.Template.Spec
	case len(d.Pods) > 0:
		d.Template = &d.Pods[0].Spec
	}
	if d.Template != nil {
		d.Container = dnsContainer(d.Template)
		d.Image = d.Container.Image
		d.Kind, d.Version = kindOf(d.Image)
		in.readCorefile(d)
	}
	return d
}

// deploymentOf is the Deployment owning the pods (through their
// ReplicaSet), or, without pods, the one whose template the selector
// matches.
func (in *Input) deploymentOf(pods []*corev1.Pod, sel labels.Selector) *appsv1.Deployment {
	byName := func(name string) *appsv1.Deployment {
		for i := range in.Deployments {
			if in.Deployments[i].Name == name {
				return &in.Deployments[i]
			}
		}
		return nil
	}
	for _, p := range pods {
		for _, o := range p.OwnerReferences {
			if o.Kind != "ReplicaSet" {
				continue
			}
			for _, rs := range in.ReplicaSets {
				if rs.Name != o.Name {
					continue
				}
				for _, ro := range rs.OwnerReferences {
					if ro.Kind == "Deployment" {
						if dep := byName(ro.Name); dep != nil {
							return dep
						}
					}
				}
			}
		}
	}
	for i := range in.Deployments {
		if sel.Matches(labels.Set(in.Deployments[i].Spec.Template.Labels)) {
			return &in.Deployments[i]
		}
	}
	return nil
}

// dnsContainer is the container whose image is a DNS server's, else the
// first.
func dnsContainer(spec *corev1.PodSpec) *corev1.Container {
	for i := range spec.Containers {
		if k, _ := kindOf(spec.Containers[i].Image); k != KindUnknown {
			return &spec.Containers[i]
		}
	}
	return &spec.Containers[0]
}

// kindOf names the server of an image and its version from the tag:
// registry.k8s.io/coredns/coredns:v1.11.1 is CoreDNS 1.11.1.
func kindOf(image string) (kind, version string) {
	repo, tag := image, ""
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		repo, tag = image[:i], image[i+1:]
	}
	if i := strings.IndexByte(tag, '@'); i >= 0 {
		tag = tag[:i]
	}
	repo = strings.TrimSuffix(repo, "@sha256")
	base := path.Base(repo)
	switch {
	case strings.Contains(base, "clusterdns"):
		kind = KindClusterDNS
	case strings.Contains(base, "coredns"):
		kind = KindCoreDNS
	case strings.Contains(base, "kube-dns") || strings.Contains(base, "kubedns"):
		kind = KindKubeDNS
	default:
		return KindUnknown, ""
	}
	v := strings.TrimPrefix(tag, "v")
	if _, ok := parseVersion(v); ok {
		return kind, v
	}
	return kind, ""
}

// parseVersion reads MAJOR.MINOR[.PATCH][-suffix].
func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

// before reports whether version v is older than w (both parseable).
func before(v, w string) bool {
	a, ok1 := parseVersion(v)
	b, ok2 := parseVersion(w)
	return ok1 && ok2 && slices.Compare(a[:], b[:]) < 0
}

// readCorefile finds the Corefile the DNS container reads: the file named
// by its -conf (CoreDNS) or --corefile (clusterdns) argument, in the
// ConfigMap volume mounted at that file's directory; CoreDNS's default is
// the ConfigMap "coredns", key "Corefile".
func (in *Input) readCorefile(d *ClusterDNS) {
	if d.Kind == KindKubeDNS || d.Kind == KindUnknown {
		return
	}
	file := ""
	args := append(slices.Clone(d.Container.Command), d.Container.Args...)
	for i, a := range args {
		for _, flag := range []string{"-conf", "--conf", "--corefile", "-corefile"} {
			if v, ok := strings.CutPrefix(a, flag+"="); ok {
				file = v
			} else if a == flag && i+1 < len(args) {
				file = args[i+1]
			}
		}
	}
	if file == "" && d.Kind == KindClusterDNS {
		return // flags only, no Corefile
	}
	cmName, key := "coredns", "Corefile"
	if file != "" {
		key = path.Base(file)
		dir := path.Dir(file)
		for _, m := range d.Container.VolumeMounts {
			if path.Clean(m.MountPath) != dir {
				continue
			}
			for _, v := range d.Template.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil {
					cmName = v.ConfigMap.Name
					for _, it := range v.ConfigMap.Items {
						if it.Path == key {
							key = it.Key
						}
					}
				}
			}
		}
	}
	d.CorefileFrom = fmt.Sprintf("ConfigMap %s/%s, key %s", SystemNamespace, cmName, key)
	if in.need(ResConfigMaps) != "" {
		return
	}
	for _, cm := range in.ConfigMaps {
		if cm.Name != cmName {
			continue
		}
		text, ok := cm.Data[key]
		if !ok {
			return
		}
		d.Corefile = text
		d.Config, d.ParseErr = corefile.Parse("Corefile", strings.NewReader(text))
	}
}

// nodeLocal is NodeLocal DNSCache's DaemonSet (node-local-dns, or labelled
// k8s-app=node-local-dns), if installed.
func (in *Input) nodeLocal() *appsv1.DaemonSet {
	for i := range in.DaemonSets {
		ds := &in.DaemonSets[i]
		if ds.Name == "node-local-dns" || ds.Labels["k8s-app"] == "node-local-dns" {
			return ds
		}
	}
	return nil
}

// objName is Kind/namespace/name.
func objName(kind, ns, name string) string {
	if ns == "" {
		return kind + "/" + name
	}
	return kind + "/" + ns + "/" + name
}
