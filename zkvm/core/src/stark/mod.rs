//! The multi-table STARK: proving and verifying a whole execution with `p3-batch-stark`.

pub mod air;
pub mod config;
pub mod trace;

use std::panic::{AssertUnwindSafe, catch_unwind};

use p3_batch_stark::{BatchProof, ProverData, StarkInstance, prove_batch, verify_batch};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_util::log2_strict_usize;
use serde::{Deserialize, Serialize};

use self::air::{Table, VmAir};
use self::config::{Config, PARAMS_V1, Params, Val, make_config, params_by_id};
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

fn airs_for(program: &Program, input_tape: &[u32], output_tape: &[u32], exit_code: u32) -> Vec<VmAir> {
    Table::ALL
        .iter()
        .zip(preprocessed(program, input_tape, output_tape, exit_code))
        .map(|(&table, pre)| VmAir { table, preprocessed: pre })
        .collect()
}

/// Proves already generated traces (exposed so soundness tests can prove tampered witnesses).
pub fn prove_witness(program: &Program, witness: &Witness, params: &Params) -> Result<Proof, ProveError> {
    let config = make_config(params);
    let airs = airs_for(program, &witness.input_tape, &witness.output_tape, witness.exit_code);
    let degree_bits: Vec<usize> = witness.traces.iter().map(|t| log2_strict_usize(t.height())).collect();
    if degree_bits[0] > MAX_LOG_CPU_HEIGHT {
        return Err(ProveError::TooLong(witness.cycles));
    }
    let prover_data = ProverData::from_airs_and_degrees(&config, &airs, &degree_bits)
        .map_err(|e| ProveError::Stark(format!("{e:?}")))?;
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
}

/// Runs and proves `program` on `input` with the default parameters.
pub fn prove_program(program: &Program, input: &[u8]) -> Result<Proven, ProveError> {
    let witness = generate(program, input, 1 << MAX_LOG_CPU_HEIGHT)?;
    let proof = prove_witness(program, &witness, &PARAMS_V1)?;
    let output = tape_to_bytes(&witness.output_tape).unwrap_or_default();
    Ok(Proven { output, exit_code: witness.exit_code, cycles: witness.cycles, proof })
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
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let data = ProverData::from_airs_and_degrees(&config, &airs, bits).map_err(|e| format!("{e:?}"))?;
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
