#!/usr/bin/env bash
# Makes sure Debian's Distribution registry (/usr/bin/docker-registry) and htpasswd (apache2-utils,
# for the bcrypt password file) are installed, for the registry tests under test/images/ and the
# e2e image test. Cold: about 30 s (apt-get update + two small packages).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/../ensure-debian-packages.sh" registry /usr/bin/docker-registry /usr/bin/htpasswd -- docker-registry apache2-utils
# The package may start a system-wide registry on :5000; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
