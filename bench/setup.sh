#!/usr/bin/env bash
# Installs what the benchmark needs on a clean Debian machine and builds the
# control plane and CoreDNS once (test/e2e/tools/build.sh caches them in
# ~/.cache/clusterdns; about 10 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ] || need+=(unbound)
[ -x /usr/sbin/knotd ] || need+=(knot)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing ${need[*]}..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian's knot package may start a system knotd; the benchmark runs
    # its own.
  else
    echo "bench: missing ${need[*]}: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
bash test/e2e/tools/build.sh >/dev/null
