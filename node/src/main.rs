//! The `nexus` command: scaffold, build, inspect and run Nexus functions, and use a chain:
//! keys, deploy, call, query, logs, files, key-value reads with proofs.

mod anvil;
mod child;
mod client;
mod cmd;
mod cometbft;
mod relay;

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
    /// Manage signing keys: encrypted keystore files and mnemonics.
    Keys(cmd::keys::Args),
    /// Deploy a .wasm module as a new function owned by the signer.
    Deploy(cmd::deploy::Args),
    /// Replace a function's code (owner only).
    Upgrade(cmd::upgrade::Args),
    /// Delete a function and its state (owner only).
    Delete(cmd::delete::Args),
    /// Show a deployed function: owner, code hash, version.
    Function(cmd::function::Args),
    /// Call a function in a transaction: prints its output, events, logs and gas.
    Call(cmd::call::Args),
    /// Run a function's read-only query entry point (no transaction).
    Query(cmd::query::Args),
    /// Print a function's logs and events; -f follows new blocks.
    Logs(cmd::logs::Args),
    /// Read a function's files: ls, cat.
    Fs(cmd::fs::Args),
    /// Read a function's key-value entries, optionally with a verified proof.
    Kv(cmd::kv::Args),
    /// The node's chain and latest block.
    Status(cmd::status::Args),
    /// A transaction's status and result.
    Tx(cmd::tx::Args),
    /// An account's balance and nonce.
    Account(cmd::account::Args),
    /// Measure a running node: counter calls per second and submit-to-result latency.
    Bench(cmd::bench::Args),
    /// Run a validator: init a home, start it (application + supervised cometbft), status.
    Validator(cmd::validator::Args),
    /// Create a new network: genesis and a home per validator.
    Network(cmd::network::Args),
    /// Start N real validators on loopback and keep them running until Ctrl-C.
    Testnet(cmd::testnet::Args),
    /// Ethereum: how far the chain has processed finalized blocks (`nexus eth status`).
    Eth(cmd::eth::Args),
    /// Proof of stake: create a validator, delegate, undelegate, unjail, withdraw rewards.
    Staking(cmd::staking::Args),
    /// Threshold signing: the validators' key, DKG, rotations and faults (`nexus tss status`).
    Tss(cmd::tss::Args),
    /// Submit the messages and key rotations the validators signed to the Ethereum gateway.
    Relayer(cmd::relayer::Args),
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
        Command::Staking(a) => cmd::staking::run(a),
        Command::Eth(a) => cmd::eth::run(a),
        Command::Tss(a) => cmd::tss::run(a),
        Command::Relayer(a) => cmd::relayer::run(a),
        Command::Keys(a) => cmd::keys::run(a),
        Command::Deploy(a) => cmd::deploy::run(a),
        Command::Upgrade(a) => cmd::upgrade::run(a),
        Command::Delete(a) => cmd::delete::run(a),
        Command::Function(a) => cmd::function::run(a),
        Command::Call(a) => cmd::call::run(a),
        Command::Query(a) => cmd::query::run(a),
        Command::Logs(a) => cmd::logs::run(a),
        Command::Fs(a) => cmd::fs::run(a),
        Command::Kv(a) => cmd::kv::run(a),
        Command::Status(a) => cmd::status::run(a),
        Command::Tx(a) => cmd::tx::run(a),
        Command::Account(a) => cmd::account::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Validator(a) => cmd::validator::run(a),
        Command::Network(a) => cmd::network::run(a).map(|()| ExitCode::SUCCESS),
        Command::Testnet(a) => cmd::testnet::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
