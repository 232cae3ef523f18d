.PHONY: build test fuzz ci

build:
	go build -o bin/clusterdns ./cmd/clusterdns

test:
	go test -race ./...

fuzz:
	go test -run '^$$' -fuzz '^FuzzRespond$$' -fuzztime 2m ./internal/server
	go test -run '^$$' -fuzz '^FuzzTCPStream$$' -fuzztime 2m ./internal/server
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 2m ./internal/source/manifest
	go test -run '^$$' -fuzz '^FuzzBook$$' -fuzztime 2m ./internal/autopath
	go test -run '^$$' -fuzz '^FuzzMetrics$$' -fuzztime 2m ./internal/doctor
	go test -run '^$$' -fuzz '^FuzzServeTransfer$$' -fuzztime 2m ./internal/transfer

ci:
	bash .ci/run

# End-to-end against a real control plane (etcd, kube-apiserver,
# kube-controller-manager) and real CoreDNS; see test/e2e/doc.go. Needs etcd
# (Debian: etcd-server); build.sh builds the rest once into ~/.cache/clusterdns.
.PHONY: e2e
e2e:
	bash test/e2e/tools/build.sh
	go test -tags e2e -count=1 -v -timeout 40m ./test/e2e/

# Benchmark against CoreDNS 1.14.2, a minimal Go responder (the ceiling) and
# Knot DNS on a real control plane; writes bench/RESULTS.md (see bench/).
# bench-quick is the developer's variant (under 3 minutes), printed only.
.PHONY: bench bench-quick bench-doctor bench-churn bench-scale
bench:
	bash bench/setup.sh
	go run ./bench -out bench/RESULTS.md

bench-quick:
	bash bench/setup.sh
	go run ./bench -quick

# bench-doctor (about 2 minutes): clusterdns doctor against the real API
# server at 2,000 Services and 20,000 pods (issue 15's scale); printed.
bench-doctor:
	bash bench/setup.sh
	go run ./bench -only doctor

# bench-churn (about 4 minutes): each server on kubeadm's Corefile at half
# its maximum, quiet and while 100 and 500 endpoint changes a second are
# written through the API (issue 17's churn); printed.
bench-churn:
	bash bench/setup.sh
	go run ./bench -only churn

# bench-scale (about 30 minutes, most of it writing the state): 50,000
# Services and about 300,000 endpoints written through the API server, each
# server started on them (issue 17's scale); printed. With
# `go run ./bench -only scale -state-dir DIR` a second run reuses the state.
bench-scale:
	bash bench/setup.sh
	go run ./bench -only scale

# Soak (not in CI): 30 minutes of serve under a well-behaved load (dnsperf
# at 80% of the UDP rate it measures first, TCP clients, a UDP prober) and
# misbehaving clients (idle and slowloris TCP past the connection cap, held
# HTTP keep-alives, pipeliners that never read, malformed packets), with a
# verdict on growth and lost answers; see bench/soak. Needs dnsperf and
# prlimit. soak writes bench/soak/RESULTS.md; soak-quick (2 minutes) prints.
.PHONY: soak soak-quick
soak:
	go run ./bench/soak -out bench/soak/RESULTS.md

soak-quick:
	go run ./bench/soak -quick
