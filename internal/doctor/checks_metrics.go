package doctor

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultWindow is how far apart the two scrapes of a /metrics endpoint
// are: rates and quantiles are over this window.
const DefaultWindow = 10 * time.Second

// sampling is two scrapes of one endpoint, taken in the background while
// the other checks run.
type sampling struct {
	done          chan struct{}
	first, second *Scrape
	err           error
}

func startSampling(ctx context.Context, get Sampler, window time.Duration) *sampling {
	s := &sampling{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.first, s.second, s.err = sampleTwice(ctx, get, window)
	}()
	return s
}

func (s *sampling) wait(ctx context.Context) error {
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// metricsPort is the DNS container's metrics port: the one named metrics,
// else the Corefile's prometheus address, else 9153.
func (d *ClusterDNS) metricsPort() int {
	if d.Container != nil {
		for _, p := range d.Container.Ports {
			if p.Name == "metrics" {
				return int(p.ContainerPort)
			}
		}
	}
	if d.Config != nil {
		for _, b := range d.Config.Blocks {
			if b.Prometheus != nil {
				return addrPort(b.Prometheus.Addr, 9153)
			}
		}
	}
	return 9153
}

// StartSampling takes the first scrapes of the API server's /metrics and
// of every cluster DNS pod's (through the pod proxy), so that the metrics
// checks, which run last, find their second scrapes a window later.
func (in *Input) StartSampling(ctx context.Context) {
	in.sampleOnce.Do(func() {
		window := in.Window
		if window <= 0 {
			window = DefaultWindow
		}
		if in.APIMetrics != nil {
			in.apiSample = startSampling(ctx, in.APIMetrics, window)
		}
		d := in.DNS()
		if in.PodMetrics == nil || d.Why != "" {
			return
		}
		in.podSamples = map[string]*sampling{}
		port := d.metricsPort()
		for _, p := range d.Pods {
			if p.Status.Phase == corev1.PodRunning {
				in.podSamples[p.Name] = startSampling(ctx, in.PodMetrics(p, port), window)
			}
		}
	})
}

// listResources are what a cluster DNS lists and watches.
var listResources = []string{"namespaces", "services", "endpointslices", "pods"}

// API server latency thresholds for LIST.
const (
	listSeed    = time.Second
	listSLO     = 30 * time.Second
	listSources = "seed: p99 > 1 s; kubernetes-mixin read SLO for cluster-scoped LIST: 30 s"
)

func checkAPILatency(ctx context.Context, in *Input, c *Check) {
	if in.apiSample == nil {
		c.notRun("the API server's /metrics cannot be read from here")
		return
	}
	if err := in.apiSample.wait(ctx); err != nil {
		c.notRun("reading the API server's /metrics: " + shortErr(err))
		return
	}
	first, second := in.apiSample.first, in.apiSample.second
	family := "apiserver_request_sli_duration_seconds"
	if second.Families[family] == nil {
		family = "apiserver_request_duration_seconds"
	}
	window := second.At.Sub(first.At).Round(time.Second)
	var parts []string
	for _, res := range listResources {
		match := map[string]string{"verb": "LIST", "resource": res}
		total := second.histogram(family, match)
		h := total.minus(first.histogram(family, match))
		over := fmt.Sprintf("over %v", window)
		if h.count <= 0 {
			h, over = total, "since the API server started (no LIST in the window)"
		}
		if h.count <= 0 {
			parts = append(parts, res+" no LIST seen")
			continue
		}
		p99 := h.quantile(0.99)
		parts = append(parts, fmt.Sprintf("%s p99 %s", res, seconds(p99)))
		th := &Threshold{Value: "p99 " + seconds(p99), Limit: "1 s (seed), 30 s (SLO)", Source: listSources}
		ev := []string{fmt.Sprintf("%s{verb=\"LIST\",resource=%q}: %.0f request(s) %s", family, res, h.count, over)}
		switch {
		case p99 > listSLO.Seconds():
			c.add(Finding{Code: "apiserver-list-slow", Severity: SeverityError, Objects: []string{"APIServer/" + in.Host}, Threshold: th, Evidence: ev,
				Message:  fmt.Sprintf("LIST of %s takes %s at p99 %s, past the read SLO: a cluster DNS that restarts or re-lists serves old records (or SERVFAIL) that long", res, seconds(p99), over),
				Fix:      "look at the API server's and etcd's load (apiserver_flowcontrol_*, etcd_request_duration_seconds); fewer clients listing everything",
				Explains: []string{SymptomStaleIP, SymptomNXDOMAIN}})
		case p99 > listSeed.Seconds():
			c.add(Finding{Code: "apiserver-list-slow", Severity: SeverityWarning, Objects: []string{"APIServer/" + in.Host}, Threshold: th, Evidence: ev,
				Message:  fmt.Sprintf("LIST of %s takes %s at p99 %s: slow for a cluster DNS's start and re-lists", res, seconds(p99), over),
				Explains: []string{SymptomStaleIP}})
		}
	}
	c.Summary = fmt.Sprintf("LIST latency (%s; WATCH is a long-lived stream, not a latency): %s", family, strings.Join(parts, ", "))
}

// DNS pod metric thresholds.
const (
	servfailWarn    = 0.01
	servfailError   = 0.03
	servfailSources = "coredns-mixin CoreDNSErrorsHigh: 1% warning, 3% critical; seed: any sustained nonzero rate"
	latencySeed     = 0.5
	latencyMixin    = 4.0
	latencySources  = "seed: p99 > 500 ms; coredns-mixin CoreDNSLatencyHigh: 4 s"
)

func checkDNSMetrics(ctx context.Context, in *Input, c *Check) {
	d := dnsOrNotRun(in, c)
	if d == nil {
		return
	}
	if in.podSamples == nil {
		c.notRun("the DNS pods' /metrics cannot be read from here (the pod proxy)")
		return
	}
	names := slices.Sorted(maps.Keys(in.podSamples))
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() { defer wg.Done(); in.podSamples[n].wait(ctx) }()
	}
	wg.Wait()
	read, unreadable := 0, []string{}
	var parts []string
	for _, n := range names {
		s := in.podSamples[n]
		obj := objName("Pod", SystemNamespace, n)
		if s.err != nil {
			unreadable = append(unreadable, fmt.Sprintf("%s: %s", n, shortErr(s.err)))
			continue
		}
		read++
		total := s.second.counter("coredns_dns_responses_total", nil)
		delta := total - s.first.counter("coredns_dns_responses_total", nil)
		sf := s.second.counter("coredns_dns_responses_total", map[string]string{"rcode": "SERVFAIL"})
		dsf := sf - s.first.counter("coredns_dns_responses_total", map[string]string{"rcode": "SERVFAIL"})
		h := s.second.histogram("coredns_dns_request_duration_seconds", nil).minus(s.first.histogram("coredns_dns_request_duration_seconds", nil))
		over := fmt.Sprintf("over %v", s.second.At.Sub(s.first.At).Round(time.Second))
		if delta <= 0 {
			// The counters since the pod started hold its start (SERVFAIL
			// before the first sync): only a window says what it does now.
			parts = append(parts, fmt.Sprintf("%s: no query %s (%.0f since it started, %.0f of them SERVFAIL)", n, over, total, sf))
			continue
		}
		share := dsf / delta
		p99 := h.quantile(0.99)
		parts = append(parts, fmt.Sprintf("%s: %.0f answer(s), %.2f%% SERVFAIL, p99 %s", n, delta, 100*share, seconds(p99)))
		ev := []string{fmt.Sprintf("coredns_dns_responses_total: %.0f, of them SERVFAIL %.0f, %s", delta, dsf, over)}
		sfTh := &Threshold{Value: fmt.Sprintf("%.2f%% SERVFAIL", 100*share), Limit: "1% / 3%", Source: servfailSources}
		switch {
		case share > servfailError:
			c.add(Finding{Code: "dns-servfail-rate", Severity: SeverityError, Objects: []string{obj}, Threshold: sfTh, Evidence: ev,
				Message:  fmt.Sprintf("%s answers %.2f%% of queries SERVFAIL %s", n, 100*share, over),
				Fix:      "kubectl -n kube-system logs " + n + " (upstream failures, a kubernetes plugin not synced, a loop)",
				Explains: []string{SymptomIntermittent}})
		case share > servfailWarn:
			c.add(Finding{Code: "dns-servfail-rate", Severity: SeverityWarning, Objects: []string{obj}, Threshold: sfTh, Evidence: ev,
				Message: fmt.Sprintf("%s answers %.2f%% of queries SERVFAIL %s", n, 100*share, over), Explains: []string{SymptomIntermittent}})
		case share > 0:
			c.add(Finding{Code: "dns-servfail-rate", Severity: SeverityInfo, Objects: []string{obj}, Threshold: sfTh, Evidence: ev,
				Message: fmt.Sprintf("%s answered %.0f queries SERVFAIL %s", n, dsf, over)})
		}
		if !math.IsNaN(p99) && p99 > latencySeed {
			sev := SeverityWarning
			if p99 > latencyMixin {
				sev = SeverityError
			}
			c.add(Finding{Code: "dns-latency-high", Severity: sev, Objects: []string{obj},
				Threshold: &Threshold{Value: "p99 " + seconds(p99), Limit: "500 ms / 4 s", Source: latencySources},
				Evidence:  []string{fmt.Sprintf("coredns_dns_request_duration_seconds: %.0f requests %s", h.count, over)},
				Message:   fmt.Sprintf("%s answers with a p99 latency of %s %s", n, seconds(p99), over),
				Fix:       "CPU throttling (dns.memory reports a CPU limit), too few replicas (dns.replicas), a slow upstream",
				Explains:  []string{SymptomSlowLookups, SymptomIntermittent}})
		}
	}
	if read == 0 {
		c.notRun("no DNS pod's /metrics could be read: " + strings.Join(unreadable, "; "))
		return
	}
	for _, u := range unreadable {
		c.add(Finding{Code: "dns-metrics-unreadable", Severity: SeverityInfo, Objects: []string{objName("Pod", SystemNamespace, strings.SplitN(u, ":", 2)[0])},
			Message: "its /metrics could not be read through the pod proxy: " + u})
	}
	c.Summary = fmt.Sprintf("port %s of %d pod(s): %s", strconv.Itoa(d.metricsPort()), len(names), strings.Join(parts, "; "))
}
