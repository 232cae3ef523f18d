// Command zoneprof builds, in process, the zone of the benchmark's largest
// state (by default 10,000 services, one in five headless, 1,000 of them
// with 100 endpoints and the rest with 5, plus one 1,000-endpoint headless
// service) and reports what the record engine costs: the heap the snapshot
// holds, the time to build it, and the time of an incremental update of the
// 1,000-endpoint service, the programming-latency case. With -heap and -cpu
// it writes pprof profiles (inspect with `go tool pprof -top`).
//
//	go run ./bench/zoneprof -heap /tmp/heap.prof -cpu /tmp/update.prof
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/zone"
)

func main() {
	services := flag.Int("services", 10000, "services")
	big := flag.Int("big", 1000, "services with -big-eps endpoints")
	bigEps := flag.Int("big-eps", 100, "endpoints of the big services")
	eps := flag.Int("eps", 5, "endpoints of the other services")
	heap := flag.String("heap", "", "write the heap profile (in use, after the build) here")
	cpu := flag.String("cpu", "", "write the CPU profile of the updates here")
	buildCPU := flag.String("build-cpu", "", "write the CPU profile of the build here")
	flag.Parse()

	b := newStateBuilder()
	for i := range *services {
		n := *eps
		if i < *big {
			n = *bigEps
		}
		b.addService(fmt.Sprintf("svc-%d", i), fmt.Sprintf("ns-%d", i%10), i%5 == 0, n)
	}
	churn := b.addService("churn", "ns-0", true, 1000)
	snap := buildZone(b, *buildCPU, *heap)
	snap = timeUpdates(snap, b, churn, *cpu)
	runtime.KeepAlive(snap)
}

// stateBuilder makes the cluster state: 10 namespaces, and services with
// one EndpointSlice each whose endpoint addresses are handed out in turn.
type stateBuilder struct {
	st        *cluster.State
	last      uint32 // the last endpoint address handed out, from 10.128.0.0
	endpoints int    // in all
	// Shared by every endpoint and slice.
	ready bool
	port  int32
}

func newStateBuilder() *stateBuilder {
	b := &stateBuilder{st: &cluster.State{}, ready: true, port: 8080}
	for i := range 10 {
		b.st.Namespaces = append(b.st.Namespaces, cluster.Namespace{Name: fmt.Sprintf("ns-%d", i)})
	}
	return b
}

// ip is the next endpoint address.
func (b *stateBuilder) ip() netip.Addr {
	b.last++
	return netip.AddrFrom4([4]byte{10, byte(128 + b.last>>16), byte(b.last >> 8), byte(b.last)})
}

// addService adds a service, its ClusterIP unless headless, and a slice
// of n ready endpoints (with hostnames when headless); it returns the
// slice's index.
func (b *stateBuilder) addService(name, ns string, headless bool, n int) int {
	st := b.st
	svc := cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Headless: headless,
		Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}}
	if !headless {
		svc.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(len(st.Services) >> 8), byte(len(st.Services))})}
	}
	st.Services = append(st.Services, svc)
	es := cluster.EndpointSlice{Name: name + "-0", Namespace: ns, ServiceName: name, AddressType: cluster.AddressTypeIPv4,
		Ports: []cluster.EndpointPort{{Name: "http", Port: &b.port, Protocol: cluster.ProtocolTCP}}}
	for j := range n {
		e := cluster.Endpoint{Addresses: cluster.AddressesOf(b.ip()), Conditions: cluster.EndpointConditions{Ready: cluster.Bool(b.ready)}}
		if headless {
			e.Hostname = fmt.Sprintf("%s-%d", name, j)
		}
		es.Endpoints = append(es.Endpoints, e)
	}
	st.EndpointSlices = append(st.EndpointSlices, es)
	b.endpoints += n
	return len(st.EndpointSlices) - 1
}

// buildZone builds the snapshot of the state, profiling the build into
// cpuFile when set, and prints its time and the heap the snapshot holds,
// writing the heap profile to heapFile when set.
func buildZone(b *stateBuilder, cpuFile, heapFile string) *zone.Snapshot {
	st := b.st
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	t0 := time.Now()
	snap, err := zone.Build(st, zone.DefaultOptions())
	if cpuFile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := time.Since(t0)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	held := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
	fmt.Printf("state: %d services, %d endpoints; zone.Build %v; snapshot holds %.1f MiB (%.0f bytes per endpoint)\n",
		len(st.Services), b.endpoints, build.Round(time.Millisecond), float64(held)/(1<<20), float64(held)/float64(b.endpoints))
	if heapFile != "" {
		f, err := os.Create(heapFile)
		if err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return snap
}

// timeUpdates times incremental updates of the 1,000-endpoint headless
// service (the slice at index churn): one endpoint's address changes, as
// in the programming-latency run. It profiles them into cpuFile when set.
func timeUpdates(snap *zone.Snapshot, b *stateBuilder, churn int, cpuFile string) *zone.Snapshot {
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var ds []time.Duration
	es := b.st.EndpointSlices[churn]
	svc := b.st.Services[len(b.st.Services)-1]
	for i := range 20 {
		c := es
		c.Endpoints = append([]cluster.Endpoint(nil), es.Endpoints...)
		c.Endpoints[i%2*999].Addresses = cluster.AddressesOf(b.ip())
		t := time.Now()
		snap = snap.Update(zone.Change{Services: []zone.ServiceUpdate{{Namespace: "ns-0", Name: "churn", Service: &svc, Slices: []*cluster.EndpointSlice{&c}}}})
		ds = append(ds, time.Since(t))
		es = c
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("zone.Update of the 1,000-endpoint headless service: median %v, max %v\n", ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
	return snap
}
