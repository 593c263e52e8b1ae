//! Nexus zkVM: an RV32IM emulator with a Plonky3 multi-table STARK prover and verifier.

pub mod cli;
pub mod elf;
pub mod emu;
pub mod isa;
pub mod stark;

pub use elf::{ElfError, Program, ProgramId};
pub use emu::{Execution, Trap};

/// Default cycle limit for [`execute`]: generous, but stops a runaway guest.
pub const DEFAULT_MAX_CYCLES: u64 = 1 << 32;

/// Why a guest could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The ELF could not be loaded.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The guest trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
}

/// Runs a guest ELF on `input` and returns its committed output, exit code and cycle count.
pub fn execute(elf: &[u8], input: &[u8]) -> Result<Execution, ExecuteError> {
    let program = Program::from_elf(elf)?;
    Ok(emu::run_program(&program, input, DEFAULT_MAX_CYCLES)?)
}
