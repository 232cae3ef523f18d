package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// The hot-path phase: clusterdns as built now and as built before zonal
// names, multicluster zones and zone transfers (issue 16) answer the three
// cluster mixes with the same flags, in alternating rounds, so that what
// those features added to the query path shows (issue 16 says the path
// for ordinary cluster names must stay as fast).

// before16Rev is the last commit before issue 16.
const before16Rev = "ed6ef87"

// measureHotPath runs mixes a, b and c against both builds.
func measureHotPath(c config, e *benchEnv, r *results) error {
	bin, err := buildRev(e, before16Rev, "clusterdns-before16")
	if err != nil {
		r.hotErr = err.Error()
		logf("hot path: no build of %s: %v", before16Rev, err)
		return nil
	}
	e.before16 = bin
	kinds := []string{kClusterdns, kClusterdnsBefore16}
	servers, err := startAll(e, kinds)
	if err != nil {
		return err
	}
	defer stopAll(servers)
	r.hot = map[string]map[string]*agg{}
	for _, mix := range []string{mixA, mixB, mixC} {
		data := e.path("mix-" + mix + ".bin")
		if _, err := os.Stat(data); err != nil {
			if err := writeBinaryQueries(data, mixQueries(e.st, mix), 1232); err != nil {
				return err
			}
		}
		r.hot[mix] = map[string]*agg{}
		if err := runRounds(c, servers, kinds, data, "hot path mix "+mix, r.hot[mix]); err != nil {
			return err
		}
	}
	return nil
}

// buildRev builds clusterdns at a commit as the benchmark builds it, from
// `git archive` (the repository's history is needed), into name.
func buildRev(e *benchEnv, rev, name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	src := e.path(name + "-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.Command("sh", "-c", fmt.Sprintf("git -C %q archive %s | tar -x -C %q", root, rev, src))
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive %s (a shallow clone lacks it): %v\n%s", rev, err, out)
	}
	bin := e.path(name)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/clusterdns")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", rev, err, out)
	}
	return bin, nil
}

// writeHotPath is the phase's section.
func (r *results) writeHotPath(w *mdWriter) {
	if r.hot == nil && r.hotErr == "" {
		return
	}
	w.p("## Cluster names before and after issue 16\n\n")
	w.p("clusterdns (`serve --kubeconfig … --pod-records insecure --ttl 5`) as built now and from %s, the last commit before zonal names, multicluster zones and zone transfers, same flags, rounds alternating.\n\n", before16Rev)
	if r.hotErr != "" {
		w.p("The earlier build was not made: %s\n\n", firstLine(r.hotErr))
		return
	}
	for _, mix := range []string{mixA, mixB, mixC} {
		w.p("Mix %s:\n\n", mix)
		writeThroughputTable(w, r.hot[mix], []string{kClusterdns, kClusterdnsBefore16})
		now, before := r.hot[mix][kClusterdns], r.hot[mix][kClusterdnsBefore16]
		if now != nil && before != nil {
			w.p("\nNow / before: %s QPS, %s q/CPU-s.\n\n", ratio(now.medQPS(), before.medQPS()), ratio(now.medPerCPU(), before.medPerCPU()))
		}
	}
}

// hotTargets is the hot-path row of the targets table: queries per
// CPU-second now over before issue 16, each mix at least 0.95x (the
// rounds of one server spread by about 10% on this machine).
func (r *results) hotTargets(w *mdWriter) {
	if r.hot == nil {
		return
	}
	var now, before, ratios []string
	met := true
	for _, mix := range []string{mixA, mixB, mixC} {
		n, b := r.hot[mix][kClusterdns], r.hot[mix][kClusterdnsBefore16]
		if n == nil || b == nil {
			return
		}
		now, before = append(now, kqps(n.medPerCPU())), append(before, kqps(b.medPerCPU()))
		ratios = append(ratios, ratio(n.medPerCPU(), b.medPerCPU()))
		met = met && n.medPerCPU() >= 0.95*b.medPerCPU()
	}
	w.p("| cluster names now vs before issue 16 (mixes a, b, c; q/CPU-s) | %s | before: %s | %s | ≥ 0.95× each | %s |\n",
		strings.Join(now, ", "), strings.Join(before, ", "), strings.Join(ratios, ", "), yes(met))
}
