#!/usr/bin/env bash
# Builds the binaries the e2e tests need into a cache directory, keyed by
# version, and prints the directory. Later runs find them and skip the build.
#   kube-apiserver, kube-controller-manager, kubectl  (k8s.io/kubernetes v1.37.2)
#   coredns                                            (github.com/coredns/coredns v1.14.2)
#   coredns, the first release with `zonal`            (github.com/coredns/coredns v1.14.7)
#   etcd                                               (go.etcd.io/etcd/server/v3 v3.7.0, the one Kubernetes pins)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s_version=v1.37.2
coredns_version=v1.14.2
# The kubernetes plugin's zonal option first shipped in 1.14.7
# (coredns/coredns#8388): the zonal names are compared with that release.
coredns_zonal_version=v1.14.7
cache=${CLUSTERDNS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterdns}
etcd_version=v3.7.0
edir=$cache/etcd-$etcd_version
kdir=$cache/kubernetes-$k8s_version
# CoreDNS is built as its releases are (its Makefile: CGO_ENABLED=0,
# -ldflags "-s -w"), so that the benchmark compares the binaries users run.
cdir=$cache/coredns-$coredns_version-release
mkdir -p "$kdir" "$cdir" "$edir"
export GOFLAGS=-mod=mod
for cmd in kube-apiserver kube-controller-manager kubectl; do
  if [ ! -x "$kdir/$cmd" ]; then
    echo "building $cmd $k8s_version (the first time takes minutes)..." >&2
    (cd "$here" && go build -o "$kdir/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd") && mv "$kdir/$cmd.tmp" "$kdir/$cmd"
  fi
done
if [ ! -x "$edir/etcd" ]; then
  echo "building etcd $etcd_version..." >&2
  (cd "$here" && go build -o "$edir/etcd.tmp" ./etcd) && mv "$edir/etcd.tmp" "$edir/etcd"
fi
if [ ! -x "$cdir/coredns" ]; then
  echo "building coredns $coredns_version..." >&2
  CGO_ENABLED=0 GOBIN="$cdir" GOFLAGS= go install -ldflags "-s -w" "github.com/coredns/coredns@$coredns_version"
fi
zdir=$cache/coredns-$coredns_zonal_version-release
if [ ! -x "$zdir/coredns" ]; then
  echo "building coredns $coredns_zonal_version (zonal names)..." >&2
  mkdir -p "$zdir"
  CGO_ENABLED=0 GOBIN="$zdir" GOFLAGS= go install -ldflags "-s -w" "github.com/coredns/coredns@$coredns_zonal_version"
fi
echo "$cache"
