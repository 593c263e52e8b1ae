#!/usr/bin/env bash
# Builds every example function to wasm at stable paths, which the runtime's tests and
# benchmarks read:
#
#   $NEXUS_EXAMPLES_DIR/{counter,notes,long-sum,ticker,eth-block-counter,eth-watcher,eth-caller,eth-sender,wc,c-counter,go-counter}.wasm
#
# NEXUS_EXAMPLES_DIR defaults to ${CARGO_TARGET_DIR:-<repo>/target}/examples-wasm.
# Needs the toolchains of scripts/install-guest-toolchains.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${NEXUS_EXAMPLES_DIR:-$TARGET_DIR/examples-wasm}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
GO="$(command -v go || echo /usr/local/go/bin/go)"

# Host-only flags (say -C target-cpu=native) must not leak into the wasm build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
rust_examples=(counter notes long-sum ticker eth-block-counter eth-watcher eth-caller eth-sender)
cargo build --manifest-path "$ROOT/Cargo.toml" --target wasm32-wasip1 --profile wasm \
  $(printf -- '-p nexus-example-%s ' "${rust_examples[@]}") -p nexus-example-wc
for name in "${rust_examples[@]}"; do
  cp "$TARGET_DIR/wasm32-wasip1/wasm/nexus_example_${name//-/_}.wasm" "$OUT/$name.wasm"
done
# A plain WASI command (fn main, no SDK): deployed unchanged.
cp "$TARGET_DIR/wasm32-wasip1/wasm/wc.wasm" "$OUT/wc.wasm"

make --no-print-directory -C "$ROOT/examples/c-counter" OUT="$OUT/c-counter.wasm"

(cd "$ROOT/examples/go-counter" &&
  GOOS=wasip1 GOARCH=wasm "$GO" build -trimpath -buildmode=c-shared -o "$OUT/go-counter.wasm" .)
# Go cannot emit custom sections, so the manifest (here just the ABI record) is added afterwards.
(cd "$ROOT/functions-sdk/go" && "$GO" run ./cmd/nexus-manifest "$OUT/go-counter.wasm")

echo "example functions in $OUT:"
ls -l "$OUT"/*.wasm
