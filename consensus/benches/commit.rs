//! Commit cost per block as state grows: blocks of 1,000 writes (half new keys, half updates),
//! measured at several state sizes on RocksDB (tree hashing, node reads and the synced write) and
//! on the in-memory backend (tree hashing and encoding alone).
//!
//! `NEXUS_BENCH_STATE_KEYS` (a comma list, default `10000,100000,1000000`) picks the state sizes,
//! `NEXUS_BENCH_BACKENDS` (default `rocksdb,in_memory`) the backends; the in-memory backend skips
//! sizes above 100,000 keys unless they are asked for explicitly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nexus_consensus::{Backend, Changes, MemBackend, Store, StoreConfig};
use sha2::{Digest, Sha256};

const BLOCK: u64 = 1_000;

/// Keys written per block while filling the store: big blocks, so a million keys take seconds.
const FILL_BLOCK: u64 = 100_000;

/// Key `i`: hashed so writes land all over the tree, as function-prefixed keys would not.
fn key(i: u64) -> Vec<u8> {
    Sha256::digest(i.to_be_bytes()).to_vec()
}

/// Block `height`'s writes: `BLOCK / 2` new keys after the first `keys`, and as many updates of
/// existing ones.
fn block(keys: u64, height: u64) -> Changes {
    let mut changes = BTreeMap::new();
    for i in 0..BLOCK / 2 {
        changes.insert(key(keys + i), Some(height.to_be_bytes().to_vec()));
        let existing = (height * 7_919 + i * 104_729) % keys.max(1);
        changes.insert(key(existing), Some(height.to_be_bytes().to_vec()));
    }
    changes
}

fn env_list(name: &str) -> Option<Vec<String>> {
    std::env::var(name).ok().map(|s| s.split(',').map(|s| s.trim().to_owned()).collect())
}

fn state_sizes(backend: &str) -> Vec<u64> {
    match env_list("NEXUS_BENCH_STATE_KEYS") {
        Some(sizes) => sizes.iter().map(|n| n.parse().expect("key counts")).collect(),
        // A million keys in memory is gigabytes of B-tree nodes and says nothing RocksDB's
        // numbers do not.
        None if backend == "in_memory" => vec![10_000, 100_000],
        None => vec![10_000, 100_000, 1_000_000],
    }
}

fn wanted(backend: &str) -> bool {
    env_list("NEXUS_BENCH_BACKENDS").is_none_or(|names| names.iter().any(|n| n == backend))
}

/// Fills a store from `open` with each state size, then measures blocks on top of it: `stage`
/// (the app hash, ABCI `FinalizeBlock`) and `stage` + `commit` (the whole block).
fn bench_backend<B: Backend>(c: &mut Criterion, name: &str, mut open: impl FnMut() -> Store<B>) {
    if !wanted(name) {
        return;
    }
    let mut group = c.benchmark_group(format!("state_store_1000_writes/{name}"));
    group.sample_size(10);
    for keys in state_sizes(name) {
        let mut store = open();
        let mut height = 0;
        let mut total = 0;
        let fill = Instant::now();
        while total < keys {
            height += 1;
            let end = keys.min(total + FILL_BLOCK);
            store.apply((total..end).map(|i| (key(i), Some(vec![1]))).collect());
            store.commit(height).unwrap();
            total = end;
        }
        eprintln!("{name}: filled {keys} keys in {:.1} s", fill.elapsed().as_secs_f64());
        for timed in ["stage", "commit"] {
            group.bench_function(BenchmarkId::new(timed, keys), |b| {
                b.iter_custom(|blocks| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..blocks {
                        height += 1;
                        let changes = block(total, height);
                        let start = Instant::now();
                        store.apply(changes);
                        store.stage(height).unwrap();
                        if timed == "stage" {
                            spent += start.elapsed();
                            store.commit(height).unwrap();
                        } else {
                            store.commit(height).unwrap();
                            spent += start.elapsed();
                        }
                        total += BLOCK / 2;
                    }
                    spent
                })
            });
        }
    }
    group.finish();
}

fn commit_per_block(c: &mut Criterion) {
    let keep = StoreConfig { keep_recent: Some(100) };
    #[cfg(feature = "rocksdb")]
    {
        // The directories live as long as the bench run.
        let mut dirs = Vec::new();
        bench_backend(c, "rocksdb", || {
            dirs.push(tempfile::tempdir().unwrap());
            Store::open(dirs.last().unwrap().path(), keep).unwrap()
        });
    }
    bench_backend(c, "in_memory", || Store::new(MemBackend::default(), keep).unwrap());
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, commit_per_block);
}
use group::benches;
criterion_main!(benches);
