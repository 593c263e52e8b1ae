//! After a restart the store is at its last committed height with that height's root, data and
//! pruning horizon (a crash at any instant: `a_killed_writer_loses_no_committed_height.rs`).
#![cfg(feature = "rocksdb")]

use std::collections::BTreeMap;

use nexus_consensus::{Changes, Store, StoreConfig};

/// The writes of `height`: updates and deletions over a few thousand keys.
fn block(height: u64) -> Changes {
    (0..200u64)
        .map(|i| {
            let key = ((height * 7919 + i * 104_729) % 5_000).to_be_bytes().to_vec();
            let value = (i % 10 != 0).then(|| format!("{height}:{i}").into_bytes());
            (key, value)
        })
        .collect()
}

#[test]
fn a_reopened_store_has_the_same_height_root_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store.apply(BTreeMap::from([(b"k".to_vec(), Some(b"v".to_vec()))]));
    let root = store.commit(1).unwrap();
    drop(store);
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(store.latest(), Some((1, root)));
    assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn the_pruning_horizon_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig { keep_recent: Some(3) };
    let mut store = Store::open(dir.path(), config).unwrap();
    for height in 1..=10 {
        store.apply(block(height));
        store.commit(height).unwrap();
    }
    drop(store);
    assert_eq!(Store::open(dir.path(), config).unwrap().oldest(), Some(8));
}

#[test]
fn writes_dropped_before_commit_are_gone_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store.apply(block(1));
    let root = store.commit(1).unwrap();
    store.apply(block(2));
    store.stage(2).unwrap();
    drop(store);
    let mut store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(store.latest(), Some((1, root)));
    store.apply(block(2));
    store.commit(2).unwrap();
}
