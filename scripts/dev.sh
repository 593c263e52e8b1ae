#!/usr/bin/env bash
# The main job: a local Nexus dev network (`nexus dev`, one block per second, with a local anvil
# whose finalized blocks trigger functions) and three example functions deployed by the CLI —
# `eth-block-counter`, which runs on every finalized Ethereum block, `ticker`, which fires by
# itself every block, and `counter`, called by transactions — then the Ethereum-triggered logs
# followed live. Ctrl-C stops it all.
#
# NEXUS_DEMO_SECONDS=N stops following after N seconds (CI smoke runs); NEXUS_DEV_PORT and
# NEXUS_ANVIL_PORT pick the ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
NEXUS="${NEXUS:-$TARGET_DIR/release/nexus}"
EXAMPLES="${NEXUS_EXAMPLES_DIR:-$TARGET_DIR/examples-wasm}"
PORT="${NEXUS_DEV_PORT:-8645}"
ANVIL_PORT="${NEXUS_ANVIL_PORT:-8545}"
export NEXUS_RPC="http://127.0.0.1:$PORT"

"$NEXUS" dev --ephemeral --block-time 1s --rpc-addr "127.0.0.1:$PORT" --anvil-port "$ANVIL_PORT" &
NODE=$!
trap 'kill "$NODE" 2>/dev/null || true; wait "$NODE" 2>/dev/null || true' EXIT

for _ in $(seq 1 150); do
  "$NEXUS" status >/dev/null 2>&1 && break
  kill -0 "$NODE" 2>/dev/null || { echo "nexus dev exited; see its output above" >&2; exit 1; }
  sleep 0.2
done
"$NEXUS" status

# The id is the one 0x-prefixed 32-byte hex string after "function" in the JSON output.
function_of() { grep -o '"function": *"0x[0-9a-f]\{64\}"' | head -1 | grep -o '0x[0-9a-f]\{64\}'; }

echo "== deploying examples/eth-block-counter (every finalized Ethereum block), ticker (every block) and counter"
ETH="$("$NEXUS" deploy "$EXAMPLES/eth-block-counter.wasm" --json | function_of)"
TICKER="$("$NEXUS" deploy "$EXAMPLES/ticker.wasm" --json | function_of)"
COUNTER="$("$NEXUS" deploy "$EXAMPLES/counter.wasm" --json | function_of)"
echo "eth-block-counter $ETH"
echo "ticker  $TICKER"
echo "counter $COUNTER"

echo "== calling counter, then reading its state back with a Merkle proof"
"$NEXUS" call "$COUNTER" 41
"$NEXUS" call "$COUNTER" 1
"$NEXUS" kv get "$COUNTER" count --prove

echo "== eth-block-counter's logs, live: eth#N is the Ethereum block that ran it (Ctrl-C to stop)"
if [ -n "${NEXUS_DEMO_SECONDS:-}" ]; then
  timeout "$NEXUS_DEMO_SECONDS" "$NEXUS" logs -f "$ETH" || true
  echo "== the files the functions wrote, read back from their virtual filesystems"
  "$NEXUS" fs cat "$ETH" /blocks.txt | tail -n 3
  "$NEXUS" query "$ETH" ""
  "$NEXUS" fs cat "$TICKER" /ticks.log | tail -n 3
  "$NEXUS" eth status
else
  "$NEXUS" logs -f "$ETH"
fi
