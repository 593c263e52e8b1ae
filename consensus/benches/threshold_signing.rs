//! Threshold signing through the chain: four in-memory validators, each with its participant and
//! keystore on disk, voting block by block. Measured: the three blocks that take 1,024 `eth_send`
//! calls (16 transactions of 64 calls to `eth-sender`), open their signing job and aggregate its
//! signature, i.e. 1,024 messages signed under one Merkle root per block cycle. Printed once: how
//! many Nexus blocks pass from the block committing an `eth_send` to the one aggregating its
//! signature. `NEXUS_EXAMPLES_DIR` locates `eth-sender.wasm`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::key;
use common::signing_net::{Net, keyed};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_consensus::app::tx::Msg;
use nexus_tss::participant::Fault;

const ALL: [usize; 4] = [0, 1, 2, 3];
const TXS: usize = 16;
const CALLS_PER_TX: usize = 64;

fn signed(net: &Net) -> usize {
    net.chain.app.tss_batches(0, usize::MAX).iter().map(|(_, m)| m.len()).sum()
}

fn calls(net: &mut Net, sender: [u8; 32], round: u64) -> Vec<Vec<u8>> {
    (0..TXS)
        .map(|t| {
            let msgs = (0..CALLS_PER_TX)
                .map(|c| {
                    let data = [round.to_be_bytes(), (t * CALLS_PER_TX + c).to_be_bytes()].concat();
                    Msg::Call { function: sender, input: [[0x22; 20].as_slice(), &data].concat(), value: 0 }
                })
                .collect();
            net.chain.sign_with_gas(&key(1), msgs, 100_000_000).encode()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut net = Net::new([Fault::Honest; 4]);
    net.until(&ALL, "the DKG", keyed);
    for _ in 0..3 {
        net.step(&ALL, Vec::new());
    }
    let sender = net.chain.deploy(&key(1), "eth-sender", b"");

    let committed_at = net.chain.height + 1;
    net.send(sender, [0x22; 20], b"latency");
    net.until(&ALL, "the first message signed", |c| !c.app.tss_batches(0, 1).is_empty());
    let signed_at = net.chain.app.tss_batches(0, 1)[0].0.height;
    eprintln!(
        "eth_send committed at height {committed_at}, signature aggregated at {signed_at}: {} Nexus blocks",
        signed_at - committed_at
    );

    let mut group = c.benchmark_group("threshold_signing");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements((TXS * CALLS_PER_TX) as u64));
    let mut round = 0u64;
    group.bench_function("1024 eth_send: commit, open the job, aggregate (3 blocks)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let txs = calls(&mut net, sender, round);
                let before = signed(&net);
                let start = Instant::now();
                net.step(&ALL, txs);
                net.step(&ALL, Vec::new());
                net.step(&ALL, Vec::new());
                total += start.elapsed();
                assert_eq!(signed(&net) - before, TXS * CALLS_PER_TX, "every message signed in one batch");
            }
            total
        })
    });
    group.finish();
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
