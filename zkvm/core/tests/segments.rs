//! Continuations: executions split into segments of 2^10 cycles prove and verify, the segments
//! chain (pc and memory state), and reordered, dropped, duplicated or altered segments are
//! rejected.

mod common;

use common::asm::*;
use nexus_zkvm::elf::Program;
use nexus_zkvm::stark::air::{FLAGS, Table, cpu};
use nexus_zkvm::stark::config::{PARAMS, Val};
use nexus_zkvm::stark::trace::{MIN_LOG_TAIL_SPLIT, generate, segment_plan};
use nexus_zkvm::stark::{
    MIN_LOG_SEGMENT, Proof, ProveError, VerifyError, prove_program_planned, prove_program_segmented,
    prove_segment, prove_witnesses, verify_program,
};
use p3_field::PrimeCharacteristicRing;

const A0: u32 = 10;
const A7: u32 = 17;
const T0: u32 = 5;
const T1: u32 = 6;
const S0: u32 = 8;
const S2: u32 = 18;
const S3: u32 = 19;

/// Tiny segments, so a few thousand cycles span several of them.
const LOG_SEGMENT: usize = 10;
/// Initial value of the data word the loop accumulates into (from the ELF image).
const SEED: u32 = 7;
const EXIT: u32 = 3;

/// Adds 0..n (n = input word 1) into a data word in memory, one load/add/store per iteration,
/// so the memory word, the registers and the pc all cross segment boundaries; outputs the word
/// and exits with code 3.
fn memory_loop_program() -> Vec<u8> {
    let mut c = Vec::new();
    li(&mut c, A7, 0x100);
    li(&mut c, A0, 1);
    c.push(0x73); // a0 = input[1]
    c.push(i_type(0, A0, 0, S0, 0x13)); // s0 = n
    let data_at = c.len();
    li(&mut c, S3, 0); // patched below
    c.push(i_type(0, 0, 0, S2, 0x13)); // s2 = 0
    c.push(i_type(0, S3, 2, T0, 0x03)); // loop: lw t0, 0(s3)
    c.push(r_type(0, S2, T0, 0, T0, 0x33)); // t0 += s2
    c.push(s_type(0, T0, S3, 2)); // sw t0, 0(s3)
    c.push(i_type(1, S2, 0, S2, 0x13)); // s2 += 1
    c.push(b_type(-16, S0, S2, 1)); // bne s2, s0, loop
    c.push(i_type(0, S3, 2, T1, 0x03)); // lw t1, 0(s3)
    output_word(&mut c, T1);
    li(&mut c, A7, 93);
    li(&mut c, A0, EXIT);
    c.push(0x73); // halt(3)
    let data_addr = BASE + HEADER + 4 * c.len() as u32;
    let mut patch = Vec::new();
    li(&mut patch, S3, data_addr);
    c[data_at..data_at + 2].copy_from_slice(&patch);
    let mut data = [0u8; 16];
    data[..4].copy_from_slice(&SEED.to_le_bytes());
    elf(&c, &data)
}

fn input(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

fn expected(n: u32) -> Vec<u8> {
    (SEED + (0..n).sum::<u32>()).to_le_bytes().to_vec()
}

fn copy(proof: &Proof) -> Proof {
    Proof::from_bytes(&proof.to_bytes()).expect("decodes")
}

fn cycles(elf: &[u8], n: u32) -> u64 {
    nexus_zkvm::execute(elf, &input(n)).expect("runs").cycles
}

#[test]
fn multi_segment_proof_verifies_and_rejects_tampered_chains() {
    let elf = memory_loop_program();
    let program = Program::from_elf(&elf).expect("loads");
    let n = 600;
    let mut reported = Vec::new();
    let proven = prove_program_segmented(&program, &input(n), LOG_SEGMENT, &mut |k, n| reported.push((k, n)))
        .expect("proves");
    assert_eq!((proven.output.clone(), proven.exit_code), (expected(n), EXIT));
    let segments = proven.proof.segments.len();
    assert_eq!(reported, (0..segments).map(|k| (k, segments)).collect::<Vec<_>>());
    assert_eq!(segments as u64, proven.cycles.div_ceil(1 << LOG_SEGMENT));
    assert!(segments >= 3, "{} cycles in {segments} segments", proven.cycles);
    // The data word is carried through every segment's boundary.
    let data_word = proven.proof.segments[0].touched.iter().find(|(a, _)| *a < 1 << 29).expect("data word").0;
    assert!(proven.proof.segments.iter().all(|s| s.touched.iter().any(|(a, _)| *a == data_word)));

    let ok = |p: &Proof| verify_program(&program, &input(n), &expected(n), EXIT, p);
    let proof = copy(&proven.proof);
    ok(&proof).expect("verifies after a serialization round trip");

    // Public data stays bound.
    assert!(verify_program(&program, &input(n), &expected(n + 1), EXIT, &proof).is_err());
    assert!(verify_program(&program, &input(n + 1), &expected(n), EXIT, &proof).is_err());
    assert!(verify_program(&program, &input(n), &expected(n), EXIT + 1, &proof).is_err());

    // Untrusted bytes: truncations and bit flips give errors, never panics or acceptance.
    let bytes = proof.to_bytes();
    for cut in [0, 1, bytes.len() / 3, bytes.len() - 1] {
        assert!(Proof::from_bytes(&bytes[..cut]).is_err());
    }
    for pos in (0..bytes.len()).step_by(bytes.len() / 12 + 1) {
        let mut flipped = bytes.clone();
        flipped[pos] ^= 0x04;
        if let Ok(p) = Proof::from_bytes(&flipped) {
            assert!(ok(&p).is_err(), "flip at byte {pos} accepted");
        }
    }

    let rejected = |what: &str, edit: &dyn Fn(&mut Proof)| {
        let mut bad = copy(&proof);
        edit(&mut bad);
        assert!(ok(&bad).is_err(), "{what} accepted");
    };
    rejected("swapped segments 0 and 1", &|p| p.segments.swap(0, 1));
    rejected("swapped segments 1 and 2", &|p| p.segments.swap(1, 2));
    rejected("dropped first segment", &|p| _ = p.segments.remove(0));
    rejected("dropped middle segment", &|p| _ = p.segments.remove(1));
    rejected("dropped last segment", &|p| _ = p.segments.pop());
    rejected("dropped last segment, new last marked final", &|p| {
        p.segments.pop();
        p.segments.last_mut().expect("segments").end_pc = 0;
    });
    rejected("duplicated segment", &|p| {
        let again = copy(p).segments.remove(1);
        p.segments.insert(1, again);
    });
    rejected("no segments", &|p| p.segments.clear());
    // The halting segment made non-final, followed by a segment marked final: the chain checks
    // pass, so the STARKs must reject it.
    let mut appended = copy(&proof);
    let mut first = copy(&proof).segments.remove(0);
    first.end_pc = 0;
    appended.segments.last_mut().expect("segments").end_pc = program.entry;
    appended.segments.push(first);
    assert!(matches!(ok(&appended), Err(VerifyError::Stark { .. })));
    rejected("altered boundary value", &|p| p.segments[0].touched.iter_mut().for_each(|t| t.1 ^= 1));
    rejected("altered data word at a boundary", &|p| {
        let t = p.segments[1].touched.iter_mut().find(|t| t.0 == data_word).expect("touched");
        t.1 = t.1.wrapping_add(1);
    });
    rejected("boundary entry removed", &|p| _ = p.segments[1].touched.remove(0));
    rejected("boundary entry added", &|p| p.segments[1].touched.insert(0, (0, 0)));
    rejected("altered end pc", &|p| p.segments[0].end_pc += 4);
    rejected("output moved to another segment", &|p| {
        let outs = std::mem::take(&mut p.segments.last_mut().expect("segments").outputs);
        p.segments[0].outputs = outs;
    });
    rejected("output index dropped", &|p| _ = p.segments.last_mut().expect("segments").outputs.pop());
    rejected("output index duplicated", &|p| {
        let outs = p.segments.last().expect("segments").outputs.clone();
        p.segments[0].outputs = outs;
    });
}

#[test]
fn executions_ending_at_and_just_after_a_segment_boundary_prove() {
    let elf = memory_loop_program();
    let program = Program::from_elf(&elf).expect("loads");
    let seg = 1u64 << LOG_SEGMENT;
    // The loop takes 5 cycles per iteration, coprime to the segment length, so some n ends the
    // run exactly at a boundary (the HALT is the last segment's last row) and some n leaves
    // only the HALT for the last segment.
    for rem in [0, 1] {
        let n =
            (2..2000).find(|&n| cycles(&elf, n) > seg && cycles(&elf, n) % seg == rem).expect("some n fits");
        let proven =
            prove_program_segmented(&program, &input(n), LOG_SEGMENT, &mut |_, _| {}).expect("proves");
        assert_eq!(proven.proof.segments.len() as u64, proven.cycles.div_ceil(seg));
        verify_program(&program, &input(n), &expected(n), EXIT, &proven.proof).expect("verifies");
        let mut truncated = copy(&proven.proof);
        truncated.segments.pop();
        truncated.segments.last_mut().expect("segments").end_pc = 0;
        assert!(verify_program(&program, &input(n), &expected(n), EXIT, &truncated).is_err());
    }
    // A single-segment run is unchanged, and segment lengths outside the provable range fail.
    let proven = prove_program_segmented(&program, &input(10), LOG_SEGMENT, &mut |_, _| {}).expect("proves");
    assert_eq!(proven.proof.segments.len(), 1);
    verify_program(&program, &input(10), &expected(10), EXIT, &proven.proof).expect("verifies");
    let shortest =
        prove_program_segmented(&program, &input(10), MIN_LOG_SEGMENT, &mut |_, _| {}).expect("proves");
    assert!(shortest.proof.segments.len() > 1);
    verify_program(&program, &input(10), &expected(10), EXIT, &shortest.proof).expect("verifies");
    assert!(matches!(
        prove_program_segmented(&program, &input(10), MIN_LOG_SEGMENT - 1, &mut |_, _| {}),
        Err(ProveError::SegmentLength(l)) if l == MIN_LOG_SEGMENT - 1
    ));
    assert!(matches!(
        prove_program_segmented(&program, &input(10), 22, &mut |_, _| {}),
        Err(ProveError::SegmentLength(22))
    ));
}

#[test]
fn a_short_rest_is_split_so_that_less_is_padded() {
    let plan = |cycles| segment_plan(cycles, 20, MIN_LOG_TAIL_SPLIT);
    const M: usize = 1 << 20;
    // keccak ×10 fills 66% of 2^19 rows: 2^18 + 2^17 rows instead.
    assert_eq!(plan(345_335), [M / 4, M / 8]);
    // fib(100000) fills 95%: one segment, as before.
    assert_eq!(plan(500_267), [M / 2]);
    // merge sort: a whole segment, then its 563k-cycle rest in 2^19 + 2^16 rows, not 2^20.
    assert_eq!(plan(1_611_970), [M, M / 2, M / 16]);
    assert_eq!(plan(1 << 20), [M]);
    assert_eq!(plan((1 << 20) + 1), [M, 1]);
    assert_eq!(plan(5_676_875), [M, M, M, M, M, M / 2]);
    // Short runs are never split: a segment's fixed cost would eat the saving.
    assert_eq!(plan(100_000), [1 << 17]);
    assert_eq!(plan(1), [1]);
}

#[test]
fn segments_of_different_lengths_chain_and_verify() {
    let elf = memory_loop_program();
    let program = Program::from_elf(&elf).expect("loads");
    // A run whose rest after 2^10-cycle segments fills at most 3/4 of its padded height, split
    // from 2^8 rows up: lengths 2^10…, 2^9, then a shorter last one.
    let plan = |cycles| segment_plan(cycles, LOG_SEGMENT, 8);
    let n = (300..1000)
        .find(|&n| {
            let rest = cycles(&elf, n) % (1 << LOG_SEGMENT);
            rest > 512 && rest < 700
        })
        .expect("some n leaves such a rest");
    let lengths = plan(cycles(&elf, n));
    assert!(lengths.len() >= 3 && lengths[lengths.len() - 2] == 512, "{lengths:?}");
    let proven = prove_program_planned(&program, &input(n), &plan, &mut |_, _| {}).expect("proves");
    assert_eq!(proven.proof.segments.len(), lengths.len());
    let proof = copy(&proven.proof);
    verify_program(&program, &input(n), &expected(n), EXIT, &proof).expect("verifies");
    // Swapping the 2^9 segment with its 2^10 neighbour breaks the chain.
    let mut swapped = copy(&proof);
    let k = lengths.len() - 2;
    swapped.segments.swap(k - 1, k);
    assert!(verify_program(&program, &input(n), &expected(n), EXIT, &swapped).is_err());
    // Lengths that are not powers of two, leave a short non-final segment or do not cover the
    // run are refused before anything is proven.
    for bad in [vec![1000, 4096], vec![32, 4096], vec![1024]] {
        let refused = prove_program_planned(&program, &input(n), &|_| bad.clone(), &mut |_, _| {});
        assert!(matches!(refused, Err(ProveError::SegmentPlan(..))), "{bad:?}");
    }
}

/// An edit of one CPU row.
type RowEdit = dyn Fn(&mut [Val]);

/// A non-final segment's CPU trace must run every row and hand its next pc on: cutting it
/// short, or changing where it ends or starts, is rejected.
#[test]
fn non_final_segment_cannot_end_early_or_elsewhere() {
    let elf = memory_loop_program();
    let program = Program::from_elf(&elf).expect("loads");
    let n = 300;
    let witnesses = generate(&program, &input(n), LOG_SEGMENT, 1 << 20).expect("traces");
    assert!(witnesses.len() >= 2);
    let honest = prove_witnesses(&program, &witnesses, &PARAMS).expect("proves");
    verify_program(&program, &input(n), &expected(n), EXIT, &honest).expect("verifies");
    let last = (1 << LOG_SEGMENT) - 1;
    let edits: [(&str, &RowEdit); 2] = [
        ("last row made padding", &|row| FLAGS.iter().chain([&cpu::real]).for_each(|&c| row[c] = Val::ZERO)),
        ("last row's pc", &|row| row[cpu::pc] += Val::from_u32(4)),
    ];
    for (what, edit) in edits {
        let mut bad = witnesses[0].clone();
        let cpu_trace = &mut bad.traces[bad.tables.iter().position(|&t| t == Table::Cpu).expect("cpu")];
        let width = cpu_trace.width;
        edit(&mut cpu_trace.values[last * width..(last + 1) * width]);
        let outcome = std::panic::catch_unwind(|| prove_segment(&program, &bad, &PARAMS));
        if let Ok(Ok(segment)) = outcome {
            let mut proof = copy(&honest);
            proof.segments[0] = segment;
            assert!(
                verify_program(&program, &input(n), &expected(n), EXIT, &proof).is_err(),
                "{what} accepted"
            );
        }
    }
    // A segment proven for a different end pc (the next segment's start) or start pc fails in
    // that segment's own STARK.
    let mut wrong_end = witnesses[0].clone();
    wrong_end.facts.end_pc += 4;
    if let Ok(Ok(segment)) = std::panic::catch_unwind(|| prove_segment(&program, &wrong_end, &PARAMS)) {
        let mut proof = copy(&honest);
        proof.segments[0] = segment;
        assert!(matches!(
            verify_program(&program, &input(n), &expected(n), EXIT, &proof),
            Err(VerifyError::Stark { segment: 0, .. })
        ));
    }
    let mut wrong_start = witnesses[1].clone();
    wrong_start.facts.start_pc += 4;
    if let Ok(Ok(segment)) = std::panic::catch_unwind(|| prove_segment(&program, &wrong_start, &PARAMS)) {
        let mut proof = copy(&honest);
        proof.segments[1] = segment;
        assert!(matches!(
            verify_program(&program, &input(n), &expected(n), EXIT, &proof),
            Err(VerifyError::Stark { segment: 1, .. })
        ));
    }
}

/// Writes to x0 go to the sink slot after x31, whose value crosses segment boundaries like a
/// register's; x0 still reads zero, and a segment that claims the sink was written a different
/// value is rejected.
#[test]
fn writes_to_x0_keep_it_zero_across_segments() {
    let mut c = Vec::new();
    li(&mut c, T0, 7);
    for k in 1..=100 {
        c.push(i_type(k, T0, 0, 0, 0x13)); // addi x0, t0, k: the sink holds 7 + k
    }
    c.push(r_type(0, 0, 0, 0, S0, 0x33)); // add s0, x0, x0
    output_word(&mut c, S0);
    li(&mut c, A7, 93);
    li(&mut c, A0, EXIT);
    c.push(0x73);
    let elf = elf(&c, &[]);
    let program = Program::from_elf(&elf).expect("loads");
    let proven = prove_program_segmented(&program, b"", MIN_LOG_SEGMENT, &mut |_, _| {}).expect("proves");
    assert!(proven.proof.segments.len() >= 2, "the writes span segments");
    assert_eq!(proven.output, 0u32.to_le_bytes(), "x0 reads zero");
    verify_program(&program, b"", &proven.output, EXIT, &proven.proof).expect("verifies");
    // The sink is in the first segment's boundary with the last value written to it.
    let sink = nexus_zkvm::stark::air::reg_addr(nexus_zkvm::stark::air::SINK);
    let first = &proven.proof.segments[0];
    let at = first.touched.iter().position(|&(addr, _)| addr == sink).expect("the sink is touched");
    let mut bad = copy(&proven.proof);
    bad.segments[0].touched[at].1 += 1;
    assert!(
        verify_program(&program, b"", &proven.output, EXIT, &bad).is_err(),
        "a wrong sink value was accepted"
    );
}
