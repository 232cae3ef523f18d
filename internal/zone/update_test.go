package zone

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/miekg/dns"
)

// allQuestions lists every listed name of both snapshots with the types
// worth asking.
func allQuestions(snaps ...*Snapshot) []Question {
	seen := map[string]bool{}
	for _, s := range snaps {
		s.eachName(func(n nameInfo) { seen[n.name] = true })
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	var qs []Question
	for _, n := range names {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT, dns.TypeNS, dns.TypeSOA} {
			qs = append(qs, Question{Name: n, Type: t})
		}
	}
	return qs
}

func sameAnswers(t *testing.T, step string, inc, full *Snapshot) {
	t.Helper()
	for _, q := range allQuestions(inc, full) {
		a, b := inc.Lookup(q.Name, q.Type), full.Lookup(q.Name, q.Type)
		if x, y := answerOf(a), answerOf(b); x != y {
			t.Fatalf("%s: %s %s: incremental %s, full build %s", step, q.Name, dns.TypeToString[q.Type], x, y)
		}
		if a.Precomputed() != b.Precomputed() {
			t.Fatalf("%s: %s %s: precomputed differs", step, q.Name, dns.TypeToString[q.Type])
		}
		if wa, wb := a.Wire(q.Name, q.Type), b.Wire(q.Name, q.Type); string(wa.Buf) != string(wb.Buf) && !a.Negative() {
			t.Fatalf("%s: %s %s: wire differs", step, q.Name, dns.TypeToString[q.Type])
		}
	}
	for _, q := range allQuestions(inc) {
		serverAgrees(t, step, inc, q)
	}
	if inc.Stats != full.Stats {
		t.Fatalf("%s: stats %+v vs %+v", step, inc.Stats, full.Stats)
	}
}

// changeFor makes the Change that tells a snapshot the current state of
// the given services, pods and (if nsChanged) namespaces.
func changeFor(st *cluster.State, serial uint32, nsChanged bool, svcKeys []string, pods []string) Change {
	ch := Change{Serial: serial}
	if nsChanged {
		ch.Namespaces = []string{}
		for _, ns := range st.Namespaces {
			ch.Namespaces = append(ch.Namespaces, ns.Name)
		}
	}
	for _, k := range svcKeys {
		u := ServiceUpdate{}
		for i := range st.Services {
			if ServiceKey(st.Services[i].Namespace, st.Services[i].Name) == k {
				u.Service = &st.Services[i]
				u.Namespace, u.Name = u.Service.Namespace, u.Service.Name
			}
		}
		if u.Service == nil {
			name, ns, _ := cut(k)
			u.Name, u.Namespace = name, ns
		}
		for i := range st.EndpointSlices {
			es := &st.EndpointSlices[i]
			if ServiceKey(es.Namespace, es.ServiceName) == k {
				u.Slices = append(u.Slices, es)
			}
		}
		ch.Services = append(ch.Services, u)
	}
	for _, pk := range pods {
		ns, name, _ := cutSlash(pk)
		u := PodUpdate{Namespace: ns, Name: name}
		for i := range st.Pods {
			if st.Pods[i].Namespace == ns && st.Pods[i].Name == name {
				u.Pod = &st.Pods[i]
			}
		}
		ch.Pods = append(ch.Pods, u)
	}
	return ch
}

func cut(k string) (string, string, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

func cutSlash(k string) (string, string, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

// TestUpdateMatchesFullBuild applies random changes one at a time to a
// snapshot with Update and checks, after each, that it answers every
// question exactly as a snapshot built whole from the same state.
func TestUpdateMatchesFullBuild(t *testing.T) {
	for _, mode := range []PodRecords{PodsDisabled, PodsVerified} {
		t.Run(mode.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(mode)))
			st := testState()
			opts := DefaultOptions()
			opts.PodRecords = mode
			opts.NameserverIPs = []netip.Addr{ip("10.244.0.2")}
			inc, err := Build(st, opts)
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 300; step++ {
				serial := uint32(step + 1)
				var desc string
				var ch Change
				switch rng.IntN(7) {
				case 0: // flip an endpoint's readiness
					// The snapshots hold the old values: a change makes new ones.
					st.EndpointSlices = slices.Clone(st.EndpointSlices)
					es := &st.EndpointSlices[rng.IntN(len(st.EndpointSlices))]
					es.Endpoints = slices.Clone(es.Endpoints)
					e := &es.Endpoints[rng.IntN(len(es.Endpoints))]
					e.Conditions.Ready = cluster.Bool(e.Conditions.Ready.IsFalse())
					desc = "ready flip in " + es.Name
					ch = changeFor(st, serial, false, []string{ServiceKey(es.Namespace, es.ServiceName)}, nil)
				case 1: // move an endpoint to a new address
					st.EndpointSlices = slices.Clone(st.EndpointSlices)
					es := &st.EndpointSlices[rng.IntN(len(st.EndpointSlices))]
					es.Endpoints = slices.Clone(es.Endpoints)
					e := &es.Endpoints[rng.IntN(len(es.Endpoints))]
					if es.AddressType == cluster.AddressTypeIPv4 {
						e.Addresses = cluster.AddressesOf(netip.AddrFrom4([4]byte{10, 244, byte(rng.IntN(3)), byte(1 + rng.IntN(20))}))
					}
					desc = "address change in " + es.Name
					ch = changeFor(st, serial, false, []string{ServiceKey(es.Namespace, es.ServiceName)}, nil)
				case 2: // delete or re-add a service
					if len(st.Services) < 4 {
						orig := testState().Services[rng.IntN(len(testState().Services))]
						st.Services = append(st.Services, orig)
						key := ServiceKey(orig.Namespace, orig.Name)
						desc = "re-add " + key
						ch = changeFor(st, serial, false, []string{key}, nil)
						break
					}
					i := rng.IntN(len(st.Services))
					svc := st.Services[i]
					key := ServiceKey(svc.Namespace, svc.Name)
					st.Services = append(st.Services[:i:i], st.Services[i+1:]...)
					desc = "delete " + key
					ch = changeFor(st, serial, false, []string{key}, nil)
					if rng.IntN(2) == 0 {
						inc = inc.Update(ch)
						svc.Headless = !svc.Headless && svc.Type != cluster.ServiceTypeExternalName
						if svc.Headless {
							svc.ClusterIPs = nil
						} else if svc.Type != cluster.ServiceTypeExternalName && len(svc.ClusterIPs) == 0 {
							svc.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, 1, byte(rng.IntN(250))})}
						}
						st.Services = append(st.Services, svc)
						desc = "recreate " + key + " with headless flipped"
						ch = changeFor(st, serial, false, []string{key}, nil)
					}
				case 3: // namespaces come and go
					if len(st.Namespaces) > 1 && rng.IntN(2) == 0 {
						st.Namespaces = st.Namespaces[:len(st.Namespaces)-1]
						desc = "namespace removed"
						ch = changeFor(st, serial, true, nil, nil)
					} else {
						st.Namespaces = append(st.Namespaces, cluster.Namespace{Name: "ns"})
						st.Namespaces = dedupNS(st.Namespaces)
						desc = "namespace ns present"
						var keys []string
						for _, s := range st.Services {
							keys = append(keys, ServiceKey(s.Namespace, s.Name))
						}
						ch = changeFor(st, serial, true, keys, nil)
					}
				case 4, 5: // pods
					name := fmt.Sprintf("p%d", rng.IntN(4))
					found := -1
					for i := range st.Pods {
						if st.Pods[i].Name == name {
							found = i
						}
					}
					if found >= 0 && rng.IntN(3) == 0 {
						st.Pods = append(st.Pods[:found:found], st.Pods[found+1:]...)
						desc = "delete pod " + name
					} else {
						p := cluster.Pod{Name: name, Namespace: "ns", Phase: cluster.PodRunning, Ready: true,
							IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 244, 9, byte(1 + rng.IntN(3))})}}
						if found >= 0 {
							st.Pods[found] = p
						} else {
							st.Pods = append(st.Pods, p)
						}
						desc = "set pod " + name
					}
					ch = changeFor(st, serial, false, nil, []string{"ns/" + name})
				case 6: // only the serial moves
					desc = "serial"
					ch = Change{Serial: serial}
				}
				prev := inc
				inc = inc.Update(ch)
				o := opts
				o.Serial = serial
				full, err := Build(st, o)
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("step %d (%s)", step, desc)
				// The serial moves when, and only when, the content does.
				if !inc.SameContent(full) {
					t.Errorf("%s: the incremental snapshot's content digest differs from the full build's", what)
				}
				if inc.SameContent(prev) {
					if inc.Serial != prev.Serial {
						t.Errorf("%s: content unchanged, serial %d -> %d", what, prev.Serial, inc.Serial)
					}
					sameAnswers(t, what+", same content as before", inc, prev)
				} else if inc.Serial != serial {
					t.Errorf("%s: content changed, serial %d, want %d", what, inc.Serial, serial)
				}
				sameAnswers(t, what, inc, full.WithSerial(inc.Serial))
			}
		})
	}
}

func dedupNS(in []cluster.Namespace) []cluster.Namespace {
	seen := map[string]bool{}
	var out []cluster.Namespace
	for _, n := range in {
		if !seen[n.Name] {
			seen[n.Name] = true
			out = append(out, n)
		}
	}
	return out
}

// TestUpdateSharesUntouchedFragments checks the point of Update: a change
// to one service leaves every other service's fragment as it was.
func TestUpdateSharesUntouchedFragments(t *testing.T) {
	st := testState()
	s, err := Build(st, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	st.EndpointSlices = slices.Clone(st.EndpointSlices)
	st.EndpointSlices[0].Endpoints = slices.Clone(st.EndpointSlices[0].Endpoints)
	st.EndpointSlices[0].Endpoints[1].Conditions.Ready = cluster.Bool(false)
	n := s.Update(changeFor(st, 2, false, []string{ServiceKey("ns", "h")}, nil))
	if s.services.get("a.ns") != n.services.get("a.ns") {
		t.Error("untouched service a was rebuilt")
	}
	if s.services.get("h.ns") == n.services.get("h.ns") {
		t.Error("changed service h was not rebuilt")
	}
	if got := answerOf(s.Lookup("h.ns.svc.cluster.local.", dns.TypeA)); got != "NOERROR: h.ns.svc.cluster.local. A 10.244.0.1; h.ns.svc.cluster.local. A 10.244.0.2" {
		t.Errorf("old snapshot changed: %s", got)
	}
	if got := answerOf(n.Lookup("h.ns.svc.cluster.local.", dns.TypeA)); got != "NOERROR: h.ns.svc.cluster.local. A 10.244.0.1" {
		t.Errorf("new snapshot: %s", got)
	}
	if got := answerOf(n.Lookup("2.0.244.10.in-addr.arpa.", dns.TypePTR)); got != "NXDOMAIN" {
		t.Errorf("PTR of the now unready endpoint: %s", got)
	}
}

// serverAgrees checks that the wire answer a server gets (LookupWire, then
// the patches for a query in upper case) says what Lookup's records say:
// the names not stored are packed from the same items the records are made
// of, by another packer.
func serverAgrees(t *testing.T, step string, s *Snapshot, q Question) {
	t.Helper()
	var sc Scratch
	name := lowerASCII(dns.Fqdn(q.Name))
	w, r := s.LookupWire(name, q.Type, &sc), s.Lookup(name, q.Type)
	if w.Rcode != r.Rcode || w.Zone != r.Zone || w.Negative() != r.Negative() {
		t.Fatalf("%s: %s %s: LookupWire %d %q negative=%v, Lookup %d %q negative=%v", step, name, dns.TypeToString[q.Type],
			w.Rcode, w.Zone, w.Negative(), r.Rcode, r.Zone, r.Negative())
	}
	if r.Zone == "" || r.Negative() {
		return
	}
	upper := strings.ToUpper(name)
	asServed := func(a *Answer) string {
		wire := a.Wire(name, q.Type)
		buf := append([]byte(nil), wire.Buf...)
		qn := make([]byte, 0, 256)
		qn = appendLabels(qn, upper)
		copy(buf[12:], qn)
		zl := wireLen(a.Zone)
		for _, p := range wire.Patches {
			copy(buf[p:p+zl], qn[len(qn)-zl:])
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf); err != nil {
			t.Fatalf("%s: %s %s: unpacking: %v", step, name, dns.TypeToString[q.Type], err)
		}
		var out []string
		for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range sec {
				out = append(out, rr.String())
			}
			out = append(out, "|")
		}
		return fmt.Sprintf("%s %v %s", dns.RcodeToString[m.Rcode], m.Authoritative, strings.Join(out, "\n"))
	}
	if x, y := asServed(w), asServed(r); x != y {
		t.Fatalf("%s: %s %s: served\n%s\nrecords\n%s", step, name, dns.TypeToString[q.Type], x, y)
	}
	if got, want := strings.Count(asServed(w), "\n")-2, len(r.Answer)+len(r.Ns)+len(r.Extra); got != want {
		t.Fatalf("%s: %s %s: %d records served, %d in the answer", step, name, dns.TypeToString[q.Type], got, want)
	}
}

// TestParallelBuildMatchesSerial: a change of many services derives their
// fragments on every core; the snapshot answers as one made a service at a
// time (and, under -race, without a data race).
func TestParallelBuildMatchesSerial(t *testing.T) {
	st := &cluster.State{Namespaces: []cluster.Namespace{{Name: "ns"}}}
	ready := true
	for i := range 2 * parallelFragments {
		name := fmt.Sprintf("s%d", i)
		svc := cluster.Service{Name: name, Namespace: "ns", Type: cluster.ServiceTypeClusterIP, Headless: i%2 == 0,
			Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}}
		if !svc.Headless {
			svc.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})}
		}
		st.Services = append(st.Services, svc)
		p := int32(8080)
		es := cluster.EndpointSlice{Name: name + "-x", Namespace: "ns", ServiceName: name, AddressType: cluster.AddressTypeIPv4,
			Ports: []cluster.EndpointPort{{Name: "http", Port: &p, Protocol: cluster.ProtocolTCP}}}
		for j := range 3 {
			es.Endpoints = append(es.Endpoints, cluster.Endpoint{Hostname: fmt.Sprintf("h%d", j), Conditions: cluster.EndpointConditions{Ready: cluster.Bool(ready)},
				Addresses: cluster.AddressesOf(netip.AddrFrom4([4]byte{10, 244, byte(i >> 6), byte(i%64*3 + j)}))})
		}
		st.EndpointSlices = append(st.EndpointSlices, es)
	}
	full, err := Build(st, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	inc, err := Empty(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	inc = inc.Update(Change{Serial: full.Serial, Namespaces: []string{"ns"}})
	for i := range st.Services {
		inc = inc.Update(changeFor(st, full.Serial, false, []string{ServiceKey("ns", st.Services[i].Name)}, nil))
	}
	sameAnswers(t, "one service at a time", inc, full)
}
