//! Command logic behind `nexus zk new|build|run|prove|verify`, free of any argument parser so
//! the `nexus` binary only maps its flags onto these functions and prints the summaries.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::elf::Program;
pub use crate::stark::{DEFAULT_LOG_SEGMENT, MAX_LOG_CPU_HEIGHT, MIN_LOG_SEGMENT};
use crate::stark::{Proof, prove_program_segmented, verify_program};

/// Why a `nexus zk` command failed; each message names the thing to fix.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The target directory of `new` already exists.
    #[error("{0} already exists; pick another name or remove it")]
    Exists(PathBuf),
    /// `cargo build` of the guest failed.
    #[error(
        "guest build failed (see cargo's output above); is the riscv32im-unknown-none-elf target installed?"
    )]
    Build,
    /// The ELF could not be run.
    #[error(transparent)]
    Execute(#[from] crate::ExecuteError),
    /// Proving failed.
    #[error(transparent)]
    Prove(#[from] crate::stark::ProveError),
    /// The proof file is malformed or the proof does not verify.
    #[error("proof rejected: {0}")]
    Verify(#[from] crate::stark::VerifyError),
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Io { path: path.to_owned(), source })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|source| CliError::Io { path: path.to_owned(), source })
}

/// The SIMD instruction set the field arithmetic was compiled for (logged at start).
pub fn simd_level() -> &'static str {
    if cfg!(target_feature = "avx512f") {
        "avx512"
    } else if cfg!(target_feature = "avx2") {
        "avx2"
    } else if cfg!(target_arch = "aarch64") {
        "neon"
    } else {
        "portable (build with -C target-cpu=native for 6-10x faster proving)"
    }
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Has glibc map every allocation of 1 MiB or more on its own and unmap it when freed, for the
/// rest of the process. By default glibc raises that threshold to 32 MiB after the first large
/// buffer is freed, so from the second segment on the prover's many-MiB buffers come from
/// malloc's arenas, which fragment: ECDSA's six segments peak 50–90 MiB lower this way
/// (BENCHMARKS.md), at the cost of mapping those buffers afresh in every segment (page faults:
/// a few percent of CPU time at most, on runs of several segments). A no-op elsewhere than
/// glibc.
pub fn unmap_large_buffers_when_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc tunable; glibc applies it to later allocations and
    // accepts it at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// `nexus zk new <dir>`: scaffolds a guest crate that depends on the in-tree guest runtime.
pub fn new_guest(dir: &Path) -> Result<(), CliError> {
    if dir.exists() {
        return Err(CliError::Exists(dir.to_owned()));
    }
    let name = dir.file_name().map_or("guest".into(), |n| n.to_string_lossy().into_owned());
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/runtime");
    let runtime = runtime.canonicalize().unwrap_or(runtime);
    let files = [
        (
            "Cargo.toml",
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                 [dependencies]\nnexus-zkvm-guest = {{ path = \"{}\" }}\n\n\
                 # A guest is its own workspace, built only for riscv32im-unknown-none-elf.\n\
                 [workspace]\n\n[profile.release]\npanic = \"abort\"\nopt-level = 3\nlto = true\n\
                 codegen-units = 1\n\n[profile.dev]\npanic = \"abort\"\n",
                runtime.display()
            ),
        ),
        (
            ".cargo/config.toml",
            "[build]\ntarget = \"riscv32im-unknown-none-elf\"\n\n\
             [target.riscv32im-unknown-none-elf]\nrustflags = [\"-C\", \"link-arg=-Tnexus-guest.ld\"]\n"
                .to_string(),
        ),
        (
            "src/main.rs",
            "//! A Nexus zkVM guest: reads its input, commits an output.\n#![no_std]\n#![no_main]\n\n\
             nexus_zkvm_guest::entry!(main);\n\nfn main() {\n    \
             let input = nexus_zkvm_guest::read_input();\n    \
             nexus_zkvm_guest::println!(\"got {} input bytes\", input.len());\n    \
             nexus_zkvm_guest::commit(&input);\n}\n"
                .to_string(),
        ),
        (".gitignore", "/target\n".to_string()),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| CliError::Io { path: parent.to_owned(), source })?;
        }
        write(&path, text.as_bytes())?;
    }
    Ok(())
}

/// `nexus zk build [dir]`: builds the guest in release mode and returns its ELF path.
pub fn build_guest(dir: &Path) -> Result<PathBuf, CliError> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(dir)
        .args(["build", "--release", "--target", "riscv32im-unknown-none-elf"])
        // Host flags such as -C target-cpu=native must not reach the guest.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|source| CliError::Io { path: dir.to_owned(), source })?;
    if !status.success() {
        return Err(CliError::Build);
    }
    let manifest = String::from_utf8_lossy(&read(&dir.join("Cargo.toml"))?).into_owned();
    let name = manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or("guest")
        .to_string();
    Ok(dir.join(format!("target/riscv32im-unknown-none-elf/release/{name}")))
}

/// Summary of `nexus zk run`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// Program id (hex).
    pub program_id: String,
    /// Output bytes (hex).
    pub output_hex: String,
    /// Exit code.
    pub exit_code: u32,
    /// Cycles executed.
    pub cycles: u64,
    /// Debug tape as text (not proven).
    pub debug: String,
}

/// `nexus zk run <elf> [input]`: executes without proving.
pub fn run(elf: &Path, input: &[u8]) -> Result<RunSummary, CliError> {
    let bytes = read(elf)?;
    let program = Program::from_elf(&bytes).map_err(crate::ExecuteError::from)?;
    let run = crate::execute(&bytes, input)?;
    Ok(RunSummary {
        program_id: program.program_id().to_hex(),
        output_hex: hex::encode(&run.output),
        exit_code: run.exit_code,
        cycles: run.cycles,
        debug: String::from_utf8_lossy(&run.debug).into_owned(),
    })
}

/// What a proof file holds: the claimed output and exit code, and the proof binding them.
#[derive(Serialize, Deserialize)]
pub struct ProofFile {
    /// Claimed output.
    pub output: Vec<u8>,
    /// Claimed exit code.
    pub exit_code: u32,
    /// The proof.
    pub proof: Proof,
}

/// Summary of `nexus zk prove`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProveSummary {
    /// Program id (hex).
    pub program_id: String,
    /// Output bytes (hex).
    pub output_hex: String,
    /// Exit code.
    pub exit_code: u32,
    /// Cycles executed.
    pub cycles: u64,
    /// Segments proven (one STARK each, chained by their boundary memory states).
    pub segments: u32,
    /// Wall-clock proving time in seconds.
    pub prove_seconds: f64,
    /// Peak resident memory of the process in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Size of the proof file in bytes.
    pub proof_bytes: usize,
    /// Conjectured security bits of the proof (Plonky3's FRI conjecture).
    pub security_bits: usize,
    /// Proven security bits of the proof (Plonky3's proven bound).
    pub proven_security_bits: usize,
    /// SIMD level the prover was compiled for.
    pub simd: String,
}

/// `nexus zk prove <elf> [input] -o <proof>`: proves in segments of `2^log_segment` cycles
/// ([`DEFAULT_LOG_SEGMENT`] unless the user trades proof size for memory: each step down
/// roughly halves the prover's peak) and writes the proof file. `progress` receives a line
/// at each phase (the binary can drive a progress bar with it).
pub fn prove(
    elf: &Path,
    input: &[u8],
    proof_out: &Path,
    log_segment: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<ProveSummary, CliError> {
    progress(&format!("SIMD: {}", simd_level()));
    unmap_large_buffers_when_freed();
    let bytes = read(elf)?;
    let program = Program::from_elf(&bytes).map_err(crate::ExecuteError::from)?;
    progress("executing and proving");
    let start = Instant::now();
    let proven = prove_program_segmented(&program, input, log_segment, &mut |k, n| {
        progress(&format!("proved segment {}/{n}", k + 1))
    })?;
    let prove_seconds = start.elapsed().as_secs_f64();
    let security = proven.security;
    let file = ProofFile { output: proven.output, exit_code: proven.exit_code, proof: proven.proof };
    let encoded = postcard::to_allocvec(&file).expect("proof file serialization cannot fail");
    write(proof_out, &encoded)?;
    progress("done");
    Ok(ProveSummary {
        program_id: program.program_id().to_hex(),
        output_hex: hex::encode(&file.output),
        exit_code: file.exit_code,
        cycles: proven.cycles,
        segments: file.proof.segments.len() as u32,
        prove_seconds,
        peak_rss_bytes: peak_rss_bytes(),
        proof_bytes: encoded.len(),
        security_bits: security.conjectured_bits,
        proven_security_bits: security.proven_bits,
        simd: simd_level().into(),
    })
}

/// Summary of `nexus zk verify`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifySummary {
    /// Program id (hex).
    pub program_id: String,
    /// Verified output (hex).
    pub output_hex: String,
    /// Verified exit code.
    pub exit_code: u32,
    /// Verification time in milliseconds.
    pub verify_ms: f64,
}

/// `nexus zk verify <elf> [input] <proof>`: checks the proof file's claim against the program
/// and input; success means the output and exit code in the summary are proven.
pub fn verify(elf: &Path, input: &[u8], proof_path: &Path) -> Result<VerifySummary, CliError> {
    let bytes = read(elf)?;
    let program = Program::from_elf(&bytes).map_err(crate::ExecuteError::from)?;
    let file: ProofFile = postcard::from_bytes(&read(proof_path)?)
        .map_err(|e| crate::stark::VerifyError::Decode(e.to_string()))?;
    let start = Instant::now();
    verify_program(&program, input, &file.output, file.exit_code, &file.proof)?;
    Ok(VerifySummary {
        program_id: program.program_id().to_hex(),
        output_hex: hex::encode(&file.output),
        exit_code: file.exit_code,
        verify_ms: start.elapsed().as_secs_f64() * 1e3,
    })
}

/// Renders any summary as one JSON object (for `--json`).
pub fn to_json<T: Serialize>(summary: &T) -> String {
    serde_json::to_string(summary).expect("summaries serialize")
}
