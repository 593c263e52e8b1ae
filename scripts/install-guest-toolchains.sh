#!/usr/bin/env bash
# Installs what building guest functions (examples/, functions-sdk/) needs: the Rust
# wasm32-wasip1 target, Debian's clang + lld + wasi-libc (+ compiler-rt builtins for wasm32,
# which wasi-libc's printf needs) for C, and checks that Go >= 1.24 (go:wasmexport) is present.
# Idempotent: each step skips itself when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust: the toolchain pinned in rust-toolchain.toml, plus its wasm target.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target add wasm32-wasip1
fi
echo "rust: wasm32-wasip1 target installed"

# C: Debian packages.
packages=(clang lld wasi-libc libclang-rt-dev-wasm32)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing ${missing[*]} and no apt-get; install clang, wasm-ld and wasi-libc yourself" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "c: $(clang --version | head -n1), $(wasm-ld --version | head -n1)"

# Go: not installed here (it comes with the machine); just check it is new enough.
GO="$(command -v go || echo /usr/local/go/bin/go)"
if ! [ -x "$GO" ]; then
  echo "error: Go >= 1.24 is needed for examples/go-counter and was not found" >&2
  exit 1
fi
version="$("$GO" env GOVERSION)"
minor="$(echo "$version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
if ! [ "$minor" -ge 24 ] 2>/dev/null; then
  echo "error: $version is too old; go:wasmexport needs Go >= 1.24" >&2
  exit 1
fi
echo "go: $version"
