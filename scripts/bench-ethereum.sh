#!/usr/bin/env bash
# Ethereum benchmark (BENCHMARKS.md): a release `nexus dev` (blocks every BLOCK_TIME) following a
# fresh anvil with finality two blocks behind; `nexus bench eth` deploys eth-block-counter, mines
# BLOCKS Ethereum blocks one at a time measuring finality → committed invocation, then OUTAGE at
# once measuring the catch-up. Needs scripts/install-ethereum-tools.sh and the examples built.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
NEXUS="${NEXUS:-$TARGET_DIR/release/nexus}"
ANVIL="${ANVIL:-$HOME/.cache/nexus/bin/anvil}"
BLOCK_TIME="${BLOCK_TIME:-500ms}"
BLOCKS="${BLOCKS:-20}"
OUTAGE="${OUTAGE:-1000}"
ANVIL_PORT="${ANVIL_PORT:-28545}"
NODE_PORT="${NODE_PORT:-28645}"
export NEXUS_EXAMPLES_DIR="${NEXUS_EXAMPLES_DIR:-$TARGET_DIR/examples-wasm}"
[ -x "$NEXUS" ] || (cd "$ROOT" && cargo build --release -p nexus-node)

"$ANVIL" --host 127.0.0.1 --port "$ANVIL_PORT" --slots-in-an-epoch 1 --silent &
ANVIL_PID=$!
"$NEXUS" dev --ephemeral --block-time "$BLOCK_TIME" --rpc-addr "127.0.0.1:$NODE_PORT" \
  --eth-rpc "http://127.0.0.1:$ANVIL_PORT" >/dev/null &
NODE_PID=$!
trap 'kill "$NODE_PID" "$ANVIL_PID" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$NEXUS" status --rpc "http://127.0.0.1:$NODE_PORT" >/dev/null 2>&1 && break
  sleep 0.2
done
"$NEXUS" bench eth --rpc "http://127.0.0.1:$NODE_PORT" --eth-rpc "http://127.0.0.1:$ANVIL_PORT" \
  --blocks "$BLOCKS" --outage "$OUTAGE" "$@"
