package main

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParsePerf(t *testing.T) {
	out := `Statistics:

  Queries sent:         887525
  Queries completed:    887520 (100.00%)
  Queries lost:         5 (0.00%)

  Response codes:       NOERROR 887000 (99.94%), NXDOMAIN 520 (0.06%)
  Average packet size:  request 57, response 93
  Run time (s):         3.000224
  Queries per second:   295817.542106

  Average Latency (s):  0.000212 (min 0.000010, max 0.004102)
  Latency StdDev (s):   0.000197
`
	var r perfResult
	parsePerf(out, &r)
	if r.sent != 887525 || r.completed != 887520 || r.lost != 5 || r.qps != 295817.542106 || r.avgLatency != 0.000212 {
		t.Errorf("parsed %+v", r)
	}
	if r.rcodes["NOERROR"] != 887000 || r.rcodes["NXDOMAIN"] != 520 {
		t.Errorf("rcodes %v", r.rcodes)
	}
}

// The ClusterFirst mix is what a pod in clientNS with ndots:5 sends: for
// "<svc>.<ns>", one NXDOMAIN then the hit; for the 4-dot name, three search
// domains then the name itself; each with A and AAAA.
func TestClusterFirstMix(t *testing.T) {
	st := newState()
	for i, ns := range []string{"bench-0", "bench-1"} {
		st.add(&service{ns: ns, name: "svc-" + string(rune('a'+i)), clusterIP: "10.96.0.1"})
		st.add(&service{ns: ns, name: "hl-" + string(rune('a'+i)), headless: true, eps: []endpoint{{ip: "10.128.0.1", hostname: "p0"}}})
	}
	qs := mixQueries(st, mixB)
	var b strings.Builder
	for _, q := range qs[:12] {
		b.WriteString(q.String() + "\n")
	}
	got := b.String()
	// The first lookup is "<svc>.<ns>", the second the 4-dot form.
	first := qs[0].name[:strings.Index(qs[0].name, ".bench-0.svc.")]
	svc := strings.Split(first, ".")[0]
	ns := strings.Split(first, ".")[1]
	want := []string{
		svc + "." + ns + ".bench-0.svc.cluster.local. A", svc + "." + ns + ".bench-0.svc.cluster.local. AAAA",
		svc + "." + ns + ".svc.cluster.local. A", svc + "." + ns + ".svc.cluster.local. AAAA",
	}
	for i, w := range want {
		if qs[i].String() != w {
			t.Fatalf("query %d = %s, want %s; mix starts\n%s", i, qs[i], w, got)
		}
	}
	// Second lookup: three NXDOMAIN names (6 queries) then the hit (2).
	second := qs[4:12]
	if !strings.HasSuffix(second[0].name, ".svc.cluster.local.bench-0.svc.cluster.local.") ||
		!strings.HasSuffix(second[2].name, ".svc.cluster.local.svc.cluster.local.") ||
		!strings.HasSuffix(second[4].name, ".svc.cluster.local.cluster.local.") ||
		strings.Count(second[6].name, ".") != 5 || second[7].qtype != dns.TypeAAAA {
		t.Errorf("second lookup:\n%s", got)
	}
}

func TestPercentileAndMedian(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(v, 0.5); p != 5 {
		t.Errorf("p50 %v", p)
	}
	if p := percentile(v, 0.99); p != 10 {
		t.Errorf("p99 %v", p)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
}

func TestKnotZones(t *testing.T) {
	st := newState()
	st.add(&service{ns: "bench-0", name: "svc-0", clusterIP: "10.96.0.5"})
	st.add(&service{ns: "bench-0", name: "hl-0", headless: true, eps: []endpoint{{ip: "10.128.0.1", hostname: "hl-0-0"}, {ip: "10.128.0.2"}}})
	fwd, rev := knotZones(st)
	for _, want := range []string{
		"svc-0.bench-0.svc 5 IN A 10.96.0.5",
		"_http._tcp.svc-0.bench-0.svc 5 IN SRV 0 100 80 svc-0.bench-0.svc.cluster.local.",
		"hl-0-0.hl-0.bench-0.svc 5 IN A 10.128.0.1",
		"10-128-0-2.hl-0.bench-0.svc 5 IN A 10.128.0.2",
		"_http._tcp.hl-0.bench-0.svc 5 IN SRV 0 50 8080 hl-0-0.hl-0.bench-0.svc.cluster.local.",
	} {
		if !strings.Contains(string(fwd), want) {
			t.Errorf("forward zone lacks %q:\n%s", want, fwd)
		}
	}
	if !strings.Contains(string(rev), "5.0.96.10.in-addr.arpa. 5 IN PTR svc-0.bench-0.svc.cluster.local.") {
		t.Errorf("reverse zone:\n%s", rev)
	}
}
