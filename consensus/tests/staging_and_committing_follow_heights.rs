//! A height is staged (its root computed) before it is committed, one height after another.

mod every_backend;

use std::collections::BTreeMap;

use nexus_consensus::{Changes, StoreConfig};

fn block(pairs: &[(&str, Option<&str>)]) -> Changes {
    pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
}

#[test]
fn staging_gives_the_root_that_commit_persists() {
    every_backend::on_every_backend(StoreConfig::default(), |backend, mut store| {
        store.apply(block(&[("k", Some("v"))]));
        let staged = store.stage(1).unwrap();
        assert_eq!(store.latest(), None, "{backend}: staging persists nothing");
        assert_eq!(store.get(b"k").unwrap(), None, "{backend}: staging persists nothing");
        assert_eq!(store.commit(1).unwrap(), staged, "{backend}");
    });
}

#[test]
fn heights_must_follow_the_last_commit() {
    every_backend::on_every_backend(StoreConfig::default(), |backend, mut store| {
        store.commit(5).unwrap();
        let err = store.commit(7).unwrap_err();
        assert_eq!(err.to_string(), "cannot commit height 7: the next height is 6", "{backend}");
        store.commit(6).unwrap();
    });
}

#[test]
fn discarded_writes_never_reach_the_root() {
    let mut roots = Vec::new();
    every_backend::on_every_backend(StoreConfig::default(), |backend, mut with_discard| {
        with_discard.apply(block(&[("x", Some("1"))]));
        with_discard.stage(1).unwrap();
        with_discard.discard();
        with_discard.apply(block(&[("y", Some("2"))]));
        roots.push(with_discard.commit(1).unwrap());
        assert_eq!(with_discard.get(b"x").unwrap(), None, "{backend}");
    });
    every_backend::on_every_backend(StoreConfig::default(), |_, mut without| {
        without.apply(block(&[("y", Some("2"))]));
        roots.push(without.commit(1).unwrap());
    });
    assert!(roots.windows(2).all(|w| w[0] == w[1]), "{roots:?}");
}

#[test]
fn an_empty_block_keeps_the_root_and_a_change_moves_it() {
    every_backend::on_every_backend(StoreConfig { keep_recent: Some(1) }, |backend, mut store| {
        store.apply(block(&[("a", Some("1"))]));
        let first = store.commit(1).unwrap();
        let empty = store.commit(2).unwrap();
        store.apply(BTreeMap::from([(b"a".to_vec(), None)]));
        let deleted = store.commit(3).unwrap();
        assert_eq!(first, empty, "{backend}");
        assert_ne!(first, deleted, "{backend}");
        assert_eq!(store.get(b"a").unwrap(), None, "{backend}");
    });
}
