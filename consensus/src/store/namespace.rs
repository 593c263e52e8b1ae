//! One function's slice of the state: the runtime's `StateReader` over a key prefix.
//!
//! The methods mirror `nexus_runtime::StateReader` but return storage errors instead of hiding
//! them; the application wraps a `Namespace` to implement that trait (this crate does not depend
//! on the runtime, which would pull the wasm engine into every store build).

use std::ops::Bound;

use nexus_types::keys::prefix_end;

use super::{Backend, Entry, Store, StoreError};

/// The latest committed state under a key prefix, with keys seen without the prefix.
#[derive(Debug)]
pub struct Namespace<'a, B> {
    store: &'a Store<B>,
    prefix: Vec<u8>,
}

impl<'a, B: Backend> Namespace<'a, B> {
    pub(super) fn new(store: &'a Store<B>, prefix: &[u8]) -> Self {
        Self { store, prefix: prefix.to_vec() }
    }

    /// The value at `key` within the namespace.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(&[&self.prefix[..], key].concat())
    }

    /// The first entry at or after `start` (strictly after if `exclusive`); at or before (before)
    /// if `reverse`, where an empty `start` means from the end — `StateReader::next` semantics.
    pub fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Result<Option<Entry>, StoreError> {
        let full = [&self.prefix[..], start].concat();
        let end = prefix_end(&self.prefix);
        let from = match (reverse && start.is_empty(), exclusive, &end) {
            (true, _, Some(end)) => Bound::Excluded(end.as_slice()),
            (true, _, None) => Bound::Unbounded,
            (false, true, _) => Bound::Excluded(full.as_slice()),
            (false, false, _) => Bound::Included(full.as_slice()),
        };
        Ok(self
            .store
            .next(from, reverse)?
            .and_then(|(k, v)| k.strip_prefix(self.prefix.as_slice()).map(|k| (k.to_vec(), v))))
    }
}
