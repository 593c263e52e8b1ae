//! Iterative Fibonacci modulo 2^32; input: `n` as u32 LE, output: `fib(n)` as u32 LE.
#![no_std]
#![no_main]

nexus_zkvm_guest::entry!(main);

fn input_u32(input: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(input[at..at + 4].try_into().expect("4 input bytes"))
}

fn main() {
    let n = input_u32(&nexus_zkvm_guest::read_input(), 0);
    let (mut a, mut b) = (0u32, 1u32);
    for _ in 0..n {
        let c = a.wrapping_add(b);
        a = b;
        b = c;
    }
    nexus_zkvm_guest::commit(&a.to_le_bytes());
}
