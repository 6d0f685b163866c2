#!/usr/bin/env bash
# Makes a fresh clone runnable: installs npm packages from the lockfile when they are missing or
# older than the lockfile, then the pinned test peers. Both README commands start with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "bootstrap: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/install-peers.sh
