#!/usr/bin/env bash
# Builds the real control-plane binaries used by the e2e suite (envtest style):
#   kube-apiserver, kubectl  from k8s.io/kubernetes  (pinned in tools/go.mod)
#   etcd                     from go.etcd.io/etcd/server/v3 (same module graph)
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/e2e/<k8s-version>/{kube-apiserver,kubectl,etcd}
# Binaries already present there (built from the same tools/go.sum) are not
# rebuilt, so only the first run pays
# (cold: ~0.6 GB of Go modules, ~10 s to download here, then ~8.5 min of
# compiling on 2 cores; ~3 GB of Go build cache).
#
# If KUBE_APISERVER / ETCD / KUBECTL are set they must point at existing
# executables, and that binary is not built.
#
# On success the last three lines on stdout are shell assignments:
#   KUBE_APISERVER=/path  ETCD=/path  KUBECTL=/path
# (progress goes to stderr), so a caller can `eval "$(build-binaries.sh)"`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="$here/tools"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "ERROR: 'go' is not on PATH (needed to build the e2e binaries)"; exit 1; }

# Single source of truth for the versions: tools/go.mod.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }
                    $1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }' "$tools_dir/go.mod")"
etcd_version="$(awk '($1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/) { print $2; exit }
                     ($1 == "require" && $2 == "go.etcd.io/etcd/server/v3") { print $3; exit }' "$tools_dir/go.mod")"
if [[ -z "$k8s_version" || -z "$etcd_version" ]]; then
  log "ERROR: could not read k8s.io/kubernetes / etcd versions from $tools_dir/go.mod"
  exit 1
fi

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/e2e"
out_dir="$cache_root/$k8s_version"
mkdir -p "$out_dir"
# A cached binary is reused only if it was built from the current go.sum
# (so e.g. bumping etcd alone, which keeps the directory name, rebuilds etcd).
deps_sum="$(sha256sum "$tools_dir/go.sum" | cut -d' ' -f1)"
stamp_ok() { [[ -x "$out_dir/$1" && -f "$out_dir/.$1.stamp" && "$(cat "$out_dir/.$1.stamp")" == "$deps_sum" ]]; }

# name  go-package  env-override
targets=(
  "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver KUBE_APISERVER"
  "kubectl        k8s.io/kubernetes/cmd/kubectl        KUBECTL"
  "etcd           go.etcd.io/etcd/server/v3            ETCD"
)

declare -A result
to_build=()
for t in "${targets[@]}"; do
  read -r name pkg var <<<"$t"
  override="${!var:-}"
  if [[ -n "$override" ]]; then
    if [[ ! -x "$override" ]]; then
      log "ERROR: $var=$override is not an executable file"
      exit 1
    fi
    result[$name]="$override"
    log "$name: using $var=$override"
  elif stamp_ok "$name"; then
    result[$name]="$out_dir/$name"
    log "$name: cached at $out_dir/$name"
  else
    result[$name]="$out_dir/$name"
    to_build+=("$name $pkg")
  fi
done

if ((${#to_build[@]} > 0)); then
  # 2-core machines: -p 2 keeps at most two compiles running; each compile of
  # the big generated k8s packages can take >1 GB, which is fine at this size.
  jobs="${E2E_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  ((jobs > 4)) && jobs=4
  export CGO_ENABLED=0          # static binaries, like upstream releases; no C toolchain needed
  export GOFLAGS="-mod=readonly -buildvcs=false"
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  vpkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
  ldflags="-s -w"
  for vp in "${vpkgs[@]}"; do
    ldflags+=" -X $vp.gitVersion=$k8s_version -X $vp.gitMajor=1 -X $vp.gitMinor=$minor"
    ldflags+=" -X $vp.gitTreeState=clean -X $vp.buildDate=$build_date"
  done

  pkgs=()
  for t in "${to_build[@]}"; do read -r _ pkg <<<"$t"; pkgs+=("$pkg"); done

  log "building ${#to_build[@]} binary(ies) for k8s $k8s_version / etcd $etcd_version into $out_dir (go build -p $jobs)"
  trap 'rm -f "$out_dir"/.*.tmp.$$' EXIT
  t0=$SECONDS
  # Phase 1: fetch the modules those packages need (the download half of a cold run).
  (cd "$tools_dir" && go list -deps "${pkgs[@]}" >/dev/null)
  t1=$SECONDS
  log "module download/verify: $((t1 - t0))s"
  # Phase 2: compile. One binary at a time; the shared build cache makes the
  # later ones cheap (client-go, apimachinery, grpc, etcd client ... are common).
  for t in "${to_build[@]}"; do
    read -r name pkg <<<"$t"
    tb=$SECONDS
    tmp="$out_dir/.$name.tmp.$$"
    (cd "$tools_dir" && go build -p "$jobs" -trimpath -ldflags="$ldflags" -o "$tmp" "$pkg")
    mv -f "$tmp" "$out_dir/$name"
    printf '%s\n' "$deps_sum" >"$out_dir/.$name.stamp"
    log "$name: built in $((SECONDS - tb))s -> $out_dir/$name"
  done
  log "total build time: $((SECONDS - t0))s"
fi

printf 'KUBE_APISERVER=%q\n' "${result[kube-apiserver]}"
printf 'ETCD=%q\n' "${result[etcd]}"
printf 'KUBECTL=%q\n' "${result[kubectl]}"
