package manifest

import (
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/controller"
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
	def := controller.DefaultOptions()
	return Options{PodCIDRs: def.PodCIDRs, ServiceCIDRs: def.ServiceCIDRs}
}

// controller returns the options the control plane is played with.
func (o Options) controller() controller.Options {
	return controller.Options{PodCIDRs: o.PodCIDRs, ServiceCIDRs: o.ServiceCIDRs}
}

// normalize fills in defaults, masks the prefixes and checks that there is
// at most one per family (controller.Options.Normalize).
func (o Options) normalize() (Options, error) {
	c, err := o.controller().Normalize()
	if err != nil {
		return o, err
	}
	o.PodCIDRs, o.ServiceCIDRs = c.PodCIDRs, c.ServiceCIDRs
	return o, nil
}
