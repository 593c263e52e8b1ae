//! `nexus bench eth`: against a node following anvil, how many Nexus blocks pass between an
//! Ethereum block becoming finalized and its `on_eth_block` invocation being committed, and how
//! fast the chain catches up after an outage of many Ethereum blocks.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use nexus_api::NexusApiClient as _;
use nexus_consensus::app::tx::Msg;
use nexus_ethereum::devnet;

use crate::client::submit::{TxArgs, send};
use crate::client::{Node, NodeArgs};

/// Arguments of `nexus bench eth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The anvil the node follows (blocks are mined there with `anvil_mine`).
    #[arg(long, value_name = "URL")]
    eth_rpc: String,
    /// Ethereum blocks whose latency to measure, mined one at a time.
    #[arg(long, default_value_t = 20)]
    blocks: u64,
    /// Ethereum blocks mined at once to measure catching up.
    #[arg(long, default_value_t = 1_000)]
    outage: u64,
    #[command(flatten)]
    tx: TxArgs,
    #[command(flatten)]
    node: NodeArgs,
}

/// Polls until `done` answers `Some`, every 10 ms for at most `limit`.
async fn until<T, F: std::future::Future<Output = anyhow::Result<Option<T>>>>(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> F,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = done().await? {
            return Ok(v);
        }
        ensure!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The node's height and Ethereum cursor.
async fn node_state(node: &Node) -> anyhow::Result<(u64, u64)> {
    let height = node.status().await?.height;
    let cursor = node.client.eth_status().await.map_err(|e| node.explain(e))?.cursor.map_or(0, |c| c.number);
    Ok((height, cursor))
}

async fn finalized(eth: &str) -> anyhow::Result<u64> {
    Ok(devnet::block(eth, "finalized").await?.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs `nexus bench eth`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    ensure!(a.blocks > 0 && a.outage > 0, "--blocks and --outage must be above 0");
    let wasm = super::bench::default_example("eth-block-counter")?;
    let code = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let node = a.node.connect().await?;
        let eth = a.eth_rpc.as_str();
        // With finality two blocks behind the head, a fresh anvil finalizes nothing until then.
        devnet::mine(eth, 3).await?;
        let deployed =
            send(&node, &a.tx, vec![Msg::Deploy { code, input: vec![] }], "deploying eth-block-counter", a.node.json)
                .await?;
        ensure!(deployed.ok, "deploying eth-block-counter failed: {:?}", deployed.error);
        let caught_up = |target: u64| {
            let node = &node;
            move || async move { Ok(node_state(node).await.ok().filter(|(_, c)| *c >= target)) }
        };
        let now = finalized(eth).await?;
        until(Duration::from_secs(120), "catching up before measuring", caught_up(now)).await?;

        let (mut blocks, mut millis) = (Vec::new(), Vec::new());
        for _ in 0..a.blocks {
            let before = finalized(eth).await?;
            devnet::mine(eth, 1).await?;
            let target = until(Duration::from_secs(30), "finality", || async move {
                Ok(finalized(eth).await.ok().filter(|f| *f > before))
            })
            .await?;
            let (finalized_at, start) = (node_state(&node).await?.0, Instant::now());
            let (committed_at, _) = until(Duration::from_secs(60), "the invocation", caught_up(target)).await?;
            blocks.push(committed_at.saturating_sub(finalized_at) as f64);
            millis.push(start.elapsed().as_secs_f64() * 1e3);
        }
        blocks.sort_by(f64::total_cmp);
        millis.sort_by(f64::total_cmp);

        let (h0, _) = node_state(&node).await?;
        let start = Instant::now();
        devnet::mine(eth, a.outage).await?;
        let target = finalized(eth).await?;
        let (h1, _) = until(Duration::from_secs(900), "catching up after the outage", caught_up(target)).await?;
        let secs = start.elapsed().as_secs_f64();
        let nexus_blocks = h1.saturating_sub(h0).max(1);

        let report = serde_json::json!({
            "latency_nexus_blocks": {"p50": percentile(&blocks, 0.5), "p90": percentile(&blocks, 0.9), "max": percentile(&blocks, 1.0)},
            "latency_ms": {"p50": percentile(&millis, 0.5).round(), "p90": percentile(&millis, 0.9).round(), "max": percentile(&millis, 1.0).round()},
            "catch_up": {"eth_blocks": a.outage, "nexus_blocks": nexus_blocks, "seconds": (secs * 10.0).round() / 10.0,
                "eth_blocks_per_nexus_block": a.outage as f64 / nexus_blocks as f64, "eth_blocks_per_s": (a.outage as f64 / secs).round()},
        });
        if a.node.json {
            super::print_json(&report);
        } else {
            println!(
                "finalized → invocation committed: p50 {} Nexus blocks ({} ms), p90 {} ({} ms), max {} ({} ms) over {} Ethereum blocks",
                report["latency_nexus_blocks"]["p50"], report["latency_ms"]["p50"],
                report["latency_nexus_blocks"]["p90"], report["latency_ms"]["p90"],
                report["latency_nexus_blocks"]["max"], report["latency_ms"]["max"], a.blocks
            );
            println!(
                "catch-up after {} Ethereum blocks: {:.1} s, {} Nexus blocks ({:.1} Ethereum blocks per Nexus block, {} per s)",
                a.outage, secs, nexus_blocks, report["catch_up"]["eth_blocks_per_nexus_block"].as_f64().unwrap_or(0.0),
                report["catch_up"]["eth_blocks_per_s"]
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
