#!/usr/bin/env bash
# Makes sure Debian's Distribution registry (/usr/bin/docker-registry) and htpasswd (apache2-utils,
# for the bcrypt password file) are installed, for the registry tests under test/images/ and the
# e2e image test. Installs them with apt-get when missing (needs root, as on the developers' machines
# and CI); idempotent and quiet when present. Cold: about 30 s (apt-get update + two small packages).
set -euo pipefail

if [[ -x /usr/bin/docker-registry && -x /usr/bin/htpasswd ]]; then
  exit 0
fi
# Several test files start at once: one installs, the others wait for it and find the packages there.
exec 9>"${TMPDIR:-/tmp}/lifecycle-guard-ensure-registry.lock"
flock 9
if [[ -x /usr/bin/docker-registry && -x /usr/bin/htpasswd ]]; then
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "ensure-registry: docker-registry or htpasswd is missing and installing them needs root (apt-get install docker-registry apache2-utils)" >&2
  exit 1
fi
echo "ensure-registry: installing Debian's docker-registry and apache2-utils with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update >&2
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends docker-registry apache2-utils >&2
# The package starts a system-wide registry on :5000; the tests start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
[[ -x /usr/bin/docker-registry && -x /usr/bin/htpasswd ]]
