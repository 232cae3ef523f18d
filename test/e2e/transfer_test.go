//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// knotd is where Debian's knot package puts the Knot DNS server.
const knotd = "/usr/sbin/knotd"

// TestZoneTransferToKnotSecondary runs Knot DNS as a secondary of the
// cluster zone: clusterdns with --transfer-to the secondary's address
// (so it may transfer and gets NOTIFY), Knot bootstrapping the zone from
// it. Knot's answers for a few services must be clusterdns's records; a
// change in the cluster must reach Knot within seconds, which with the
// SOA's 7200 s refresh only the NOTIFY does; a client not allowed is
// REFUSED; an update that changes no record leaves the serial alone.
func TestZoneTransferToKnotSecondary(t *testing.T) {
	e := need(t)
	bin := knotd
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("knotd")
		if lerr != nil {
			if required() {
				t.Fatalf("knotd (Knot DNS, Debian package knot) is not installed: %v", err)
			}
			t.Skipf("knotd (Knot DNS, Debian package knot) is not installed, so there is no secondary to transfer to: %v", err)
		}
		bin = p
	}
	start := time.Now()
	ns := e.namespace(t, "xfr")
	zoneApex := zoneName + "."

	// The services compared: a ClusterIP service with two named ports, a
	// headless one with two hand-made endpoints (one with a hostname) and a
	// named port, an ExternalName.
	e.createService(t, ns, "web", []corev1.ServicePort{svcPort("http", 80, "8080"), svcPort("metrics", 9090, "9090")})
	e.createService(t, ns, "db", []corev1.ServicePort{svcPort("pg", 5432, "5432")}, headless, noSelector)
	dbEndpoints := []endpoint{{ip: "10.250.0.1", hostname: "db-0"}, {ip: "10.250.0.2"}}
	e.applySlice(t, ns, "db-1", "db", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{slicePort("pg", 5432)}, dbEndpoints...)
	e.createExternalName(t, ns, "ext", "www.example.com")

	// clusterdns with transfers to (and NOTIFY for) the secondary's port.
	knotPort := freePort()
	knotAddr := net.JoinHostPort("127.0.0.1", itoa(knotPort))
	cd, err := e.startClusterdns("xfr-clusterdns", "127.0.0.1", e.adminKubeconfig, "--transfer-to", knotAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cd.proc.Stop)
	if err := cd.waitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := cd.waitAnswering(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	svcZone := fqdn(ns, "svc") // xfr.svc.cluster.local.
	// clusterdns has the services before the secondary starts.
	eventually(t, 30*time.Second, "clusterdns has the test services", func() (bool, string) {
		_, recs, err := xfrZone(cd.addr, zoneApex, nil)
		if err != nil {
			return false, err.Error()
		}
		got := recordsUnder(recs, svcZone)
		return strings.Contains(strings.Join(got, "\n"), "10-250-0-2.db."+svcZone), strings.Join(got, "; ")
	})

	knot := startKnot(t, e, bin, knotPort, cd.addr)
	dumpOnFailure := func() {
		if t.Failed() {
			t.Logf("knotd log (%s):\n%s", knot.proc.LogPath, knot.proc.Tail(60))
			t.Logf("clusterdns log (%s):\n%s", cd.proc.LogPath, cd.proc.Tail(30))
		}
	}
	t.Cleanup(dumpOnFailure)

	// Knot serves the zone at clusterdns's serial.
	waitSameSerial(t, cd.addr, knotAddr, zoneApex, 20*time.Second)
	t.Logf("knot serves %s after %v", zoneApex, time.Since(start).Round(time.Millisecond))

	// Every A/AAAA/SRV/CNAME of the test services as Knot answers them is
	// clusterdns's AXFR content for those names; and Knot's whole zone is
	// clusterdns's.
	compareServiceNames(t, cd.addr, knotAddr, zoneApex, svcZone)
	compareWholeZones(t, cd.addr, knotAddr, zoneApex)

	// A change through the API reaches Knot at once: NOTIFY.
	before := soaSerial(t, cd.addr, zoneApex)
	changed := time.Now()
	dbEndpoints = append(dbEndpoints, endpoint{ip: "10.250.0.3", hostname: "db-2"})
	e.applySlice(t, ns, "db-1", "db", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{slicePort("pg", 5432)}, dbEndpoints...)
	want := []string{"10.250.0.1", "10.250.0.2", "10.250.0.3"}
	ok, last := poll(10*time.Second, 50*time.Millisecond, func() (bool, string) {
		m, err := exchange(knotAddr, svcName("db", ns), dns.TypeA, qopt{})
		if err != nil {
			return false, err.Error()
		}
		return m.Rcode == dns.RcodeSuccess && slices.Equal(rdata(m, dns.TypeA), want), show(m)
	})
	if !ok {
		t.Fatalf("knot does not answer %s A %v within 10s of the change (its refresh is 7200s: the NOTIFY did not work); last: %s",
			svcName("db", ns), want, last)
	}
	t.Logf("knot answered the new endpoint %v after the change", time.Since(changed).Round(time.Millisecond))
	after := soaSerial(t, cd.addr, zoneApex)
	if after == before || int32(after-before) < 0 {
		t.Errorf("clusterdns serial went from %d to %d on a change, want it to move forward", before, after)
	}
	if notes := knot.linesSince(changed, "notify"); len(notes) == 0 {
		t.Errorf("knot's log has no line about a NOTIFY since the change")
	} else {
		t.Logf("knot: %s", notes[0])
	}
	waitSameSerial(t, cd.addr, knotAddr, zoneApex, 10*time.Second)
	compareServiceNames(t, cd.addr, knotAddr, zoneApex, svcZone)

	// A client outside --transfer-to is refused; 127.0.0.1, inside, is not.
	t.Run("client not allowed is refused", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			from  string
			qtype uint16
			rcode int
		}{
			{"AXFR from 127.0.0.2", "127.0.0.2", dns.TypeAXFR, dns.RcodeRefused},
			{"IXFR from 127.0.0.2", "127.0.0.2", dns.TypeIXFR, dns.RcodeRefused},
			{"AXFR from 127.0.0.1", "127.0.0.1", dns.TypeAXFR, dns.RcodeSuccess},
		} {
			m := new(dns.Msg)
			if tc.qtype == dns.TypeIXFR {
				m.SetIxfr(zoneApex, 1, "ns.example.", "hostmaster.example.")
			} else {
				m.SetAxfr(zoneApex)
			}
			c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second,
				Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tc.from)}}}
			r, _, err := c.Exchange(m, cd.addr)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if r.Rcode != tc.rcode {
				t.Errorf("%s: rcode %s, want %s", tc.name, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			if tc.rcode != dns.RcodeSuccess && len(r.Answer) != 0 {
				t.Errorf("%s: refused with %d records", tc.name, len(r.Answer))
			}
		}
	})

	// Updates that change no record keep the serial.
	t.Run("update changing no record keeps the serial", func(t *testing.T) {
		ctx := ctxFor(t)
		noops := []struct {
			name   string
			write  func(i int) error
			builds bool // the zone is updated (and must find nothing changed)
		}{
			{"endpoint nodeName", func(i int) error {
				es, err := e.cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, "db-1", metav1.GetOptions{})
				if err != nil {
					return err
				}
				node := nodeName
				if i%2 == 1 {
					node = nodeName + "-other"
				}
				for j := range es.Endpoints {
					es.Endpoints[j].NodeName = ptr(node)
				}
				_, err = e.cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, es, metav1.UpdateOptions{})
				return err
			}, true},
			{"service label", func(i int) error {
				patch := fmt.Sprintf(`{"metadata":{"labels":{"e2e-noop":"v%d"}}}`, i)
				_, err := e.cs.CoreV1().Services(ns).Patch(ctx, "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
				return err
			}, false},
		}
		for _, n := range noops {
			// Another test's leftovers may change the zone meanwhile: try
			// again while the zone's content moved under the check.
			var why string
			for attempt := range 3 {
				s1, z1, err := xfrZone(cd.addr, zoneApex, nil)
				if err != nil {
					t.Fatal(err)
				}
				b1 := snapshotBuilds(t, cd)
				if err := n.write(attempt); err != nil {
					t.Fatalf("%s: %v", n.name, err)
				}
				if n.builds {
					eventually(t, 10*time.Second, n.name+": clusterdns applies the update", func() (bool, string) {
						b := snapshotBuilds(t, cd)
						return b > b1, fmt.Sprintf("snapshot builds %v, was %v", b, b1)
					})
				}
				time.Sleep(2 * time.Second)
				s2, z2, err := xfrZone(cd.addr, zoneApex, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(sortedCopy(z1), sortedCopy(z2)) {
					why = fmt.Sprintf("the zone's content changed meanwhile (serial %d to %d)", s1, s2)
					continue
				}
				if s1 != s2 {
					t.Errorf("%s: the zone's records are the same, but its serial went from %d to %d", n.name, s1, s2)
				}
				if ks := soaSerial(t, knotAddr, zoneApex); ks != s2 {
					t.Errorf("%s: knot serves serial %d, clusterdns %d", n.name, ks, s2)
				}
				why = ""
				break
			}
			if why != "" {
				t.Errorf("%s: could not check: %s on every try", n.name, why)
			}
		}
	})
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// knotServer is a running knotd with its log.
type knotServer struct {
	proc *proc
	mu   sync.Mutex
	log  []knotLine
}

type knotLine struct {
	at   time.Time
	text string
}

func (k *knotServer) add(line string) {
	k.mu.Lock()
	k.log = append(k.log, knotLine{time.Now(), line})
	k.mu.Unlock()
}

// linesSince are the log lines written at or after t that contain word,
// in any case.
func (k *knotServer) linesSince(t time.Time, word string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, l := range k.log {
		if !l.at.Before(t) && strings.Contains(strings.ToLower(l.text), strings.ToLower(word)) {
			out = append(out, l.text)
		}
	}
	return out
}

// startKnot runs knotd in the foreground as a secondary of the cluster
// zone, primary clusterdns at primary, listening on 127.0.0.1:port.
func startKnot(t *testing.T, e *environment, bin string, port int, primary string) *knotServer {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"run", "storage"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host, pport, err := net.SplitHostPort(primary)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s/run"
    listen: 127.0.0.1@%[2]d

database:
    storage: "%[1]s/storage"
    journal-db-max-size: 64M
    kasp-db-max-size: 16M
    timer-db-max-size: 16M
    catalog-db-max-size: 16M

log:
  - target: stdout
    any: info

remote:
  - id: clusterdns
    address: %[3]s@%[4]s

acl:
  - id: from_local
    address: 127.0.0.1
    action: [notify, transfer]

template:
  - id: default
    storage: "%[1]s/storage"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none

zone:
  - domain: %[5]s
    master: clusterdns
    acl: from_local
`, dir, port, host, pport, zoneName)
	path := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &knotServer{}
	k.proc = &proc{Name: "knotd", Bin: bin, Args: []string{"-c", path}, LogPath: e.path("xfr-knotd.log"), OnLine: k.add}
	if err := k.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.proc.Stop)
	return k
}

// xfrZone transfers zone from addr (from the address local, when set) and
// returns its serial and its records between the SOAs, as text.
func xfrZone(addr, zone string, local net.Addr) (uint32, []string, error) {
	m := new(dns.Msg)
	m.SetAxfr(zone)
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	tr := &dns.Transfer{Conn: &dns.Conn{Conn: conn}, ReadTimeout: 10 * time.Second}
	defer tr.Close()
	ch, err := tr.In(m, addr)
	if err != nil {
		return 0, nil, err
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			return 0, nil, fmt.Errorf("AXFR %s from %s: %w", zone, addr, env.Error)
		}
		rrs = append(rrs, env.RR...)
	}
	if len(rrs) < 2 {
		return 0, nil, fmt.Errorf("AXFR %s from %s: %d records", zone, addr, len(rrs))
	}
	soa, ok := rrs[0].(*dns.SOA)
	if !ok {
		return 0, nil, fmt.Errorf("AXFR %s from %s starts with %s", zone, addr, rrs[0])
	}
	var out []string
	for _, rr := range rrs[1 : len(rrs)-1] {
		out = append(out, rr.String())
	}
	return soa.Serial, out, nil
}

// recordsUnder are the A, AAAA, SRV and CNAME records of recs (as text)
// at or below name, sorted.
func recordsUnder(recs []string, name string) []string {
	var out []string
	for _, r := range recs {
		rr, err := dns.NewRR(r)
		if err != nil {
			continue
		}
		switch rr.Header().Rrtype {
		case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeCNAME:
		default:
			continue
		}
		if dns.IsSubDomain(name, rr.Header().Name) {
			out = append(out, rr.String())
		}
	}
	slices.Sort(out)
	return out
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// soaSerial is the serial of zone's SOA as the server at addr answers it.
func soaSerial(t *testing.T, addr, zone string) uint32 {
	t.Helper()
	s, err := askSerial(addr, zone)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func askSerial(addr, zone string) (uint32, error) {
	m, err := exchange(addr, zone, dns.TypeSOA, qopt{})
	if err != nil {
		return 0, err
	}
	if m.Rcode != dns.RcodeSuccess || !m.Authoritative || len(m.Answer) != 1 {
		return 0, fmt.Errorf("%s SOA from %s: %s", zone, addr, show(m))
	}
	soa, ok := m.Answer[0].(*dns.SOA)
	if !ok {
		return 0, fmt.Errorf("%s SOA from %s: %s", zone, addr, show(m))
	}
	return soa.Serial, nil
}

// waitSameSerial waits until the secondary serves the primary's serial.
func waitSameSerial(t *testing.T, primary, secondary, zone string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "knot serves clusterdns's serial of "+zone, func() (bool, string) {
		p, err := askSerial(primary, zone)
		if err != nil {
			return false, "clusterdns: " + err.Error()
		}
		s, err := askSerial(secondary, zone)
		if err != nil {
			return false, "knot: " + err.Error()
		}
		return p == s, fmt.Sprintf("clusterdns serial %d, knot %d", p, s)
	})
}

// compareServiceNames asks the secondary every A, AAAA, SRV and CNAME
// name below under that the primary's AXFR holds, and wants exactly the
// primary's records. Retried while the serials differ (a change on its
// way to the secondary).
func compareServiceNames(t *testing.T, primary, secondary, zone, under string) {
	t.Helper()
	var diffs []string
	ok, _ := poll(10*time.Second, 200*time.Millisecond, func() (bool, string) {
		diffs = diffs[:0]
		serial, recs, err := xfrZone(primary, zone, nil)
		if err != nil {
			diffs = append(diffs, err.Error())
			return false, ""
		}
		want := recordsUnder(recs, under)
		if len(want) == 0 {
			diffs = append(diffs, "clusterdns's AXFR has no record under "+under)
			return false, ""
		}
		type question struct {
			name  string
			qtype uint16
		}
		var qs []question
		for _, r := range want {
			rr, _ := dns.NewRR(r)
			q := question{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
			if !slices.Contains(qs, q) {
				qs = append(qs, q)
			}
		}
		var got []string
		for _, q := range qs {
			m, err := exchange(secondary, q.name, q.qtype, qopt{tcp: true})
			if err != nil {
				diffs = append(diffs, fmt.Sprintf("knot %s %s: %v", q.name, dns.TypeToString[q.qtype], err))
				return false, ""
			}
			if m.Rcode != dns.RcodeSuccess || !m.Authoritative {
				diffs = append(diffs, fmt.Sprintf("knot %s %s: %s", q.name, dns.TypeToString[q.qtype], show(m)))
			}
			for _, rr := range m.Answer {
				if rr.Header().Rrtype == q.qtype {
					got = append(got, rr.String())
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			diffs = append(diffs, fmt.Sprintf("knot answers:\n    %s\nclusterdns's AXFR (serial %d):\n    %s",
				strings.Join(got, "\n    "), serial, strings.Join(want, "\n    ")))
		}
		if len(diffs) > 0 {
			if s, err := askSerial(secondary, zone); err == nil && s != serial {
				diffs = append(diffs, fmt.Sprintf("(knot at serial %d)", s))
			}
		}
		return len(diffs) == 0, ""
	})
	if !ok {
		t.Errorf("knot's answers for %s are not clusterdns's records:\n  %s", under, strings.Join(diffs, "\n  "))
	}
}

// compareWholeZones transfers the zone from both servers and wants the
// same records at the same serial.
func compareWholeZones(t *testing.T, primary, secondary, zone string) {
	t.Helper()
	var last string
	ok, _ := poll(10*time.Second, 200*time.Millisecond, func() (bool, string) {
		ps, pz, err := xfrZone(primary, zone, nil)
		if err != nil {
			last = "clusterdns: " + err.Error()
			return false, ""
		}
		ss, sz, err := xfrZone(secondary, zone, nil)
		if err != nil {
			last = "knot: " + err.Error()
			return false, ""
		}
		if ps != ss {
			last = fmt.Sprintf("serials %d (clusterdns) and %d (knot)", ps, ss)
			return false, ""
		}
		pz, sz = sortedCopy(pz), sortedCopy(sz)
		if !slices.Equal(pz, sz) {
			var only []string
			for _, r := range pz {
				if !slices.Contains(sz, r) {
					only = append(only, "clusterdns only: "+r)
				}
			}
			for _, r := range sz {
				if !slices.Contains(pz, r) {
					only = append(only, "knot only: "+r)
				}
			}
			last = fmt.Sprintf("serial %d, %d records in clusterdns, %d in knot:\n    %s", ps, len(pz), len(sz), strings.Join(only, "\n    "))
			return false, ""
		}
		return true, ""
	})
	if !ok {
		t.Errorf("knot's copy of %s is not clusterdns's: %s", zone, last)
	}
}

// snapshotBuilds reads clusterdns_zone_snapshot_builds_total.
func snapshotBuilds(t *testing.T, s *dnsServer) float64 {
	t.Helper()
	resp, err := http.Get(s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == "clusterdns_zone_snapshot_builds_total" {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	io.Copy(io.Discard, resp.Body)
	t.Fatalf("%s/metrics has no clusterdns_zone_snapshot_builds_total", s.metrics)
	return 0
}
