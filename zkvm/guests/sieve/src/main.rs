//! Sieve of Eratosthenes up to `n`; input: `n` u32 LE, output: the number of primes ≤ n (u32 LE).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;

nexus_zkvm_guest::entry!(main);

fn input_u32(input: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(input[at..at + 4].try_into().expect("4 input bytes"))
}

fn main() {
    let n = input_u32(&nexus_zkvm_guest::read_input(), 0) as usize;
    let mut composite = vec![false; n + 1];
    let mut count = 0u32;
    for i in 2..=n {
        if !composite[i] {
            count += 1;
            let mut j = i * i;
            while j <= n {
                composite[j] = true;
                j += i;
            }
        }
    }
    nexus_zkvm_guest::commit(&count.to_le_bytes());
}
