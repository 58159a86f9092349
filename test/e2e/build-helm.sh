#!/usr/bin/env bash
# Builds the real helm binary used by the chart tests (test/chart*.test.ts, test/e2e/helm-install.test.ts)
# from the Go module proxy, pinned in helm-tool/go.mod.
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/helm/<helm-version>/helm
# A binary built from the same helm-tool/go.sum is reused, so only the first run pays
# (cold: ~10 s of module download, then a few minutes of compiling on 2 cores; warm: instant).
#
# If HELM is set it must point at an existing executable, and nothing is built.
# On success the last line on stdout is a shell assignment HELM=/path (progress goes to stderr),
# so a caller can `eval "$(build-helm.sh)"`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="$here/helm-tool"
log() { printf '[build-helm] %s\n' "$*" >&2; }

if [[ -n "${HELM:-}" ]]; then
  [[ -x "$HELM" ]] || { log "ERROR: HELM=$HELM is not an executable file"; exit 1; }
  printf 'HELM=%q\n' "$HELM"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' is not on PATH (needed to build helm)"; exit 1; }

version="$(awk '$1 == "helm.sh/helm/v3" && $2 ~ /^v/ { print $2; exit }' "$tools_dir/go.mod")"
[[ -n "$version" ]] || { log "ERROR: could not read the helm.sh/helm/v3 version from $tools_dir/go.mod"; exit 1; }

out_dir="${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/helm/$version"
mkdir -p "$out_dir"
deps_sum="$(sha256sum "$tools_dir/go.sum" | cut -d' ' -f1)"
if [[ -x "$out_dir/helm" && -f "$out_dir/.helm.stamp" && "$(cat "$out_dir/.helm.stamp")" == "$deps_sum" ]]; then
  log "helm: cached at $out_dir/helm"
else
  jobs="${E2E_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  ((jobs > 4)) && jobs=4
  export CGO_ENABLED=0
  export GOFLAGS="-mod=readonly -buildvcs=false"
  tmp="$out_dir/.helm.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  log "building helm $version into $out_dir (go build -p $jobs)"
  t0=$SECONDS
  (cd "$tools_dir" && go build -p "$jobs" -trimpath \
    -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
    -o "$tmp" helm.sh/helm/v3/cmd/helm)
  mv -f "$tmp" "$out_dir/helm"
  printf '%s\n' "$deps_sum" >"$out_dir/.helm.stamp"
  log "helm: built in $((SECONDS - t0))s -> $out_dir/helm"
fi
printf 'HELM=%q\n' "$out_dir/helm"
