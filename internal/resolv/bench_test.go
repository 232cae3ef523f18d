package resolv

import (
	"sort"
	"testing"
	"time"
)

// The acceptance case: a 5-label name on 4 search domains (3 cluster, 1
// node), ndots:5, glibc getaddrinfo: 10 questions against the record
// engine, then the advice.
const benchName = "api.v2.corp.example.com"

func dryRun(b testing.TB) Result {
	cfg := ClusterFirst("prod", "cluster.local", "10.96.0.10", "us-east-2.compute.internal")
	r := Simulate(cfg, benchName, mGlibc, Answers(fixture(b), benchName, UpstreamAssume))
	Advice(r)
	return r
}

func BenchmarkDryRunFiveLabelsFourSearchDomains(b *testing.B) {
	fixture(b)
	b.ReportAllocs()
	for b.Loop() {
		dryRun(b)
	}
}

func TestDryRunOfFiveLabelsOnFourSearchDomainsTakesUnder10ms(t *testing.T) {
	r := dryRun(t)
	if len(r.Queries) != 10 || r.ResolvedBy != benchName+"." {
		t.Fatalf("%d queries, resolved by %q; want 10, %s.", len(r.Queries), r.ResolvedBy, benchName)
	}
	var runs []time.Duration
	for range 21 {
		start := time.Now()
		dryRun(t)
		runs = append(runs, time.Since(start))
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	if med := runs[len(runs)/2]; med > 10*time.Millisecond {
		t.Errorf("median dry run %s, want under 10ms", med)
	}
}
