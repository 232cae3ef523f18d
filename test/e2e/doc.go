// Package e2e runs clusterdns against a real control plane: etcd,
// kube-apiserver and kube-controller-manager (the real EndpointSlice,
// StatefulSet, Deployment and garbage-collector controllers) started on
// loopback, with the test playing kubelet and scheduler. Every scenario asks
// clusterdns real DNS questions and compares each answer with real CoreDNS
// watching the same API server.
//
// The tests carry the build tag e2e, so `go test ./...` does not compile
// them. Run them with
//
//	make e2e
//
// which builds the control plane and CoreDNS once into a cache directory
// (test/e2e/tools/build.sh) and then runs
//
//	go test -tags e2e -count=1 -v -timeout 40m ./test/e2e/
//
// The control plane itself (processes, certificates, the fake kubelet) is
// package test/e2e/controlplane, which the benchmark (bench/) runs too.
//
// Without the binaries or etcd the tests skip, unless CI is set or
// CLUSTERDNS_E2E=1, in which case they fail. CLUSTERDNS_E2E_KEEP=1 keeps the
// work directory (logs, certificates, etcd data) after the run.
package e2e
