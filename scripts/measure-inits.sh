#!/usr/bin/env bash
# Measures what happens to an app started by a shell under an init (tini, dumb-init, catatonit) when
# the container is stopped: each command line runs as PID 1 of a new PID namespace, PID 1 gets
# SIGTERM (as from the container runtime), and the app, a Node.js program that takes 0.5 s to shut
# down after SIGTERM, records what it saw. Each case runs RUNS times (the outcome can be a race).
#
#   clean    the app got SIGTERM and finished shutting down
#   cut      the app got SIGTERM but was killed before it finished (PID 1 exited under it)
#   killed   the app never saw SIGTERM: it was killed when PID 1 exited
#   ignored  nothing happened within 2 s: PID 1 swallowed SIGTERM (the runtime SIGKILLs it later)
#
# Output (TSV on stdout, checked in as docs/rules/init-measurement.tsv, which the no-shell-entrypoint
# reference shows): init, package, version, script, result.
#
#   sudo bash scripts/measure-inits.sh > docs/rules/init-measurement.tsv
#
# Needs root (unshare --pid), node, and Debian's tini, dumb-init and catatonit:
#   apt-get update && apt-get install -y tini dumb-init catatonit
set -euo pipefail

RUNS="${RUNS:-5}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

cat >"${work}/app.js" <<'JS'
const fs = require('fs');
const out = process.argv[2];
fs.writeFileSync(out, 'started\n');
process.on('SIGTERM', () => {
  fs.appendFileSync(out, 'term\n');
  setTimeout(() => { fs.appendFileSync(out, 'clean\n'); process.exit(0); }, 500);
});
setInterval(() => {}, 1000);
JS
app="$(command -v node) ${work}/app.js"

# init command line (empty: the shell is PID 1 itself), Debian package
INITS=(
  "(none)|"
  "tini --|tini"
  "tini -g --|tini"
  "dumb-init|dumb-init"
  "dumb-init --single-child|dumb-init"
  "catatonit --|catatonit"
  "catatonit -g --|catatonit"
)
# How the app is started: a shell that stays its parent, a shell that hands over, a lone command
# under bash (which execs it), and no shell at all.
SCRIPTS=(
  "sh -c 'APP; true'"
  "sh -c 'exec APP'"
  "bash -c 'APP'"
  "APP"
)

# One run: prints clean, cut, killed or ignored.
run_once() {
  local out="${work}/out"
  rm -f "${out}"
  unshare --fork --pid --mount-proc -- "$@" </dev/null >/dev/null 2>&1 &
  local launcher=$!
  for _ in $(seq 100); do [[ -s "${out}" ]] && break; sleep 0.05; done
  local pid1
  pid1="$(ps -o pid= --ppid "${launcher}" | tr -d ' ' | head -n1)"
  kill -TERM "${pid1}"
  sleep 2
  local result
  if grep -q clean "${out}"; then result=clean
  elif grep -q term "${out}"; then result=cut
  elif kill -0 "${pid1}" 2>/dev/null; then result=ignored
  else result=killed; fi
  kill -KILL "${pid1}" 2>/dev/null || true
  wait "${launcher}" 2>/dev/null || true
  echo "${result}"
}

printf 'init\tpackage\tversion\tscript\tresult\n'
for entry in "${INITS[@]}"; do
  read -r -a init <<<"${entry%%|*}"
  package="${entry##*|}"
  [[ -n "${package}" ]] || init=()
  if [[ -n "${package}" ]] && ! command -v "${init[0]}" >/dev/null; then
    echo "measure-inits: ${init[0]} is not installed (apt-get install -y ${package}); skipped" >&2
    continue
  fi
  version="$( [[ -n "${package}" ]] && dpkg-query -W -f='${Version}' "${package}" 2>/dev/null || echo '')"
  for script in "${SCRIPTS[@]}"; do
    command_line="${script//APP/${app} ${work}/out}"
    declare -A counts=()
    for _ in $(seq "${RUNS}"); do
      result="$(eval "run_once ${init[*]:-} ${command_line}")"
      counts[${result}]=$(( ${counts[${result}]:-0} + 1 ))
    done
    summary=""
    for result in clean cut killed ignored; do
      [[ -n "${counts[${result}]:-}" ]] && summary+="${summary:+, }${result} ${counts[${result}]}/${RUNS}"
    done
    unset counts
    printf '%s\t%s\t%s\t%s\t%s\n' "${entry%%|*}" "${package}" "${version}" "${script//APP/app}" "${summary}"
  done
done
