//! Determinism: independent stores fed the same blocks agree on every root, however the block's
//! writes were batched and whatever history each store keeps; and a root depends only on the
//! state it commits to, not on the path that led there (a fresh store committing that state in
//! one block, with or without a deletion in it, gets the same root).

use std::collections::BTreeMap;

use nexus_consensus::{Changes, MemBackend, Store, StoreConfig, verify_proof};
use proptest::prelude::*;

fn change_stream() -> impl Strategy<Value = Vec<Changes>> {
    // Few distinct keys, so blocks overwrite and delete what earlier blocks wrote.
    let key = prop::collection::vec(0u8..4, 0..3);
    let value = prop::option::of(prop::collection::vec(any::<u8>(), 0..4));
    prop::collection::vec(prop::collection::btree_map(key, value, 0..6), 1..16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_change_streams_give_identical_roots_and_provable_values(blocks in change_stream(), first in 0u64..3) {
        let mut archive = Store::in_memory();
        let mut pruning = Store::new(MemBackend::default(), StoreConfig { keep_recent: Some(1) }).unwrap();
        let mut model = BTreeMap::new();
        for (i, changes) in blocks.into_iter().enumerate() {
            let height = first + i as u64;
            for (k, v) in &changes {
                // One write at a time here, the whole block at once below.
                pruning.apply(BTreeMap::from([(k.clone(), v.clone())]));
                match v {
                    Some(v) => model.insert(k.clone(), v.clone()),
                    None => model.remove(k),
                };
            }
            archive.apply(changes);
            let root = archive.commit(height).unwrap();
            prop_assert_eq!(root, pruning.commit(height).unwrap());
            // Puts only (the batch insertion) and puts with a deletion (the per-write insertion).
            for deletion in [None, Some(vec![9u8])] {
                let mut fresh = Store::in_memory();
                let state: Changes = model.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
                fresh.apply(state.into_iter().chain(deletion.map(|k| (k, None))).collect());
                prop_assert_eq!(fresh.commit(7).unwrap(), root);
            }
            for key in (0u8..4).flat_map(|a| [vec![], vec![a], vec![a, 0], vec![a, 3]]) {
                let expected = model.get(&key);
                let latest = pruning.get(&key).unwrap();
                prop_assert_eq!(latest.as_ref(), expected);
                let (value, proof) = pruning.get_with_proof(&key, height).unwrap();
                prop_assert_eq!(value.as_ref(), expected);
                prop_assert!(verify_proof(&root, &key, expected.map(Vec::as_slice), &proof));
            }
        }
    }
}
