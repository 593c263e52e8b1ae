#!/usr/bin/env bash
# Installs the pinned CometBFT (DESIGN.md §2) with `go install` into $NEXUS_BIN_DIR
# (default ~/.cache/nexus/bin), where `nexus validator` and the tests look for it.
# Idempotent: skips when the pinned version is already there.
set -euo pipefail

COMETBFT_VERSION="v0.38.26"
BIN_DIR="${NEXUS_BIN_DIR:-$HOME/.cache/nexus/bin}"

if [ -x "$BIN_DIR/cometbft" ] && [ "$("$BIN_DIR/cometbft" version 2>/dev/null)" = "${COMETBFT_VERSION#v}" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "install-cometbft: Go is required (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$BIN_DIR"
echo "installing cometbft $COMETBFT_VERSION into $BIN_DIR"
GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/cometbft/cometbft/cmd/cometbft@$COMETBFT_VERSION"
installed="$("$BIN_DIR/cometbft" version)"
[ "$installed" = "${COMETBFT_VERSION#v}" ] || { echo "install-cometbft: got $installed, wanted $COMETBFT_VERSION" >&2; exit 1; }
