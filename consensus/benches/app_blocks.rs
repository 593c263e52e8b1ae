//! Application throughput: blocks of signed `counter` calls executed and committed on RocksDB
//! (decode, fee and nonce handling, the wasm invocation, the journal, the app hash and the synced
//! write), without the node API. Signatures are checked by `check_tx` before each block, as the
//! node does on its RPC threads, and the block reuses them; `check_tx` is timed on its own too.
//!
//! `NEXUS_EXAMPLES_DIR` locates `counter.wasm` (built by scripts/build-examples.sh).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use k256::ecdsa::SigningKey;
use nexus_consensus::app::tx::{Msg, Tx, address_of};
use nexus_consensus::app::{App, BlockInput, Genesis, GenesisAccount, NodeConfig, Params};
use nexus_consensus::{RocksBackend, Store, StoreConfig};

const SENDERS: usize = 50;
const CHAIN_ID: u64 = 1;

fn counter_wasm() -> Vec<u8> {
    let dir = std::env::var("NEXUS_EXAMPLES_DIR").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
        format!("{target}/examples-wasm")
    });
    std::fs::read(format!("{dir}/counter.wasm")).expect("counter.wasm: run scripts/build-examples.sh")
}

struct Chain {
    app: App<RocksBackend>,
    keys: Vec<SigningKey>,
    nonces: Vec<u64>,
    height: u64,
    counter: [u8; 32],
    _dir: tempfile::TempDir,
}

impl Chain {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = Arc::new(RocksBackend::open(&dir.path().join("db")).expect("open"));
        let store = Store::new(backend, StoreConfig { keep_recent: Some(100) }).expect("store");
        let mut app = App::new(store, NodeConfig::default()).expect("app");
        let keys: Vec<_> =
            (1..=SENDERS as u8).map(|i| SigningKey::from_bytes(&[i; 32].into()).expect("key")).collect();
        let genesis = Genesis {
            params: Params { chain_id: CHAIN_ID, ..Params::default() },
            accounts: keys
                .iter()
                .map(|k| GenesisAccount { address: address_of(k), balance: u128::MAX / 4 })
                .collect(),
            validators: Vec::new(),
        };
        app.init_chain(&genesis, 1).expect("init");
        let mut chain =
            Self { app, nonces: vec![0; keys.len()], keys, height: 0, counter: [0; 32], _dir: dir };
        let deploy = chain.sign(0, Msg::Deploy { code: counter_wasm(), input: vec![] });
        let outcome = chain.block(vec![deploy]);
        chain.counter = outcome.txs[0].results[0].function.expect("deployed");
        chain
    }

    fn sign(&mut self, k: usize, msg: Msg) -> Vec<u8> {
        let tx = Tx {
            chain_id: CHAIN_ID,
            nonce: self.nonces[k],
            expires_at: 0,
            gas_limit: 50_000_000,
            gas_price: 1,
            msgs: vec![msg],
        };
        self.nonces[k] += 1;
        tx.sign(&self.keys[k]).encode()
    }

    fn calls(&mut self, n: usize) -> Vec<Vec<u8>> {
        let counter = self.counter;
        (0..n)
            .map(|i| self.sign(i % SENDERS, Msg::Call { function: counter, input: b"1".to_vec(), value: 0 }))
            .collect()
    }

    fn block(&mut self, txs: Vec<Vec<u8>>) -> nexus_consensus::app::BlockOutcome {
        for t in &txs {
            self.app.check_tx(t).expect("valid");
        }
        self.height += 1;
        let input = BlockInput {
            height: self.height,
            time_ns: self.height * 1_000_000_000,
            txs,
            ..BlockInput::default()
        };
        let outcome = self.app.finalize_block(&input).expect("finalize");
        self.app.commit().expect("commit");
        assert!(outcome.txs.iter().all(|t| t.ok), "{:?}", outcome.txs.iter().find(|t| !t.ok));
        outcome
    }
}

fn blocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("app");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for per_block in [1usize, 100, 1_000] {
        let mut chain = Chain::new();
        group.throughput(Throughput::Elements(per_block as u64));
        group.bench_with_input(
            BenchmarkId::new("execute_and_commit_counter_calls", per_block),
            &per_block,
            |b, &n| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let txs = chain.calls(n);
                        for t in &txs {
                            chain.app.check_tx(t).expect("valid");
                        }
                        chain.height += 1;
                        let input = BlockInput {
                            height: chain.height,
                            time_ns: chain.height * 1_000_000_000,
                            txs,
                            ..BlockInput::default()
                        };
                        let start = Instant::now();
                        let outcome = chain.app.finalize_block(&input).expect("finalize");
                        chain.app.commit().expect("commit");
                        spent += start.elapsed();
                        assert!(outcome.txs.iter().all(|t| t.ok));
                    }
                    spent
                });
            },
        );
    }
    let mut chain = Chain::new();
    group.throughput(Throughput::Elements(1));
    group.bench_function("check_tx_counter_call", |b| {
        b.iter_custom(|iters| {
            let txs = chain.calls(iters as usize);
            let start = Instant::now();
            for t in &txs {
                chain.app.check_tx(t).expect("valid");
            }
            let spent = start.elapsed();
            chain.block(txs);
            spent
        });
    });
    group.finish();
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, blocks);
}
use group::benches;
criterion_main!(benches);
