//! `nexus relayer`: submits the messages and key rotations the validators signed to the Ethereum
//! gateway, from the relayer's own funded account, until stopped. Anyone may run one; the gateway
//! runs each nonce once, so several relayers only race, never double-execute.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use nexus_api::NexusApiClient as _;
use nexus_ethereum::relayer::{Relayer, RelayerConfig};

use crate::client::{NodeArgs, block_on};

/// Arguments of `nexus relayer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// The Ethereum JSON-RPC endpoint to submit to.
    #[arg(long, value_name = "URL")]
    eth_rpc: String,
    /// The gateway (default: the chain's, as the node reports it).
    #[arg(long, value_name = "ADDRESS")]
    gateway: Option<String>,
    /// A file holding the relayer account's private key (hex); it pays the gas.
    #[arg(long, env = "NEXUS_RELAYER_KEY_FILE", value_name = "FILE")]
    key_file: PathBuf,
    /// How often to look for newly signed messages.
    #[arg(long, default_value = "2s", value_parser = super::dev::parse_duration)]
    interval: Duration,
}

/// Runs `nexus relayer`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.key_file)
        .with_context(|| format!("cannot read {}", a.key_file.display()))?;
    let signer: alloy_signer_local::PrivateKeySigner = text
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: not a hex private key: {e}", a.key_file.display()))?;
    block_on(async move {
        let n = a.node.connect().await?;
        let gateway = match &a.gateway {
            Some(g) => g.parse().map_err(|_| anyhow::anyhow!("--gateway {g:?} is not an address"))?,
            None => {
                let s = n.client.eth_status().await.map_err(|e| n.explain(e))?;
                let g = s.gateway.context("the chain has no gateway; pass --gateway")?;
                alloy_primitives::Address::from(g.0)
            }
        };
        let relayer = Relayer::connect(&a.eth_rpc, gateway, signer, RelayerConfig::default()).await?;
        eprintln!("relaying to gateway {gateway} on {} from {}", a.eth_rpc, relayer.account());
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let stop = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        };
        crate::relay::run(n.client, relayer, gateway, None, a.interval, stop).await;
        Ok(ExitCode::SUCCESS)
    })?
}
