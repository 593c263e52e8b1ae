//! `nexus validator init|start|status`: run one validator — the application behind a supervised
//! CometBFT.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use nexus_api::{NexusApiClient as _, ValidatorConfig, ValidatorNode};

use crate::cometbft::{self, Home, NodeFile, NodeSettings, Ports};

/// Arguments of `nexus validator`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a validator home: consensus and node keys, CometBFT config, the network's genesis.
    Init(InitArgs),
    /// Run the validator: the application (ABCI server and node API) and a supervised cometbft.
    Start(StartArgs),
    /// Show the validator's height, app hash, sync state and peers.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// The home to create.
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// The network's genesis file (from `nexus network new`).
    #[arg(long, value_name = "FILE")]
    genesis: PathBuf,
    /// This node's name.
    #[arg(long, default_value = "validator")]
    moniker: String,
    /// Peers to connect to: `id@host:port`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    peers: Vec<String>,
    /// Address to accept peers on.
    #[arg(long, default_value = "0.0.0.0")]
    listen: String,
    /// CometBFT p2p port.
    #[arg(long, default_value_t = 26_656)]
    p2p_port: u16,
    /// CometBFT RPC port (loopback only).
    #[arg(long, default_value_t = 26_657)]
    cometbft_rpc_port: u16,
    /// Node API port (loopback).
    #[arg(long, default_value_t = 8645)]
    api_port: u16,
    /// The CometBFT binary.
    #[arg(long, value_name = "PATH")]
    cometbft: Option<PathBuf>,
}

/// Arguments of `nexus validator start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// The validator home.
    #[arg(long, value_name = "DIR")]
    pub home: PathBuf,
    /// The CometBFT binary.
    #[arg(long, value_name = "PATH")]
    pub cometbft: Option<PathBuf>,
    /// Do not start cometbft: the operator runs it (pointed at this home's ABCI socket).
    #[arg(long)]
    pub external_cometbft: bool,
    /// Heights whose state stays provable.
    #[arg(long, value_name = "N", default_value_t = nexus_api::DEFAULT_KEEP_RECENT, conflicts_with = "archive")]
    pub keep_recent: u64,
    /// Keep every height provable (no pruning).
    #[arg(long)]
    pub archive: bool,
    /// An Ethereum JSON-RPC endpoint (http://) the observer follows; repeat to cross-check
    /// several. Without one the validator votes on no Ethereum block.
    #[arg(long = "eth-rpc", value_name = "URL")]
    pub eth_rpc: Vec<String>,
    /// CometBFT's log level.
    #[arg(long, default_value = "main:info,state:info,*:error")]
    pub cometbft_log_level: String,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The validator home.
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `nexus validator …`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Init(a) => init(a).map(|()| ExitCode::SUCCESS),
        Command::Start(a) => start(a),
        Command::Status(a) => status(a).map(|()| ExitCode::SUCCESS),
    }
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let bin = cometbft::binary(a.cometbft.as_deref())?;
    let genesis = cometbft::read_json(&a.genesis)?;
    cometbft::app_genesis(&genesis)?;
    if NodeFile::path(&a.home).exists() {
        anyhow::bail!("{} is already a validator home", a.home.display());
    }
    std::fs::create_dir_all(&a.home).with_context(|| format!("cannot create {}", a.home.display()))?;
    let home = Home(std::fs::canonicalize(&a.home)?);
    cometbft::init_home(&bin, &home.cometbft())?;
    crate::cmd::network::write_home(
        &home,
        &genesis,
        &NodeSettings {
            moniker: &a.moniker,
            listen: &a.listen,
            ports: Ports { p2p: a.p2p_port, rpc: a.cometbft_rpc_port, api: a.api_port },
            peers: a.peers,
            abci_socket: &home.abci_socket(),
            // A node listening on loopback only has peers on this machine.
            local: a.listen.starts_with("127."),
        },
    )?;
    let (address, pub_key) = cometbft::validator_key(&home.cometbft())?;
    println!("validator home {}", home.0.display());
    println!("  node id        {}", cometbft::node_id(&bin, &home.cometbft())?);
    println!("  consensus key  {} ({})", pub_key["value"].as_str().unwrap_or_default(), address);
    Ok(())
}

/// Signals a process (`-TERM` lets CometBFT stop cleanly; `Child::kill` could only SIGKILL).
fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill").args([sig, &pid.to_string()]).status();
}

/// Runs the validator until Ctrl-C/SIGTERM (exit 0) or until either half dies (exit 1, so a
/// service manager restarts both).
pub fn start(a: StartArgs) -> anyhow::Result<ExitCode> {
    let home = Home(a.home.clone());
    let node = NodeFile::read(&home.0)?;
    let genesis = cometbft::app_genesis(&cometbft::read_json(&home.genesis())?)?;
    let bin = if a.external_cometbft { None } else { Some(cometbft::binary(a.cometbft.as_deref())?) };
    let config = ValidatorConfig {
        data_dir: home.data(),
        abci_socket: home.abci_socket(),
        rpc_addr: node.rpc_addr,
        cometbft_rpc: node.cometbft_rpc.clone(),
        chain_id: genesis.params.chain_id,
        chain_name: genesis.params.chain_name.clone(),
        keep_recent: (!a.archive).then_some(a.keep_recent),
        eth_rpc: a.eth_rpc.clone(),
        genesis: genesis.clone(),
        consensus_key: Some(super::staking::consensus_key(&a.home)?),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async move {
        let mut validator = ValidatorNode::start(config).await?;
        eprintln!(
            "nexus validator {}: node API on http://{}, ABCI on {}",
            home.0.display(),
            validator.rpc_addr(),
            home.abci_socket().display()
        );
        // The child is waited on by a thread (waiting blocks), which reports its exit.
        let (exited_tx, mut exited) = tokio::sync::oneshot::channel::<String>();
        let pid = match &bin {
            Some(bin) => {
                let mut child = spawn_cometbft(bin, &home.cometbft(), &a.cometbft_log_level)?;
                let pid = child.id();
                std::thread::spawn(move || {
                    let status = child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
                    let _ = exited_tx.send(status);
                });
                Some(pid)
            }
            None => None,
        };
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut child_running = pid.is_some();
        let code = tokio::select! {
            reason = validator.failed() => {
                eprintln!("nexus validator: the application stopped: {reason}");
                ExitCode::FAILURE
            }
            status = &mut exited, if child_running => {
                eprintln!("nexus validator: cometbft exited ({}); stopping", status.unwrap_or_else(|_| "unknown".into()));
                child_running = false;
                ExitCode::FAILURE
            }
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
            _ = term.recv() => ExitCode::SUCCESS,
        };
        if let (Some(pid), true) = (pid, child_running) {
            signal(pid, "-TERM");
            if tokio::time::timeout(Duration::from_secs(10), &mut exited).await.is_err() {
                signal(pid, "-KILL");
                let _ = exited.await;
            }
        }
        anyhow::Ok((code, validator.shutdown().await))
    });
    let (code, closing) = result?;
    // Dropping the runtime ends the ABCI connections, which releases the application; wait for
    // its database to close before the process exits.
    drop(runtime);
    if !closing.wait(Duration::from_secs(30)) {
        eprintln!("nexus validator: the state store did not close within 30 s");
        return Ok(ExitCode::FAILURE);
    }
    Ok(code)
}

/// Starts cometbft; SIGKILLed when this process dies (its state is crash-safe, and a graceful
/// stop without its application can hang). Called on the main thread, see `die_with_parent`.
fn spawn_cometbft(bin: &Path, home: &Path, log_level: &str) -> anyhow::Result<Child> {
    crate::child::die_with_parent(&mut std::process::Command::new(bin), libc::SIGKILL)
        .args(["start", "--home", &home.to_string_lossy(), "--log_level", log_level])
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))
}

/// CometBFT's `/status`, the parts shown.
#[derive(Debug, serde::Deserialize)]
struct CometStatus {
    node_info: serde_json::Value,
    sync_info: serde_json::Value,
    validator_info: serde_json::Value,
}

fn status(a: StatusArgs) -> anyhow::Result<()> {
    let node = NodeFile::read(&a.home)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let api =
            nexus_api::Client::connect(&format!("http://{}", node.rpc_addr)).await.with_context(|| {
                format!("the node API at {} does not answer; is the validator running?", node.rpc_addr)
            })?;
        let s = api.status().await.with_context(|| format!("node API at {}", node.rpc_addr))?;
        let comet = jsonrpsee_http_client::HttpClientBuilder::default().build(&node.cometbft_rpc)?;
        let c: CometStatus =
            jsonrpsee::core::client::ClientT::request(&comet, "status", jsonrpsee::rpc_params![])
                .await
                .with_context(|| format!("CometBFT RPC at {} does not answer", node.cometbft_rpc))?;
        let json = serde_json::json!({
            "chain": s.chain_name,
            "chain_id": s.chain_id,
            "height": s.height,
            "app_hash": s.app_hash,
            "mempool_size": s.mempool_size,
            "moniker": c.node_info["moniker"],
            "node_id": c.node_info["id"],
            "catching_up": c.sync_info["catching_up"],
            "cometbft_height": c.sync_info["latest_block_height"],
            "validator_address": c.validator_info["address"],
            "voting_power": c.validator_info["voting_power"],
            "node_api": format!("http://{}", node.rpc_addr),
            "cometbft_rpc": node.cometbft_rpc,
        });
        if a.json {
            crate::cmd::print_json(&json);
        } else {
            println!(
                "{} ({}) on {} (chain id {})",
                json["moniker"].as_str().unwrap_or("?"),
                json["node_id"].as_str().unwrap_or("?"),
                s.chain_name,
                s.chain_id
            );
            println!(
                "  height        {} (CometBFT {})",
                s.height,
                json["cometbft_height"].as_str().unwrap_or("?")
            );
            println!("  app hash      {}", s.app_hash);
            println!("  catching up   {}", json["catching_up"]);
            println!(
                "  voting power  {} ({})",
                json["voting_power"].as_str().unwrap_or("?"),
                json["validator_address"].as_str().unwrap_or("?")
            );
            println!("  mempool       {} transactions", s.mempool_size);
            println!("  node API      {}", json["node_api"].as_str().unwrap_or_default());
        }
        Ok(())
    })
}
