//! The app hash is consensus: both backends must give the same root for the same writes.
#![cfg(feature = "rocksdb")]

use std::collections::BTreeMap;

use nexus_consensus::{Store, StoreConfig};
use proptest::prelude::*;

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn block(pairs: &[(&str, Option<&str>)]) -> Changes {
    pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
}

#[test]
fn the_same_blocks_give_the_same_roots_on_rocksdb_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut rocks = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let mut mem = Store::in_memory();
    let blocks = [
        block(&[("a", Some("1")), ("b", Some("2"))]),
        block(&[("a", None), ("c", Some("3"))]),
        block(&[]),
        block(&[("b", Some("20")), ("zz", None)]),
    ];
    let mut roots = Vec::new();
    for (i, changes) in blocks.into_iter().enumerate() {
        let height = i as u64 + 1;
        rocks.apply(changes.clone());
        mem.apply(changes);
        let root = rocks.commit(height).unwrap();
        assert_eq!(root, mem.commit(height).unwrap(), "height {height}");
        assert_eq!(rocks.latest(), Some((height, root)));
        roots.push(root);
    }
    assert_ne!(roots[0], roots[1], "a block that changes state changes the root");
    assert_eq!(roots[1], roots[2], "an empty block keeps the root");
    assert_eq!(rocks.get(b"b").unwrap(), Some(b"20".to_vec()));
    assert_eq!(rocks.get(b"a").unwrap(), None);
}

fn change_stream() -> impl Strategy<Value = Vec<Changes>> {
    // Few distinct keys, so blocks overwrite and delete what earlier blocks wrote.
    let key = prop::collection::vec(0u8..4, 0..3);
    let value = prop::option::of(prop::collection::vec(any::<u8>(), 0..4));
    prop::collection::vec(prop::collection::btree_map(key, value, 0..6), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_change_streams_give_identical_roots_at_every_height(blocks in change_stream(), first in 0u64..3) {
        let dir = tempfile::tempdir().unwrap();
        let mut rocks = Store::open(dir.path(), StoreConfig { keep_recent: Some(2) }).unwrap();
        let mut mem = Store::in_memory();
        let mut model = BTreeMap::new();
        for (i, changes) in blocks.into_iter().enumerate() {
            let height = first + i as u64;
            for (k, v) in &changes {
                match v {
                    Some(v) => model.insert(k.clone(), v.clone()),
                    None => model.remove(k),
                };
            }
            rocks.apply(changes.clone());
            mem.apply(changes);
            prop_assert_eq!(rocks.commit(height).unwrap(), mem.commit(height).unwrap());
            for (k, v) in &model {
                prop_assert_eq!(rocks.get(k).unwrap(), Some(v.clone()));
            }
        }
    }
}
