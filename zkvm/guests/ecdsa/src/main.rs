//! secp256k1 ECDSA verification with `k256`; input: 33-byte SEC1 public key, 32-byte prehash,
//! 64-byte signature; output: one byte, 1 if the signature verifies.
#![no_std]
#![no_main]

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature, VerifyingKey};

nexus_zkvm_guest::entry!(main);

fn main() {
    let input = nexus_zkvm_guest::read_input();
    assert_eq!(input.len(), 33 + 32 + 64, "input is key || prehash || signature");
    let key = VerifyingKey::from_sec1_bytes(&input[..33]).expect("valid public key");
    let sig = Signature::from_slice(&input[65..]).expect("valid signature encoding");
    let ok = key.verify_prehash(&input[33..65], &sig).is_ok();
    nexus_zkvm_guest::commit(&[u8::from(ok)]);
}
