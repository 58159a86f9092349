#!/usr/bin/env bash
# Measures which shells replace themselves with the last (or only) command of a `-c` script, the way
# they run as PID 1 of a container: each script runs in a new PID namespace, and after a moment the
# program that is PID 1 there is read from /proc. `exec` means the shell is gone (PID 1 is `sleep`),
# `stays` means the shell is still PID 1 and `sleep` is its child.
#
# Output (TSV on stdout, checked in as docs/rules/shell-measurement.tsv, which the no-shell-entrypoint
# reference and a unit test read): shell, package, version, script, result.
#
#   sudo bash scripts/measure-shells.sh > docs/rules/shell-measurement.tsv
#
# Needs root (unshare --pid) and Debian's bash, dash, busybox, zsh, mksh and ksh93:
#   apt-get update && apt-get install -y bash dash busybox zsh mksh ksh93u+m
set -euo pipefail

# shell command line, Debian package that provides it
SHELLS=(
  "bash|bash"
  "dash|dash"
  "busybox sh|busybox"
  "zsh|zsh"
  "mksh|mksh"
  "ksh93|ksh93u+m"
)

# Scripts: one lone simple command (by PATH lookup, then by path: ksh93 has a `sleep` builtin, which
# it runs itself), then the constructs that keep a shell alive in some shells.
SCRIPTS=(
  'sleep 30'
  '/bin/sleep 30'
  $'/bin/sleep 30\n'
  'FOO=bar /bin/sleep 30'
  '/bin/sleep 30 >/dev/null'
  '/bin/sleep 30; true'
  'true; /bin/sleep 30'
  'true && /bin/sleep 30'
  '/bin/sleep 30 | cat'
  '(/bin/sleep 30)'
  'trap "echo bye" TERM; /bin/sleep 30'
  'exec /bin/sleep 30'
)

printf 'shell\tpackage\tversion\tscript\tresult\n'
for entry in "${SHELLS[@]}"; do
  read -r -a shell <<<"${entry%%|*}"
  package="${entry##*|}"
  if ! command -v "${shell[0]}" >/dev/null; then
    echo "measure-shells: ${shell[0]} is not installed (apt-get install -y ${package}); skipped" >&2
    continue
  fi
  version="$(dpkg-query -W -f='${Version}' "${package}" 2>/dev/null || echo unknown)"
  for script in "${SCRIPTS[@]}"; do
    unshare --fork --pid --mount-proc -- "${shell[@]}" -c "${script}" </dev/null >/dev/null 2>&1 &
    launcher=$!
    # PID 1 of the namespace is unshare's only child; wait until it has exec'd sleep or started a child.
    pid1=""
    for _ in $(seq 50); do
      pid1="$(ps -o pid= --ppid "${launcher}" | tr -d ' ' | head -n1 || true)"
      if [[ -n "${pid1}" ]] && { [[ "$(cat "/proc/${pid1}/comm" 2>/dev/null)" == sleep ]] || [[ -n "$(ps -o pid= --ppid "${pid1}")" ]]; }; then
        break
      fi
      sleep 0.1
    done
    comm="$(cat "/proc/${pid1}/comm" 2>/dev/null || echo '?')"
    if [[ "${comm}" == sleep ]]; then result=exec; else result=stays; fi
    # A newline in the script is written as \n so that each measurement stays on one line.
    printf '%s\t%s\t%s\t%s\t%s\n' "${shell[*]}" "${package}" "${version}" "${script//$'\n'/\\n}" "${result}"
    kill -KILL "${pid1}" 2>/dev/null || true
    wait "${launcher}" 2>/dev/null || true
  done
done
