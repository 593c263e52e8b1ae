//! Publishes the guest linker script so `-Tnexus-guest.ld` finds it.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("nexus-guest.ld"), include_bytes!("nexus-guest.ld"))
        .expect("write linker script");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=nexus-guest.ld");
}
