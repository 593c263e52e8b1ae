//! A pruning store keeps proofs for its last `keep_recent` heights only; an archive keeps all.

mod every_backend;

use std::collections::BTreeMap;

use every_backend::AnyStore;
use nexus_consensus::{Backend, Batch, Column, MemBackend, Store, StoreConfig, StoreError, verify_proof};

fn commit_ten_heights(store: &mut AnyStore) {
    for height in 1..=10u64 {
        // The same keys rewritten every height, so each height leaves stale nodes behind.
        let changes = (0..50u32)
            .map(|i| (i.to_be_bytes().to_vec(), Some(format!("{i}@{height}").into_bytes())))
            .collect::<BTreeMap<_, _>>();
        store.apply(changes);
        store.commit(height).unwrap();
    }
}

#[test]
fn a_pruned_height_gives_a_clear_error_and_recent_heights_still_prove() {
    every_backend::on_every_backend(StoreConfig { keep_recent: Some(3) }, |backend, mut store| {
        commit_ten_heights(&mut store);
        assert_eq!(store.oldest(), Some(8), "{backend}");
        let err = store.get_with_proof(&7u32.to_be_bytes(), 7).unwrap_err();
        assert!(matches!(err, StoreError::Pruned { height: 7, oldest: 8 }), "{backend}: {err}");
        assert!(err.to_string().contains("--archive"));
        assert!(matches!(store.app_hash(7), Err(StoreError::Pruned { height: 7, oldest: 8 })), "{backend}");
        for height in 8..=10 {
            let (value, proof) = store.get_with_proof(&7u32.to_be_bytes(), height).unwrap();
            assert_eq!(value, Some(format!("7@{height}").into_bytes()), "{backend}");
            let root = store.app_hash(height).unwrap();
            assert!(verify_proof(&root, &7u32.to_be_bytes(), value.as_deref(), &proof), "{backend}");
        }
    });
}

#[test]
fn an_archive_keeps_every_height_provable() {
    every_backend::on_every_backend(StoreConfig { keep_recent: None }, |backend, mut store| {
        commit_ten_heights(&mut store);
        assert_eq!(store.oldest(), Some(1), "{backend}");
        let (value, proof) = store.get_with_proof(&7u32.to_be_bytes(), 1).unwrap();
        assert_eq!(value.as_deref(), Some(&b"7@1"[..]), "{backend}");
        let mut mem = Store::in_memory();
        mem.apply(
            (0..50u32).map(|i| (i.to_be_bytes().to_vec(), Some(format!("{i}@1").into_bytes()))).collect(),
        );
        let first_root = mem.commit(1).unwrap();
        assert_eq!(store.app_hash(1).unwrap(), first_root, "{backend}");
        assert!(verify_proof(&first_root, &7u32.to_be_bytes(), Some(b"7@1"), &proof), "{backend}");
    });
}

#[test]
fn pruning_deletes_the_stale_nodes_and_values_an_archive_keeps() {
    let count = |keep_recent| {
        let mut counts = Vec::new();
        every_backend::on_every_backend(StoreConfig { keep_recent }, |backend, mut store| {
            for height in 1..=10u64 {
                store.apply(
                    (0..50u32)
                        .map(|i| (i.to_be_bytes().to_vec(), Some(height.to_be_bytes().to_vec())))
                        .collect(),
                );
                store.commit(height).unwrap();
            }
            let all = |column| store.backend().range(column, &[], &[0xff; 64]).unwrap().len();
            counts.push((backend.to_owned(), all(Column::Nodes), all(Column::Values)));
        });
        counts
    };
    let (archive, pruned) = (count(None), count(Some(1)));
    for ((backend, archive_nodes, archive_values), (_, pruned_nodes, pruned_values)) in
        archive.iter().zip(&pruned)
    {
        assert_eq!(*archive_values, 500, "{backend}: every write of every height");
        assert_eq!(*pruned_values, 50, "{backend}: only the latest write of each key");
        assert!(
            pruned_nodes * 5 < *archive_nodes,
            "{backend}: pruned {pruned_nodes} nodes vs archive {archive_nodes}"
        );
        // Every backend holds exactly the same tree.
        assert_eq!((archive_nodes, pruned_nodes), (&archive[0].1, &pruned[0].1), "{backend}");
    }
}

#[test]
fn keeping_no_height_is_refused() {
    let refused = Store::new(MemBackend::default(), StoreConfig { keep_recent: Some(0) });
    assert!(matches!(refused, Err(StoreError::KeepNothing)));
}

#[test]
fn pruning_past_listed_heights_deletes_what_they_made_stale() {
    every_backend::on_every_backend(StoreConfig { keep_recent: Some(3) }, |backend, mut store| {
        // A stale-index record in the layout of stores written before per-height lists (one
        // record per retired key, after the height): pruning must still honour it.
        let legacy_node = b"legacy stale node".to_vec();
        let mut batch = Batch::default();
        batch.put(Column::Nodes, legacy_node.clone(), b"x".to_vec());
        batch.put(Column::StaleNodes, [&2u64.to_be_bytes()[..], &legacy_node].concat(), Vec::new());
        store.backend().write(batch).unwrap();

        commit_ten_heights(&mut store);
        let all = |column| store.backend().range(column, &[], &[0xff; 64]).unwrap();
        // Heights 8, 9 and 10 are kept, so each key's writes at those heights are too.
        assert_eq!(all(Column::Values).len(), 150, "{backend}");
        assert!(store.backend().get(Column::Nodes, &legacy_node).unwrap().is_none(), "{backend}");
        // Only heights after the oldest kept one still list anything to retire.
        for column in [Column::StaleNodes, Column::StaleValues] {
            let heights: Vec<Vec<u8>> = all(column).into_iter().map(|(k, _)| k).collect();
            assert_eq!(heights, vec![9u64.to_be_bytes().to_vec(), 10u64.to_be_bytes().to_vec()], "{backend}");
        }
    });
}
