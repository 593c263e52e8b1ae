#!/usr/bin/env bash
# Compiles the Nexus contracts (ethereum/contracts: the gateway and the examples EthCaller,
# TestToken and NexusReceiver) with the pinned offline toolchain and writes the artifacts that
# nexus-ethereum's `sol!` bindings read: ABI, creation and runtime bytecode and method
# identifiers, without forge's AST and metadata. The artifact is committed, so cargo builds
# never need forge; scripts/test-contracts.sh fails when it is stale.
# Usage: scripts/build-contracts.sh [output dir, default ethereum/abi]
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR="${NEXUS_BIN_DIR:-$HOME/.cache/nexus/bin}"
OUT_DIR="$(realpath -m "${1:-ethereum/abi}")"
[ -x "$BIN_DIR/forge" ] \
  || { echo "build-contracts: no forge in $BIN_DIR: run scripts/install-ethereum-tools.sh" >&2; exit 1; }

build_dir="$(mktemp -d)"
trap 'rm -rf "$build_dir"' EXIT
# From ethereum/: foundry.toml names the solc shim relative to it. --force: a reused cache must
# never decide what gets committed.
(cd ethereum && "$BIN_DIR/forge" build --offline --force --skip test \
  --out "$build_dir/out" --cache-path "$build_dir/cache" >/dev/null)

mkdir -p "$OUT_DIR"
for name in NexusGateway EthCaller TestToken NexusReceiver; do
  node -e '
    const fs = require("node:fs");
    const [from, to] = process.argv.slice(1);
    const a = JSON.parse(fs.readFileSync(from, "utf8"));
    const artifact = {
      abi: a.abi,
      bytecode: { object: a.bytecode.object },
      deployedBytecode: { object: a.deployedBytecode.object },
      methodIdentifiers: a.methodIdentifiers,
    };
    fs.writeFileSync(to, JSON.stringify(artifact, null, 2) + "\n");
  ' "$build_dir/out/$name.sol/$name.json" "$OUT_DIR/$name.json"
done
