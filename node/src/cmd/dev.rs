//! `nexus dev`: a one-validator chain in this process, with funded dev accounts, serving the
//! node API — the anvil of Nexus.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use nexus_api::{
    DEFAULT_KEEP_RECENT, DEV_BALANCE, DEV_MNEMONIC, DevConfig, DevNode, dev_accounts, dev_genesis,
};
use nexus_consensus::app::Genesis;

/// Arguments of `nexus dev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to serve the node API (HTTP and WebSocket).
    #[arg(long, default_value = nexus_api::DEFAULT_RPC_ADDR, value_name = "HOST:PORT")]
    rpc_addr: SocketAddr,
    /// Where the chain's state is kept between runs [default: ~/.nexus/dev].
    #[arg(long, value_name = "DIR", conflicts_with = "ephemeral")]
    data_dir: Option<PathBuf>,
    /// Keep the chain in memory only: it is gone when the node stops.
    #[arg(long)]
    ephemeral: bool,
    /// Produce a block every interval (e.g. 500ms, 2s), empty or not, instead of one as soon as
    /// a transaction arrives.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    block_time: Option<Duration>,
    /// Start a new chain from this genesis JSON instead of the dev accounts.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Heights whose state stays provable.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KEEP_RECENT, conflicts_with = "archive")]
    keep_recent: u64,
    /// Keep every height provable (no pruning).
    #[arg(long)]
    archive: bool,
    /// Follow this Ethereum JSON-RPC endpoint (http://) instead of starting anvil; repeat to
    /// cross-check several.
    #[arg(long = "eth-rpc", value_name = "URL", conflicts_with = "no_eth")]
    eth_rpc: Vec<String>,
    /// The NexusGateway contract on --eth-rpc whose calls reach functions (a new chain only).
    #[arg(long, value_name = "ADDRESS", requires = "eth_rpc")]
    gateway: Option<String>,
    /// Port of the anvil started when no --eth-rpc is given.
    #[arg(long, default_value_t = 8545, value_name = "PORT")]
    anvil_port: u16,
    /// Run without Ethereum: no anvil, no Ethereum triggers.
    #[arg(long)]
    no_eth: bool,
    /// Print one JSON line with the node's URLs and accounts instead of the banner.
    #[arg(long)]
    json: bool,
}

/// `500ms`, `2s`, `1m` or a bare number of milliseconds.
/// anvil's default chain id, which the gateway binds into every signed digest.
const ANVIL_CHAIN_ID: u64 = 31_337;

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration like 500ms, 2s or 1m"))?;
    let d = match unit {
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(format!("unknown unit {unit:?} in {s:?}; use ms, s or m")),
    };
    if d.is_zero() {
        return Err("the block time must be above zero (leave --block-time out for instant blocks)".into());
    }
    Ok(d)
}

fn whole_tokens(units: u128) -> String {
    format!("{} NEX", units / 1_000_000_000_000_000_000)
}

/// Runs the node until Ctrl-C (or SIGTERM).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data_dir = match (&args.data_dir, args.ephemeral) {
        (_, true) => None,
        (Some(d), false) => Some(d.clone()),
        (None, false) => {
            let home = std::env::var_os("HOME").context("HOME is not set: pass --data-dir or --ephemeral")?;
            Some(PathBuf::from(home).join(".nexus").join("dev"))
        }
    };
    let genesis: Genesis = match &args.genesis {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid genesis", path.display()))?
        }
        None => dev_genesis(),
    };
    let mut genesis = genesis;
    if let Some(g) = &args.gateway {
        let g: nexus_api::types::Address = g
            .parse()
            .map_err(|_| anyhow::anyhow!("--gateway {g:?} is not an address (0x + 40 hex digits)"))?;
        genesis.params.eth.gateway = Some(g.0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Declared before the node so it outlives it: the node's observer follows it to the end.
        let anvil = if args.no_eth || !args.eth_rpc.is_empty() {
            None
        } else {
            if let Some(dir) = &data_dir {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let state = data_dir.as_ref().map(|d| d.join("anvil-state.json"));
            let anvil = crate::anvil::Anvil::start(args.anvil_port, state.as_deref()).await?;
            genesis.params.eth.gateway = Some(anvil.gateway);
            genesis.params.eth.chain_id = Some(ANVIL_CHAIN_ID);
            Some(anvil)
        };
        let eth_rpc = match &anvil {
            Some(a) => vec![a.url()],
            None => args.eth_rpc.clone(),
        };
        let config = DevConfig {
            data_dir: data_dir.clone(),
            rpc_addr: args.rpc_addr,
            block_time: args.block_time,
            genesis,
            keep_recent: (!args.archive).then_some(args.keep_recent),
            eth_rpc: eth_rpc.clone(),
            tss_dir: None,
        };
        let mut node = DevNode::start(config).await?;
        // The dev relayer pays from anvil's second account (the first deploys and calls), and
        // installs the first key as the gateway's bootstrapper once the DKG has made it.
        let relaying = match &anvil {
            Some(a) => {
                let signer =
                    alloy_signer_local::PrivateKeySigner::from_signing_key(dev_accounts()[1].key.clone());
                let gateway = alloy_primitives::Address::from(a.gateway);
                let relayer =
                    nexus_ethereum::relayer::Relayer::connect(&a.url(), gateway, signer, Default::default())
                        .await?;
                let url = a.url();
                let bootstrap: crate::relay::Bootstrap = Box::new(move |gateway, x, parity, epoch| {
                    let url = url.clone();
                    Box::pin(async move {
                        nexus_ethereum::devnet::initialize_key(&url, gateway, x, parity, epoch)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string())
                    })
                });
                let client = nexus_api::Client::connect(&node.http_url()).await?;
                let every = Duration::from_millis(500);
                Some(tokio::spawn(crate::relay::run(
                    client,
                    relayer,
                    gateway,
                    Some(bootstrap),
                    every,
                    std::future::pending(),
                )))
            }
            None => None,
        };
        let accounts = if args.genesis.is_none() { dev_accounts() } else { Vec::new() };
        let where_ =
            data_dir.as_ref().map_or("in memory (--ephemeral)".to_string(), |d| d.display().to_string());
        if args.json {
            let accounts: Vec<_> = accounts
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "address": format!("0x{}", hex::encode(a.address)),
                        "private_key": format!("0x{}", hex::encode(a.key.to_bytes())),
                    })
                })
                .collect();
            let line = serde_json::json!({
                "eth_rpc": eth_rpc,
                "gateway": anvil.as_ref().map(|a| format!("0x{}", hex::encode(a.gateway))),
                "rpc_url": node.http_url(),
                "ws_url": node.ws_url(),
                "data_dir": data_dir,
                "resumed_at": node.resumed_at(),
                "accounts": accounts,
            });
            println!("{line}");
        } else {
            println!("Nexus dev node");
            if !accounts.is_empty() {
                println!("\nAvailable Accounts\n==================");
                for (i, a) in accounts.iter().enumerate() {
                    println!("({i}) 0x{} ({})", hex::encode(a.address), whole_tokens(DEV_BALANCE));
                }
                println!("\nPrivate Keys\n==================");
                for (i, a) in accounts.iter().enumerate() {
                    println!("({i}) 0x{}", hex::encode(a.key.to_bytes()));
                }
                println!("\nWallet\n==================\nMnemonic:        {DEV_MNEMONIC}");
                println!("Derivation path: m/44'/60'/0'/0/");
            }
            println!();
            match node.resumed_at() {
                0 => println!("State:  {where_} (new chain)"),
                h => println!("State:  {where_} (resumed at height {h})"),
            }
            match args.block_time {
                Some(d) => println!("Blocks: every {d:?}"),
                None => println!("Blocks: instant (one as soon as transactions arrive)"),
            }
            match (&anvil, eth_rpc.is_empty()) {
                (Some(a), _) => println!(
                    "Ethereum: anvil on {} (finalized blocks trigger functions); NexusGateway at 0x{}",
                    a.url(),
                    hex::encode(a.gateway)
                ),
                (None, false) => println!("Ethereum: following {}", eth_rpc.join(", ")),
                (None, true) => println!("Ethereum: off (--no-eth)"),
            }
            println!("\nListening on {} (WebSocket: {})", node.http_url(), node.ws_url());
        }
        use std::io::Write as _;
        std::io::stdout().flush()?;

        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = terminate.recv() => {}
            r = node.stopped() => {
                r?;
                bail!("the block producer stopped");
            }
        }
        if let Some(r) = relaying {
            r.abort();
        }
        eprintln!("shutting down: finishing the current block…");
        node.shutdown().await?;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn block_times_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
