#!/usr/bin/env bash
# Entry point of `npm run test:cluster`: builds (or reuses) the control-plane binaries of the e2e
# suite and the node's binaries (test/cluster/build-binaries.sh; Debian's containerd, runc, iptables
# via apt-get), then runs every test/cluster/*.test.ts one file at a time. Needs root: the node
# mounts, creates network namespaces, a bridge and iptables rules (all removed again, see cleanup.sh).
set -euo pipefail

cluster_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$cluster_dir/../.." && pwd)"
cd "$repo_root"

if [[ "$(id -u)" != 0 ]]; then
  echo "test:cluster runs a kubelet and containerd: it needs root" >&2
  exit 1
fi

started=$SECONDS
eval "$(bash test/e2e/build-binaries.sh)"
eval "$(bash "$cluster_dir/build-binaries.sh")"
export KUBE_APISERVER ETCD KUBECTL CLUSTER_BIN
echo "cluster binaries ready after $((SECONDS - started)) s (kubelet $("$CLUSTER_BIN/kubelet" --version | cut -d' ' -f2), $(/usr/bin/containerd --version | cut -d' ' -f3), runc $(/usr/sbin/runc --version | sed -n '1s/runc version //p'))"

shopt -s nullglob
tests=("$cluster_dir"/*.test.ts)
exec node --import tsx --test --test-concurrency=1 "${tests[@]}"
