//! `nexus zk new|build|run|prove|verify`: the embedded RISC-V zkVM from the command line.

use anyhow::Context as _;
use nexus_zkvm::cli;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `nexus zk`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Zk,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Zk {
    /// Scaffold a guest program (no_std Rust for riscv32im).
    New {
        /// Directory to create.
        dir: PathBuf,
    },
    /// Build a guest to an ELF.
    Build {
        /// The guest's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Execute a guest without proving.
    Run {
        /// The guest ELF.
        elf: PathBuf,
        /// Input: hex (`0x…`), `@file`, or text.
        #[arg(long, default_value = "")]
        input: String,
    },
    /// Execute and prove a guest, writing the proof file.
    Prove {
        /// The guest ELF.
        elf: PathBuf,
        /// Input: hex (`0x…`), `@file`, or text.
        #[arg(long, default_value = "")]
        input: String,
        /// Where to write the proof.
        #[arg(short, long, default_value = "proof.bin")]
        out: PathBuf,
        /// Cycles per segment, as a power of two: each step down roughly halves the prover's
        /// peak memory (2^20: about 1.7 GiB), for more segments (a larger proof, a longer
        /// verification).
        #[arg(long, default_value_t = cli::DEFAULT_LOG_SEGMENT as u8,
              value_parser = clap::value_parser!(u8).range(cli::MIN_LOG_SEGMENT as i64..=cli::MAX_LOG_CPU_HEIGHT as i64))]
        segment_log: u8,
    },
    /// Verify a proof file against the guest and input.
    Verify {
        /// The guest ELF.
        elf: PathBuf,
        /// The proof file.
        proof: PathBuf,
        /// Input: hex (`0x…`), `@file`, or text.
        #[arg(long, default_value = "")]
        input: String,
    },
}

/// Runs `nexus zk`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let json = args.json;
    match args.command {
        Zk::New { dir } => {
            cli::new_guest(&dir)?;
            println!("created guest {}; next: nexus zk build {0}", dir.display());
        }
        Zk::Build { dir } => {
            let bar = super::spinner(json);
            bar.set_message(format!("building {}", dir.display()));
            let elf = cli::build_guest(&dir);
            bar.finish_and_clear();
            println!("built {}", elf?.display());
        }
        Zk::Run { elf, input } => {
            let s = cli::run(&elf, &super::parse_input(&input)?)?;
            if json {
                println!("{}", cli::to_json(&s));
            } else {
                println!(
                    "program {}\nexit code {}\ncycles {}\noutput 0x{}",
                    s.program_id, s.exit_code, s.cycles, s.output_hex
                );
                if !s.debug.is_empty() {
                    println!("debug:\n{}", s.debug.trim_end());
                }
            }
        }
        Zk::Prove { elf, input, out, segment_log } => {
            let input = super::parse_input(&input)?;
            let bar = super::spinner(json);
            let s = cli::prove(&elf, &input, &out, segment_log.into(), &mut |line| {
                bar.set_message(line.to_string())
            });
            bar.finish_and_clear();
            let s = s?;
            if json {
                println!("{}", cli::to_json(&s));
            } else {
                println!(
                    "proved {} cycles in {} segment(s) in {:.2} s ({}), peak memory {}, proof {} bytes at {} bits -> {}",
                    s.cycles,
                    s.segments,
                    s.prove_seconds,
                    s.simd,
                    s.peak_rss_bytes.map_or("unknown".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
                    s.proof_bytes,
                    s.security_bits,
                    out.display()
                );
                println!("output 0x{} exit code {}", s.output_hex, s.exit_code);
            }
        }
        Zk::Verify { elf, proof, input } => {
            let s = cli::verify(&elf, &super::parse_input(&input)?, &proof)
                .with_context(|| format!("{} does not verify", proof.display()))?;
            if json {
                println!("{}", cli::to_json(&s));
            } else {
                println!(
                    "valid: program {} output 0x{} exit code {} ({:.1} ms)",
                    s.program_id, s.output_hex, s.exit_code, s.verify_ms
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
