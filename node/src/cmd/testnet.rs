//! `nexus testnet`: N real validators (each the application plus its own cometbft) on loopback.

use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nexus_api::NexusApiClient as _;

use crate::cmd::network::{self, NewArgs};
use crate::cometbft::NodeFile;

/// Arguments of `nexus testnet`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of validators (for a new network).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// The network directory; reused (the chain resumes) when it already holds one [default:
    /// ~/.nexus/testnet].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// First port: validator i uses base+10i (p2p), +1 (CometBFT RPC), +2 (node API).
    #[arg(long, default_value_t = 26_600)]
    base_port: u16,
    /// The CometBFT binary.
    #[arg(long, value_name = "PATH")]
    cometbft: Option<PathBuf>,
    /// Print one JSON line with the endpoints once the network produces blocks.
    #[arg(long)]
    json: bool,
}

/// How long the validators get to produce their first blocks.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs the network until Ctrl-C/SIGTERM, or until a validator dies (exit 1).
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let dir = match a.dir.clone() {
        Some(d) => d,
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set: pass --dir")?)
            .join(".nexus/testnet"),
    };
    if !dir.join("genesis.json").exists() {
        network::new_network(&NewArgs {
            dir: dir.clone(),
            validators: a.validators,
            chain_name: "nexus-testnet".into(),
            chain_id: 31_338,
            power: 10,
            dev_accounts: true,
            accounts: Vec::new(),
            hosts: Vec::new(),
            base_port: a.base_port,
            operator_balance: 1_000_000_000_000_000_000_000,
            params: None,
            cometbft: a.cometbft.clone(),
        })?;
    }
    let homes = network::homes_in(&dir)?;
    let exe = std::env::current_exe().context("cannot find the nexus executable")?;
    let mut children: Vec<Child> = Vec::new();
    for home in &homes {
        let log = std::fs::File::create(home.0.join("node.log"))?;
        let mut cmd = std::process::Command::new(&exe);
        // A killed testnet must not leave its validators running; SIGTERM stops each cleanly.
        crate::child::die_with_parent(&mut cmd, libc::SIGTERM);
        cmd.args(["validator", "start", "--home"]).arg(&home.0);
        if let Some(c) = &a.cometbft {
            cmd.arg("--cometbft").arg(c);
        }
        children.push(
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start the validator in {}", home.0.display()))?,
        );
    }
    let nodes: Vec<NodeFile> = homes.iter().map(|h| NodeFile::read(&h.0)).collect::<Result<_, _>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        wait_for_blocks(&nodes, &mut children).await?;
        let endpoints: Vec<String> = nodes.iter().map(|n| format!("http://{}", n.rpc_addr)).collect();
        if a.json {
            println!("{}", serde_json::json!({"dir": dir, "node_api": endpoints}));
        } else {
            println!("testnet of {} validators in {} is producing blocks", homes.len(), dir.display());
            for (i, (e, n)) in endpoints.iter().zip(&nodes).enumerate() {
                println!("  validator-{i}  node API {e}  CometBFT {}  log {}", n.cometbft_rpc, homes[i].0.join("node.log").display());
            }
            println!("use one with: nexus --rpc {} …  (or NEXUS_RPC); Ctrl-C stops them all", endpoints[0]);
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
                _ = term.recv() => return Ok(ExitCode::SUCCESS),
                _ = tick.tick() => {
                    for (i, c) in children.iter_mut().enumerate() {
                        if let Some(status) = c.try_wait()? {
                            eprintln!("validator-{i} exited ({status}); see {}", homes[i].0.join("node.log").display());
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                }
            }
        }
    });
    stop_all(&mut children);
    result
}

/// Waits until every validator's node API reports a committed height of at least 2.
async fn wait_for_blocks(nodes: &[NodeFile], children: &mut [Child]) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    for (i, n) in nodes.iter().enumerate() {
        loop {
            if let Some(status) = children[i].try_wait()? {
                bail!("validator-{i} exited while starting ({status}); see its node.log");
            }
            let url = format!("http://{}", n.rpc_addr);
            if let Ok(client) = nexus_api::Client::connect(&url).await
                && let Ok(s) = client.status().await
                && s.height >= 2
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "validator-{i} produced no block within {}s; see its node.log",
                    START_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

/// SIGTERM to every validator (each stops its cometbft), then waits; SIGKILL after 15 s.
fn stop_all(children: &mut [Child]) {
    for c in children.iter() {
        let _ = std::process::Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for c in children.iter_mut() {
        while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}
