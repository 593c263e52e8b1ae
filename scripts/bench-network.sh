#!/usr/bin/env bash
# Issue 4's network benchmark: 4 local validators (release build, real cometbft), `counter` calls
# from many senders at a steady concurrency, submit→commit latency, block time, and how long a
# killed validator takes to catch up 1,000 blocks. Prints one JSON object per measurement.
#
#   scripts/bench-network.sh            # defaults: 10,000 calls, 1,000 senders in flight
#   TXS=20000 SENDERS=2000 scripts/bench-network.sh
#   CATCHUP_BLOCKS=0 scripts/bench-network.sh   # load and latency only
set -euo pipefail
cd "$(dirname "$0")/.."

TXS="${TXS:-10000}"
SENDERS="${SENDERS:-1000}"
CATCHUP_BLOCKS="${CATCHUP_BLOCKS:-1000}"
BASE_PORT="${BASE_PORT:-28600}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
NEXUS="$CARGO_TARGET_DIR/release/nexus"
COUNTER="${NEXUS_EXAMPLES_DIR:-$CARGO_TARGET_DIR/examples-wasm}/counter.wasm"
# Dev account 0 (anvil's mnemonic), funded by `network new --dev-accounts`: deploys and funds.
FUNDER=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

[ -x "$NEXUS" ] || { echo "build first: make build" >&2; exit 1; }
[ -f "$COUNTER" ] || { echo "build the examples first: make examples" >&2; exit 1; }

DIR="$(mktemp -d /tmp/nexus-bench-XXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 2
  pkill -9 -f "$DIR" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

start() { # start validator $1
  "$NEXUS" validator start --home "$DIR/validator-$1" >>"$DIR/validator-$1/node.log" 2>&1 &
  pids[$1]=$!
}
api() { echo "http://127.0.0.1:$((BASE_PORT + 10 * $1 + 2))"; }
height() { "$NEXUS" status --rpc "$(api "$1")" --json 2>/dev/null | jq -r '.height // 0' || echo 0; }
block_time_ns() { "$NEXUS" status --rpc "$(api "$1")" --json | jq -r '.latest_block_time_ns'; }
wait_height() { # validator, height, timeout seconds
  local deadline=$((SECONDS + $3))
  until [ "$(height "$1")" -ge "$2" ]; do
    [ $SECONDS -lt $deadline ] || { echo "validator-$1 did not reach height $2" >&2; exit 1; }
    sleep 0.2
  done
}

"$NEXUS" network new --dir "$DIR" --validators 4 --dev-accounts --base-port "$BASE_PORT" >/dev/null
for i in 0 1 2 3; do start "$i"; done
for i in 0 1 2 3; do wait_height "$i" 2 120; done

# Throughput and latency under load, all submitted through validator 0.
h0=$(height 0); t0=$(block_time_ns 0)
"$NEXUS" bench calls --rpc "$(api 0)" --wasm "$COUNTER" --txs "$TXS" --senders "$SENDERS" \
  --concurrency "$SENDERS" --private-key "$FUNDER" --json | jq -c '{bench: "calls", validators: 4} + .'
h1=$(height 0); t1=$(block_time_ns 0)
jq -nc --argjson h0 "$h0" --argjson h1 "$h1" --argjson t0 "$t0" --argjson t1 "$t1" \
  '{bench: "block_time_under_load", blocks: ($h1 - $h0), block_time_ms: (($t1 - $t0) / ($h1 - $h0) / 1e6)}'

# Latency of one call at a time on an otherwise idle network.
"$NEXUS" bench latency --rpc "$(api 1)" --wasm "$COUNTER" --txs 100 --private-key "$FUNDER" --json | jq -c '{bench: "latency_idle", validators: 4} + .'
h2=$(height 0); t2=$(block_time_ns 0); sleep 10; h3=$(height 0); t3=$(block_time_ns 0)
jq -nc --argjson h0 "$h2" --argjson h1 "$h3" --argjson t0 "$t2" --argjson t1 "$t3" \
  '{bench: "block_time_idle", blocks: ($h1 - $h0), block_time_ms: (($t1 - $t0) / ($h1 - $h0) / 1e6)}'

[ "$CATCHUP_BLOCKS" -gt 0 ] || exit 0

# Catch-up: validator 3 is killed, the other three commit CATCHUP_BLOCKS more, then it restarts
# and the clock runs until it has their height. To make those blocks quickly, the three are
# restarted with short timeouts first (catching up replays blocks; it never waits on timeouts).
kill -9 "${pids[3]}"; sleep 1; pkill -9 -f "$DIR/validator-3/cometbft" 2>/dev/null || true
for i in 0 1 2; do kill -TERM "${pids[$i]}"; done
for i in 0 1 2; do while kill -0 "${pids[$i]}" 2>/dev/null; do sleep 0.2; done; done
for i in 0 1 2; do
  sed -i -e 's/^timeout_propose = .*/timeout_propose = "300ms"/' -e 's/^timeout_commit = .*/timeout_commit = "10ms"/' \
    "$DIR/validator-$i/cometbft/config/config.toml"
  start "$i"
done
for i in 0 1 2; do wait_height "$i" 1 120; done
target=$(( $(height 0) + CATCHUP_BLOCKS ))
wait_height 0 "$target" $((CATCHUP_BLOCKS * 2))
start 3
begin=$(date +%s.%N)
wait_height 3 "$target" 1200
end=$(date +%s.%N)
jq -nc --argjson b "$begin" --argjson e "$end" --argjson n "$CATCHUP_BLOCKS" \
  '{bench: "catch_up", blocks: $n, seconds: ($e - $b), blocks_per_s: ($n / ($e - $b))}'
