#!/usr/bin/env bash
# Installs the host tools the zkVM tests need (qemu-riscv32 for differential conformance tests).
# Idempotent: does nothing when the tools are already present.
set -euo pipefail

if command -v qemu-riscv32 >/dev/null 2>&1; then
  echo "qemu-riscv32 already installed: $(command -v qemu-riscv32)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends qemu-user
command -v qemu-riscv32 >/dev/null
echo "installed qemu-riscv32: $(command -v qemu-riscv32)"
