.PHONY: build test fuzz ci

build:
	go build -o bin/clusterdns ./cmd/clusterdns

test:
	go test -race ./...

fuzz:
	go test -run '^$$' -fuzz '^FuzzRespond$$' -fuzztime 2m ./internal/server
	go test -run '^$$' -fuzz '^FuzzTCPStream$$' -fuzztime 2m ./internal/server
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 2m ./internal/source/manifest

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
.PHONY: bench bench-quick
bench:
	bash bench/setup.sh
	go run ./bench -out bench/RESULTS.md

bench-quick:
	bash bench/setup.sh
	go run ./bench -quick
