package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/examples"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/spf13/cobra"
)

// The flag groups shared by the commands. Their defaults are the packages'
// defaults (manifest.DefaultOptions, zone.DefaultOptions, ...), read here,
// never restated; TestFlagDefaults pins them.

// stateFlags are the flags of every command that reads cluster state.
type stateFlags struct {
	manifests    []string
	podCIDRs     []string
	serviceCIDRs []string
	limits       manifest.Limits
}

func (f *stateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.manifests, "manifests", nil, "manifest file or directory (recursive) to read cluster state from, - for stdin; repeatable. Without it the embedded example cluster is used")
	f.registerCIDRs(cmd)
	f.registerLimits(cmd)
}

// registerCIDRs adds the flags saying where IPs the manifests leave out
// come from.
func (f *stateFlags) registerCIDRs(cmd *cobra.Command) {
	def := manifest.DefaultOptions()
	fl := cmd.Flags()
	fl.StringSliceVar(&f.podCIDRs, "pod-cidr", prefixStrings(def.PodCIDRs), "CIDRs (one per family) pod IPs are given from, for pods whose manifests have none")
	fl.StringSliceVar(&f.serviceCIDRs, "service-cidr", prefixStrings(def.ServiceCIDRs), "CIDRs (one per family) cluster IPs are given from, for services whose manifests have none")
}

// registerLimits adds the flags bounding a manifest input.
func (f *stateFlags) registerLimits(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.Int64Var(&f.limits.MaxBytes, "manifest-max-bytes", manifest.DefaultMaxBytes, "most bytes of manifests read in all; a larger input is an error")
	fl.Int64Var(&f.limits.MaxValues, "manifest-max-values", manifest.DefaultMaxValues, "most values (mappings, lists, scalars) in all the manifests, YAML aliases expanded; more is an error")
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func parsePrefixes(flag string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flag, v, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (f *stateFlags) manifestOptions() (manifest.Options, error) {
	o := manifest.DefaultOptions()
	var err error
	if o.PodCIDRs, err = parsePrefixes("pod-cidr", f.podCIDRs); err != nil {
		return o, err
	}
	if o.ServiceCIDRs, err = parsePrefixes("service-cidr", f.serviceCIDRs); err != nil {
		return o, err
	}
	if f.limits.MaxBytes < 1 {
		return o, fmt.Errorf("--manifest-max-bytes %d: want at least 1", f.limits.MaxBytes)
	}
	if f.limits.MaxValues < 1 {
		return o, fmt.Errorf("--manifest-max-values %d: want at least 1", f.limits.MaxValues)
	}
	o.Limits = f.limits
	return o, nil
}

// embedded reports whether the example cluster is the source.
func (f *stateFlags) embedded() bool { return len(f.manifests) == 0 }

// watchable reports whether the source is files that can be watched (not
// the embedded example, not stdin).
func (f *stateFlags) watchable() bool {
	for _, p := range f.manifests {
		if p == "-" {
			return false
		}
	}
	return !f.embedded()
}

// sourceName names the source in logs.
func (f *stateFlags) sourceName() string {
	if f.embedded() {
		return "embedded example cluster"
	}
	return strings.Join(f.manifests, ",")
}

// load reads the cluster state once.
func (f *stateFlags) load(ctx context.Context, stdin io.Reader) (*cluster.State, error) {
	o, err := f.manifestOptions()
	if err != nil {
		return nil, err
	}
	if f.embedded() {
		sub, err := fs.Sub(examples.Cluster, "cluster")
		if err != nil {
			return nil, fmt.Errorf("opening the embedded example: %w", err)
		}
		return manifest.LoadFS(ctx, sub, o)
	}
	return manifest.Load(ctx, f.manifests, stdin, o)
}

// zoneFlags are the record engine's options.
type zoneFlags struct {
	zones            []string
	reverseZones     []string
	ttl              uint32
	podRecords       string
	endpointPodNames bool
	namespaces       []string
	ignoreEmpty      bool
	zonal            bool
	multicluster     []string
}

func (f *zoneFlags) register(cmd *cobra.Command) {
	def := zone.DefaultOptions()
	fl := cmd.Flags()
	fl.StringArrayVar(&f.zones, "zone", flagZones(def.Zones), "cluster domain to serve; repeatable (the first is used for PTR targets)")
	fl.StringArrayVar(&f.reverseZones, "reverse-zone", flagZones(def.ReverseZones), "reverse zone to answer PTR queries in; repeatable")
	fl.Uint32Var(&f.ttl, "ttl", def.TTL, fmt.Sprintf("TTL of every record, 0 to %d seconds (dns-version keeps 28800)", zone.MaxTTL))
	fl.StringVar(&f.podRecords, "pod-records", def.PodRecords.String(), "<a-b-c-d>.<ns>.pod.<zone> names: disabled, insecure or verified")
	fl.BoolVar(&f.endpointPodNames, "endpoint-pod-names", def.EndpointPodNames, "name endpoints without a hostname after their pod instead of their IP")
	fl.StringSliceVar(&f.namespaces, "namespaces", def.Namespaces, "serve only these namespaces (default: all)")
	fl.BoolVar(&f.ignoreEmpty, "ignore-empty-service", def.IgnoreEmptyService, "NXDOMAIN for ClusterIP services with no ready endpoints")
	fl.StringArrayVar(&f.multicluster, "multicluster-zone", nil, "a served zone (--zone) answered from Multi-Cluster Services ServiceImports and their EndpointSlices, e.g. clusterset.local (CoreDNS's multicluster); repeatable")
	fl.BoolVar(&f.zonal, "zonal", def.Zonal, "answer <topology-zone>.pin|prefer._zone.<svc>.<ns>.svc.<zone> for headless services from their endpoints' zone (CoreDNS's zonal)")
}

// flagZones shows zones as a person types them: without the final dot.
func flagZones(zones []string) []string {
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = strings.TrimSuffix(z, ".")
	}
	return out
}

// options returns the zone options the flags give, checked by package
// zone (the TTL range, the zones): the rules about them live there.
func (f *zoneFlags) options() (zone.Options, error) {
	o := zone.DefaultOptions()
	o.Zones = f.zones
	o.ReverseZones = f.reverseZones
	o.TTL = f.ttl
	p, err := zone.ParsePodRecords(f.podRecords)
	if err != nil {
		return o, fmt.Errorf("--pod-records: %w", err)
	}
	o.PodRecords = p
	o.EndpointPodNames = f.endpointPodNames
	o.Namespaces = f.namespaces
	o.IgnoreEmptyService = f.ignoreEmpty
	o.Zonal = f.zonal
	o.MulticlusterZones = f.multicluster
	if _, err := zone.Empty(o); err != nil {
		return o, err
	}
	return o, nil
}
