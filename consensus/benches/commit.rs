//! Commit cost per block as state grows: blocks of 1,000 writes (half new keys, half updates),
//! measured at several state sizes on the in-memory backend (tree hashing and encoding alone) and,
//! with the `rocksdb` feature, on RocksDB (plus the synced write).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nexus_consensus::{Backend, Changes, MemBackend, Store, StoreConfig};
use sha2::{Digest, Sha256};

const BLOCK: u64 = 1_000;

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

fn state_sizes() -> Vec<u64> {
    std::env::var("NEXUS_BENCH_STATE_KEYS")
        .map(|s| s.split(',').map(|n| n.trim().parse().expect("key counts")).collect())
        .unwrap_or_else(|_| vec![10_000, 100_000])
}

/// Fills `store` with `keys` fresh keys, then measures committing blocks on top of it.
fn bench_backend<B: Backend>(c: &mut Criterion, name: &str, mut open: impl FnMut() -> Store<B>) {
    let mut group = c.benchmark_group(format!("state_store_commit_1000_writes/{name}"));
    group.sample_size(10);
    for keys in state_sizes() {
        let mut store = open();
        let mut height = 0;
        let mut total = 0;
        while total < keys {
            height += 1;
            store.apply((total..total + BLOCK).map(|i| (key(i), Some(vec![1]))).collect());
            store.commit(height).unwrap();
            total += BLOCK;
        }
        group.bench_function(BenchmarkId::from_parameter(keys), |b| {
            b.iter_custom(|blocks| {
                let mut spent = Duration::ZERO;
                for _ in 0..blocks {
                    height += 1;
                    let changes = block(total, height);
                    let start = Instant::now();
                    store.apply(changes);
                    store.commit(height).unwrap();
                    spent += start.elapsed();
                    total += BLOCK / 2;
                }
                spent
            })
        });
    }
    group.finish();
}

fn commit_per_block(c: &mut Criterion) {
    let keep = StoreConfig { keep_recent: Some(100) };
    bench_backend(c, "in_memory", || Store::new(MemBackend::default(), keep).unwrap());
    #[cfg(feature = "rocksdb")]
    {
        // The directories live as long as the bench run.
        let mut dirs = Vec::new();
        bench_backend(c, "rocksdb", || {
            dirs.push(tempfile::tempdir().unwrap());
            Store::open(dirs.last().unwrap().path(), keep).unwrap()
        });
    }
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, commit_per_block);
}
use group::benches;
criterion_main!(benches);
