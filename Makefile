.PHONY: build test fuzz ci

build:
	go build -o bin/clusterdns ./cmd/clusterdns

test:
	go test -race ./...

fuzz:
	go test -run '^$$' -fuzz '^FuzzRespond$$' -fuzztime 2m ./internal/server

ci:
	bash .ci/run
