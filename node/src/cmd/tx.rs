//! `nexus tx <hash>`: where a transaction is and, once committed, its result.

use std::process::ExitCode;

use anyhow::anyhow;
use nexus_api::NexusApiClient as _;
use nexus_api::types::{H256, TxState};

use crate::client::{NodeArgs, block_on, hex0x, show};

/// Arguments of `nexus tx`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The transaction hash (0x…).
    hash: String,
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `nexus tx`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hash: H256 = args
        .hash
        .parse()
        .map_err(|_| anyhow!("{:?} is not a transaction hash: expected 32 bytes of hex (0x…)", args.hash))?;
    block_on(async move {
        let node = args.node.connect().await?;
        let t = node.client.get_tx(hash).await.map_err(|e| node.explain(e))?;
        if args.node.json {
            super::print_json(&serde_json::to_value(&t)?);
            return Ok(ExitCode::SUCCESS);
        }
        let Some(r) = t.result.filter(|_| t.status == TxState::Committed) else {
            println!(
                "{hash}: {}",
                match t.status {
                    TxState::Pending => "pending (in the mempool, waiting for a block)",
                    _ => "unknown to this node (never sent, dropped, or refused)",
                }
            );
            return Ok(ExitCode::SUCCESS);
        };
        println!("{hash}: committed at height {} (index {})", r.height, r.index);
        println!("sender    {} (nonce {})", hex0x(&r.sender), r.nonce);
        println!(
            "status    {}",
            if r.ok { "ok".to_string() } else { format!("failed: {}", r.error.as_deref().unwrap_or("")) }
        );
        println!("gas       {} of {} (fee {})", r.gas_used, r.gas_limit, r.fee);
        for m in &r.results {
            let target = m.function.map(|f| format!(" {}", hex0x(&f))).unwrap_or_default();
            println!("{}{target}", m.kind);
        }
        let logs = show::tx_logs(&node, &r).await?;
        show::print_invocations(&r, &logs);
        Ok(ExitCode::SUCCESS)
    })?
}
