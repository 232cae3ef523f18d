package manifest

import (
	"fmt"
	"net/netip"
)

// Options are the cluster parameters a manifest does not carry.
type Options struct {
	// PodCIDRs are the ranges pod IPs are allocated from, at most one per
	// address family; the first is the primary family. Empty means the
	// default, 10.244.0.0/16.
	PodCIDRs []netip.Prefix
	// ServiceCIDRs are the ranges Service cluster IPs are allocated from, at
	// most one per address family; the first is the primary family. Empty
	// means the default, 10.96.0.0/12.
	ServiceCIDRs []netip.Prefix
	// Limits bound the input (zero fields: the defaults).
	Limits Limits
}

// DefaultOptions returns the options of a default kubeadm or kind cluster:
// single-stack IPv4, pods in 10.244.0.0/16, services in 10.96.0.0/12.
func DefaultOptions() Options {
	return Options{
		PodCIDRs:     []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")},
	}
}

// normalize fills in defaults, masks the prefixes and checks that there is
// at most one per family.
func (o Options) normalize() (Options, error) {
	def := DefaultOptions()
	var err error
	if o.PodCIDRs, err = normalizeCIDRs("pod", o.PodCIDRs, def.PodCIDRs); err != nil {
		return o, err
	}
	if o.ServiceCIDRs, err = normalizeCIDRs("service", o.ServiceCIDRs, def.ServiceCIDRs); err != nil {
		return o, err
	}
	return o, nil
}

func normalizeCIDRs(what string, cidrs, def []netip.Prefix) ([]netip.Prefix, error) {
	if len(cidrs) == 0 {
		return def, nil
	}
	out := make([]netip.Prefix, 0, len(cidrs))
	var seen [2]bool
	for _, p := range cidrs {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid %s CIDR %v", what, p)
		}
		p = p.Masked()
		fam := familyIndex(p.Addr())
		if seen[fam] {
			return nil, fmt.Errorf("%s CIDRs %v: more than one %s range", what, cidrs, familyName(p.Addr()))
		}
		seen[fam] = true
		if p.Bits() == p.Addr().BitLen() {
			return nil, fmt.Errorf("%s CIDR %v has no room for addresses", what, p)
		}
		out = append(out, p)
	}
	return out, nil
}

func familyIndex(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}
