package resolv

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Upstream says how a dry run answers names outside the cluster zones,
// which a cluster DNS server forwards and the record engine cannot know.
type Upstream int

// Upstream policies.
const (
	// UpstreamAssume: the name as given (with a trailing dot) has one A
	// record and no AAAA when it looks external: it has a dot and its last
	// label is not a namespace or a service of the cluster (www.example.com,
	// not web-0.web or web.default). Every other name outside the zones is
	// NXDOMAIN (the node-domain expansions, a mistyped cluster name).
	UpstreamAssume Upstream = iota
	// UpstreamNXDOMAIN: every name outside the zones is NXDOMAIN.
	UpstreamNXDOMAIN
	// UpstreamRefused: every name outside the zones is REFUSED, as
	// `clusterdns serve` answers them (it does not forward).
	UpstreamRefused
)

// ParseUpstream reads --upstream: assume, nxdomain or refused.
func ParseUpstream(s string) (Upstream, error) {
	switch strings.ToLower(s) {
	case "assume", "":
		return UpstreamAssume, nil
	case "nxdomain":
		return UpstreamNXDOMAIN, nil
	case "refused":
		return UpstreamRefused, nil
	}
	return 0, fmt.Errorf("--upstream %q: want assume, nxdomain or refused", s)
}

// Answers is the AnswerFunc of a dry run: the record engine's answer for
// names in the snapshot's zones (rcode, and the records of the answer
// section: a CNAME to a name outside the zones counts, the cluster DNS
// would chase it), up for the rest. name is the name being looked up.
func Answers(snap *zone.Snapshot, name string, up Upstream) AnswerFunc {
	asIs := strings.ToLower(strings.TrimSuffix(name, ".") + ".")
	external := up == UpstreamAssume && LooksExternal(snap, name)
	return func(q string, qtype uint16) (int, int) {
		a := snap.Lookup(q, qtype)
		if a.Zone != "" {
			return a.Rcode, len(a.Answer)
		}
		switch up {
		case UpstreamRefused:
			return dns.RcodeRefused, 0
		case UpstreamAssume:
			if external && strings.ToLower(q) == asIs {
				if qtype == dns.TypeA {
					return dns.RcodeSuccess, 1
				}
				return dns.RcodeSuccess, 0
			}
		}
		return dns.RcodeNameError, 0
	}
}

// InZone reports whether the record engine answers name (a dry run's
// other answers are assumptions).
func InZone(snap *zone.Snapshot, name string) bool {
	return snap.Lookup(name, dns.TypeSOA).Zone != ""
}

// LooksExternal reports whether name, looked up as is, is taken for a name
// on the Internet rather than a cluster name written short: it has a dot,
// is not under a served zone, and its last label is neither a namespace
// nor a service of the cluster nor svc or pod.
func LooksExternal(snap *zone.Snapshot, name string) bool {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	i := strings.LastIndexByte(n, '.')
	if i < 0 || InZone(snap, n+".") {
		return false
	}
	last := n[i+1:]
	if last == "svc" || last == "pod" || snap.ExposedNamespace(last) {
		return false
	}
	for _, svc := range snap.Services() {
		if strings.EqualFold(svc.Name, last) {
			return false
		}
	}
	return true
}
