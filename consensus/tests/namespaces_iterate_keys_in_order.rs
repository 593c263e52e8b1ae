//! A function's namespace reads like the runtime's in-memory `StateReader`: prefix stripped,
//! keys in order, nothing from neighbouring namespaces.

mod every_backend;

use std::collections::BTreeMap;
use std::ops::Bound;

use every_backend::AnyStore;
use nexus_consensus::StoreConfig;

/// Runs `test` on a store holding keys in and around two namespaces, on every backend.
fn with_store(mut test: impl FnMut(AnyStore)) {
    every_backend::on_every_backend(StoreConfig::default(), |_, mut store| {
        let keys: [&[u8]; 7] = [b"a\xffz", b"f1/", b"f1/a", b"f1/b", b"f1/c", b"f2/a", b"f1\xff"];
        store.apply(keys.iter().map(|k| (k.to_vec(), Some(k.to_vec()))).collect::<BTreeMap<_, _>>());
        store.commit(1).unwrap();
        test(store);
    });
}

fn key(entry: Option<(Vec<u8>, Vec<u8>)>) -> Option<Vec<u8>> {
    entry.map(|(k, _)| k)
}

#[test]
fn get_sees_only_the_namespace() {
    with_store(|store| {
        let ns = store.namespace(b"f1/");
        assert_eq!(ns.get(b"a").unwrap(), Some(b"f1/a".to_vec()));
        assert_eq!(ns.get(b"").unwrap(), Some(b"f1/".to_vec()));
        assert_eq!(store.namespace(b"f2/").get(b"b").unwrap(), None);
    });
}

#[test]
fn next_walks_forward_and_backward_within_the_namespace() {
    with_store(|store| {
        let ns = store.namespace(b"f1/");
        assert_eq!(key(ns.next(b"", false, false).unwrap()), Some(b"".to_vec()));
        assert_eq!(key(ns.next(b"", true, false).unwrap()), Some(b"a".to_vec()));
        assert_eq!(key(ns.next(b"a", true, false).unwrap()), Some(b"b".to_vec()));
        assert_eq!(key(ns.next(b"c", true, false).unwrap()), None, "f2/a is another namespace");
        assert_eq!(
            key(ns.next(b"", false, true).unwrap()),
            Some(b"c".to_vec()),
            "empty start = from the end"
        );
        assert_eq!(key(ns.next(b"c", true, true).unwrap()), Some(b"b".to_vec()));
        assert_eq!(key(ns.next(b"bb", false, true).unwrap()), Some(b"b".to_vec()));
        assert_eq!(key(ns.next(b"", true, true).unwrap()), Some(b"c".to_vec()));
        assert_eq!(key(store.namespace(b"f1/a").next(b"", false, true).unwrap()), Some(b"".to_vec()));
        assert_eq!(key(store.namespace(b"g").next(b"", false, true).unwrap()), None);
    });
}

#[test]
fn the_whole_store_iterates_in_key_order() {
    with_store(|store| {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        loop {
            let from = keys.last().map_or(Bound::Unbounded, |k| Bound::Excluded(k.as_slice()));
            let Some((k, _)) = store.next(from, false).unwrap() else { break };
            keys.push(k);
        }
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 7);
    });
}
