package kubeconv

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// parseIP parses an IP address as the API server accepts it: no zone, no
// IPv4-mapped IPv6 form, no leading zeros.
func parseIP(path Path, s string, ps *Problems) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		ps.add(path, "%q is not a valid IP address", s)
		return netip.Addr{}, false
	}
	return a, true
}

// oneAddressPerFamily reports whether addrs hold at most one IPv4 and one
// IPv6 address.
func oneAddressPerFamily(addrs []netip.Addr) bool {
	n := len(addrs)
	return n < 2 || (n == 2 && cluster.FamilyOf(addrs[0]) != cluster.FamilyOf(addrs[1]))
}

func checkPort(path Path, port int32, ps *Problems) {
	if port < 1 || port > 65535 {
		ps.add(path, "port %d out of range 1-65535", port)
	}
}

func checkDNSLabel(path Path, s string, ps *Problems) {
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		ps.add(path, "invalid DNS label %q: %s", s, strings.Join(errs, "; "))
	}
}

// protocol defaults an empty protocol to TCP, as the API server does.
func protocol(path Path, p corev1.Protocol, ps *Problems) cluster.Protocol {
	switch p {
	case "":
		return cluster.ProtocolTCP
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return cluster.Protocol(p)
	}
	ps.add(path, "unsupported protocol %q: want TCP, UDP or SCTP", p)
	return cluster.Protocol(p)
}

func objectRef(r *corev1.ObjectReference) *cluster.ObjectRef {
	if r == nil {
		return nil
	}
	return &cluster.ObjectRef{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}
