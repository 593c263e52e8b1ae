//! A pruning store keeps proofs for its last `keep_recent` heights only; an archive keeps all.

use std::collections::BTreeMap;

use nexus_consensus::{Backend, Column, MemBackend, Store, StoreConfig, StoreError, verify_proof};

fn commit_ten_heights(config: StoreConfig) -> Store<MemBackend> {
    let mut store = Store::new(MemBackend::default(), config).unwrap();
    for height in 1..=10u64 {
        // The same keys rewritten every height, so each height leaves stale nodes behind.
        let changes = (0..50u32)
            .map(|i| (i.to_be_bytes().to_vec(), Some(format!("{i}@{height}").into_bytes())))
            .collect::<BTreeMap<_, _>>();
        store.apply(changes);
        store.commit(height).unwrap();
    }
    store
}

#[test]
fn a_pruned_height_gives_a_clear_error_and_recent_heights_still_prove() {
    let store = commit_ten_heights(StoreConfig { keep_recent: Some(3) });
    assert_eq!(store.oldest(), Some(8));
    let err = store.get_with_proof(&7u32.to_be_bytes(), 7).unwrap_err();
    assert!(matches!(err, StoreError::Pruned { height: 7, oldest: 8 }), "{err}");
    assert!(err.to_string().contains("--archive"));
    for height in 8..=10 {
        let (value, _) = store.get_with_proof(&7u32.to_be_bytes(), height).unwrap();
        assert_eq!(value, Some(format!("7@{height}").into_bytes()));
    }
}

#[test]
fn an_archive_keeps_every_height_provable() {
    let store = commit_ten_heights(StoreConfig { keep_recent: None });
    assert_eq!(store.oldest(), Some(1));
    let (value, proof) = store.get_with_proof(&7u32.to_be_bytes(), 1).unwrap();
    assert_eq!(value.as_deref(), Some(&b"7@1"[..]));
    let mut mem = Store::in_memory();
    mem.apply((0..50u32).map(|i| (i.to_be_bytes().to_vec(), Some(format!("{i}@1").into_bytes()))).collect());
    let first_root = mem.commit(1).unwrap();
    assert!(verify_proof(&first_root, &7u32.to_be_bytes(), Some(b"7@1"), &proof));
}

#[test]
fn pruning_deletes_the_stale_nodes_and_values_an_archive_keeps() {
    let count = |keep_recent| {
        let mut store = Store::new(MemBackend::default(), StoreConfig { keep_recent }).unwrap();
        for height in 1..=10u64 {
            store.apply(
                (0..50u32).map(|i| (i.to_be_bytes().to_vec(), Some(height.to_be_bytes().to_vec()))).collect(),
            );
            store.commit(height).unwrap();
        }
        let all = |column| store.backend().range(column, &[], &[0xff; 64]).unwrap().len();
        (all(Column::Nodes), all(Column::Values))
    };
    let (archive_nodes, archive_values) = count(None);
    let (pruned_nodes, pruned_values) = count(Some(1));
    assert_eq!(archive_values, 500, "every write of every height");
    assert_eq!(pruned_values, 50, "only the latest write of each key");
    assert!(pruned_nodes * 5 < archive_nodes, "pruned {pruned_nodes} nodes vs archive {archive_nodes}");
}

#[test]
fn keeping_no_height_is_refused() {
    let refused = Store::new(MemBackend::default(), StoreConfig { keep_recent: Some(0) });
    assert!(matches!(refused, Err(StoreError::KeepNothing)));
}
