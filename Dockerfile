# syntax=docker/dockerfile:1
#
# clusterdns image: a static binary on distroless, non-root.
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/clusterdns/clusterdns:v0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v0.1.0 \
#     -t ghcr.io/clusterdns/clusterdns:v0.1.0 --push .
#
# internal/cli/dockerfile_test.go reads the `go build` RUN line below and runs
# it as written (on a copy of the build context that .dockerignore leaves), so
# keep it a single `go build` command with its environment in front.

# The builder runs on the build machine and cross-compiles (no emulation).
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=devel
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X github.com/clusterdns/clusterdns/internal/cli.Version=${VERSION}" \
      -o /out/clusterdns ./cmd/clusterdns

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.source="https://github.com/clusterdns/clusterdns" \
      org.opencontainers.image.description="Authoritative Kubernetes cluster DNS"
COPY --from=build /out/clusterdns /clusterdns
USER 65532:65532
# DNS on 5353 (UDP and TCP) so that no capability is needed; a Service maps
# port 53 to it. /health and /ready on 8080, Prometheus /metrics on 9153.
EXPOSE 5353/udp 5353/tcp 8080/tcp 9153/tcp
ENTRYPOINT ["/clusterdns"]
CMD ["serve", "--listen", "0.0.0.0:5353", "--health-addr", "0.0.0.0:8080", "--metrics-addr", "0.0.0.0:9153", "--log-format", "json"]
