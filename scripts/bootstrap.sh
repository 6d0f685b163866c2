#!/usr/bin/env bash
# Makes a fresh clone runnable: installs npm packages from the lockfile when they are missing or
# were installed from another lockfile, then the pinned test peers. Both README commands start with it.
# `--browser` (npm test passes it) also installs what only the tests use, from Debian's packages:
# Chromium for the status page test, and promtool (package prometheus) for the alert rules' tests.
# The sandbox and the benchmarks need neither and do not ask for them.
set -euo pipefail
browser=false
for arg in "$@"; do
  case "$arg" in
    --browser) browser=true ;;
    *) echo "bootstrap: unknown argument $arg (usage: bootstrap.sh [--browser])" >&2; exit 2 ;;
  esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Installed packages are matched to the lockfile by its content, not its mtime: a fresh checkout or
# worktree gives the lockfile a new mtime, and `npm ci` would then wipe packages that are current.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f node_modules/.package-lock.json || "$(cat node_modules/.installed-lock.sha256 2>/dev/null)" != "$lock_sum" ]]; then
  echo "bootstrap: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.installed-lock.sha256
fi
bash scripts/install-peers.sh

# The status page is tested in a real headless Chromium (Debian's package; no browser download).
if $browser && ! command -v chromium >/dev/null 2>&1 && [[ -z "${CHROMIUM_PATH:-}" ]]; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian's chromium for the status page test" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: chromium is missing; install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
  fi
fi

# The alert rules in deploy/monitoring are tested with promtool (Debian's prometheus package).
if $browser && ! command -v promtool >/dev/null 2>&1 && [[ -z "${PROMTOOL:-}" ]]; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian's prometheus for promtool (the alert rules' tests)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "bootstrap: promtool is missing; install it (apt-get install prometheus) or set PROMTOOL" >&2
  fi
fi
