//! Runs the benchmark guests in the emulator and checks their outputs against host computations.

mod common;

use common::{guest_elf, words};
use nexus_zkvm::{ExecuteError, execute};

fn out_u32(output: &[u8]) -> u32 {
    u32::from_le_bytes(output.try_into().expect("4 output bytes"))
}

#[test]
fn fib_computes_fibonacci() {
    let run = execute(&guest_elf("fib"), &words(&[50])).expect("runs");
    let (mut a, mut b) = (0u32, 1u32);
    for _ in 0..50 {
        (a, b) = (b, a.wrapping_add(b));
    }
    assert_eq!(out_u32(&run.output), a);
    assert_eq!(run.exit_code, 0);
    assert!(run.cycles > 50);
}

#[test]
fn io_echo_echoes_exits_and_panics() {
    let elf = guest_elf("io-echo");
    let run = execute(&elf, b"hello zkvm").expect("runs");
    assert_eq!(run.output, b"hello zkvm");
    assert_eq!(String::from_utf8_lossy(&run.debug), "echoing 10 bytes\n");
    let run = execute(&elf, b"xit").expect("runs");
    assert_eq!((run.output.as_slice(), run.exit_code), (&b"xit"[..], 7));
    let run = execute(&elf, b"p").expect("runs");
    assert_eq!(run.exit_code, 101);
    assert!(String::from_utf8_lossy(&run.debug).contains("asked to panic"));
    let run = execute(&elf, b"").expect("runs");
    assert!(run.output.is_empty());
}

#[test]
fn sha256_matches_host() {
    use sha2::{Digest, Sha256};
    let input: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let run = execute(&guest_elf("sha256"), &input).expect("runs");
    assert_eq!(run.output, Sha256::digest(&input).to_vec());
}

#[test]
fn sieve_counts_primes() {
    let run = execute(&guest_elf("sieve"), &words(&[100_000])).expect("runs");
    assert_eq!(out_u32(&run.output), 9592);
}

#[test]
fn sort_matmul_keccak_run() {
    for (name, input) in
        [("sort", words(&[4096, 12345])), ("matmul", words(&[32, 7])), ("keccak", words(&[2]))]
    {
        let run = execute(&guest_elf(name), &input).expect("runs");
        assert_eq!(run.exit_code, 0, "{name}");
        assert!(!run.output.is_empty(), "{name}");
    }
}

#[test]
fn keccak_matches_reference_state() {
    // keccak-f[1600] applied once to the all-zero state; first lane from the Keccak team's
    // published intermediate values.
    let run = execute(&guest_elf("keccak"), &words(&[1])).expect("runs");
    assert_eq!(&run.output[..8], &0xF1258F7940E1DDE7u64.to_le_bytes());
}

#[test]
fn malformed_elves_are_rejected() {
    assert!(matches!(execute(b"not an elf", b""), Err(ExecuteError::Elf(_))));
    let mut elf = guest_elf("fib");
    elf.truncate(100);
    assert!(matches!(execute(&elf, b""), Err(ExecuteError::Elf(_))));
}

#[test]
fn short_input_makes_the_guest_panic() {
    let run = execute(&guest_elf("fib"), b"").expect("runs");
    assert_eq!(run.exit_code, 101);
}
