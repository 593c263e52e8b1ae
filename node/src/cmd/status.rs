//! `nexus status`: the chain the node serves and its latest committed block.

use std::process::ExitCode;

use crate::client::{NodeArgs, block_on};

/// Arguments of `nexus status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `nexus status`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let node = args.node.connect().await?;
        let s = node.status().await?;
        if args.node.json {
            super::print_json(&serde_json::to_value(&s)?);
        } else {
            println!("node      {}", node.url);
            println!("chain     {} (id {}){}", s.chain_name, s.chain_id, if s.dev { ", dev" } else { "" });
            println!("height    {}", s.height);
            println!("app hash  {}", s.app_hash);
            println!("mempool   {} transactions", s.mempool_size);
        }
        Ok(ExitCode::SUCCESS)
    })?
}
