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
pub mod config;
pub mod security;
pub mod subword;
pub mod trace;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use p3_batch_stark::{BatchProof, ProverData, StarkInstance, prove_batch, verify_batch};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_util::log2_strict_usize;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use self::air::{Table, VmAir};
use self::config::{Config, PARAMS_V2, Params, Val, make_config, params_by_id};
use self::security::{SecurityReport, security_report};
use self::trace::{Witness, generate, height, preprocessed};
use crate::elf::{Program, ProgramId};
use crate::emu::{bytes_to_tape, tape_to_bytes};

/// Largest CPU table a proof may claim: timestamps `4·clk + 4` must stay below 2^24.
pub const MAX_LOG_CPU_HEIGHT: usize = 21;
/// Largest height any other table may claim (bounds the verifier's work).
pub const MAX_LOG_HEIGHT: usize = 24;

/// A proof that a program, run on a public input, produced a public output and exit code.
#[derive(Serialize, Deserialize)]
pub struct Proof {
    /// Parameter set the proof was made with.
    pub params_id: u32,
    /// The program proven.
    pub program_id: [u8; 32],
    /// Cycles executed (informational; bounded by the CPU table height).
    pub cycles: u64,
    /// The STARK.
    pub stark: BatchProof<Config>,
}

/// Why proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// Trace generation failed (trap, unsupported instruction, ...).
    #[error(transparent)]
    Trace(#[from] trace::TraceError),
    /// The execution needs a CPU table taller than one proof allows.
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
    /// The output is not representable as a tape (cannot happen for byte strings; kept for symmetry).
    #[error("bad public output")]
    BadOutput,
    /// The STARK did not verify.
    #[error("STARK verification failed: {0}")]
    Stark(String),
}

/// The AIRs of every table for a program and its public data.
pub fn airs_for(program: &Program, input_tape: &[u32], output_tape: &[u32], exit_code: u32) -> Vec<VmAir> {
    Table::ALL
        .iter()
        .zip(preprocessed(program, input_tape, output_tape, exit_code))
        .map(|(&table, pre)| VmAir { table, preprocessed: pre })
        .collect()
}

/// Everything the preprocessed commitment and the lookup layout depend on.
fn data_key(params: &Params, program: &Program, public: &PublicData<'_>, degree_bits: &[usize]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"nexus-zkvm prover data v1");
    h.update(params.id.to_le_bytes());
    h.update(program.program_id().0);
    for tape in [public.input_tape, public.output_tape] {
        h.update((tape.len() as u64).to_le_bytes());
        tape.iter().for_each(|w| h.update(w.to_le_bytes()));
    }
    h.update(public.exit_code.to_le_bytes());
    degree_bits.iter().for_each(|&b| h.update((b as u64).to_le_bytes()));
    h.finalize().into()
}

/// The public facts a proof is about.
struct PublicData<'a> {
    input_tape: &'a [u32],
    output_tape: &'a [u32],
    exit_code: u32,
}

/// A cached preprocessed commitment and the key it was made for.
type CacheEntry = ([u8; 32], Arc<ProverData<Config>>);

/// How many preprocessed commitments stay cached.
const DATA_CACHE_ENTRIES: usize = 4;

/// Recently used preprocessed commitments (most recent last). Committing the preprocessed
/// tables (the 2^16-row range table above all) dominates verification, and a verifier
/// typically checks many proofs of one program, so the commitment is reused while the program
/// and public data are the same.
fn data_cache() -> &'static Mutex<Vec<CacheEntry>> {
    static CACHE: OnceLock<Mutex<Vec<CacheEntry>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// The preprocessed commitment and lookup layout for `airs`, from the cache when possible.
fn prover_data(
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
    let data =
        Arc::new(ProverData::from_airs_and_degrees(config, airs, degree_bits).map_err(|e| format!("{e:?}"))?);
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if entries.len() >= DATA_CACHE_ENTRIES {
        entries.remove(0);
    }
    entries.push((key, data.clone()));
    Ok(data)
}

/// Proves already generated traces (exposed so soundness tests can prove tampered witnesses).
pub fn prove_witness(program: &Program, witness: &Witness, params: &Params) -> Result<Proof, ProveError> {
    let config = make_config(params);
    let airs = airs_for(program, &witness.input_tape, &witness.output_tape, witness.exit_code);
    let degree_bits: Vec<usize> = witness.traces.iter().map(|t| log2_strict_usize(t.height())).collect();
    if degree_bits[0] > MAX_LOG_CPU_HEIGHT {
        return Err(ProveError::TooLong(witness.cycles));
    }
    let public = PublicData {
        input_tape: &witness.input_tape,
        output_tape: &witness.output_tape,
        exit_code: witness.exit_code,
    };
    let key = data_key(params, program, &public, &degree_bits);
    let prover_data = prover_data(&config, &airs, &degree_bits, key).map_err(ProveError::Stark)?;
    let traces: Vec<&RowMajorMatrix<Val>> = witness.traces.iter().collect();
    let public: Vec<Vec<Val>> = Table::ALL
        .iter()
        .map(|t| match t {
            Table::Cpu => vec![air::f(program.entry)],
            _ => vec![],
        })
        .collect();
    let instances = StarkInstance::new_multiple(&airs, &traces, &public);
    let stark =
        prove_batch(&config, &instances, &prover_data).map_err(|e| ProveError::Stark(format!("{e:?}")))?;
    Ok(Proof { params_id: params.id, program_id: program.program_id().0, cycles: witness.cycles, stark })
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
    /// Its soundness estimates.
    pub security: SecurityReport,
}

/// Runs and proves `program` on `input` with the default parameters.
pub fn prove_program(program: &Program, input: &[u8]) -> Result<Proven, ProveError> {
    let witness = generate(program, input, 1 << MAX_LOG_CPU_HEIGHT)?;
    let proof = prove_witness(program, &witness, &PARAMS_V2)?;
    let output = tape_to_bytes(&witness.output_tape).unwrap_or_default();
    let airs = airs_for(program, &witness.input_tape, &witness.output_tape, witness.exit_code);
    let security = security_report(&PARAMS_V2, &airs, &proof.stark.degree_bits);
    Ok(Proven { output, exit_code: witness.exit_code, cycles: witness.cycles, proof, security })
}

/// Verifies that `program` run on `input` outputs `output` and exits with `exit_code`.
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
    let input_tape = bytes_to_tape(input);
    let output_tape = bytes_to_tape(output);
    let airs = airs_for(program, &input_tape, &output_tape, exit_code);
    let bits = &proof.stark.degree_bits;
    if bits.len() != airs.len() {
        return Err(VerifyError::Shape(format!("{} tables, expected {}", bits.len(), airs.len())));
    }
    for (k, (air, &b)) in airs.iter().zip(bits).enumerate() {
        let limit = if k == 0 { MAX_LOG_CPU_HEIGHT } else { MAX_LOG_HEIGHT };
        if b > limit || (1usize << b) < height(0) {
            return Err(VerifyError::Shape(format!("{:?} height 2^{b}", air.table)));
        }
        if let Some(pre) = &air.preprocessed
            && pre.height() != 1 << b
        {
            return Err(VerifyError::Shape(format!(
                "{:?} height 2^{b}, expected {}",
                air.table,
                pre.height()
            )));
        }
    }
    let config = make_config(&params);
    let public: Vec<Vec<Val>> = Table::ALL
        .iter()
        .map(|t| match t {
            Table::Cpu => vec![air::f(program.entry)],
            _ => vec![],
        })
        .collect();
    // Plonky3's verifier indexes into proof-supplied vectors; a hostile proof must produce an
    // error, never take the process down, so any panic inside it counts as a rejection.
    let facts = PublicData { input_tape: &input_tape, output_tape: &output_tape, exit_code };
    let key = data_key(&params, program, &facts, bits);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let data = prover_data(&config, &airs, bits, key)?;
        verify_batch(&config, &airs, &proof.stark, &public, &data.common).map_err(|e| format!("{e:?}"))
    }));
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(VerifyError::Stark(e)),
        Err(_) => Err(VerifyError::Stark("verifier rejected a malformed proof".into())),
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
