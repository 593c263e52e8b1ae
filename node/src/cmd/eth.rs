//! `nexus eth status`: how far the chain has processed finalized Ethereum blocks, and whether
//! the node's observer and its endpoints agree.

use std::process::ExitCode;

use nexus_api::NexusApiClient as _;

use crate::client::{NodeArgs, block_on};

/// Arguments of `nexus eth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The chain's Ethereum cursor, the observer's finalized block, the lag and any error.
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// Runs `nexus eth …`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::Status { node } = args.command;
    block_on(async move {
        let n = node.connect().await?;
        let s = n.client.eth_status().await.map_err(|e| n.explain(e))?;
        if node.json {
            super::print_json(&serde_json::to_value(&s)?);
            return Ok(ExitCode::SUCCESS);
        }
        let block = |c: Option<nexus_consensus::app::eth::EthCursor>| {
            c.map_or("none yet".to_string(), |c| format!("{} (0x{})", c.number, hex::encode(c.hash)))
        };
        println!("gateway    {}", s.gateway.map_or("none".to_string(), |g| g.to_string()));
        println!("cursor     {}", block(s.cursor));
        if s.observing {
            println!("finalized  {}", block(s.finalized));
            println!("lag        {}", s.lag.map_or("unknown".to_string(), |l| format!("{l} blocks")));
            match &s.error {
                Some(e) => println!("providers  failing: {e}"),
                None => println!("providers  agree"),
            }
        } else {
            println!("observer   none (this node follows no Ethereum endpoint)");
        }
        Ok(ExitCode::SUCCESS)
    })?
}
