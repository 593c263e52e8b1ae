//! Reads come with ICS23 proofs that a client checks against the app hash alone.

use std::collections::BTreeMap;

use nexus_consensus::{Store, StoreError, verify_proof};

fn store_with_two_heights() -> Store<nexus_consensus::MemBackend> {
    let mut store = Store::in_memory();
    store.apply(BTreeMap::from([
        (b"alice".to_vec(), Some(b"10".to_vec())),
        (b"bob".to_vec(), Some(b"20".to_vec())),
        (b"carol".to_vec(), Some(b"30".to_vec())),
    ]));
    store.commit(1).unwrap();
    store.apply(BTreeMap::from([(b"alice".to_vec(), Some(b"11".to_vec())), (b"bob".to_vec(), None)]));
    store.commit(2).unwrap();
    store
}

#[test]
fn a_present_key_is_proven_with_its_value() {
    let store = store_with_two_heights();
    let (_, root) = store.latest().unwrap();
    let (value, proof) = store.get_with_proof(b"alice", 2).unwrap();
    assert_eq!(value.as_deref(), Some(&b"11"[..]));
    assert!(verify_proof(&root, b"alice", Some(b"11"), &proof));
}

#[test]
fn an_absent_key_is_proven_absent() {
    let store = store_with_two_heights();
    let (_, root) = store.latest().unwrap();
    for key in [&b"bob"[..], b"dave", b""] {
        let (value, proof) = store.get_with_proof(key, 2).unwrap();
        assert_eq!(value, None);
        assert!(verify_proof(&root, key, None, &proof), "{key:?}");
    }
}

#[test]
fn a_proof_fails_for_a_wrong_value_key_or_root() {
    let store = store_with_two_heights();
    let (_, root) = store.latest().unwrap();
    let (_, proof) = store.get_with_proof(b"alice", 2).unwrap();
    assert!(!verify_proof(&root, b"alice", Some(b"10"), &proof));
    assert!(!verify_proof(&root, b"carol", Some(b"11"), &proof));
    assert!(!verify_proof(&root, b"alice", None, &proof));
    let mut wrong_root = root;
    wrong_root[0] ^= 1;
    assert!(!verify_proof(&wrong_root, b"alice", Some(b"11"), &proof));
    let (_, absent) = store.get_with_proof(b"dave", 2).unwrap();
    assert!(!verify_proof(&wrong_root, b"dave", None, &absent));
}

#[test]
fn an_old_height_is_proven_against_its_own_root() {
    let mut store = Store::in_memory();
    store.apply(BTreeMap::from([(b"k".to_vec(), Some(b"old".to_vec()))]));
    let first_root = store.commit(1).unwrap();
    store.apply(BTreeMap::from([(b"k".to_vec(), Some(b"new".to_vec()))]));
    let second_root = store.commit(2).unwrap();
    let (value, proof) = store.get_with_proof(b"k", 1).unwrap();
    assert_eq!(value.as_deref(), Some(&b"old"[..]));
    assert!(verify_proof(&first_root, b"k", Some(b"old"), &proof));
    assert!(!verify_proof(&second_root, b"k", Some(b"old"), &proof));
}

#[test]
fn a_height_not_yet_committed_has_no_proof() {
    let store = store_with_two_heights();
    assert!(matches!(
        store.get_with_proof(b"alice", 3),
        Err(StoreError::NotCommitted { height: 3, latest: Some(2) })
    ));
}
