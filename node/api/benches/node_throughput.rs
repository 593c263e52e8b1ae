//! End-to-end throughput and latency of the dev node, in process: signed `counter` calls sent
//! over the real JSON-RPC client, executed, committed (RocksDB, one synced write per block) and
//! their results queryable.
//!
//! `cargo bench -p nexus-api --bench node_throughput` (needs the examples: `make examples`).
//! Environment: `NEXUS_BENCH_TXS` (default 20000), `NEXUS_BENCH_SENDERS` (concurrent accounts,
//! default 8, at most 10), `NEXUS_BENCH_EPHEMERAL=1` for the in-memory store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_api::types::{Bytes, H256, TxState};
use nexus_api::{Client, DevConfig, DevNode, NexusApiClient as _, dev_accounts};
use nexus_consensus::app::tx::{Msg, Tx};

fn example(name: &str) -> Vec<u8> {
    let dir = std::env::var("NEXUS_EXAMPLES_DIR").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_string());
        format!("{target}/examples-wasm")
    });
    std::fs::read(format!("{dir}/{name}.wasm")).expect("the examples are built (make examples)")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (cargo test's listing) runs nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let total = env_usize("NEXUS_BENCH_TXS", 20_000);
    let senders = env_usize("NEXUS_BENCH_SENDERS", 8).clamp(1, 10);
    let ephemeral = std::env::var("NEXUS_BENCH_EPHEMERAL").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let config = DevConfig {
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: (!ephemeral).then(|| dir.path().to_path_buf()),
        ..DevConfig::default()
    };
    let node = DevNode::start(config).await.unwrap();
    let accounts = dev_accounts();
    let client = Client::connect(&node.ws_url()).await.unwrap();
    let sign = |i: usize, nonce: u64, gas_limit: u64, msg: Msg| {
        let tx = Tx { chain_id: 31_337, nonce, expires_at: 0, gas_limit, gas_price: 1, msgs: vec![msg] };
        Bytes(tx.sign(&accounts[i].key).encode())
    };
    let deploy = sign(0, 0, 400_000_000, Msg::Deploy { code: example("counter"), input: vec![] });
    let started = Instant::now();
    let deployed = client.send_tx(deploy, Some(true)).await.unwrap().result.unwrap();
    let deploy_time = started.elapsed();
    let id = deployed.results[0].function.unwrap();
    let call = |i: usize, nonce: u64| {
        sign(i, nonce, 1_000_000, Msg::Call { function: id, input: b"1".to_vec(), value: 0 })
    };

    // Latency: one call at a time, each waiting for its committed result.
    let mut latencies = Vec::new();
    for nonce in 1..=200u64 {
        let tx = call(0, nonce);
        let t = Instant::now();
        let r = client.send_tx(tx, Some(true)).await.unwrap().result.unwrap();
        latencies.push(t.elapsed());
        assert!(r.ok, "{:?}", r.error);
    }
    latencies.sort();

    // Throughput: `senders` connections, each streaming its account's pre-signed calls without
    // waiting; the clock stops when the last one's result is queryable.
    let per_sender = total / senders;
    let batches: Vec<Vec<Bytes>> =
        (0..senders).map(|s| (0..per_sender as u64).map(|n| call(s + 1, n)).collect()).collect();
    let url = node.ws_url();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for batch in batches {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let client = Arc::new(Client::connect(&url).await.unwrap());
            let mut last = H256::default();
            for tx in batch {
                loop {
                    match client.send_tx(tx.clone(), None).await {
                        Ok(sent) => {
                            last = sent.hash;
                            break;
                        }
                        // A full mempool is back-pressure: retry shortly.
                        Err(e) if e.to_string().contains("mempool is full") => {
                            tokio::time::sleep(Duration::from_millis(5)).await
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            loop {
                let s = client.get_tx(last).await.unwrap();
                if s.status == TxState::Committed {
                    assert!(s.result.unwrap().ok);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = t.elapsed();
    let sent = per_sender * senders;
    let status = client.status().await.unwrap();
    let blocks = status.height.saturating_sub(deployed.height + 200);
    println!(
        "node_throughput: store={} cores={} txs={sent} senders={senders} time={:.2}s rate={:.0} tx/s blocks={blocks} (avg {:.0} tx/block)",
        if ephemeral { "memory" } else { "rocksdb" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        sent as f64 / blocks.max(1) as f64,
    );
    println!(
        "node_latency: submit-to-committed (wait=true, one at a time, instant blocks) p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.9).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "node_deploy: counter ({} bytes) submit-to-committed {:.1}ms",
        example("counter").len(),
        deploy_time.as_secs_f64() * 1e3
    );
    node.shutdown().await.unwrap();
}
