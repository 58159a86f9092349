#!/usr/bin/env bash
# Builds the bench's peers from the Go module proxy (pinned in bench/peers/*/go.mod):
#   kyverno, kubectl-kyverno  (github.com/kyverno/kyverno v1.19.1)
#   kube-score                (github.com/zegl/kube-score v1.20.0)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/peers/, rebuilt only when a go.sum changes.
# Cold: about 0.5 GB of modules and ~10 min of compiling on 2 cores (far less when the e2e
# control-plane build already filled the module and build caches).
# Usage: build-peers.sh [kyverno|kube-score]...   Last lines on stdout: NAME=/path for each binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/peers"
mkdir -p "$out_dir"
log() { printf '[build-peers] %s\n' "$*" >&2; }
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' is not on PATH (needed to build the bench peers)"; exit 1; }

# module-dir  binary-name  go-package
targets=(
  "kyverno    kyverno          github.com/kyverno/kyverno/cmd/kyverno"
  "kyverno    kubectl-kyverno  github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno"
  "kube-score kube-score       github.com/zegl/kube-score/cmd/kube-score"
)
wanted=("${@:-kyverno kube-score}")
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
for t in "${targets[@]}"; do
  read -r module name pkg <<<"$t"
  [[ " ${wanted[*]} " == *" $module "* ]] || continue
  sum="$(sha256sum "$here/$module/go.sum" | cut -d' ' -f1)"
  if [[ -x "$out_dir/$name" && "$(cat "$out_dir/.$name.stamp" 2>/dev/null)" == "$sum" ]]; then
    log "$name: cached at $out_dir/$name"
  else
    started=$SECONDS
    (cd "$here/$module" && go build -p "$(nproc)" -trimpath -ldflags="-s -w" -o "$out_dir/.$name.tmp" "$pkg")
    mv -f "$out_dir/.$name.tmp" "$out_dir/$name"
    printf '%s\n' "$sum" >"$out_dir/.$name.stamp"
    log "$name: built in $((SECONDS - started))s -> $out_dir/$name"
  fi
  printf '%s=%q\n' "$(tr 'a-z-' 'A-Z_' <<<"$name")" "$out_dir/$name"
done
