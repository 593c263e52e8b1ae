//! `nexus logs [-f] <fn>`: a function's log lines and events; `-f` keeps following new blocks
//! over a WebSocket subscription.

use std::process::ExitCode;

use nexus_api::NexusApiClient as _;
use nexus_api::types::{H256, LogRecord};

use crate::client::{Node, NodeArgs, block_on, parse_function_id, show};

/// Most records one `nexus_logs` call returns.
const PAGE: u32 = 1000;

/// Arguments of `nexus logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function id (0x…).
    function: String,
    /// Keep printing new records as blocks commit (until interrupted).
    #[arg(short, long)]
    follow: bool,
    /// Start at this height.
    #[arg(long, default_value_t = 0)]
    from_height: u64,
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `nexus logs`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let id = parse_function_id(&args.function)?;
    let json = args.node.json;
    block_on(async move {
        let node = if args.follow { args.node.connect_ws().await? } else { args.node.connect().await? };
        node.function(id).await?;
        if !args.follow {
            let records = history(&node, id, args.from_height).await?;
            if json {
                super::print_json(&serde_json::to_value(&records)?);
            } else {
                records.iter().for_each(|r| println!("{}", show::log_line(r)));
            }
            return Ok(ExitCode::SUCCESS);
        }
        // Subscribe before reading the history, so no block falls between the two; records the
        // history already showed are skipped by height (a block's records commit together).
        let mut sub = node.client.subscribe_logs(Some(id)).await.map_err(|e| node.explain(e))?;
        let records = history(&node, id, args.from_height).await?;
        for r in &records {
            print_line(r, json)?;
        }
        let seen = records.last().map(|r| r.height);
        while let Some(item) = sub.next().await {
            let r = item.map_err(|e| anyhow::anyhow!("the log subscription broke: {e}"))?;
            if seen.is_some_and(|h| r.height <= h) || r.height < args.from_height {
                continue;
            }
            print_line(&r, json)?;
        }
        anyhow::bail!("the node at {} closed the log subscription", node.url)
    })?
}

/// Every record from height `from` on, page by page.
async fn history(node: &Node, id: H256, mut from: u64) -> anyhow::Result<Vec<LogRecord>> {
    let mut all = Vec::new();
    let mut skip = 0;
    loop {
        let page = node.client.logs(id, Some(from), Some(PAGE)).await.map_err(|e| node.explain(e))?;
        let full = page.len() == PAGE as usize;
        // A page can end inside a height and the next page restarts at that height, so skip what
        // of it was already taken. (A single height with more than a page of records is cut
        // there: the API pages by height only.)
        let records: Vec<_> = page.into_iter().skip(skip).collect();
        let Some(end) = records.last().map(|r| r.height) else { return Ok(all) };
        skip = if end == from {
            skip + records.len()
        } else {
            records.iter().filter(|r| r.height == end).count()
        };
        all.extend(records);
        if !full {
            return Ok(all);
        }
        from = end;
    }
}

/// One record per line; with `--json` one object per line, so a follower's output can be read
/// as it streams.
fn print_line(r: &LogRecord, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
    } else {
        println!("{}", show::log_line(r));
    }
    Ok(())
}
