//! Ethereum-triggered execution: Nexus blocks carrying finalized Ethereum blocks, agreed through
//! signed vote extensions, each running `on_eth_block` of every subscribed `eth-block-counter`
//! (appending to its file and counting in key-value storage), committed on RocksDB.
//!
//! Reported per Nexus block: one Ethereum block with 1 and with 100 subscribers (the overhead of a
//! block with 100 functions), and a catch-up block of 8 Ethereum blocks (the per-block cap) with
//! one subscriber. `NEXUS_EXAMPLES_DIR` locates `eth-block-counter.wasm`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_consensus::SigningKey as ConsensusKey;
use k256::ecdsa::SigningKey;
use nexus_consensus::app::eth::{EthCursor, EthObservation, EthSource, EthVote, ObservedBlock, filters_hash};
use nexus_consensus::app::tx::{Msg, Tx, address_of};
use nexus_consensus::app::votes::{self, Bundle, SignedExtension};
use nexus_consensus::app::{
    App, BlockInput, Genesis, GenesisAccount, GenesisValidator, NodeConfig, Params, vote_extension,
};
use nexus_consensus::{RocksBackend, Store, StoreConfig};
use nexus_types::{EthBlock, EthLogFilter};

const CHAIN_ID: u64 = 1;

fn wasm() -> Vec<u8> {
    let dir = std::env::var("NEXUS_EXAMPLES_DIR").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
        format!("{target}/examples-wasm")
    });
    std::fs::read(format!("{dir}/eth-block-counter.wasm"))
        .expect("eth-block-counter.wasm: run scripts/build-examples.sh")
}

#[derive(Default)]
struct Source(Mutex<Option<Arc<EthObservation>>>);

impl EthSource for Source {
    fn observation(&self, _: Option<EthCursor>, _: &[EthLogFilter]) -> Option<Arc<EthObservation>> {
        self.0.lock().unwrap().clone()
    }
}

struct Chain {
    app: App<RocksBackend>,
    key: SigningKey,
    validator: ConsensusKey,
    source: Arc<Source>,
    nonce: u64,
    height: u64,
    eth: u64,
    /// Functions each Ethereum block runs (none until the anchor is set).
    running: u64,
    _dir: tempfile::TempDir,
}

fn header(number: u64) -> EthBlock {
    let hash = |n: u64| {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_be_bytes());
        h
    };
    EthBlock { number, hash: hash(number), parent_hash: hash(number - 1), timestamp: number, base_fee: 7 }
}

impl Chain {
    fn new(subscribers: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = Arc::new(RocksBackend::open(&dir.path().join("db")).expect("open"));
        let store = Store::new(backend, StoreConfig { keep_recent: Some(100) }).expect("store");
        let mut app = App::new(store, NodeConfig::default()).expect("app");
        let key = SigningKey::from_bytes(&[1; 32].into()).expect("key");
        let validator = ConsensusKey::from([9; 32]);
        let genesis = Genesis {
            params: Params { chain_id: CHAIN_ID, ..Params::default() },
            accounts: vec![GenesisAccount { address: address_of(&key), balance: u128::MAX / 4 }],
            validators: vec![GenesisValidator {
                pub_key: validator.verification_key().to_bytes(),
                power: 1,
                operator: None,
            }],
        };
        app.init_chain(&genesis, 1).expect("init");
        let source = Arc::new(Source::default());
        app.set_eth_source(source.clone());
        let mut chain =
            Self { app, key, validator, source, nonce: 0, height: 0, eth: 1, running: 0, _dir: dir };
        let code = wasm();
        for batch in (0..subscribers).collect::<Vec<_>>().chunks(5) {
            let msgs = batch.iter().map(|_| Msg::Deploy { code: code.clone(), input: vec![] }).collect();
            let tx = Tx {
                chain_id: CHAIN_ID,
                nonce: chain.nonce,
                expires_at: 0,
                gas_limit: 1_900_000_000,
                gas_price: 1,
                msgs,
            };
            chain.nonce += 1;
            chain.block(vec![tx.sign(&chain.key).encode()], 0);
        }
        chain.block(Vec::new(), 1); // the anchor
        chain.running = subscribers as u64;
        chain
    }

    /// One Nexus block carrying the next `eth_blocks` Ethereum blocks, as the validator voted.
    fn block(&mut self, txs: Vec<Vec<u8>>, eth_blocks: u64) {
        let blocks: Vec<ObservedBlock> = (self.eth..self.eth + eth_blocks)
            .map(|n| ObservedBlock { header: header(n), logs: vec![] })
            .collect();
        let filters = self.app.eth_filters();
        let observation = blocks.last().map(|b| {
            Arc::new(EthObservation {
                filters: filters_hash(&filters),
                finalized: EthCursor { number: b.header.number, hash: b.header.hash },
                blocks: blocks.clone(),
            })
        });
        *self.source.0.lock().unwrap() = observation.clone();
        self.eth += eth_blocks;
        self.height += 1;
        let mut proposal = txs;
        if self.height > 1 {
            let previous = self.height - 1;
            let extension = vote_extension(previous, observation.as_deref().map(EthVote::of).as_ref(), &[]);
            let signature = self.validator.sign(&votes::sign_bytes(&extension, previous, 0, "nexus-dev"));
            let bundle = Bundle {
                height: previous,
                round: 0,
                votes: vec![SignedExtension {
                    validator: votes::address_of(&self.validator.verification_key().to_bytes()),
                    extension,
                    signature: signature.to_bytes().to_vec(),
                }],
            };
            proposal = self.app.prepare_proposal(proposal, 8 << 20, Some(&bundle));
        }
        self.app.process_proposal(self.height, &proposal).expect("a valid proposal");
        let input = BlockInput {
            height: self.height,
            time_ns: self.height * 1_000_000_000,
            txs: proposal,
            ..BlockInput::default()
        };
        let outcome = self.app.finalize_block(&input).expect("finalize");
        assert_eq!(outcome.block.eth.len() as u64, eth_blocks * self.running, "every subscriber ran");
        assert!(outcome.block.eth.iter().all(|r| r.ok), "an invocation failed");
        self.app.commit().expect("commit");
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("eth_blocks");
    group.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(2));
    for (subscribers, per_block) in [(1usize, 1u64), (100, 1), (1, 8)] {
        let mut chain = Chain::new(subscribers);
        group.throughput(Throughput::Elements(per_block));
        let id = BenchmarkId::new(
            format!("{subscribers}_subscribers"),
            format!("{per_block}_eth_blocks_per_nexus_block"),
        );
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    chain.block(Vec::new(), per_block);
                }
                start.elapsed()
            })
        });
    }
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
