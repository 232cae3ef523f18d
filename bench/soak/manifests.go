package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"
)

const zone = "default.svc.cluster.local."

// The large headless service. SRV targets are never compressed (RFC 2782),
// and an endpoint's A in the additional section can point to its SRV
// target only within the first 16 KiB of the message (compression
// pointers have 14 bits), so most of them are written in full: with
// 20-character hostnames under this 43-character service name, 300
// endpoints answer about 51 KB over TCP (the report gives the size).
const (
	bigService   = "headless-with-three-hundred-ready-endpoints"
	bigEndpoints = 300
	bigHostLen   = 20
)

// bigSRV is the name of the large answer the pipeliners ask for.
var bigSRV = "_http._tcp." + bigService + "." + zone

// probeName has one address, written in examples/cluster/legacy.yaml's
// EndpointSlice: what the prober and the TCP clients ask.
var probeName = "primary.legacy." + zone

const probeIP = "192.168.5.10"

// bigHostname is endpoint i's hostname, bigHostLen characters.
func bigHostname(i int) string {
	h := fmt.Sprintf("endpoint-%03d-", i)
	return h + strings.Repeat("x", bigHostLen-len(h))
}

func bigIP(i int) string { return fmt.Sprintf("10.99.%d.%d", i/250, i%250+1) }

// writeManifests writes the example cluster and the large headless service
// (selectorless, with a hand-written EndpointSlice, so no pod is derived)
// to dir.
func writeManifests(root, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	examples := filepath.Join(root, "examples", "cluster")
	files, err := filepath.Glob(filepath.Join(examples, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("reading %s: no manifests (%v)", examples, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("copying the example cluster: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return fmt.Errorf("copying the example cluster: %w", err)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Written by bench/soak: a headless Service with %[2]d ready endpoints whose
# SRV answer is about 51 KB.
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: default
spec:
  clusterIP: None
  ports:
    - name: http
      port: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-1
  namespace: default
  labels:
    kubernetes.io/service-name: %[1]s
addressType: IPv4
ports:
  - name: http
    port: 8080
    protocol: TCP
endpoints:
`, bigService, bigEndpoints)
	for i := range bigEndpoints {
		fmt.Fprintf(&b, "  - addresses: [%q]\n    hostname: %s\n    conditions:\n      ready: true\n", bigIP(i), bigHostname(i))
	}
	if err := os.WriteFile(filepath.Join(dir, "soak-large.yaml"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the large service: %w", err)
	}
	return nil
}

// writeQueryMix writes dnsperf's data file: names of the manifest set in a
// fixed pseudo-random order, mostly names that answer, some NXDOMAIN and
// NODATA as a pod's resolver causes, and PTR. Nothing in it is larger than
// 512 bytes, so the UDP load measures serving, not truncation.
func writeQueryMix(path string) error {
	type weighted struct {
		q string
		w int
	}
	mix := []weighted{
		{"web." + zone + " A", 4},
		{"web-0.web." + zone + " A", 3},
		{"web-1.web." + zone + " A", 3},
		{"_http._tcp.web." + zone + " SRV", 2},
		{"_peer._tcp.web." + zone + " SRV", 2},
		{"api." + zone + " A", 6},
		{"api." + zone + " AAAA", 3},
		{"_http._tcp.api." + zone + " SRV", 2},
		{"billing." + zone + " A", 2},
		{probeName + " A", 3},
		{"legacy." + zone + " A", 2},
		{"192-168-5-11.legacy." + zone + " A", 1},
		{"cache." + zone + " A", 2},
		{"web-2.web." + zone + " A", 1}, // not Ready: NXDOMAIN
		// "api.default" under the first search domain of a pod in
		// default: NXDOMAIN, as a pod's resolver asks first.
		{"api.default." + zone + " A", 3},
		{"api.default." + zone + " AAAA", 3},
		{"10.5.168.192.in-addr.arpa. PTR", 1}, // legacy's primary
		{"nothere." + zone + " A", 1},
	}
	var pool []string
	for _, m := range mix {
		for range m.w {
			pool = append(pool, m.q)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var b bytes.Buffer
	for range 5000 {
		// One query in five is an endpoint of the large service, by its
		// own name or its address.
		if rng.IntN(5) == 0 {
			i := rng.IntN(bigEndpoints)
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, "%s.%s.%s A\n", bigHostname(i), bigService, zone)
			} else {
				rev, _ := dns.ReverseAddr(bigIP(i))
				fmt.Fprintf(&b, "%s PTR\n", rev)
			}
			continue
		}
		b.WriteString(pool[rng.IntN(len(pool))])
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
