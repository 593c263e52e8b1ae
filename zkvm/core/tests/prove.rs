//! End-to-end proofs of hand-assembled programs: round trips, binding of the public data,
//! untrusted proof bytes and per-column soundness (every column of every table, mutated in a
//! valid witness, makes the proof impossible to produce or rejected).

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::asm::*;
use nexus_zkvm::elf::Program;
use nexus_zkvm::stark::air::Table;
use nexus_zkvm::stark::config::PARAMS_V1;
use nexus_zkvm::stark::trace::generate;
use nexus_zkvm::stark::{Proof, VerifyError, prove_program, prove_witness, verify_program};
use p3_field::PrimeCharacteristicRing;

const A0: u32 = 10;
const A1: u32 = 11;
const A2: u32 = 12;
const A7: u32 = 17;
const RA: u32 = 1;
const T0: u32 = 5;
const T1: u32 = 6;
const S0: u32 = 8;
const S1: u32 = 9;
const S2: u32 = 18;
const S3: u32 = 19;

fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(imm, rs1, 0, rd, 0x13)
}

/// Sums 0..n (n = input word 1), round-trips the sum through memory, calls a function that
/// adds 5, outputs the result and exits with code 5.
fn sum_program() -> Vec<u8> {
    let mut c = Vec::new();
    li(&mut c, A7, 0x100);
    li(&mut c, A0, 1);
    c.push(0x73); // a0 = input[1]
    c.push(addi(S0, A0, 0));
    c.push(addi(S1, 0, 0));
    c.push(addi(S2, 0, 0));
    c.push(r_type(0, S2, S1, 0, S1, 0x33)); // loop: s1 += s2
    c.push(addi(S2, S2, 1));
    c.push(b_type(-8, S0, S2, 1)); // bne s2, s0, loop
    let data_at = c.len();
    li(&mut c, S3, 0); // patched below
    c.push(s_type(0, S1, S3, 2)); // sw s1, 0(s3)
    c.push(i_type(0, S3, 2, T0, 0x03)); // lw t0, 0(s3)
    c.push(j_type(8, RA)); // call f
    c.push(j_type(12, 0)); // skip f
    c.push(addi(T0, T0, 5)); // f: t0 += 5
    c.push(i_type(0, RA, 0, 0, 0x67)); // ret
    c.push(r_type(0x20, S1, T0, 0, T1, 0x33)); // t1 = t0 - s1 = 5
    c.push(b_type(8, T1, T1, 0)); // beq t1, t1, +8
    c.push(addi(T1, T1, 100)); // skipped
    li(&mut c, A7, 0x101);
    li(&mut c, A0, 0);
    li(&mut c, A1, 4);
    c.push(0x73); // output[0] = 4 (byte length)
    li(&mut c, A0, 1);
    c.push(addi(A1, T0, 0));
    c.push(0x73); // output[1] = t0
    li(&mut c, A7, 64);
    li(&mut c, A2, 0);
    c.push(0x73); // debug write (not proven)
    c.push(0x0000_000f); // fence
    li(&mut c, A7, 93);
    c.push(addi(A0, T1, 0));
    c.push(0x73); // halt(5)
    let data_addr = BASE + HEADER + 4 * c.len() as u32;
    let mut patch = Vec::new();
    li(&mut patch, S3, data_addr);
    c[data_at..data_at + 2].copy_from_slice(&patch);
    elf(&c, &[0u8; 16])
}

fn input(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

fn expected(n: u32) -> Vec<u8> {
    ((0..n).sum::<u32>() + 5).to_le_bytes().to_vec()
}

#[test]
fn proves_and_verifies_with_bound_public_data() {
    let program = Program::from_elf(&sum_program()).expect("loads");
    let proven = prove_program(&program, &input(10)).expect("proves");
    assert_eq!(proven.output, expected(10));
    assert_eq!(proven.exit_code, 5);
    verify_program(&program, &input(10), &expected(10), 5, &proven.proof).expect("verifies");

    // Serialization round trip.
    let bytes = proven.proof.to_bytes();
    let back = Proof::from_bytes(&bytes).expect("decodes");
    verify_program(&program, &input(10), &expected(10), 5, &back).expect("verifies");

    // Wrong output, input, exit code, program.
    let wrong_out = expected(11);
    assert!(verify_program(&program, &input(10), &wrong_out, 5, &back).is_err());
    assert!(verify_program(&program, &input(11), &expected(10), 5, &back).is_err());
    assert!(verify_program(&program, &input(10), &expected(10), 6, &back).is_err());
    let mut other = sum_program();
    let last = other.len() - 20;
    other[last] ^= 1; // a data byte: same code, different image
    let other = Program::from_elf(&other).expect("loads");
    assert!(matches!(
        verify_program(&other, &input(10), &expected(10), 5, &back),
        Err(VerifyError::WrongProgram(_))
    ));

    // Unknown parameters.
    let mut unknown = Proof::from_bytes(&bytes).expect("decodes");
    unknown.params_id = 99;
    assert_eq!(
        verify_program(&program, &input(10), &expected(10), 5, &unknown),
        Err(VerifyError::UnknownParams(99))
    );

    // Untrusted bytes: truncations and bit flips give errors, never panics or acceptance.
    for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(Proof::from_bytes(&bytes[..cut]).is_err());
    }
    for pos in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
        let mut flipped = bytes.clone();
        flipped[pos] ^= 0x10;
        if let Ok(p) = Proof::from_bytes(&flipped) {
            assert!(
                verify_program(&program, &input(10), &expected(10), 5, &p).is_err(),
                "flip at byte {pos} accepted"
            );
        }
    }
}

#[test]
fn every_column_of_every_table_is_constrained() {
    let program = Program::from_elf(&sum_program()).expect("loads");
    let witness = generate(&program, &input(4), 1 << 20).expect("traces");
    prove_witness(&program, &witness, &PARAMS_V1).expect("honest witness proves");
    let mut accepted = Vec::new();
    for (t, table) in Table::ALL.iter().enumerate() {
        for (col, name) in table.column_names().iter().enumerate() {
            let mut bad = witness.clone();
            let trace = &mut bad.traces[t];
            let width = trace.width;
            // Add one to the column in every row, so rows where the column is constrained are
            // hit whatever instruction they hold.
            for row in trace.values.chunks_mut(width) {
                row[col] += nexus_zkvm::stark::config::Val::ONE;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                prove_witness(&program, &bad, &PARAMS_V1)
                    .map(|proof| verify_program(&program, &input(4), &expected(4), 5, &proof))
            }));
            if let Ok(Ok(Ok(()))) = outcome {
                accepted.push(format!("{table:?}.{name}"));
            }
        }
    }
    assert!(accepted.is_empty(), "mutations accepted: {accepted:?}");
}
