#!/usr/bin/env bash
# Renders deploy/grafana/chart.svg from a real run: clusterdns serves the
# embedded example cluster, dnsperf (Debian package) sends the ClusterFirst
# mix a pod with ndots:5 sends (search-path NXDOMAINs, then the hit), and
# chart samples /metrics once a second. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v dnsperf >/dev/null || { echo "needs dnsperf (apt-get install dnsperf)"; exit 1; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/clusterdns" ./cmd/clusterdns
"$tmp/clusterdns" serve --listen 127.0.0.1:5399 --metrics-addr 127.0.0.1:9199 --health-addr "" >/dev/null 2>&1 &
sleep 1
# What a pod in namespace default with ndots:5 sends (glibc, A and AAAA):
# each search domain in turn until a name exists, the name as is last.
for q in web.default.default.svc.cluster.local web.default.svc.cluster.local \
         api.default.default.svc.cluster.local api.default.svc.cluster.local \
         web-0.web.default.default.svc.cluster.local web-0.web.default.svc.cluster.local \
         primary.legacy.default.default.svc.cluster.local primary.legacy.default.svc.cluster.local \
         github.com.default.svc.cluster.local github.com.svc.cluster.local github.com.cluster.local github.com; do
  echo "$q A" >> "$tmp/queries"; echo "$q AAAA" >> "$tmp/queries"
done
echo "_peer._tcp.web.default.svc.cluster.local SRV" >> "$tmp/queries"
go run ./deploy/grafana/chart -metrics http://127.0.0.1:9199/metrics -duration 32s -out deploy/grafana/chart.svg \
  -title "clusterdns, example cluster, ndots:5 search-path mix; dnsperf -c 64 at 5k, 20k, then max QPS" &
chart=$!
sleep 1
for qps in 5000 20000 0; do
  dnsperf -s 127.0.0.1 -p 5399 -d "$tmp/queries" -c 64 -l 10 ${qps:+$( [ "$qps" != 0 ] && echo "-Q $qps")} >/dev/null
done
wait $chart
echo "wrote deploy/grafana/chart.svg"
