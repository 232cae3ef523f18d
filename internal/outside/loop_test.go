package outside

import (
	"testing"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/miekg/dns"
)

type nopOutside struct{}

func (nopOutside) Cached(_ *server.Question, out []byte) ([]byte, bool) { return out, false }
func (nopOutside) Resolve(_ *server.Question, reply func([]byte))       { reply(nil) }

// CoreDNS's loop rule: the probe name seen more than twice is a loop; other
// names, other types and a disabled detector never are.
func TestLoopDetectedOnTheThirdProbe(t *testing.T) {
	l := NewLoopDetector(nopOutside{}, ".")
	probe := &server.Question{Name: l.name, Qtype: dns.TypeHINFO}
	other := &server.Question{Name: "x." + l.name, Qtype: dns.TypeHINFO}
	a := &server.Question{Name: l.name, Qtype: dns.TypeA}
	for range 5 {
		l.Cached(other, nil)
		l.Cached(a, nil)
	}
	for i := range 3 {
		select {
		case <-l.Detected():
			t.Fatalf("detected after %d probes", i)
		default:
		}
		l.Cached(probe, nil)
	}
	select {
	case <-l.Detected():
	default:
		t.Fatal("three arrivals of the probe: no loop detected")
	}
	off := NewLoopDetector(nopOutside{}, "cluster.local")
	off.enabled.Store(false)
	for range 5 {
		off.Cached(&server.Question{Name: off.name, Qtype: dns.TypeHINFO}, nil)
	}
	select {
	case <-off.Detected():
		t.Fatal("a disabled detector found a loop")
	default:
	}
	if want := "cluster.local."; len(off.name) <= len(want) || off.name[len(off.name)-len(want):] != want {
		t.Errorf("probe name %q is not in the zone", off.name)
	}
}
