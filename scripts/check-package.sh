#!/usr/bin/env bash
# The package installs the ways the README says, outside the repository, and its binary works:
#   1. npm pack, then `npm install -g` of the tarball into a temporary prefix;
#   2. (with --git) `npm pack git+file://<repo>#<HEAD>` (a clone, its dev dependencies, the `prepare`
#      build: what `git+https://` URLs get too), then `npm install -g` of that tarball. A direct
#      `npm install -g <git url>` is broken in npm itself for packages built by `prepare` (it never
#      installs their dev dependencies in global mode: https://github.com/npm/cli/issues/8440).
# Each installed `lifecycle-guard` must print the package version, pass a clean fixture (exit 0),
# deny a failing one (exit 1) and load its bundled client-node KubeConfig (`audit` with basic auth: exit 2, unreachable). Called from .ci/run. Warm: a few seconds for the tarball (it has no dependencies: dist/ bundles them), ~20 s more with --git (npm installing the dev dependencies the `prepare` build needs, from its cache).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
version="$(node -p 'require("./package.json").version')"
pass="$root/test/fixtures/require-readiness-probe/$(ls test/fixtures/require-readiness-probe | grep '^pass\.' | head -1)"
fail="$root/test/fixtures/no-shell-entrypoint/$(ls test/fixtures/no-shell-entrypoint | grep '^fail\.' | head -1)"
npm_install=(npm install -g --no-audit --no-fund --prefer-offline --loglevel=error)
cat >"$tmp/unreachable.kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { username: u, password: p } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
EOF

check_binary() { # prefix label
  local bin="$1/bin/lifecycle-guard" status
  [[ -x "$bin" ]] || { echo "check-package: $2: no bin/lifecycle-guard in the prefix" >&2; exit 1; }
  [[ "$("$bin" --version)" == "$version" ]] || { echo "check-package: $2: --version is not $version" >&2; exit 1; }
  # Outside the repository, so nothing resolves from its node_modules or dist.
  (cd "$tmp" && "$bin" check "$pass" >/dev/null) || { echo "check-package: $2: check on a passing fixture failed" >&2; exit 1; }
  status=0
  (cd "$tmp" && "$bin" check "$fail" >/dev/null) || status=$?
  [[ $status == 1 ]] || { echo "check-package: $2: check on a failing fixture exited $status, not 1" >&2; exit 1; }
  # client-node's KubeConfig is bundled into dist/ at build time, not installed. Basic auth is one of the
  # kubeconfigs the own client hands to it: `audit` must load the bundle and report an unreachable API
  # server as bad input (2), not fail to import (1).
  local stderr
  status=0
  stderr="$(cd "$tmp" && KUBECONFIG="$tmp/unreachable.kubeconfig" "$bin" audit 2>&1 >/dev/null)" || status=$?
  # ECONNREFUSED: it got as far as connecting (a bundle that failed to load is reported before that).
  [[ $status == 2 && "$stderr" == *"cannot scan https://127.0.0.1:1: connect ECONNREFUSED"* ]] ||
    { echo "check-package: $2: audit against an unreachable API server exited $status: $stderr" >&2; exit 1; }
  echo "check-package: $2: lifecycle-guard $version installs and checks"
}

t0=$SECONDS
tarball="$(npm pack --silent --pack-destination "$tmp" | tail -1)"
"${npm_install[@]}" --prefix "$tmp/tarball" "$tmp/$tarball" >/dev/null
check_binary "$tmp/tarball" "npm install -g ./$tarball ($((SECONDS - t0))s)"

if [[ "${1:-}" == "--git" ]]; then
  t0=$SECONDS
  mkdir "$tmp/from-git"
  head="$(git rev-parse HEAD)"
  tarball="$(cd "$tmp/from-git" && npm pack --silent --prefer-offline "git+file://$root#$head" | tail -1)"
  "${npm_install[@]}" --prefix "$tmp/git" "$tmp/from-git/$tarball" >/dev/null
  check_binary "$tmp/git" "npm pack git+file://…#HEAD, then npm install -g ($((SECONDS - t0))s)"
fi
