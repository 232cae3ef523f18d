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

	st := &cluster.State{}
	for i := range 10 {
		st.Namespaces = append(st.Namespaces, cluster.Namespace{Name: fmt.Sprintf("ns-%d", i)})
	}
	next := uint32(0)
	ip := func() netip.Addr {
		next++
		return netip.AddrFrom4([4]byte{10, byte(128 + next>>16), byte(next >> 8), byte(next)})
	}
	ready := true
	port := int32(8080)
	addService := func(name, ns string, headless bool, n int) int {
		svc := cluster.Service{Name: name, Namespace: ns, Type: cluster.ServiceTypeClusterIP, Headless: headless,
			Ports: []cluster.ServicePort{{Name: "http", Port: 80, Protocol: cluster.ProtocolTCP}}}
		if !headless {
			svc.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(len(st.Services) >> 8), byte(len(st.Services))})}
		}
		st.Services = append(st.Services, svc)
		es := cluster.EndpointSlice{Name: name + "-0", Namespace: ns, ServiceName: name, AddressType: cluster.AddressTypeIPv4,
			Ports: []cluster.EndpointPort{{Name: "http", Port: &port, Protocol: cluster.ProtocolTCP}}}
		for j := range n {
			e := cluster.Endpoint{Addresses: []netip.Addr{ip()}, Conditions: cluster.EndpointConditions{Ready: &ready}}
			if headless {
				e.Hostname = fmt.Sprintf("%s-%d", name, j)
			}
			es.Endpoints = append(es.Endpoints, e)
		}
		st.EndpointSlices = append(st.EndpointSlices, es)
		return len(st.EndpointSlices) - 1
	}
	total := 0
	for i := range *services {
		n := *eps
		if i < *big {
			n = *bigEps
		}
		total += n
		addService(fmt.Sprintf("svc-%d", i), fmt.Sprintf("ns-%d", i%10), i%5 == 0, n)
	}
	churn := addService("churn", "ns-0", true, 1000)
	total += 1000

	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if *buildCPU != "" {
		f, err := os.Create(*buildCPU)
		if err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	t0 := time.Now()
	snap, err := zone.Build(st, zone.DefaultOptions())
	if *buildCPU != "" {
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
		len(st.Services), total, build.Round(time.Millisecond), float64(held)/(1<<20), float64(held)/float64(total))
	if *heap != "" {
		f, err := os.Create(*heap)
		if err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}

	// Incremental updates of the 1,000-endpoint headless service: one
	// endpoint's address changes, as in the programming-latency run.
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var ds []time.Duration
	es := st.EndpointSlices[churn]
	svc := st.Services[len(st.Services)-1]
	for i := range 20 {
		c := es
		c.Endpoints = append([]cluster.Endpoint(nil), es.Endpoints...)
		c.Endpoints[i%2*999].Addresses = []netip.Addr{ip()}
		t := time.Now()
		snap = snap.Update(zone.Change{Services: []zone.ServiceUpdate{{Namespace: "ns-0", Name: "churn", Service: &svc, Slices: []*cluster.EndpointSlice{&c}}}})
		ds = append(ds, time.Since(t))
		es = c
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("zone.Update of the 1,000-endpoint headless service: median %v, max %v\n", ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
	runtime.KeepAlive(snap)
}
