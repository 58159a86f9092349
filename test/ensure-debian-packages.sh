#!/usr/bin/env bash
# Usage: ensure-debian-packages.sh NAME PROGRAM... -- PACKAGE...
# Installs the Debian PACKAGEs with apt-get unless every PROGRAM (an absolute path) is already
# executable. Needs root, as on the developers' machines and CI. Idempotent and quiet when present;
# test files starting at once wait for one install instead of fighting over dpkg's lock.
set -euo pipefail

name="$1"
shift
programs=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  programs+=("$1")
  shift
done
shift
packages=("$@")

present() {
  for program in "${programs[@]}"; do [[ -x "$program" ]] || return 1; done
}

present && exit 0
exec 9>"${TMPDIR:-/tmp}/lifecycle-guard-ensure-$name.lock"
flock 9
present && exit 0
if [[ "$(id -u)" != 0 ]]; then
  echo "ensure-$name: ${programs[*]} missing, and installing them needs root (apt-get install ${packages[*]})" >&2
  exit 1
fi
echo "ensure-$name: installing Debian's ${packages[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update >&2
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${packages[@]}" >&2
if ! present; then
  echo "ensure-$name: apt-get finished but ${programs[*]} still missing" >&2
  exit 1
fi
