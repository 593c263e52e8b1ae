#!/usr/bin/env bash
# Installs the pinned Ethereum toolchain of tools/ethereum/package.json (Foundry's anvil, forge and
# cast, and solcjs behind the tools/ethereum/solc shim; DESIGN.md §2) and exposes anvil, forge,
# cast and solc in $NEXUS_BIN_DIR (default ~/.cache/nexus/bin).
#
# The packages go to ~/.cache/nexus/ethereum-tools/<hash of package-lock.json>, outside the clone,
# so fresh CI clones reuse them; tools/ethereum/node_modules links there so the repo's own shim (the
# compiler ethereum/foundry.toml names) finds solcjs. Idempotent: skips `npm ci` when that
# directory already holds every pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_SRC="tools/ethereum"
BIN_DIR="${NEXUS_BIN_DIR:-$HOME/.cache/nexus/bin}"
FOUNDRY_VERSION="1.7.1"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-ethereum-tools: Node.js >= 20 with npm is required (https://nodejs.org)" >&2
  exit 1
fi
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] \
  || { echo "install-ethereum-tools: only linux x86_64 is supported (tools/ethereum/package.json pins the linux-amd64 Foundry packages)" >&2; exit 1; }

lock_hash="$(sha256sum "$TOOLS_SRC/package-lock.json" | cut -c1-16)"
INSTALL_DIR="$HOME/.cache/nexus/ethereum-tools/$lock_hash"

# True when every dependency pinned in package.json is installed at exactly that version.
pinned_versions_installed() {
  node -e '
    const fs = require("node:fs");
    const dir = process.argv[1];
    const pins = JSON.parse(fs.readFileSync(dir + "/package.json", "utf8")).dependencies;
    for (const [name, version] of Object.entries(pins)) {
      const file = dir + "/node_modules/" + name + "/package.json";
      if (!fs.existsSync(file) || JSON.parse(fs.readFileSync(file, "utf8")).version !== version) process.exit(1);
    }' "$INSTALL_DIR" 2>/dev/null
}

if ! { [ -f "$INSTALL_DIR/package.json" ] && pinned_versions_installed; }; then
  echo "installing the Ethereum toolchain ($TOOLS_SRC/package.json) into $INSTALL_DIR"
  rm -rf "$INSTALL_DIR"
  mkdir -p "$INSTALL_DIR"
  cp "$TOOLS_SRC/package.json" "$TOOLS_SRC/package-lock.json" "$INSTALL_DIR/"
  (cd "$INSTALL_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  pinned_versions_installed || { echo "install-ethereum-tools: npm ci did not install the pinned versions" >&2; exit 1; }
fi

# The shim is copied beside node_modules so $BIN_DIR/solc keeps working after the clone is gone.
cp "$TOOLS_SRC/solc" "$INSTALL_DIR/solc"
chmod +x "$INSTALL_DIR/solc"
if [ ! -e "$TOOLS_SRC/node_modules" ] || [ -L "$TOOLS_SRC/node_modules" ]; then
  ln -sfn "$INSTALL_DIR/node_modules" "$TOOLS_SRC/node_modules"
fi

mkdir -p "$BIN_DIR"
for tool in anvil forge cast; do
  ln -sfn "$INSTALL_DIR/node_modules/@foundry-rs/$tool-linux-amd64/bin/$tool" "$BIN_DIR/$tool"
  installed="$("$BIN_DIR/$tool" --version | head -n1)"
  [ "$installed" = "$tool Version: $FOUNDRY_VERSION" ] \
    || { echo "install-ethereum-tools: $BIN_DIR/$tool says '$installed', wanted $FOUNDRY_VERSION" >&2; exit 1; }
done
ln -sfn "$INSTALL_DIR/solc" "$BIN_DIR/solc"
solc_pin="$(node -p 'require(process.argv[1]).dependencies.solc' "$PWD/$TOOLS_SRC/package.json")"
"$BIN_DIR/solc" --version | grep -q "^Version: $solc_pin+commit\." \
  || { echo "install-ethereum-tools: $BIN_DIR/solc does not report solc $solc_pin" >&2; exit 1; }
