#!/usr/bin/env bash
# Usage: cleanup.sh DIR
# Tears down the node that test/cluster/harness/cluster.ts started in DIR, whatever state it is in
# (normal stop, failed start, or the test process SIGKILLed: the harness's watchdog runs this then).
# Idempotent. Only touches what that node created: the processes whose pids it wrote to DIR/pids,
# the containers in its own runc root, the shims of its own containerd, mounts under DIR, the
# kubelet's and kube-proxy's iptables chains, the CNI bridge and the node address on lo (names in
# DIR/node.env), the container cgroups, DIR and the directories listed in DIR/also-remove.
set -uo pipefail
dir="${1:?usage: cleanup.sh DIR}"
[[ -d "$dir" ]] || exit 0
# NODE_IP, BRIDGE, KUBE_PROXY, RUNC_ROOT
# shellcheck source=/dev/null
[[ -f "$dir/node.env" ]] && source "$dir/node.env"

# 1. The node's processes, newest first (kubelet and kube-proxy before containerd), at once:
#    nothing has to shut down gracefully, everything below is removed anyway.
if [[ -d "$dir/pids" ]]; then
  for pidfile in $(ls -r "$dir/pids"); do
    pid="$(cat "$dir/pids/$pidfile")"
    kill -9 "$pid" 2>/dev/null
  done
fi

# 2. The containers: `runc delete --force` kills a container's processes and removes its cgroups.
if [[ -n "${RUNC_ROOT:-}" && -d "$RUNC_ROOT" ]]; then
  for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
    runc --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1
  done
fi
# 3. The shims of this containerd: the processes started with `-address DIR/containerd/containerd.sock`.
for cmdline in /proc/[0-9]*/cmdline; do
  if tr '\0' ' ' <"$cmdline" 2>/dev/null | grep -qF -- "-address $dir/containerd/containerd.sock"; then
    pid="${cmdline#/proc/}"
    kill -9 "${pid%/cmdline}" 2>/dev/null
  fi
done
# A killed shim leaves its socket behind: /run/containerd/s/<sha256 of containerd's address/namespace/id>.
for task in "$dir"/containerd/state/io.containerd.runtime.v2.task/k8s.io/*; do
  [[ -d "$task" ]] || continue
  rm -f "/run/containerd/s/$(printf '%s' "$dir/containerd/containerd.sock/k8s.io/${task##*/}" | sha256sum | cut -d' ' -f1)"
done
sleep 0.5

# 4. Mounts under DIR (container rootfs overlays, network namespaces, kubelet volumes), deepest first.
for _ in 1 2 3; do
  mounts="$(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)"
  [[ -z "$mounts" ]] && break
  while read -r mountpoint; do
    umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null
  done <<<"$mounts"
done

# 5. Network: kube-proxy's iptables chains, the CNI bridge, the node address.
[[ -n "${KUBE_PROXY:-}" && -x "$KUBE_PROXY" ]] && "$KUBE_PROXY" --cleanup >/dev/null 2>&1
# The kubelet's own chains (it has no --cleanup): the hint chain, the canaries and KUBE-FIREWALL.
if [[ -n "${KUBE_PROXY:-}" ]]; then
  for iptables in iptables ip6tables; do
    while "$iptables" -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    while "$iptables" -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    "$iptables" -t filter -F KUBE-FIREWALL 2>/dev/null && "$iptables" -t filter -X KUBE-FIREWALL 2>/dev/null
    for table in mangle nat filter; do "$iptables" -t "$table" -X KUBE-KUBELET-CANARY 2>/dev/null; done
    "$iptables" -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null
  done
fi
[[ -n "${BRIDGE:-}" ]] && ip link delete "$BRIDGE" 2>/dev/null
[[ -n "${NODE_IP:-}" ]] && ip addr delete "$NODE_IP/32" dev lo 2>/dev/null

# 6. Container cgroups containerd made under its default parent (empty once the containers are gone).
for hierarchy in /sys/fs/cgroup/*/k8s.io; do
  [[ -d "$hierarchy" ]] || continue
  find "$hierarchy" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
  rmdir "$hierarchy" 2>/dev/null
done

# Directories of the node's companions (registry data, webhook certificates), all under the temp dir.
if [[ -f "$dir/also-remove" ]]; then
  while read -r path; do
    [[ "$path" == "${TMPDIR:-/tmp}"/* ]] && rm -rf "$path"
  done <"$dir/also-remove"
fi
rm -rf "$dir"
exit 0
