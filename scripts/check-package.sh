#!/usr/bin/env bash
# Release check: what `npm pack` ships installs globally into an empty prefix and runs there, and
# the single-file bundle runs with plain `node` away from node_modules. CI runs it after `npm test`.
#   1. build, pack into a temporary directory;
#   2. npm install -g --prefix <tmp> <tarball> (dependencies from the registry, as a user gets them);
#   3. <tmp>/bin/secretbridge --version is package.json's version; validate -c examples/secretbridge.yaml exits 0;
#   4. npm run bundle; the bundle, copied alone into an empty directory, passes the same two checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
started=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/secretbridge-pack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "check-package: FAIL: $*" >&2; exit 1; }

want=$(node -p 'require("./package.json").version')
npm run build --silent

echo "check-package: npm pack" >&2
tarball=$(npm pack --silent --pack-destination "$tmp" | tail -n 1)
[[ -f "$tmp/$tarball" ]] || fail "npm pack produced no tarball ($tarball)"
contents=$(tar -tzf "$tmp/$tarball")
for f in package/LICENSE package/README.md package/docs/configuration.md package/package.json package/bin/secretbridge.js package/dist/src/runtime/cli/main.js; do
  grep -qx "$f" <<<"$contents" || fail "$tarball lacks $f"
done
if grep -E '^package/(test|src|dist/test|dist/scripts|dist/bench|dist/lambda)/' <<<"$contents" | head -n 1 | grep -q .; then
  fail "$tarball ships files outside bin/ and dist/src/: $(grep -E '^package/(test|src|dist/test|dist/scripts|dist/bench|dist/lambda)/' <<<"$contents" | head -n 3 | tr '\n' ' ')"
fi

echo "check-package: npm install -g --prefix $tmp/prefix $tarball" >&2
npm install -g --prefix "$tmp/prefix" --no-audit --no-fund --loglevel=error "$tmp/$tarball" >/dev/null

# Run outside the repository and with a minimal environment, like a user's shell on a fresh machine.
check() { # <label> <command...>
  local label=$1; shift
  local got
  got=$(cd "$tmp" && env -i PATH="$PATH" HOME="$tmp" "$@" --version) || fail "$label --version exited $?"
  [[ "$got" == "$want" ]] || fail "$label --version printed '$got', package.json says '$want'"
  (cd "$tmp" && env -i PATH="$PATH" HOME="$tmp" VAULT_ADDR=https://vault.example.com:8200 "$@" validate -c "$repo/examples/secretbridge.yaml" >/dev/null) \
    || fail "$label validate -c examples/secretbridge.yaml exited $?"
  echo "check-package: $label: --version $got, validate ok" >&2
}
check "installed secretbridge" "$tmp/prefix/bin/secretbridge"

npm run bundle --silent >/dev/null
mkdir "$tmp/bundle" && cp dist/secretbridge.mjs "$tmp/bundle/"
check "node secretbridge.mjs (alone)" node "$tmp/bundle/secretbridge.mjs"

echo "check-package: ok in $((SECONDS - started))s" >&2
