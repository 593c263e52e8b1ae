//! The `nexus` command: scaffold, build, inspect and run Nexus functions.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Nexus: a serverless blockchain for ordinary programs compiled to WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "nexus", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scaffold a new function project.
    New(cmd::new::Args),
    /// Run a one-validator chain in this process with funded dev accounts, serving the node API.
    Dev(cmd::dev::Args),
    /// Build the function project in a directory to a .wasm file.
    Build(cmd::build::Args),
    /// Show a module's manifest, imports, exports and every validation error.
    Inspect(cmd::inspect::Args),
    /// Execute a function locally against a persistent state directory.
    Run(cmd::run::Args),
    /// The embedded RISC-V zkVM: scaffold, build, run, prove and verify guest programs.
    Zk(cmd::zk::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::New(a) => cmd::new::run(a),
        Command::Dev(a) => cmd::dev::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Zk(a) => cmd::zk::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
