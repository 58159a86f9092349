#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser e2e tests
# (test/e2e/html-report.test.ts drives it with playwright-core, which never
# downloads a browser of its own). Installs it with apt-get when missing; needs
# root, as on the developers' machines and CI. Idempotent and quiet when present.
#
# The tests start it with --headless --no-sandbox --disable-gpu --disable-quic
# --no-first-run --disable-background-networking --disable-component-update
# --disable-sync and a fresh --user-data-dir: without them Chromium tries to
# reach the network, which is closed here.
set -euo pipefail

chromium=/usr/bin/chromium

if [[ -x "$chromium" ]]; then
  echo "chromium: $("$chromium" --version 2>/dev/null || echo "$chromium")" >&2
  exit 0
fi

bash "$(dirname "${BASH_SOURCE[0]}")/../ensure-debian-packages.sh" chromium "$chromium" -- chromium fonts-dejavu-core
echo "chromium: $("$chromium" --version 2>/dev/null || echo "$chromium")" >&2
