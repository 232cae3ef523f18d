package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output; got:\n%s", path, got)
	}
}

func testAgg(lost, sent int64, qps ...float64) *agg {
	a := &agg{lost: lost, sent: sent}
	for i, q := range qps {
		a.qps = append(a.qps, q)
		a.perCPU = append(a.perCPU, q*1.5+float64(i))
	}
	return a
}

// fullResults has every section of the report, with some of the cases
// each section treats apart (a mix without a ceiling, an agreement
// without Knot, a large row with a violation).
func fullResults() *results {
	r := newResults(config{rounds: 3, seconds: 6}, controlplane.Binaries{})
	r.commandLine = "go run ./bench -out bench/RESULTS.md"
	r.date = time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	r.machine = []string{"CPU: Test CPU, 2 cores", "Memory: 8000 kB", "Kernel: Linux 6.1"}
	r.versions = []string{"clusterdns: abc123", "CoreDNS: 1.14.2"}
	r.baseServices, r.baseEndpoints = 1003, 12345
	r.setupTime, r.total = 12345*time.Millisecond, 15*time.Minute+3500*time.Millisecond
	r.mixSize = map[string]int{mixA: 5000, mixB: 6000, mixC: 1000}
	r.agreement = map[string]map[string]agreement{
		mixA: {kCoreDNS: {total: 600}, kKnot: {total: 600, diff: 2, examples: []string{"x A: one", "y SRV: two"}}},
		mixB: {kCoreDNS: {total: 600, diff: 1, examples: []string{"z AAAA"}}},
	}
	r.tput = map[string]map[string]*agg{
		mixA: {kClusterdns: testAgg(3, 900000, 300000, 310000, 290000), kClusterdnsNoMetrics: testAgg(0, 900000, 305000, 312000, 299000),
			kCoreDNS: testAgg(10, 300000, 100000, 98000, 101000), kCoreDNSMulti: testAgg(0, 320000, 110000, 105000, 108000),
			kCeiling: testAgg(0, 950000, 320000, 330000, 318000), kKnot: testAgg(1, 700000, 240000, 250000, 245000)},
		mixB: {kClusterdns: testAgg(0, 100, 200000, 210000), kCoreDNS: testAgg(0, 100, 90000, 91000)},
		mixC: {kKnot: testAgg(0, 100, 50000)},
	}
	r.latencyRate = 54000
	r.latency = map[string]*latencyRes{
		kClusterdns:   {n: 1000, lost: 1, sent: 1001, p50: 0.0001, p99: 0.0004, p999: 0.001},
		kCoreDNS:      {n: 1000, sent: 1000, p50: 0.0003, p99: 0.002, p999: 0.004},
		kCoreDNSMulti: {n: 1000, sent: 1000, p50: 0.0003, p99: 0.0015, p999: 0.003},
		kKnot:         {n: 900, lost: 100, sent: 1000, p50: 0.0002, p99: 0.0009, p999: 0.002},
	}
	r.large = []largeRow{
		{size: 100, transport: tUDP1232, kind: kClusterdns, qps: 80000, perCPU: 90000, bytes: 40, limit: 1232, tc: true},
		{size: 100, transport: tUDP1232, kind: kCoreDNS, qps: 30000, perCPU: 20000, bytes: 1200, limit: 1232, records: 70, coverage: 70},
		{size: 100, transport: tUDP1232, kind: kCoreDNSMulti, qps: 35000, perCPU: 21000, bytes: 1200, limit: 1232, records: 70, coverage: 70},
		{size: 100, transport: tTCP, kind: kClusterdns, qps: 20000, perCPU: 25000, bytes: 1700, limit: 65535, records: 100},
		{size: 100, transport: tTCP, kind: kCoreDNS, qps: 9000, perCPU: 8000, bytes: 1700, limit: 65535, records: 100},
		{size: 4000, transport: tUDP512, kind: kCoreDNS, bytes: 600, limit: 512, records: 20, violation: "answer of 600 bytes over the 512 limit"},
	}
	r.tcp = map[string]*agg{kClusterdns: testAgg(0, 10, 150000, 160000), kCoreDNS: testAgg(0, 10, 40000), kKnot: testAgg(0, 10, 90000)}
	r.progChanges, r.progRate = 600, 19.87
	r.prog = map[string]*progRes{
		kClusterdns: {first: []float64{0.003, 0.001, 0.002}, last: []float64{0.004, 0.005}},
		kCoreDNS:    {first: []float64{0.03, 0.01}, last: []float64{0.05}, missed: 2},
	}
	r.progInternal = []float64{0.0005, 0.001, 0.0021}
	r.memory = []memRow{
		{name: "small", services: 1000, eps: 10000, steadyKB: map[string]int64{kClusterdns: 20000, kCoreDNS: 60000},
			peakKB: map[string]int64{kClusterdns: 25000, kCoreDNS: 90000}, readySeconds: map[string]float64{kClusterdns: 0.5, kCoreDNS: 1.25}},
		{name: "large", services: 10000, eps: 150000, steadyKB: map[string]int64{kClusterdns: 200000, kCoreDNS: 300000},
			peakKB: map[string]int64{kClusterdns: 280000, kCoreDNS: 500000}, readySeconds: map[string]float64{kClusterdns: 3.5, kCoreDNS: 2.25}},
	}
	r.zoneReport, r.zoneHeapTop, r.zoneCPUTop = "state: 10 services", "flat flat% heap", "flat flat% cpu"
	return r
}

func TestMarkdownGolden(t *testing.T) {
	golden(t, "results-full.md", fullResults().markdown())

	// The quick variant with a single figure: no ceiling, no CoreDNS
	// multisocket, nothing but throughput.
	q := newResults(config{quick: true, rounds: 1, seconds: 3}, controlplane.Binaries{})
	q.commandLine = "go run ./bench -quick"
	q.date = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	q.total = 90 * time.Second
	q.tput[mixA] = map[string]*agg{kClusterdns: testAgg(0, 10, 1000), kCoreDNS: testAgg(0, 10, 0)}
	q.agreement[mixA] = map[string]agreement{kCoreDNS: {total: 600}}
	golden(t, "results-quick.md", q.markdown())

	// Nothing measured.
	e := newResults(config{}, controlplane.Binaries{})
	e.date = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	golden(t, "results-empty.md", e.markdown())
}
