#!/usr/bin/env bash
# The main job until the chain lands: the example functions run by the deterministic runtime, with
# state persisted between calls exactly as the chain will keep it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
EX="${NEXUS_EXAMPLES_DIR:-$TARGET_DIR/examples-wasm}"
NEXUS="$TARGET_DIR/release/nexus"
STATE="$(mktemp -d)"
trap 'rm -rf "$STATE"' EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

say "$NEXUS" inspect "$EX/counter.wasm"
say "$NEXUS" run "$EX/counter.wasm" --entry init --state "$STATE/counter"
for amount in 1 2 39; do
  say "$NEXUS" run "$EX/counter.wasm" --input "$amount" --state "$STATE/counter"
done
say "$NEXUS" run "$EX/go-counter.wasm" --input 5 --state "$STATE/go"
say "$NEXUS" run "$EX/c-counter.wasm" --input 7 --state "$STATE/c"
say "$NEXUS" run "$EX/c-counter.wasm" --entry query --input history --state "$STATE/c"
say "$NEXUS" run "$EX/notes.wasm" --input "add hello written through std::fs" --state "$STATE/notes"
say "$NEXUS" run "$EX/notes.wasm" --input "append hello and appended" --state "$STATE/notes"
say "$NEXUS" run "$EX/notes.wasm" --entry query --input "cat hello" --state "$STATE/notes"
say "$NEXUS" run "$EX/long-sum.wasm" --input 30000 --state "$STATE/sum"
for _ in 1 2 3; do
  say "$NEXUS" run "$EX/long-sum.wasm" --entry on_task --state "$STATE/sum"
done
say "$NEXUS" run "$EX/long-sum.wasm" --entry query --state "$STATE/sum"
