//! `nexus bench calls|latency`: end-to-end throughput and latency of `counter` calls against a
//! running node — each call signed, submitted, executed, committed and its result returned.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use k256::ecdsa::SigningKey;
use nexus_api::NexusApiClient as _;
use nexus_api::types::{Address, Bytes, H256};
use nexus_consensus::app::tx::{Msg, address_of};
use serde_json::json;

use crate::client::signer::{SignerArgs, dev_key};
use crate::client::submit::{TxArgs, send, sign};
use crate::client::{Node, NodeArgs};

/// Arguments of `nexus bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, clap::Subcommand)]
enum Bench {
    /// Throughput: N counter calls from M accounts, C in flight at once.
    Calls {
        /// Calls to send (after one warm-up call).
        #[arg(long, default_value_t = 20_000)]
        txs: usize,
        /// Accounts sending them (dev mnemonic accounts 0..M; those without funds are funded
        /// first).
        #[arg(long, default_value_t = 256)]
        senders: u32,
        /// Calls in flight at once (at most one per sender, so at most --senders).
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Latency: calls sent one at a time, each waiting for its committed result.
    Latency {
        /// Calls to send (after one warm-up call).
        #[arg(long, default_value_t = 500)]
        txs: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Ethereum: Nexus blocks from an Ethereum block's finality to its function's commit, and
    /// the catch-up rate after an outage (against anvil).
    Eth(super::bench_eth::Args),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// The counter module [default: $NEXUS_EXAMPLES_DIR/counter.wasm, else
    /// $CARGO_TARGET_DIR/examples-wasm/counter.wasm].
    #[arg(long)]
    wasm: Option<PathBuf>,
    // Who deploys the counter and funds the senders (a dev chain defaults to dev account 0).
    #[command(flatten)]
    funder: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `nexus bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (txs, senders, concurrency, common) = match args.command {
        Bench::Calls { txs, senders, concurrency, common } => (txs, senders, concurrency, common),
        Bench::Latency { txs, common } => (txs, 1, 1, common),
        Bench::Eth(a) => return super::bench_eth::run(a),
    };
    ensure!(txs > 0 && senders > 0 && concurrency > 0, "--txs, --senders and --concurrency must be above 0");
    let concurrency = concurrency.min(senders as usize);
    let wasm = match &common.wasm {
        Some(p) => p.clone(),
        None => default_example("counter")?,
    };
    let code = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    // Several threads, so the client's signing-free submit loop is not what limits the numbers.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        // One WebSocket connection carries every concurrent request (no per-request HTTP setup).
        let node = Arc::new(common.node.connect_ws().await?);
        let report = bench(&node, &common, code, txs, senders, concurrency).await?;
        if common.node.json {
            super::print_json(&report);
        } else {
            println!(
                "{} counter calls from {} senders, {} in flight: {:.0} calls/s end to end (submit → committed → result)",
                report["txs"], report["senders"], report["concurrency"], report["calls_per_s"].as_f64().unwrap_or(0.0)
            );
            let l = &report["latency_ms"];
            println!("latency submit → committed result: p50 {} ms, p99 {} ms, max {} ms", l["p50"], l["p99"], l["max"]);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `$NEXUS_EXAMPLES_DIR/<name>.wasm`, else `$CARGO_TARGET_DIR/examples-wasm/<name>.wasm`.
pub(super) fn default_example(name: &str) -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("NEXUS_EXAMPLES_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let target =
                std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| "target".into());
            target.join("examples-wasm")
        }
    };
    let path = dir.join(format!("{name}.wasm"));
    if !path.exists() {
        bail!(
            "{} is missing: build the examples (scripts/build-examples.sh) or set NEXUS_EXAMPLES_DIR",
            path.display()
        );
    }
    Ok(path)
}

async fn bench(
    node: &Arc<Node>,
    common: &Common,
    code: Vec<u8>,
    txs: usize,
    senders: u32,
    concurrency: usize,
) -> anyhow::Result<serde_json::Value> {
    let status = node.status().await?;
    let funder = common.funder.resolve(status.dev)?;
    let setup = TxArgs { signer: common.funder.clone(), gas_limit: None, gas_price: 1 };
    let json = common.node.json;

    let deployed =
        send(node, &setup, vec![Msg::Deploy { code, input: vec![] }], "deploying the counter", json).await?;
    let counter =
        deployed.results.first().and_then(|m| m.function).filter(|_| deployed.ok).ok_or_else(|| {
            anyhow!("deploying the counter failed: {}", deployed.error.as_deref().unwrap_or("?"))
        })?;

    // The warm-up call compiles nothing new but fills caches, and tells the gas a call needs.
    let warm = send(node, &setup, vec![call(counter)], "warm-up call", json).await?;
    ensure!(warm.ok, "the warm-up call failed: {}", warm.error.as_deref().unwrap_or("?"));
    let gas_limit = warm.gas_used * 2;

    let keys: Vec<SigningKey> = (0..senders).map(dev_key).collect::<anyhow::Result<_>>()?;
    fund(node, &setup, &keys, u128::from(gas_limit) * txs as u128, json).await?;

    // Every call signed before the clock starts: the benchmark measures the node, not signing.
    let per_sender = txs.div_ceil(senders as usize);
    let mut queues: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut left = txs;
    for key in &keys {
        let n = per_sender.min(left);
        left -= n;
        let nonce = node
            .client
            .get_account(Address(address_of(key)))
            .await
            .map_err(|e| node.explain(e))?
            .pending_nonce;
        queues.push(
            (0..n as u64)
                .map(|i| {
                    sign(key, status.chain_id, nonce + i, vec![call(counter)], Some(gas_limit), 1).encode()
                })
                .collect(),
        );
    }
    // Worker w owns senders w, w+C, …, and sends one call at a time, so each sender's nonces
    // arrive in order.
    let mut lanes: Vec<Vec<Vec<Vec<u8>>>> = vec![Vec::new(); concurrency];
    for (i, q) in queues.into_iter().enumerate() {
        lanes[i % concurrency].push(q);
    }

    let start = Instant::now();
    let mut tasks = Vec::new();
    for lane in lanes {
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let rounds = lane.iter().map(Vec::len).max().unwrap_or(0);
            for round in 0..rounds {
                for tx in lane.iter().filter_map(|q| q.get(round)) {
                    let t = Instant::now();
                    let sent = node
                        .client
                        .send_tx(Bytes(tx.clone()), Some(true))
                        .await
                        .map_err(|e| node.explain(e))?;
                    let r = sent.result.ok_or_else(|| anyhow!("no result for {}", sent.hash))?;
                    ensure!(r.ok, "call {} failed: {}", sent.hash, r.error.unwrap_or_default());
                    latencies.push(t.elapsed());
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(txs);
    for t in tasks {
        latencies.extend(t.await.context("a submit task panicked")??);
    }
    let elapsed = start.elapsed();

    // Every call counted: the counter must stand at warm-up + N.
    let value = node.client.query(H256(counter), Bytes(vec![])).await.map_err(|e| node.explain(e))?;
    let expected = (txs + 1).to_string();
    ensure!(
        value.output.0 == expected.as_bytes(),
        "the counter reads {:?}, expected {expected}",
        String::from_utf8_lossy(&value.output.0)
    );

    latencies.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
    let pct = |p: f64| ms(latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)]);
    Ok(json!({
        "txs": txs,
        "senders": senders,
        "concurrency": concurrency,
        "elapsed_s": elapsed.as_secs_f64(),
        "calls_per_s": txs as f64 / elapsed.as_secs_f64(),
        "gas_limit_per_call": gas_limit,
        "latency_ms": { "p50": pct(0.50), "p99": pct(0.99), "max": ms(latencies[latencies.len() - 1]) },
        "funder": format!("0x{}", hex::encode(funder.address)),
    }))
}

fn call(counter: [u8; 32]) -> Msg {
    Msg::Call { function: counter, input: b"1".to_vec(), value: 0 }
}

/// Tops up every sender below `need` from the funder, up to 64 transfers per transaction.
async fn fund(
    node: &Node,
    setup: &TxArgs,
    keys: &[SigningKey],
    need: u128,
    json: bool,
) -> anyhow::Result<()> {
    let mut transfers = Vec::new();
    for key in keys {
        let address = address_of(key);
        let account = node.client.get_account(Address(address)).await.map_err(|e| node.explain(e))?;
        if account.balance < need {
            transfers.push(Msg::Transfer { to: address, amount: need * 2 });
        }
    }
    for chunk in transfers.chunks(nexus_consensus::app::tx::MAX_MESSAGES) {
        let r = send(node, setup, chunk.to_vec(), "funding the senders", json).await?;
        ensure!(r.ok, "funding the senders failed: {}", r.error.as_deref().unwrap_or("?"));
    }
    Ok(())
}
