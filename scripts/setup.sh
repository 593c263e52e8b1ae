#!/usr/bin/env bash
# Installs everything building and testing Nexus needs on a fresh Debian machine. Idempotent:
# each step skips itself when its pinned tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain and its wasm32-wasip1 / riscv32im targets come from rust-toolchain.toml.
if ! rustup target list --installed 2>/dev/null | grep -q wasm32-wasip1 \
   || ! rustup target list --installed 2>/dev/null | grep -q riscv32im-unknown-none-elf; then
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target add wasm32-wasip1 riscv32im-unknown-none-elf
fi

for script in scripts/install-guest-toolchains.sh scripts/install-zkvm-tools.sh scripts/install-chain-deps.sh scripts/install-cometbft.sh scripts/install-ethereum-tools.sh; do
  if [ -f "$script" ]; then
    bash "$script"
  fi
done
