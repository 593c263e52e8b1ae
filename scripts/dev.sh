#!/usr/bin/env bash
# The main job: a local Nexus dev network (`nexus dev`, one block per second) with two example
# functions deployed by the CLI — `ticker`, which fires by itself every block, and `counter`,
# called by transactions — then the ticker's logs followed live. Ctrl-C stops it all.
#
# NEXUS_DEMO_SECONDS=N stops following after N seconds (CI smoke runs); NEXUS_DEV_PORT picks the port.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
NEXUS="${NEXUS:-$TARGET_DIR/release/nexus}"
EXAMPLES="${NEXUS_EXAMPLES_DIR:-$TARGET_DIR/examples-wasm}"
PORT="${NEXUS_DEV_PORT:-8645}"
export NEXUS_RPC="http://127.0.0.1:$PORT"

"$NEXUS" dev --ephemeral --block-time 1s --rpc-addr "127.0.0.1:$PORT" &
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

echo "== deploying examples/ticker (fires every block) and examples/counter"
TICKER="$("$NEXUS" deploy "$EXAMPLES/ticker.wasm" --json | function_of)"
COUNTER="$("$NEXUS" deploy "$EXAMPLES/counter.wasm" --json | function_of)"
echo "ticker  $TICKER"
echo "counter $COUNTER"

echo "== calling counter, then reading its state back with a Merkle proof"
"$NEXUS" call "$COUNTER" 41
"$NEXUS" call "$COUNTER" 1
"$NEXUS" kv get "$COUNTER" count --prove

echo "== the ticker's logs, live (Ctrl-C to stop)"
if [ -n "${NEXUS_DEMO_SECONDS:-}" ]; then
  timeout "$NEXUS_DEMO_SECONDS" "$NEXUS" logs -f "$TICKER" || true
  echo "== the ticker's file, read back from its virtual filesystem"
  "$NEXUS" fs cat "$TICKER" /ticks.log | tail -n 3
  "$NEXUS" query "$TICKER" ""
else
  "$NEXUS" logs -f "$TICKER"
fi
