//! Merge sort of `n` xorshift u32s; input: `n`, `seed` (u32 LE each), output: a checksum.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

nexus_zkvm_guest::entry!(main);

fn input_u32(input: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(input[at..at + 4].try_into().expect("4 input bytes"))
}

fn merge_sort(v: &mut [u32], tmp: &mut [u32]) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mid = n / 2;
    merge_sort(&mut v[..mid], &mut tmp[..mid]);
    merge_sort(&mut v[mid..], &mut tmp[mid..]);
    let (mut i, mut j) = (0, mid);
    for slot in tmp.iter_mut().take(n) {
        if j >= n || (i < mid && v[i] <= v[j]) {
            *slot = v[i];
            i += 1;
        } else {
            *slot = v[j];
            j += 1;
        }
    }
    v.copy_from_slice(&tmp[..n]);
}

fn main() {
    let input = nexus_zkvm_guest::read_input();
    let (n, mut x) = (input_u32(&input, 0) as usize, input_u32(&input, 4) | 1);
    let mut v: Vec<u32> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        })
        .collect();
    let mut tmp = v.clone();
    merge_sort(&mut v, &mut tmp);
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
    let sum = v.iter().enumerate().fold(0u32, |acc, (i, &e)| acc.wrapping_mul(31).wrapping_add(e ^ i as u32));
    nexus_zkvm_guest::commit(&sum.to_le_bytes());
}
