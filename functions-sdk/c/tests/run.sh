#!/usr/bin/env bash
# Checks nexus.h: compiles manifest_test.c to wasm and compares the "nexus.manifest" records
# with their expected encoding (nexus_types::manifest), its exports with the ABI names, and
# that the header also compiles as C++.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sysroot="${WASI_SYSROOT:-$(ls -d /usr/share/wasi-sysroot 2>/dev/null || echo /usr)}"
target=wasm32-wasi
[ -d "$sysroot/lib/wasm32-wasip1" ] && target=wasm32-wasip1
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

flags=(--target="$target" --sysroot="$sysroot" -I"$here/.." -O2 -Wall -Wextra -Werror)
clang "${flags[@]}" -mexec-model=reactor -Wl,--strip-debug -o "$out/t.wasm" "$here/manifest_test.c"
clang++ "${flags[@]}" -x c++ -std=c++17 -Wno-c99-extensions -c -o "$out/t.o" "$here/manifest_test.c"

python3 - "$out/t.wasm" <<'PY'
import struct, sys

def leb(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1
        v |= (x & 0x7f) << s; s += 7
        if x < 0x80:
            return v, i

wasm = open(sys.argv[1], "rb").read()
i, manifest, exports = 8, b"", []
while i < len(wasm):
    sid = wasm[i]
    size, i = leb(wasm, i + 1)
    body, i = wasm[i:i + size], i + size
    if sid == 0:
        n, j = leb(body, 0)
        if body[j:j + n] == b"nexus.manifest":
            manifest += body[j + n:]
    elif sid == 7:
        count, j = leb(body, 0)
        for _ in range(count):
            n, j = leb(body, j)
            exports.append(body[j:j + n].decode()); j += n
            _, j = leb(body, j + 1)

records = []
while manifest:
    tag, ln = manifest[0], struct.unpack("<I", manifest[1:5])[0]
    records.append((tag, manifest[5:5 + ln])); manifest = manifest[5 + ln:]

addr = b"\x01" + b"\x11" * 19 + b"\xaa"
topic = b"\x01" + b"\x22" * 31 + b"\xbb"
want = {
    (1, struct.pack("<I", 1)),
    (2, b""),
    (4, struct.pack("<Q", 10)),
    (5, b"\x01" + struct.pack("<Q", 1000000) + b"\x01" + struct.pack("<Q", 16 << 20) + b"\x00"),
    (3, addr + struct.pack("<I", 0)),
    (3, b"\x00" + struct.pack("<I", 1) + topic),
    (3, addr + struct.pack("<I", 1) + topic),
}
got = set(records)
fails = 0
for r in sorted(want - got):
    print("missing record", r); fails += 1
for r in sorted(got - want):
    print("unexpected record", r); fails += 1
need = {"on_eth_block", "on_eth_log", "on_reply", "migrate", "on_task", "_initialize"}
if not need <= set(exports):
    print("missing exports", need - set(exports)); fails += 1
print(f"{len(want) + 1 - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)
PY
