//! A height is staged (its root computed) before it is committed, one height after another.

use std::collections::BTreeMap;

use nexus_consensus::{Changes, Store};

fn block(pairs: &[(&str, Option<&str>)]) -> Changes {
    pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
}

#[test]
fn staging_gives_the_root_that_commit_persists() {
    let mut store = Store::in_memory();
    store.apply(block(&[("k", Some("v"))]));
    let staged = store.stage(1).unwrap();
    assert_eq!(store.latest(), None, "staging persists nothing");
    assert_eq!(store.commit(1).unwrap(), staged);
}

#[test]
fn heights_must_follow_the_last_commit() {
    let mut store = Store::in_memory();
    store.commit(5).unwrap();
    let err = store.commit(7).unwrap_err();
    assert_eq!(err.to_string(), "cannot commit height 7: the next height is 6");
    store.commit(6).unwrap();
}

#[test]
fn discarded_writes_never_reach_the_root() {
    let mut with_discard = Store::in_memory();
    let mut without = Store::in_memory();
    with_discard.apply(block(&[("x", Some("1"))]));
    with_discard.stage(1).unwrap();
    with_discard.discard();
    with_discard.apply(block(&[("y", Some("2"))]));
    without.apply(block(&[("y", Some("2"))]));
    assert_eq!(with_discard.commit(1).unwrap(), without.commit(1).unwrap());
    assert_eq!(with_discard.get(b"x").unwrap(), None);
}

#[test]
fn an_empty_block_keeps_the_root_and_a_change_moves_it() {
    let mut store = Store::in_memory();
    store.apply(block(&[("a", Some("1"))]));
    let first = store.commit(1).unwrap();
    let empty = store.commit(2).unwrap();
    store.apply(BTreeMap::from([(b"a".to_vec(), None)]));
    let deleted = store.commit(3).unwrap();
    assert_eq!(first, empty);
    assert_ne!(first, deleted);
    assert_eq!(store.get(b"a").unwrap(), None);
}
