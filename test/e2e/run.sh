#!/usr/bin/env bash
# Entry point of `npm run test:e2e`: builds (or reuses) the real control-plane
# binaries, then runs every test/e2e/*.test.ts one file at a time against them.
# Works from a fresh clone: the first run builds kube-apiserver/kubectl/etcd
# from source with Go (several minutes; cached under ~/.cache afterwards).
set -euo pipefail

e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$e2e_dir/../.." && pwd)"
cd "$repo_root"

# build-binaries.sh prints KUBE_APISERVER=..., ETCD=..., KUBECTL=... on stdout.
binaries="$(bash "$e2e_dir/build-binaries.sh")"
eval "$binaries"
export KUBE_APISERVER ETCD KUBECTL
echo "e2e binaries:"
echo "  kube-apiserver: $KUBE_APISERVER ($("$KUBE_APISERVER" --version))"
echo "  etcd:           $ETCD ($("$ETCD" --version | sed -n 1p))"
echo "  kubectl:        $KUBECTL ($("$KUBECTL" version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | sed -n 1p))"

# The Helm chart is tested with the real helm (built from the Go module proxy, cached like the above).
eval "$(bash "$e2e_dir/build-helm.sh")"
export HELM
echo "  helm:           $HELM ($("$HELM" version --short))"

# The HTML audit report is checked in real headless Chromium (Debian's package).
bash "$e2e_dir/ensure-chromium.sh"

shopt -s nullglob
tests=(test/e2e/*.test.ts)
if ((${#tests[@]} == 0)); then
  echo "no e2e test files in test/e2e" >&2
  exit 2
fi
# Node 20's --test does not expand globs, so bash does. One file at a time:
# each file starts its own etcd + kube-apiserver and the machine has 2 cores.
exec node --import tsx --test --test-concurrency=1 "${tests[@]}"
