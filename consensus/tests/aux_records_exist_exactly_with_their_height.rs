//! Node-local records (`Column::Aux`) are written in the commit of their height: visible exactly
//! when that height is, never with a staged or refused one, and still there after a restart.

mod every_backend;

use std::ops::Bound;

use nexus_consensus::{Changes, StoreConfig, StoreError};

/// The block record of `height`: big-endian heights sort records by height.
fn record(height: u64) -> (Vec<u8>, Option<Vec<u8>>) {
    ([&b"block/"[..], &height.to_be_bytes()].concat(), Some(format!("results of {height}").into_bytes()))
}

fn writes(height: u64) -> Changes {
    Changes::from([(b"k".to_vec(), Some(height.to_be_bytes().to_vec()))])
}

#[test]
fn aux_records_appear_with_their_commit_and_not_before() {
    every_backend::on_every_backend(StoreConfig { keep_recent: Some(2) }, |backend, mut store| {
        for height in 1..=3 {
            store.apply(writes(height));
            store.commit_with_aux(height, vec![record(height)]).unwrap();
        }
        store.apply(writes(4));
        store.stage(4).unwrap();
        assert_eq!(store.get_aux(&record(4).0).unwrap(), None, "{backend}: staged is not committed");
        let refused = store.commit_with_aux(6, vec![record(6)]);
        assert!(matches!(refused, Err(StoreError::HeightOutOfOrder { expected: 4, got: 6 })), "{backend}");
        assert_eq!(store.get_aux(&record(6).0).unwrap(), None, "{backend}: a refused commit writes nothing");

        let (key, value) = record(2);
        assert_eq!(store.get_aux(&key).unwrap(), value, "{backend}: pruning leaves aux records alone");
        let all = store.aux_range(b"block/", b"block0").unwrap();
        let expected: Vec<_> = (1..=3).map(record).map(|(k, v)| (k, v.unwrap())).collect();
        assert_eq!(all, expected, "{backend}");
        let end = [&b"block/"[..], &u64::MAX.to_be_bytes()].concat();
        let latest = store.aux_seek(Bound::Included(&end), true).unwrap();
        assert_eq!(latest, expected.last().cloned(), "{backend}: the latest record by reverse seek");
        assert_eq!(store.aux_seek(Bound::Excluded(b"block0"), false).unwrap(), None, "{backend}");

        // A deletion is an aux record too, committed with its height.
        store.commit_with_aux(4, vec![(key.clone(), None)]).unwrap();
        assert_eq!(store.get_aux(&key).unwrap(), None, "{backend}");
        assert_eq!(store.aux_range(b"block/", b"block0").unwrap().len(), 2, "{backend}");
    });
}

#[cfg(feature = "rocksdb")]
#[test]
fn aux_records_survive_a_restart_and_uncommitted_ones_do_not() {
    use nexus_consensus::Store;

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    for height in 1..=3 {
        store.apply(writes(height));
        store.commit_with_aux(height, vec![record(height)]).unwrap();
    }
    store.apply(writes(4));
    store.stage(4).unwrap();
    drop(store);

    let mut store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(store.latest().map(|(h, _)| h), Some(3));
    for height in 1..=3 {
        assert_eq!(store.get_aux(&record(height).0).unwrap(), record(height).1, "height {height}");
    }
    assert_eq!(store.get_aux(&record(4).0).unwrap(), None);
    store.commit_with_aux(4, vec![record(4)]).unwrap();
    assert_eq!(store.get_aux(&record(4).0).unwrap(), record(4).1);
}
