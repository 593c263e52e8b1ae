//! Proves the benchmark guests on small inputs (full sizes are in the `prove_guests` example):
//! each proof verifies against the emulator's output, survives a serialization round trip and
//! is rejected for a different output.

mod common;

use common::{guest_elf, words};
use nexus_zkvm::elf::Program;
use nexus_zkvm::execute;
use nexus_zkvm::stark::{Proof, prove_program, prove_program_segmented, verify_program};

fn prove_and_check(name: &str, input: &[u8]) {
    let elf = guest_elf(name);
    let program = Program::from_elf(&elf).expect("loads");
    let run = execute(&elf, input).expect("runs");
    assert_eq!(run.exit_code, 0, "{name} exits cleanly");
    let proven = prove_program(&program, input).expect("proves");
    assert_eq!((&proven.output, proven.exit_code, proven.cycles), (&run.output, 0, run.cycles));
    let proof = Proof::from_bytes(&proven.proof.to_bytes()).expect("decodes");
    verify_program(&program, input, &run.output, 0, &proof).expect("verifies");
    let mut wrong = run.output.clone();
    wrong[0] ^= 1;
    assert!(verify_program(&program, input, &wrong, 0, &proof).is_err(), "{name}: wrong output accepted");
}

#[test]
fn fib_proves() {
    prove_and_check("fib", &words(&[1000]));
}

#[test]
fn keccak_proves() {
    prove_and_check("keccak", &words(&[1]));
}

#[test]
fn sha256_proves() {
    let input: Vec<u8> = (0..200u32).map(|i| (i * 13 + 1) as u8).collect();
    prove_and_check("sha256", &input);
}

/// Compiled code across segment boundaries: stack, heap and globals carried by the chained
/// boundary state.
#[test]
fn sha256_proves_in_segments() {
    let elf = guest_elf("sha256");
    let program = Program::from_elf(&elf).expect("loads");
    let input: Vec<u8> = (0..200u32).map(|i| (i * 13 + 1) as u8).collect();
    let run = execute(&elf, &input).expect("runs");
    let proven = prove_program_segmented(&program, &input, 12, &mut |_, _| {}).expect("proves");
    assert_eq!(proven.output, run.output);
    assert!(proven.proof.segments.len() >= 3, "{} cycles", run.cycles);
    verify_program(&program, &input, &run.output, 0, &proven.proof).expect("verifies");
    let mut wrong = run.output.clone();
    wrong[0] ^= 1;
    assert!(verify_program(&program, &input, &wrong, 0, &proven.proof).is_err());
}

#[test]
fn sort_proves() {
    prove_and_check("sort", &words(&[64, 99]));
}

#[test]
fn matmul_proves() {
    prove_and_check("matmul", &words(&[4, 7]));
}

#[test]
fn sieve_proves() {
    prove_and_check("sieve", &words(&[2000]));
}
