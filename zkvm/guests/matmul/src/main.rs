//! `n`×`n` u32 matrix product (wrapping); input: `n`, `seed`, output: a checksum of the product.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;

nexus_zkvm_guest::entry!(main);

fn input_u32(input: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(input[at..at + 4].try_into().expect("4 input bytes"))
}

fn main() {
    let input = nexus_zkvm_guest::read_input();
    let (n, mut x) = (input_u32(&input, 0) as usize, input_u32(&input, 4));
    let mut next = || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        x
    };
    let a: alloc::vec::Vec<u32> = (0..n * n).map(|_| next()).collect();
    let b: alloc::vec::Vec<u32> = (0..n * n).map(|_| next()).collect();
    let mut c = vec![0u32; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                c[i * n + j] = c[i * n + j].wrapping_add(aik.wrapping_mul(b[k * n + j]));
            }
        }
    }
    let sum = c.iter().fold(0u32, |acc, &e| acc.wrapping_mul(31).wrapping_add(e));
    nexus_zkvm_guest::commit(&sum.to_le_bytes());
}
