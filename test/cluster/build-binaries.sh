#!/usr/bin/env bash
# Builds everything the single-node cluster suite runs besides Debian's packages:
#   kubelet, kube-proxy, kube-scheduler, kube-controller-manager  from k8s.io/kubernetes (the pin in
#                                                                 test/e2e/tools/go.mod, like kube-apiserver)
#   bridge, host-local, loopback (CNI plugins), crane             from test/cluster/tools/go.mod
#   lgtest (the program in the test images, static)               from test/cluster/lgtest
# and installs containerd, runc, iptables, conntrack and busybox-static with apt-get when missing.
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/cluster/<k8s-version>/ (CNI plugins in cni/).
# A binary is rebuilt only when the go.sum (or, for lgtest, the source) it was built from changed.
# Cold (measured on 2 cores, after the e2e binaries, whose Go build cache it shares): about 6 min 15 s
# for the four Kubernetes binaries, 45 s for the rest, 25 s of apt-get; with the build cache warm, 35 s.
#
# The last line on stdout is a shell assignment (progress goes to stderr), for `eval "$(...)"`:
#   CLUSTER_BIN=/dir
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
e2e_tools="$here/../e2e/tools"
cluster_tools="$here/tools"
log() { printf '[cluster-binaries] %s\n' "$*" >&2; }
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' is not on PATH"; exit 1; }

bash "$here/../ensure-debian-packages.sh" cluster \
  /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/sbin/iptables /usr/sbin/conntrack -- \
  containerd runc iptables conntrack
# The images copy /bin/busybox, so it must be the static one: Debian's `busybox` has a dynamic one there.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  log "installing Debian's busybox-static with apt-get"
  apt-get -o DPkg::Lock::Timeout=300 update >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends busybox-static >&2
fi

k8s_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }' "$e2e_tools/go.mod")"
[[ -n "$k8s_version" ]] || { log "ERROR: no k8s.io/kubernetes version in $e2e_tools/go.mod"; exit 1; }
out_dir="${XDG_CACHE_HOME:-$HOME/.cache}/lifecycle-guard/cluster/$k8s_version"
mkdir -p "$out_dir/cni"

export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
jobs="${E2E_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
((jobs > 4)) && jobs=4

# build DIR STAMP-SOURCE OUT-DIR LDFLAGS PACKAGE...: one `go build` for all PACKAGEs missing or stale in OUT-DIR.
build() {
  local module_dir="$1" stamp_source="$2" target_dir="$3" ldflags="$4"
  shift 4
  local stamp stale=() pkg name
  stamp="$(sha256sum <"$stamp_source" | cut -d' ' -f1)"
  for pkg in "$@"; do
    name="${pkg##*/}"
    if [[ -x "$target_dir/$name" && "$(cat "$target_dir/.$name.stamp" 2>/dev/null)" == "$stamp" ]]; then
      log "$name: cached at $target_dir/$name"
    else
      stale+=("$pkg")
    fi
  done
  ((${#stale[@]} > 0)) || return 0
  local started=$SECONDS tmp
  tmp="$(mktemp -d "$target_dir/.build.XXXXXX")"
  log "building ${stale[*]##*/} (go build -p $jobs)"
  (cd "$module_dir" && go build -p "$jobs" -trimpath -ldflags="$ldflags" -o "$tmp/" "${stale[@]}")
  for pkg in "${stale[@]}"; do
    name="${pkg##*/}"
    mv -f "$tmp/$name" "$target_dir/$name"
    printf '%s\n' "$stamp" >"$target_dir/.$name.stamp"
  done
  rmdir "$tmp"
  log "built in $((SECONDS - started))s"
}

minor="${k8s_version#v1.}"
minor="${minor%%.*}"
k8s_ldflags="-s -w"
for vp in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $vp.gitVersion=$k8s_version -X $vp.gitMajor=1 -X $vp.gitMinor=$minor -X $vp.gitTreeState=clean"
done
build "$e2e_tools" "$e2e_tools/go.sum" "$out_dir" "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kube-controller-manager
build "$cluster_tools" "$cluster_tools/go.sum" "$out_dir/cni" "-s -w" \
  github.com/containernetworking/plugins/plugins/main/bridge github.com/containernetworking/plugins/plugins/ipam/host-local \
  github.com/containernetworking/plugins/plugins/main/loopback
build "$cluster_tools" "$cluster_tools/go.sum" "$out_dir" "-s -w" github.com/google/go-containerregistry/cmd/crane
build "$here/lgtest" "$here/lgtest/main.go" "$out_dir" "-s -w" lifecycle-guard.local/lgtest

printf 'CLUSTER_BIN=%q\n' "$out_dir"
