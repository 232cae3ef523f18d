package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/doctor"
)

// doctorWindow is the doctor's --metrics-window in the phase (its
// default).
const doctorWindow = doctor.DefaultWindow

// doctorResult is one `clusterdns doctor` run on the benchmark's state.
type doctorResult struct {
	services, eps, pods int
	podsCreated         time.Duration
	wall                time.Duration
	exit                int
	summary             string
	slowest             []string
}

// measureDoctor times `clusterdns doctor` against the real API server on
// the state grown by 1,000 Services of 4 endpoints (with -only doctor:
// 2,004 Services, 20,100 endpoints) with a Running pod behind every
// endpoint (issue 15: under 30 s at 2,000 Services and 20,000 pods). The
// state has no cluster DNS, so the checks of one do not run; the headless
// names, the clients and the API server's metrics do. In a full run the
// phase comes last, on whatever the earlier phases built.
func measureDoctor(ctx context.Context, e *benchEnv, b *builder, r *results) error {
	nss := []string{"bench-doc-0", "bench-doc-1", "bench-doc-2", "bench-doc-3"}
	if err := b.namespaces(ctx, nss...); err != nil {
		return err
	}
	if err := b.create(ctx, spec{prefix: "doc", namespaces: nss, count: 1000, headlessEvery: 5, eps: 4}); err != nil {
		return err
	}
	t0 := time.Now()
	pods, err := b.endpointPods(ctx)
	if err != nil {
		return fmt.Errorf("endpoint pods: %w", err)
	}
	svcs, eps := e.st.counts()
	d := &doctorResult{services: svcs, eps: eps, pods: pods, podsCreated: time.Since(t0)}
	logf("doctor: %d services, %d endpoints, %d pods (created in %v)", svcs, eps, pods, d.podsCreated.Round(time.Second))
	cmd := exec.CommandContext(ctx, e.clusterdns, "doctor", "--kubeconfig", e.cp.AdminKubeconfig, "-o", "json", "-q",
		"--metrics-window", doctorWindow.String())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	d.wall = time.Since(start)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		d.exit = ee.ExitCode()
	case err != nil:
		return fmt.Errorf("clusterdns doctor: %w", err)
	}
	var rep doctor.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return fmt.Errorf("clusterdns doctor (exit %d): %w\n%s", d.exit, err, errOut.String())
	}
	d.summary = rep.Summary()
	checks := slices.Clone(rep.Checks)
	slices.SortFunc(checks, func(a, b doctor.Check) int { return int(b.Duration - a.Duration) })
	for _, c := range checks[:min(4, len(checks))] {
		d.slowest = append(d.slowest, fmt.Sprintf("%s %.2f s", c.ID, time.Duration(c.Duration).Seconds()))
	}
	logf("doctor: %v wall, exit %d, %s; slowest %v", d.wall.Round(10*time.Millisecond), d.exit, d.summary, d.slowest)
	r.doctor = d
	return nil
}

// doctorTarget is its row in the targets table.
func (r *results) doctorTarget(w *mdWriter) {
	d := r.doctor
	if d == nil {
		return
	}
	w.p("| `clusterdns doctor`, %d services, %d pods (wall, with its %v metrics window) | %.1f s | | | ≤ 30 s | %s |\n",
		d.services, d.pods, doctorWindow, d.wall.Seconds(), yes(d.wall <= 30*time.Second))
}

// writeDoctor is the phase's section.
func (r *results) writeDoctor(w *mdWriter) {
	d := r.doctor
	if d == nil {
		return
	}
	w.p("## Doctor\n\n")
	w.p("`clusterdns doctor -o json --metrics-window %v` against the benchmark's API server: %d services, %d endpoints, a Running pod behind each (%d, created in %.0f s). "+
		"There is no cluster DNS in the benchmark's cluster, so its checks do not run; every headless Service's names are explained, the pods linted, the API server's metrics sampled.\n\n",
		doctorWindow, d.services, d.eps, d.pods, d.podsCreated.Seconds())
	w.p("| wall | exit | summary | slowest checks |\n|---|---|---|---|\n")
	w.p("| %.1f s | %d | %s | %s |\n\n", d.wall.Seconds(), d.exit, d.summary, strings.Join(d.slowest, ", "))
}
