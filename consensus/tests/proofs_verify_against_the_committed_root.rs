//! Reads come with ICS23 proofs that a client checks against the app hash alone.

mod every_backend;

use std::collections::BTreeMap;

use every_backend::AnyStore;
use nexus_consensus::{StoreConfig, StoreError, verify_proof};

fn commit_two_heights(store: &mut AnyStore) {
    store.apply(BTreeMap::from([
        (b"alice".to_vec(), Some(b"10".to_vec())),
        (b"bob".to_vec(), Some(b"20".to_vec())),
        (b"carol".to_vec(), Some(b"30".to_vec())),
    ]));
    store.commit(1).unwrap();
    store.apply(BTreeMap::from([(b"alice".to_vec(), Some(b"11".to_vec())), (b"bob".to_vec(), None)]));
    store.commit(2).unwrap();
}

/// Runs `test` on a store with two committed heights, on every backend.
fn with_two_heights(mut test: impl FnMut(&str, AnyStore)) {
    every_backend::on_every_backend(StoreConfig::default(), |backend, mut store| {
        commit_two_heights(&mut store);
        test(backend, store);
    });
}

#[test]
fn a_present_key_is_proven_with_its_value() {
    with_two_heights(|backend, store| {
        let (_, root) = store.latest().unwrap();
        let (value, proof) = store.get_with_proof(b"alice", 2).unwrap();
        assert_eq!(value.as_deref(), Some(&b"11"[..]), "{backend}");
        assert!(verify_proof(&root, b"alice", Some(b"11"), &proof), "{backend}");
    });
}

#[test]
fn an_absent_key_is_proven_absent() {
    with_two_heights(|backend, store| {
        let (_, root) = store.latest().unwrap();
        for key in [&b"bob"[..], b"dave", b""] {
            let (value, proof) = store.get_with_proof(key, 2).unwrap();
            assert_eq!(value, None, "{backend}");
            assert!(verify_proof(&root, key, None, &proof), "{backend}: {key:?}");
        }
    });
}

#[test]
fn a_proof_fails_for_a_wrong_value_key_or_root() {
    with_two_heights(|backend, store| {
        let (_, root) = store.latest().unwrap();
        let (_, proof) = store.get_with_proof(b"alice", 2).unwrap();
        assert!(!verify_proof(&root, b"alice", Some(b"10"), &proof), "{backend}");
        assert!(!verify_proof(&root, b"carol", Some(b"11"), &proof), "{backend}");
        assert!(!verify_proof(&root, b"alice", None, &proof), "{backend}");
        let mut wrong_root = root;
        wrong_root[0] ^= 1;
        assert!(!verify_proof(&wrong_root, b"alice", Some(b"11"), &proof), "{backend}");
        let (_, absent) = store.get_with_proof(b"dave", 2).unwrap();
        assert!(!verify_proof(&wrong_root, b"dave", None, &absent), "{backend}");
    });
}

#[test]
fn an_old_height_is_proven_against_its_own_root() {
    every_backend::on_every_backend(StoreConfig::default(), |backend, mut store| {
        store.apply(BTreeMap::from([(b"k".to_vec(), Some(b"old".to_vec()))]));
        let first_root = store.commit(1).unwrap();
        store.apply(BTreeMap::from([(b"k".to_vec(), Some(b"new".to_vec()))]));
        let second_root = store.commit(2).unwrap();
        assert_eq!(store.app_hash(1).unwrap(), first_root, "{backend}");
        let (value, proof) = store.get_with_proof(b"k", 1).unwrap();
        assert_eq!(value.as_deref(), Some(&b"old"[..]), "{backend}");
        assert!(verify_proof(&first_root, b"k", Some(b"old"), &proof), "{backend}");
        assert!(!verify_proof(&second_root, b"k", Some(b"old"), &proof), "{backend}");
    });
}

#[test]
fn a_height_not_yet_committed_has_no_proof() {
    with_two_heights(|backend, store| {
        let missing = store.get_with_proof(b"alice", 3);
        assert!(matches!(missing, Err(StoreError::NotCommitted { height: 3, latest: Some(2) })), "{backend}");
        assert!(matches!(store.app_hash(3), Err(StoreError::NotCommitted { height: 3, latest: Some(2) })));
    });
}
