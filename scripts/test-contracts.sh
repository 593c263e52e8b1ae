#!/usr/bin/env bash
# Runs the contracts' forge tests offline with the pinned toolchain and checks that the committed
# artifact (ethereum/abi, read by the Rust bindings) is what the contracts compile to now. Fails,
# never skips, when the toolchain is missing: scripts/install-ethereum-tools.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR="${NEXUS_BIN_DIR:-$HOME/.cache/nexus/bin}"
for tool in forge solc; do
  [ -x "$BIN_DIR/$tool" ] \
    || { echo "test-contracts: no $tool in $BIN_DIR: run scripts/install-ethereum-tools.sh" >&2; exit 1; }
done

(cd ethereum && "$BIN_DIR/forge" test --offline)

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
bash scripts/build-contracts.sh "$fresh"
for artifact in ethereum/abi/*.json; do
  diff -u "$artifact" "$fresh/$(basename "$artifact")" \
    || { echo "test-contracts: $artifact is stale: run scripts/build-contracts.sh and commit it" >&2; exit 1; }
done
echo "test-contracts: committed artifacts match the contracts"
