//! Commit is atomic: after a restart, or a crash at any instant, the store is at its last
//! committed height with that height's root and data.
#![cfg(feature = "rocksdb")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nexus_consensus::{AppHash, Changes, Store, StoreConfig};

/// The writes of `height` in the crash test: deterministic, so the parent can recompute roots.
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

const CHILD_DIR: &str = "NEXUS_STORE_CRASH_CHILD_DIR";

#[test]
fn a_process_killed_while_committing_restarts_at_its_last_committed_height() {
    // In the child: commit blocks forever, reporting each commit, until the parent kills it.
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let mut store = Store::open(&dir, StoreConfig { keep_recent: Some(4) }).unwrap();
        let mut height = store.latest().map_or(1, |(h, _)| h + 1);
        loop {
            store.apply(block(height));
            let root = store.commit(height).unwrap();
            println!("committed {height} {}", root.iter().map(|b| format!("{b:02x}")).collect::<String>());
            height += 1;
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let mut reported: Vec<(u64, String)> = Vec::new();
    // Each round kills the child at a different point of its commit stream, and the next round
    // resumes the same data directory.
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "a_process_killed_while_committing_restarts_at_its_last_committed_height"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        for line in lines {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("committed ") {
                let (h, root) = rest.split_once(' ').unwrap();
                reported.push((h.parse().unwrap(), root.to_string()));
                seen += 1;
                if seen == 5 + round * 3 {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }

    let store = Store::open(dir.path(), StoreConfig { keep_recent: Some(4) }).unwrap();
    let (latest, latest_root) = store.latest().unwrap();
    let last_reported = reported.last().unwrap().0;
    assert!(latest >= last_reported, "reported {last_reported} committed, store is at {latest}");

    // Every reported commit, and the recovered latest, match an uninterrupted replay.
    let mut replay = Store::in_memory();
    let mut roots: BTreeMap<u64, AppHash> = BTreeMap::new();
    for height in 1..=latest {
        replay.apply(block(height));
        roots.insert(height, replay.commit(height).unwrap());
    }
    let hex = |r: &AppHash| r.iter().map(|b| format!("{b:02x}")).collect::<String>();
    for (height, root) in &reported {
        assert_eq!(&hex(&roots[height]), root, "height {height}");
    }
    assert_eq!(roots[&latest], latest_root);
    for (key, value) in block(latest) {
        assert_eq!(store.get(&key).unwrap(), value);
    }
}
