package explain

import (
	"fmt"
	"strings"

	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// SetAutopath tells the explainer that the server expands first steps
// (`serve --autopath`) as cfg says (its zones default to the explainer's):
// for a name the cluster zone answers NXDOMAIN, explanations then say what
// autopath answers instead, or why it does not expand the name. It decides
// and walks with package autopath's model, the server's own code.
func (e *Explainer) SetAutopath(cfg autopath.Config) error {
	if len(cfg.Zones) == 0 {
		cfg.Zones = e.zones
	}
	if _, err := autopath.NewModel(cfg, e.base, nil); err != nil {
		return err
	}
	e.autopath = &cfg
	return nil
}

// fullSnapshot is the engine over the whole state, built once: autopath
// decides on every Service (a name under one is not expanded) and its walk
// may end at any name.
func (e *Explainer) fullSnapshot() *zone.Snapshot {
	if e.full == nil {
		snap, err := zone.Build(e.state, e.opts)
		if err != nil {
			// New validated the options; Build cannot fail on them.
			panic(err)
		}
		e.full = snap
	}
	return e.full
}

// autopathEvent is what a server with autopath does with name as the
// first question of a client: the walk's names in the cluster zone are
// answered by the engine, the others are forwarded, which explain cannot
// answer (the walk stops there, NoAnswer). ok is false when autopath is
// off or the server would not hand the question to it (not an NXDOMAIN of
// the cluster zone).
func (e *Explainer) autopathEvent(name string, qtype uint16) (autopath.Event, bool) {
	if e.autopath == nil {
		return autopath.Event{}, false
	}
	snap := e.fullSnapshot()
	m, err := autopath.NewModel(*e.autopath, snap, func(n string, qt uint16) (int, int) {
		a := snap.Lookup(n, qt)
		if a.Zone == "" {
			return autopath.NoAnswer, 0 // forwarded
		}
		return a.Rcode, len(a.Answer)
	})
	if err != nil {
		return autopath.Event{}, false // SetAutopath checked the configuration
	}
	ev := m.Explain(name, qtype)
	return ev, ev.Considered
}

// addAutopath adds the autopath cause for name, a question of a pod,
// when the server would hand it to autopath: what the client gets
// instead of the NXDOMAIN, or why autopath leaves the NXDOMAIN alone.
func (e *Explainer) addAutopath(r *Result, name string, qtype uint16) bool {
	ev, ok := e.autopathEvent(name, qtype)
	if !ok {
		return false
	}
	name = dns.Fqdn(name)
	o := ev.Walk
	c := Cause{Code: CodeAutopath, Severity: SeverityInfo, Object: name}
	switch {
	case ev.Why != "":
		c.Message = fmt.Sprintf("with autopath on, the server does not expand %s: %s; the client gets this NXDOMAIN and walks on through its search list", name, ev.Why)
	case o.CNAME():
		c.Message = fmt.Sprintf("with autopath on, the server answers %s with a CNAME to %s and its %s records, where the client's search walk would end (step %d): the client stops there, %d question(s) per type fewer", name, o.Name, typeName(qtype), o.Saved, o.Saved)
	case o.Expanded():
		c.Message = fmt.Sprintf("with autopath on, the server answers %s with NODATA: %s, where the client's search walk would end (step %d), exists without %s records", name, o.Name, o.Saved, typeName(qtype))
	case o.Rcode == autopath.NoAnswer:
		c.Message = fmt.Sprintf("with autopath on, the server walks the client's search list for %s: %s; then it asks %s, outside the cluster zone (forwarded), and answers the first that exists with a CNAME to it and its records, or this NXDOMAIN when none does",
			name, nxdomains(ev.Asked), strings.Join(from(ev.Candidates, o.Name), ", "))
	case o.Name == "":
		c.Message = fmt.Sprintf("with autopath on, the server walks the client's search list for %s, but no name on it exists (%s): the client gets this NXDOMAIN", name, nxdomains(ev.Asked))
	default:
		c.Message = fmt.Sprintf("with autopath on, the server's walk for %s stops at %s (%s): the client gets this NXDOMAIN and walks on", name, o.Name, dns.RcodeToString[o.Rcode])
	}
	if ev.Learned {
		c.Message += fmt.Sprintf(" (for a pod whose own walk the server has seen: a pod's first lookup in its namespace, and one every %v, is not expanded and shows the server the pod's search list)", autopath.DefaultTrustFor)
	}
	r.add(c)
	sortCauses(r.Causes)
	return true
}

// nxdomains names the steps the walk found NXDOMAIN.
func nxdomains(asked []autopath.Asked) string {
	var out []string
	for _, a := range asked {
		if a.Rcode == dns.RcodeNameError {
			out = append(out, a.Name)
		}
	}
	switch len(out) {
	case 0:
		return "none of its names is in the cluster zone"
	case 1:
		return out[0] + " is NXDOMAIN"
	}
	return strings.Join(out, ", ") + " are NXDOMAIN"
}

// from is names from name on.
func from(names []string, name string) []string {
	for i, n := range names {
		if n == name {
			return names[i:]
		}
	}
	return []string{name}
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}
