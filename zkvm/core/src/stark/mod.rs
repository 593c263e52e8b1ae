//! The multi-table STARK: proving and verifying a whole execution with `p3-batch-stark`.

/// Declares a table's column indices as constants, plus their names (for soundness tests).
macro_rules! columns {
    ($(#[$m:meta])* $module:ident { $($name:ident),* $(,)? }) => {
        $(#[$m])*
        #[allow(non_upper_case_globals, missing_docs)]
        pub mod $module {
            columns!(@idx 0usize; $($name),*);
            /// Column names, in index order.
            pub const NAMES: &[&str] = &[$(stringify!($name)),*];
            /// Number of columns.
            pub const WIDTH: usize = NAMES.len();
        }
    };
    (@idx $i:expr; $name:ident $(, $rest:ident)*) => {
        pub const $name: usize = $i;
        columns!(@idx $i + 1usize; $($rest),*);
    };
    (@idx $i:expr;) => {};
}

pub mod air;
pub mod alu;
mod boundary;
pub mod config;
pub mod security;
pub mod subword;
pub mod trace;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use p3_batch_stark::{BatchProof, ProverData, StarkInstance, prove_batch, verify_batch};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_util::log2_strict_usize;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use self::air::{SINK, Table, VmAir, reg_addr};
use self::config::{Config, PARAMS, Params, Val, make_config, params_by_id};
use self::security::{SecurityReport, combined_report, security_report};
use self::trace::{SegmentFacts, StateRow, Witness, for_each_segment, height, preprocessed};
use crate::elf::{Program, ProgramId};
use crate::emu::{bytes_to_tape, run_program};

/// Largest CPU table a proof may claim: timestamps `3·clk + 3` must stay below 2^24.
pub const MAX_LOG_CPU_HEIGHT: usize = 21;
/// Largest height any other table may claim (bounds the verifier's work).
pub const MAX_LOG_HEIGHT: usize = 24;
/// Default segment length: 2^20 cycles.
pub const DEFAULT_LOG_SEGMENT: usize = 20;
/// Smallest segment length accepted: a non-final segment fills its CPU table exactly, and no
/// table is shorter than `trace::MIN_HEIGHT`.
pub const MIN_LOG_SEGMENT: usize = trace::MIN_HEIGHT.trailing_zeros() as usize;

/// A proof that a program, run on a public input, produced a public output and exit code: one
/// STARK per segment, chained by the boundary data each segment carries.
#[derive(Serialize, Deserialize)]
pub struct Proof {
    /// Parameter set the proof was made with.
    pub params_id: u32,
    /// The program proven.
    pub program_id: [u8; 32],
    /// Cycles executed (informational; bounded by the segments' CPU table heights).
    pub cycles: u64,
    /// The segments, in execution order.
    pub segments: Vec<SegmentProof>,
}

/// One segment of a [`Proof`].
#[derive(Serialize, Deserialize)]
pub struct SegmentProof {
    /// The tables the STARK has ([`Table::mask`]): the optional ones only if the segment uses
    /// them.
    pub tables: u16,
    /// pc after the segment's last instruction, where the next segment starts (0 in the last).
    pub end_pc: u32,
    /// Every address the segment touches and its value at the segment's end, by increasing
    /// address; the values at its start are the verifier's chained state. Deflated on the
    /// wire (see `boundary`).
    #[serde(with = "boundary")]
    pub touched: Vec<(u32, u32)>,
    /// Output tape indices written in this segment, increasing.
    pub outputs: Vec<u32>,
    /// The segment's STARK.
    pub stark: BatchProof<Config>,
}

/// Why proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// Trace generation failed (trap, unsupported instruction, ...).
    #[error(transparent)]
    Trace(#[from] trace::TraceError),
    /// The requested segment length is not one a proof can have.
    #[error("segment length 2^{0} cycles outside 2^{MIN_LOG_SEGMENT}..=2^{MAX_LOG_CPU_HEIGHT}")]
    SegmentLength(usize),
    /// Segment lengths that are not powers of two in range or do not cover the run.
    #[error(
        "segment lengths {0:?} do not split {1} cycles into powers of two from 2^{MIN_LOG_SEGMENT} to 2^{MAX_LOG_CPU_HEIGHT}"
    )]
    SegmentPlan(Vec<usize>, u64),
    /// A segment needs a CPU table taller than one proof allows.
    #[error("{0} cycles exceed one segment (2^{MAX_LOG_CPU_HEIGHT})")]
    TooLong(u64),
    /// The STARK prover rejected the witness (a bug: honest traces always satisfy the AIRs).
    #[error("STARK prover failed: {0}")]
    Stark(String),
}

/// Why a proof was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The proof bytes do not decode.
    #[error("malformed proof encoding: {0}")]
    Decode(String),
    /// The proof uses a parameter set this verifier does not know.
    #[error("unknown proof parameters id {0}")]
    UnknownParams(u32),
    /// The proof is for a different program.
    #[error("proof is for program {0}, not the expected one")]
    WrongProgram(String),
    /// Table heights are missing or out of bounds for this program and public data.
    #[error("proof shape does not match the program and public data: {0}")]
    Shape(String),
    /// A segment's boundary data is malformed or the segments do not chain into one execution
    /// producing the claimed output.
    #[error("segment {segment}: {reason}")]
    Boundary {
        /// Index of the offending segment (the segment count when the whole chain is at fault).
        segment: usize,
        /// What is wrong.
        reason: String,
    },
    /// The STARK did not verify.
    #[error("segment {segment}: STARK verification failed: {reason}")]
    Stark {
        /// Index of the segment whose STARK failed.
        segment: usize,
        /// The verifier's message.
        reason: String,
    },
}

/// The AIRs of `tables` for a segment of `program`.
pub fn airs_for(program: &Program, input_tape: &[u32], facts: &SegmentFacts, tables: &[Table]) -> Vec<VmAir> {
    tables
        .iter()
        .zip(preprocessed(program, input_tape, facts, tables))
        .map(|(&table, pre)| VmAir { table, preprocessed: pre })
        .collect()
}

/// Everything the preprocessed commitment and the lookup layout depend on.
fn data_key(
    params: &Params,
    program: &Program,
    input_tape: &[u32],
    facts: &SegmentFacts,
    tables: &[Table],
    degree_bits: &[usize],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"nexus-zkvm prover data v3");
    h.update(params.id.to_le_bytes());
    h.update(Table::mask(tables).to_le_bytes());
    h.update(program.program_id().0);
    let words =
        |h: &mut Sha256, ws: &mut dyn Iterator<Item = u32>| ws.for_each(|w| h.update(w.to_le_bytes()));
    h.update((input_tape.len() as u64).to_le_bytes());
    words(&mut h, &mut input_tape.iter().copied());
    h.update((facts.outputs.len() as u64).to_le_bytes());
    words(&mut h, &mut facts.outputs.iter().flat_map(|&(i, w)| [i, w]));
    words(&mut h, &mut facts.exit_code.map_or([0, 0], |c| [1, c]).into_iter());
    h.update((facts.state.len() as u64).to_le_bytes());
    words(&mut h, &mut facts.state.iter().flat_map(|r| [r.addr, r.init, r.fin]));
    degree_bits.iter().for_each(|&b| h.update((b as u64).to_le_bytes()));
    h.finalize().into()
}

/// A cached preprocessed commitment and the key it was made for.
type CacheEntry = ([u8; 32], Arc<ProverData<Config>>);

/// How many preprocessed commitments stay cached.
const DATA_CACHE_ENTRIES: usize = 4;

/// Recently used preprocessed commitments (most recent last), for verifiers only. Committing
/// the preprocessed tables (the program ROM above all) dominates verification, and a verifier
/// may check a proof again, so the commitment is reused while the program and public data are
/// the same. A prover's commitment is for its own segment, and every segment's differs, so
/// provers keep none: kept, they would sit in memory (≈ 7 MB each for ECDSA's 2^15-row ROM)
/// while later segments are proven.
fn data_cache() -> &'static Mutex<Vec<CacheEntry>> {
    static CACHE: OnceLock<Mutex<Vec<CacheEntry>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// The preprocessed commitment and lookup layout for `airs`.
fn prover_data(config: &Config, airs: &[VmAir], degree_bits: &[usize]) -> Result<ProverData<Config>, String> {
    ProverData::from_airs_and_degrees(config, airs, degree_bits).map_err(|e| format!("{e:?}"))
}

/// [`prover_data`], from the verifiers' cache when possible.
fn cached_prover_data(
    config: &Config,
    airs: &[VmAir],
    degree_bits: &[usize],
    key: [u8; 32],
) -> Result<Arc<ProverData<Config>>, String> {
    let cache = data_cache();
    {
        let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = entries.iter().position(|(k, _)| *k == key) {
            let entry = entries.remove(pos);
            let data = entry.1.clone();
            entries.push(entry);
            return Ok(data);
        }
    }
    let data = Arc::new(prover_data(config, airs, degree_bits)?);
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if entries.len() >= DATA_CACHE_ENTRIES {
        entries.remove(0);
    }
    entries.push((key, data.clone()));
    Ok(data)
}

/// The public values of `tables` of a segment.
fn public_values(facts: &SegmentFacts, tables: &[Table]) -> Vec<Vec<Val>> {
    tables.iter().map(|t| if *t == Table::Cpu { facts.public_values() } else { vec![] }).collect()
}

/// Proves one segment's traces (exposed so soundness tests can prove tampered witnesses).
pub fn prove_segment(
    program: &Program,
    witness: &Witness,
    params: &Params,
) -> Result<SegmentProof, ProveError> {
    let config = make_config(params);
    let tables = &witness.tables;
    let airs = airs_for(program, &witness.input_tape, &witness.facts, tables);
    let degree_bits: Vec<usize> = witness.traces.iter().map(|t| log2_strict_usize(t.height())).collect();
    if degree_bits[0] > MAX_LOG_CPU_HEIGHT {
        return Err(ProveError::TooLong(witness.cycles));
    }
    let prover_data = prover_data(&config, &airs, &degree_bits).map_err(ProveError::Stark)?;
    let traces: Vec<&RowMajorMatrix<Val>> = witness.traces.iter().collect();
    let public = public_values(&witness.facts, tables);
    let instances = StarkInstance::new_multiple(&airs, &traces, &public);
    let stark =
        prove_batch(&config, &instances, &prover_data).map_err(|e| ProveError::Stark(format!("{e:?}")))?;
    let facts = &witness.facts;
    Ok(SegmentProof {
        tables: Table::mask(tables),
        end_pc: facts.end_pc,
        touched: facts.state.iter().map(|r| (r.addr, r.fin)).collect(),
        outputs: facts.outputs.iter().map(|&(i, _)| i).collect(),
        stark,
    })
}

/// Proves already generated segment traces, in execution order, as one proof.
pub fn prove_witnesses(
    program: &Program,
    witnesses: &[Witness],
    params: &Params,
) -> Result<Proof, ProveError> {
    let segments = witnesses.iter().map(|w| prove_segment(program, w, params)).collect::<Result<_, _>>()?;
    Ok(Proof {
        params_id: params.id,
        program_id: program.program_id().0,
        cycles: witnesses.iter().map(|w| w.cycles).sum(),
        segments,
    })
}

/// The result of proving: what the guest output and the proof of it.
pub struct Proven {
    /// Committed output bytes.
    pub output: Vec<u8>,
    /// Exit code.
    pub exit_code: u32,
    /// Cycles executed.
    pub cycles: u64,
    /// The proof.
    pub proof: Proof,
    /// Its soundness estimates (see [`security::combined_report`]).
    pub security: SecurityReport,
}

/// Runs and proves `program` on `input` with the default parameters and segment length.
pub fn prove_program(program: &Program, input: &[u8]) -> Result<Proven, ProveError> {
    prove_program_segmented(program, input, DEFAULT_LOG_SEGMENT, &mut |_, _| {})
}

/// Runs and proves `program` on `input` in segments of `2^log_segment` cycles (the rest split
/// as [`trace::segment_plan`] says), calling `on_segment(k, n)` once segment `k` of `n` is
/// proven (for progress reporting).
pub fn prove_program_segmented(
    program: &Program,
    input: &[u8],
    log_segment: usize,
    on_segment: &mut dyn FnMut(usize, usize),
) -> Result<Proven, ProveError> {
    if !(MIN_LOG_SEGMENT..=MAX_LOG_CPU_HEIGHT).contains(&log_segment) {
        return Err(ProveError::SegmentLength(log_segment));
    }
    let plan = |cycles| trace::segment_plan(cycles, log_segment, trace::MIN_LOG_TAIL_SPLIT);
    prove_program_planned(program, input, &plan, on_segment)
}

/// Runs and proves `program` on `input` in the segment lengths `plan(cycles)` gives (see
/// [`trace::segment_plan`]).
pub fn prove_program_planned(
    program: &Program,
    input: &[u8],
    plan: &dyn Fn(u64) -> Vec<usize>,
    on_segment: &mut dyn FnMut(usize, usize),
) -> Result<Proven, ProveError> {
    // A plain run first: a trap or malformed output then fails in milliseconds rather than
    // after the segments before it were proven.
    let run = run_program(program, input, crate::DEFAULT_MAX_CYCLES).map_err(trace::TraceError::from)?;
    let plan = plan(run.cycles);
    // Non-final segments fill their CPU table exactly, so they need a whole table's rows.
    let fits = |n: usize| n.is_power_of_two() && n <= 1 << MAX_LOG_CPU_HEIGHT;
    let valid = plan.split_last().is_some_and(|(&last, rest)| {
        fits(last) && rest.iter().all(|&n| fits(n) && n >= 1 << MIN_LOG_SEGMENT)
    }) && plan.iter().map(|&n| n as u64).sum::<u64>() >= run.cycles;
    if !valid {
        return Err(ProveError::SegmentPlan(plan, run.cycles));
    }
    let total = plan.len();
    let params = PARAMS;
    let mut segments = Vec::with_capacity(total);
    let mut reports = Vec::new();
    for_each_segment(program, input, &plan, crate::DEFAULT_MAX_CYCLES, |witness| {
        let proof = prove_segment(program, &witness, &params)?;
        let airs = airs_for(program, &witness.input_tape, &witness.facts, &witness.tables);
        reports.push(security_report(&params, &airs, &proof.stark.degree_bits));
        segments.push(proof);
        on_segment(segments.len() - 1, total);
        Ok::<(), ProveError>(())
    })?;
    let security = combined_report(&reports).expect("an execution has at least one segment");
    let proof =
        Proof { params_id: params.id, program_id: program.program_id().0, cycles: run.cycles, segments };
    Ok(Proven { output: run.output, exit_code: run.exit_code, cycles: run.cycles, proof, security })
}

/// Verifies that `program` run on `input` outputs `output` and exits with `exit_code`.
///
/// The verifier replays the memory state across segments: it starts from the program image
/// (registers zero, pc at the entry), gives each segment the current values of the addresses it
/// declares as its boundary's initial values and the current pc as its start, then applies the
/// segment's final values and end pc. See zkvm/STATUS.md for the soundness argument.
pub fn verify_program(
    program: &Program,
    input: &[u8],
    output: &[u8],
    exit_code: u32,
    proof: &Proof,
) -> Result<(), VerifyError> {
    let params = params_by_id(proof.params_id).ok_or(VerifyError::UnknownParams(proof.params_id))?;
    let id = program.program_id();
    if proof.program_id != id.0 {
        return Err(VerifyError::WrongProgram(ProgramId(proof.program_id).to_hex()));
    }
    if proof.segments.is_empty() {
        return Err(VerifyError::Shape("no segments".into()));
    }
    let input_tape = bytes_to_tape(input);
    let output_tape = bytes_to_tape(output);
    // Data words at byte addresses from 2^31 are outside the proven address space (their word
    // addresses would collide with the registers' slots), and no proven access reaches them.
    let mut memory: BTreeMap<u32, u32> =
        program.image.iter().filter(|&(&a, _)| a < 1 << 31).map(|(&a, &w)| (a >> 2, w)).collect();
    let mut written = vec![false; output_tape.len()];
    let mut pc = program.entry;
    let count = proof.segments.len();
    // The boundary chain is checked natively first, so malformed chains fail before any STARK.
    let mut all_facts = Vec::with_capacity(count);
    for (k, seg) in proof.segments.iter().enumerate() {
        let bad = |reason: String| VerifyError::Boundary { segment: k, reason };
        let last = k + 1 == count;
        if last && seg.end_pc != 0 {
            return Err(bad("the last segment has an end pc".into()));
        }
        if !last && program.fetch(seg.end_pc).is_none() {
            return Err(bad(format!("end pc {:#x} is not an instruction's address", seg.end_pc)));
        }
        let mut state = Vec::with_capacity(seg.touched.len());
        for (j, &(addr, fin)) in seg.touched.iter().enumerate() {
            if addr > reg_addr(SINK) || (j > 0 && addr <= seg.touched[j - 1].0) {
                return Err(bad(format!("boundary address {addr:#x} out of range or out of order")));
            }
            state.push(StateRow { addr, init: memory.get(&addr).copied().unwrap_or(0), fin });
        }
        for r in &state {
            memory.insert(r.addr, r.fin);
        }
        let mut outputs = Vec::with_capacity(seg.outputs.len());
        for &i in &seg.outputs {
            match written.get_mut(i as usize) {
                Some(w) if !*w => *w = true,
                _ => return Err(bad(format!("output index {i} out of range or written twice"))),
            }
            outputs.push((i, output_tape[i as usize]));
        }
        all_facts.push(SegmentFacts {
            start_pc: pc,
            end_pc: seg.end_pc,
            exit_code: last.then_some(exit_code),
            outputs,
            state,
        });
        pc = seg.end_pc;
    }
    if let Some(i) = written.iter().position(|w| !w) {
        return Err(VerifyError::Boundary {
            segment: count,
            reason: format!("output word {i} never written"),
        });
    }
    for (k, (seg, facts)) in proof.segments.iter().zip(&all_facts).enumerate() {
        verify_segment(program, &params, &input_tape, facts, seg).map_err(|e| match e {
            SegmentError::Shape(s) => VerifyError::Shape(format!("segment {k}: {s}")),
            SegmentError::Stark(reason) => VerifyError::Stark { segment: k, reason },
        })?;
    }
    Ok(())
}

/// Why one segment's STARK was rejected (mapped to [`VerifyError`] with the segment index).
enum SegmentError {
    /// Table heights do not match the segment's public data or exceed the limits.
    Shape(String),
    /// The STARK itself did not verify.
    Stark(String),
}

/// Verifies one segment's STARK against its facts.
fn verify_segment(
    program: &Program,
    params: &Params,
    input_tape: &[u32],
    facts: &SegmentFacts,
    segment: &SegmentProof,
) -> Result<(), SegmentError> {
    let tables = Table::from_mask(segment.tables)
        .ok_or_else(|| SegmentError::Shape(format!("table set {:#x}", segment.tables)))?;
    let stark = &segment.stark;
    let airs = airs_for(program, input_tape, facts, &tables);
    let bits = &stark.degree_bits;
    if bits.len() != airs.len() {
        return Err(SegmentError::Shape(format!("{} tables, expected {}", bits.len(), airs.len())));
    }
    for (air, &b) in airs.iter().zip(bits) {
        let limit = if air.table == Table::Cpu { MAX_LOG_CPU_HEIGHT } else { MAX_LOG_HEIGHT };
        if b > limit || (1usize << b) < height(0) {
            return Err(SegmentError::Shape(format!("{:?} height 2^{b}", air.table)));
        }
        if let Some(pre) = &air.preprocessed
            && pre.height() != 1 << b
        {
            return Err(SegmentError::Shape(format!(
                "{:?} height 2^{b}, expected {}",
                air.table,
                pre.height()
            )));
        }
    }
    let config = make_config(params);
    let public = public_values(facts, &tables);
    let key = data_key(params, program, input_tape, facts, &tables, bits);
    // Plonky3's verifier indexes into proof-supplied vectors; a hostile proof must produce an
    // error, never take the process down, so any panic inside it counts as a rejection.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let data = cached_prover_data(&config, &airs, bits, key)?;
        verify_batch(&config, &airs, stark, &public, &data.common).map_err(|e| format!("{e:?}"))
    }));
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(SegmentError::Stark(e)),
        Err(_) => Err(SegmentError::Stark("verifier rejected a malformed proof".into())),
    }
}

impl Proof {
    /// Serializes the proof (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("proof serialization cannot fail")
    }

    /// Parses untrusted proof bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        postcard::from_bytes(bytes).map_err(|e| VerifyError::Decode(e.to_string()))
    }
}
