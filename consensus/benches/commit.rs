//! Commit cost per block as state grows: blocks of 1,000 writes (half new keys, half updates)
//! committed to RocksDB, measured at several state sizes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nexus_consensus::{Changes, Store, StoreConfig};
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

fn commit_per_block(c: &mut Criterion) {
    let sizes: Vec<u64> = std::env::var("NEXUS_BENCH_STATE_KEYS")
        .map(|s| s.split(',').map(|n| n.trim().parse().expect("key counts")).collect())
        .unwrap_or_else(|_| vec![10_000, 100_000]);
    let mut group = c.benchmark_group("state_store_commit_1000_writes");
    group.sample_size(10);
    for keys in sizes {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), StoreConfig { keep_recent: Some(100) }).unwrap();
        let mut height = 0;
        let mut total = 0;
        // Fill with fresh keys in blocks of BLOCK.
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

criterion_group!(benches, commit_per_block);
criterion_main!(benches);
