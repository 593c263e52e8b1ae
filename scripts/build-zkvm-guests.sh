#!/usr/bin/env bash
# Builds every zkVM guest (zkvm/guests) for riscv32im-unknown-none-elf and copies the ELFs to
# zkvm/guests/out/<name>.elf, where the nexus-zkvm tests and benchmarks read them.
# Tests never run cargo themselves (a nested cargo would contend for the target-dir lock).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GUESTS="$ROOT/zkvm/guests"
TARGET_DIR="${ZKVM_GUEST_TARGET_DIR:-$GUESTS/target}"
# The host's -C target-cpu=native must not leak into the guest build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
cd "$GUESTS"
cargo build --release --locked --target riscv32im-unknown-none-elf --target-dir "$TARGET_DIR" --workspace
mkdir -p "$GUESTS/out"
for name in fib keccak sha256 sort matmul sieve ecdsa io-echo; do
  cp "$TARGET_DIR/riscv32im-unknown-none-elf/release/nexus-zkvm-guest-$name" "$GUESTS/out/$name.elf"
done
echo "guest ELFs in $GUESTS/out"
