package corefile

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/zone"
)

// DefaultKubernetesTTL is the kubernetes plugin's record TTL
// (plugin/kubernetes/kubernetes.go:89-90 in 1.14.2, `defaultTTL = 5`).
const DefaultKubernetesTTL = 5

// kubernetesUnsupported are the kubernetes options of CoreDNS 1.14.2
// (plugin/kubernetes/setup.go:117-288) that clusterdns does not implement.
var kubernetesUnsupported = map[string]bool{
	"endpoint": true, "tls": true, "labels": true, "namespace_labels": true,
	"noendpoints": true, "startup_timeout": true,
	"apiserver_qps": true, "apiserver_burst": true, "apiserver_max_inflight": true,
}

// readKubernetes: `kubernetes [ZONES...] { ... }` (plugin/kubernetes/setup.go:89-303).
func readKubernetes(b *ServerBlock, c *cursor) string {
	k := &Kubernetes{Pos: c.pos(), TTL: DefaultKubernetesTTL, PodRecords: zone.PodsDisabled}
	k.Zones = c.zonesOrBlock(k.Pos, "zone", c.args(), b)
	c.options(func(o option) { kubernetesOption(c, k, o) })
	b.Kubernetes = k
	// The zone engine's own rules (a forward zone first, not the root,
	// ...) are asked of it, as `serve`'s flags are (internal/cli/flags.go).
	opts := k.ZoneOptions()
	if len(opts.Zones) == 0 {
		c.errorf(k.Pos, "non-reverse zone name must be used") // setup.go:110-112
		return ""
	}
	if _, err := zone.Empty(opts); err != nil {
		c.errorf(k.Pos, "%v", err)
		return ""
	}
	return describeKubernetes(k)
}

func kubernetesOption(c *cursor, k *Kubernetes, o option) {
	switch o.name {
	case "pods":
		if c.nargs(o, 1, 1) {
			p, err := zone.ParsePodRecords(o.args[0])
			if err != nil || o.args[0] != strings.ToLower(o.args[0]) {
				c.errorf(o.pos, "pods %q: want disabled, insecure or verified", o.args[0])
			}
			k.PodRecords = p
		}
	case "endpoint_pod_names":
		k.EndpointPodNames = c.nargs(o, 0, 0)
	case "zonal":
		k.Zonal = c.nargs(o, 0, 0)
	case "multicluster":
		// Each zone must be one of the plugin's (setup.go:299-303):
		// zone.Empty below checks it.
		k.Multicluster = append(k.Multicluster, c.zones(o.pos, "multicluster zone", o.args)...)
	case "ttl":
		if c.nargs(o, 1, -1) {
			t, _ := c.integer(o.pos, "ttl", o.args[0], 0, zone.MaxTTL)
			k.TTL = uint32(t)
		}
	case "namespaces":
		if c.nargs(o, 1, -1) {
			k.Namespaces = append(k.Namespaces, o.args...)
		}
	case "fallthrough":
		k.Fallthrough = c.fallthroughZones(o)
	case "ignore":
		// A bare `ignore` is accepted and does nothing in CoreDNS
		// (setup.go:210-219); kept so.
		if len(o.args) > 0 && o.args[0] != "empty_service" {
			c.errorf(o.pos, "ignore %q: only empty_service", o.args[0])
		}
		k.IgnoreEmptyService = k.IgnoreEmptyService || len(o.args) > 0
	case "kubeconfig":
		if c.nargs(o, 1, 2) {
			k.Kubeconfig = &Kubeconfig{Path: o.args[0]}
			if len(o.args) == 2 {
				k.Kubeconfig.Context = o.args[1]
			}
		}
	default:
		if kubernetesUnsupported[o.name] {
			c.unsupported(o)
			return
		}
		c.unknown(o)
	}
}

func describeKubernetes(k *Kubernetes) string {
	o := k.ZoneOptions()
	var s strings.Builder
	fmt.Fprintf(&s, "cluster zones %s", strings.Join(o.Zones, " "))
	if len(o.ReverseZones) > 0 {
		fmt.Fprintf(&s, ", reverse zones %s", strings.Join(o.ReverseZones, " "))
	}
	fmt.Fprintf(&s, "; ttl %d; pods %v", k.TTL, k.PodRecords)
	if k.EndpointPodNames {
		s.WriteString("; endpoint_pod_names")
	}
	if k.Zonal {
		s.WriteString("; zonal names of headless services")
	}
	if len(k.Multicluster) > 0 {
		fmt.Fprintf(&s, "; multicluster zones %s (ServiceImports)", strings.Join(k.Multicluster, " "))
	}
	if len(k.Namespaces) > 0 {
		fmt.Fprintf(&s, "; only namespaces %s", strings.Join(k.Namespaces, " "))
	}
	if k.IgnoreEmptyService {
		s.WriteString("; ignore empty_service")
	}
	if len(k.Fallthrough) > 0 {
		fmt.Fprintf(&s, "; name errors in %s go on to forward", strings.Join(k.Fallthrough, " "))
	}
	if k.Kubeconfig != nil {
		fmt.Fprintf(&s, "; API server from kubeconfig %s", k.Kubeconfig.Path)
	} else {
		s.WriteString("; API server in-cluster")
	}
	return s.String()
}
