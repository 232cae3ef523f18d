// Package conformance runs the CoreDNS query-and-answer vectors
// (testdata/coredns-cases.json, from shared/conformance) against clusterdns:
// each fixture's objects go through the manifest source and the record
// engine, and every case whose options clusterdns supports is sent as a real
// DNS query to a running server and compared as the file's conventions say.
package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/transfer"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

type vectors struct {
	Objects  map[string][]json.RawMessage `json:"objects"`
	Fixtures map[string]struct {
		Objects map[string][]json.RawMessage `json:"objects"`
	} `json:"fixtures"`
	Cases         []testCase `json:"cases"`
	Derived       []testCase `json:"derived_cases"`
	AXFR          []testCase `json:"axfr_cases"`
	Supplementary []testCase `json:"supplementary_cases"`
}

type testCase struct {
	ID            string         `json:"id"`
	Suite         string         `json:"suite"`
	Qname         string         `json:"qname"`
	Qtype         string         `json:"qtype"`
	Rcode         string         `json:"rcode"`
	Answer        []string       `json:"answer"`
	Ns            []string       `json:"ns"`
	Extra         []string       `json:"extra"`
	PluginOptions map[string]any `json:"plugin_options"`
	Zones         []string       `json:"zones"`
	// UpstreamStub is what CoreDNS's upstream answered for an ExternalName
	// target outside the zone; Truncated is the TC bit CoreDNS copied.
	UpstreamStub *struct {
		Answer    []string `json:"answer"`
		Truncated bool     `json:"truncated"`
	} `json:"upstream_stub"`
	Truncated   bool   `json:"truncated"`
	Fixture     string `json:"fixture"`
	Environment struct {
		LocalIPs  []string `json:"local_ips"`
		APISynced *bool    `json:"api_synced"`
		Transfer  bool     `json:"transfer"`
	} `json:"environment"`
}

// notRun lists the cases clusterdns does not run, with the reason; the
// README repeats it. A case is skipped only for a reason listed here.
var unsupportedOptions = map[string]string{}

// stubOutside is the upstream of a case with an upstream_stub: it answers
// every question with the stub's records (and its TC bit), as CoreDNS's
// test upstream did, where clusterdns asks its Outside (forwarding).
type stubOutside struct {
	answer    []dns.RR
	truncated bool
}

func (*stubOutside) Cached(*server.Question, []byte) ([]byte, bool) { return nil, false }

func (o *stubOutside) Resolve(q *server.Question, reply func([]byte)) {
	req := new(dns.Msg)
	if req.Unpack(q.Msg) != nil {
		reply(nil)
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Answer, m.Truncated = o.answer, o.truncated
	b, _ := m.Pack()
	reply(b)
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "conformance", "coredns-cases.json")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join("testdata", "coredns-cases.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading vectors: %v", err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return &v
}

// fixtureFS writes a fixture's objects as one JSON document per file.
func fixtureFS(objects map[string][]json.RawMessage) fstest.MapFS {
	fs := fstest.MapFS{}
	kinds := make([]string, 0, len(objects))
	for k := range objects {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		for i, o := range objects[k] {
			fs[fmt.Sprintf("%s/%03d.json", k, i)] = &fstest.MapFile{Data: o}
		}
	}
	return fs
}

// skipReason says why a case is not run, or "" if it is.
func skipReason(c testCase) string {
	for opt := range c.PluginOptions {
		if r, ok := unsupportedOptions[opt]; ok {
			return r
		}
	}
	return ""
}

func optionsFor(t testing.TB, c testCase) zone.Options {
	o := zone.DefaultOptions()
	o.Zones, o.ReverseZones = nil, nil
	for _, z := range c.Zones {
		if strings.HasSuffix(z, "in-addr.arpa.") || strings.HasSuffix(z, "ip6.arpa.") {
			o.ReverseZones = append(o.ReverseZones, z)
		} else {
			o.Zones = append(o.Zones, z)
		}
	}
	for k, v := range c.PluginOptions {
		switch k {
		case "namespaces":
			for _, ns := range v.([]any) {
				o.Namespaces = append(o.Namespaces, ns.(string))
			}
		case "pods":
			p, err := zone.ParsePodRecords(v.(string))
			if err != nil {
				t.Fatal(err)
			}
			o.PodRecords = p
		case "ttl":
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil {
				t.Fatal(err)
			}
			o.TTL = uint32(n)
		case "endpoint_pod_names":
			o.EndpointPodNames = true
		case "zonal":
			o.Zonal = true
		case "multicluster":
			for _, z := range v.([]any) {
				o.MulticlusterZones = append(o.MulticlusterZones, z.(string))
			}
		case "ignore":
			if v != "empty_service" {
				t.Fatalf("unknown ignore %v", v)
			}
			o.IgnoreEmptyService = true
		default:
			t.Fatalf("case %s: option %q is neither supported nor listed as unsupported", c.ID, k)
		}
	}
	for _, ip := range c.Environment.LocalIPs {
		o.NameserverIPs = append(o.NameserverIPs, netip.MustParseAddr(ip))
	}
	return o
}

// normalize makes an RR string comparable: the SOA serial is "don't care".
func normalize(rrs []string) []string {
	out := make([]string, 0, len(rrs))
	for _, s := range rrs {
		f := strings.Split(s, "\t")
		if len(f) == 5 && f[3] == "SOA" {
			soa := strings.Fields(f[4])
			if len(soa) == 7 {
				soa[2] = "0"
			}
			f[4] = strings.Join(soa, " ")
			s = strings.Join(f, "\t")
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, rr.String())
	}
	return out
}

type running struct {
	addr string
	srv  *server.Server
}

// startServer serves the snapshot on a loopback port for the test's life.
func startServer(t testing.TB, snap *zone.Snapshot, synced bool) running {
	t.Helper()
	srv := server.New(server.Config{})
	srv.Swap(snap, synced)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- srv.ListenAndServe(ctx, "127.0.0.1:0", func(u, _ net.Addr) { ready <- u.String() })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}
	t.Cleanup(func() { cancel(); <-done })
	return running{addr: addr, srv: srv}
}

func TestCoreDNSConformance(t *testing.T) {
	v := loadVectors(t)
	all := append(append(append(append([]testCase{}, v.Cases...), v.Derived...), v.AXFR...), v.Supplementary...)
	states := map[string]*cluster.State{}
	ran, skipped := 0, map[string]int{}
	for i, c := range all {
		if r := skipReason(c); r != "" {
			skipped[r]++
			continue
		}
		objs := v.Objects
		if c.Fixture != "main" {
			objs = v.Fixtures[c.Fixture].Objects
		}
		st := states[c.Fixture]
		if st == nil {
			st = loadFixture(t, c.Fixture, objs)
			states[c.Fixture] = st
		}
		opts := optionsFor(t, c)
		snap, err := zone.Build(st, opts)
		if err != nil {
			t.Fatalf("%s: build: %v", c.ID, err)
		}
		synced := c.Environment.APISynced == nil || *c.Environment.APISynced
		srv := startServer(t, snap, synced)
		ran++
		if stub := c.UpstreamStub; stub != nil {
			o := &stubOutside{truncated: stub.Truncated}
			for _, rr := range stub.Answer {
				r, err := dns.NewRR(rr)
				if err != nil {
					t.Fatalf("%s: upstream stub record %q: %v", c.ID, rr, err)
				}
				o.answer = append(o.answer, r)
			}
			srv.srv.SetOutside(o, nil)
		}
		if c.Qtype == "AXFR" {
			// The vectors' transfer plugin allows everyone (to *).
			srv.srv.SetTransferer(transfer.New([]transfer.Target{{Any: true}}, nil))
			cl := sourceClusterOf(objs)
			t.Run(c.ID+"/tcp", func(t *testing.T) { checkTransfer(t, srv.addr, c, cl) })
			continue
		}
		// Every case over UDP; every fifth over TCP too.
		nets := []string{"udp"}
		if i%5 == 0 {
			nets = append(nets, "tcp")
		}
		for _, network := range nets {
			t.Run(c.ID+"/"+network, func(t *testing.T) {
				checkCase(t, srv.addr, network, c)
			})
		}
	}
	t.Logf("ran %d of %d cases; not run: %v", ran, len(all), skipped)
	// The numbers in README.md; change both together.
	if ran != 175 {
		t.Errorf("ran %d cases, README says 175", ran)
	}
}

func loadFixture(t *testing.T, name string, objs map[string][]json.RawMessage) *cluster.State {
	t.Helper()
	st, err := manifest.LoadFS(context.Background(), fixtureFS(objs), manifest.DefaultOptions())
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return st
}

// checkTransfer runs an AXFR case: the SOA first and last, the records
// between as a multiset, after the documented differences from CoreDNS
// (zone.Snapshot.Transfer; README): a record CoreDNS repeats is sent once,
// the apex NS addresses carry the zone's TTL, not 0, and in a multicluster
// zone endpoint names carry their cluster, as the names queries answer do
// (CoreDNS transfers <endpoint>.<svc>, a name it answers NXDOMAIN;
// sourceCluster is the fixture's one source cluster).
func checkTransfer(t *testing.T, addr string, c testCase, sourceCluster string) {
	m := new(dns.Msg)
	m.SetAxfr(c.Qname)
	tr := &dns.Transfer{DialTimeout: 3 * time.Second, ReadTimeout: 3 * time.Second}
	env, err := tr.In(m, addr)
	if err != nil {
		t.Fatalf("AXFR %s: %v", c.Qname, err)
	}
	var got []string
	for e := range env {
		if e.Error != nil {
			t.Fatalf("AXFR %s: %v", c.Qname, e.Error)
		}
		got = append(got, rrStrings(e.RR)...)
	}
	if len(got) < 2 || len(c.Answer) < 2 {
		t.Fatalf("AXFR %s: %d records, want %d", c.Qname, len(got), len(c.Answer))
	}
	first, last := normalize(got[:1]), normalize(got[len(got)-1:])
	wantSOA := normalize(c.Answer[:1])
	if first[0] != wantSOA[0] || last[0] != wantSOA[0] {
		t.Errorf("SOA first and last: got %s ... %s, want %s", first[0], last[0], wantSOA[0])
	}
	var want []string
	seen := map[string]bool{}
	for _, rr := range c.Answer[1 : len(c.Answer)-1] {
		f := strings.Split(rr, "\t")
		if len(f) == 5 && strings.HasPrefix(f[0], "ns.dns.") && f[1] == "0" {
			f[1] = "5" // the apex NS addresses: the zone's TTL
			rr = strings.Join(f, "\t")
		}
		if mc, ok := c.PluginOptions["multicluster"]; ok && slices.Contains(mc.([]any), any(c.Qname)) {
			rr = withCluster(rr, c.Qname, sourceCluster)
		}
		if !seen[rr] {
			seen[rr] = true
			want = append(want, rr)
		}
	}
	g, w := normalize(got[1:len(got)-1]), normalize(want)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("transferred records:\n got: %s\nwant: %s", strings.Join(g, "\n      "), strings.Join(w, "\n      "))
	}
}

// withCluster puts the cluster into a record's endpoint names (owner and
// SRV target): <endpoint>.<svc>.<ns>.svc.<zone> becomes
// <endpoint>.<cluster>.<svc>.<ns>.svc.<zone>.
func withCluster(rr, zoneName, cluster string) string {
	name := func(n string) string {
		rel, ok := strings.CutSuffix(n, "."+zoneName)
		if !ok {
			return n
		}
		l := strings.Split(rel, ".")
		if len(l) != 4 || l[3] != "svc" || strings.HasPrefix(l[0], "_") {
			return n
		}
		return l[0] + "." + cluster + "." + strings.Join(l[1:], ".") + "." + zoneName
	}
	f := strings.Split(rr, "\t")
	if len(f) != 5 {
		return rr
	}
	f[0] = name(f[0])
	if f[3] == "SRV" {
		d := strings.Fields(f[4])
		d[3] = name(d[3])
		f[4] = strings.Join(d, " ")
	}
	return strings.Join(f, "\t")
}

// sourceClusterOf is the one source cluster of a fixture's MCS
// EndpointSlices ("" when there are none or several).
func sourceClusterOf(objs map[string][]json.RawMessage) string {
	found := map[string]bool{}
	for _, o := range objs["endpointslices"] {
		var es struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if json.Unmarshal(o, &es) == nil {
			if cl := es.Metadata.Labels["multicluster.kubernetes.io/source-cluster"]; cl != "" {
				found[cl] = true
			}
		}
	}
	if len(found) != 1 {
		return ""
	}
	for cl := range found {
		return cl
	}
	return ""
}

func checkCase(t *testing.T, addr, network string, c testCase) {
	qt, ok := dns.StringToType[c.Qtype]
	if !ok {
		t.Fatalf("unknown qtype %s", c.Qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(c.Qname, qt)
	cl := &dns.Client{Net: network, Timeout: 3 * time.Second}
	resp, _, err := cl.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", c.Qname, c.Qtype, err)
	}
	if c.Truncated != resp.Truncated && (c.UpstreamStub != nil) {
		t.Errorf("TC = %v, want %v (copied from the upstream's answer)", resp.Truncated, c.Truncated)
	}
	if resp.Truncated && network == "udp" && c.UpstreamStub == nil {
		// Too big for 512 bytes: as a resolver does, ask again over TCP
		// (the vectors hold the whole answer).
		cl.Net = "tcp"
		if resp, _, err = cl.Exchange(m, addr); err != nil {
			t.Fatalf("query %s %s over TCP after TC: %v", c.Qname, c.Qtype, err)
		}
	}
	if got := dns.RcodeToString[resp.Rcode]; got != c.Rcode {
		t.Errorf("rcode = %s, want %s", got, c.Rcode)
	}
	if resp.Rcode != dns.RcodeRefused && !resp.Authoritative {
		t.Errorf("AA not set")
	}
	if len(resp.Question) != 1 || resp.Question[0].Name != c.Qname {
		t.Errorf("question = %v, want %s echoed", resp.Question, c.Qname)
	}
	for _, sec := range []struct {
		name      string
		got, want []string
	}{
		{"answer", rrStrings(resp.Answer), c.Answer},
		{"ns", rrStrings(resp.Ns), c.Ns},
		{"extra", rrStrings(resp.Extra), c.Extra},
	} {
		g, w := normalize(sec.got), normalize(sec.want)
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s section:\n got: %s\nwant: %s", sec.name, strings.Join(g, "\n      "), strings.Join(w, "\n      "))
		}
	}
}
