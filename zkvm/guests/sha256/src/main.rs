//! SHA-256 of the input bytes; output: the 32-byte digest.
#![no_std]
#![no_main]

use sha2::{Digest, Sha256};

nexus_zkvm_guest::entry!(main);

fn main() {
    let input = nexus_zkvm_guest::read_input();
    nexus_zkvm_guest::commit(&Sha256::digest(&input));
}
