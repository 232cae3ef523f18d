package resolv

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// fixtureManifests is the cluster every test asks: services in prod and
// test, the kubernetes service, a headless StatefulSet, an IPv6-only
// service and an ExternalName.
const fixtureManifests = `
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: Namespace
metadata: {name: test}
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec:
  clusterIP: 10.96.0.1
  ports: [{name: https, port: 443}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: data, namespace: test}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: six, namespace: prod}
spec:
  clusterIP: fd00::10
  clusterIPs: [fd00::10]
  ipFamilies: [IPv6]
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: billing, namespace: prod}
spec:
  type: ExternalName
  externalName: billing.example.com
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: prod}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: x, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: prod}
spec:
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: prod}
spec:
  dnsConfig:
    options: [{name: ndots, value: "2"}, {name: single-request-reopen}]
    searches: [corp.example]
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet, namespace: prod}
spec:
  hostNetwork: true
  containers: [{name: c, image: x}]
`

var (
	fixtureOnce   sync.Once
	fixtureSnap   *zone.Snapshot
	fixtureStateV *cluster.State
	fixtureErr    error
)

// loadFixture returns the snapshot of fixtureManifests (zone cluster.local).
func loadFixture() (*zone.Snapshot, error) {
	fixtureOnce.Do(func() {
		st, err := manifest.LoadFS(context.Background(), fstest.MapFS{"m.yaml": {Data: []byte(fixtureManifests)}}, manifest.DefaultOptions())
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureStateV = st
		fixtureSnap, fixtureErr = zone.Build(st, zone.DefaultOptions())
	})
	return fixtureSnap, fixtureErr
}

// fixtureState is the cluster state of fixtureManifests.
func fixtureState(t testing.TB) *cluster.State {
	t.Helper()
	fixture(t)
	return fixtureStateV
}

func fixture(t testing.TB) *zone.Snapshot {
	t.Helper()
	s, err := loadFixture()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return s
}

// Faults make the test server answer some questions otherwise than the
// record engine: key "name." (every type) or "name.|AAAA"; value
// servfail, refused, nxdomain, nodata, drop (no reply), addr (one
// address of the type) or tc (truncated over UDP, answered over TCP). Names outside cluster.local that have no fault
// get NXDOMAIN, as an upstream resolver would give for junk expansions.
type faults map[string]string

func (f faults) lookup(name string, qtype uint16) string {
	name = strings.ToLower(name)
	if v, ok := f[name+"|"+dns.TypeToString[qtype]]; ok {
		return v
	}
	return f[name]
}

// oracle is the AnswerFunc that matches the test server: the faults, else
// the snapshot, else NXDOMAIN outside the zone.
func oracle(snap *zone.Snapshot, f faults) AnswerFunc {
	return func(name string, qtype uint16) (int, int) {
		switch f.lookup(name, qtype) {
		case "servfail":
			return dns.RcodeServerFailure, 0
		case "refused":
			return dns.RcodeRefused, 0
		case "nxdomain":
			return dns.RcodeNameError, 0
		case "nodata":
			return dns.RcodeSuccess, 0
		case "drop":
			return Timeout, 0
		case "addr":
			return dns.RcodeSuccess, 1
		}
		a := snap.Lookup(name, qtype)
		if a.Zone == "" {
			return dns.RcodeNameError, 0
		}
		return a.Rcode, len(a.Answer)
	}
}

// faultReply builds the test server's reply for a fault, nil for none.
func faultReply(req *dns.Msg, f faults, snap *zone.Snapshot) (resp *dns.Msg, drop bool) {
	q := req.Question[0]
	kind := f.lookup(q.Name, q.Qtype)
	if kind == "tc" {
		kind = "" // answered normally over TCP
	}
	if kind == "" && snap.Lookup(q.Name, q.Qtype).Zone == "" {
		kind = "nxdomain"
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	switch kind {
	case "":
		return nil, false
	case "drop":
		return nil, true
	case "servfail":
		m.Rcode = dns.RcodeServerFailure
	case "refused":
		m.Rcode = dns.RcodeRefused
	case "nxdomain":
		m.Rcode = dns.RcodeNameError
	case "nodata":
	case "addr":
		switch q.Qtype {
		case dns.TypeA:
			rr, _ := dns.NewRR(q.Name + " 5 IN A 192.0.2.1")
			m.Answer = append(m.Answer, rr)
		case dns.TypeAAAA:
			rr, _ := dns.NewRR(q.Name + " 5 IN AAAA 2001:db8::1")
			m.Answer = append(m.Answer, rr)
		}
	}
	return m, false
}
