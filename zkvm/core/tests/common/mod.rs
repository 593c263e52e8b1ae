//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

pub mod asm;

/// Reads a guest ELF built by `scripts/build-zkvm-guests.sh`, failing with a clear message.
pub fn guest_elf(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("NEXUS_ZKVM_GUEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guests/out"));
    let path = dir.join(format!("{name}.elf"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("guest ELF {} missing ({e}): run scripts/build-zkvm-guests.sh first", path.display())
    })
}

/// Little-endian bytes of a list of u32s.
pub fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}
