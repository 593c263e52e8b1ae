//! The state an executing block sees: committed state under the block's writes under the current
//! transaction's writes, and per-function views of it that the runtime reads.
//!
//! A transaction's writes fold into the block's when it succeeds and vanish when it fails; the
//! block's writes go to the store at the end of the block. Views are owned (`'static`) because the
//! wasm engine keeps its host state for the life of an invocation, so they share the layers
//! through an `Arc`.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use nexus_runtime::{StateDiff, StateReader};

use crate::store::{Backend, Changes, Column, Entry};

/// Pending writes: `Some` sets, `None` deletes.
#[derive(Debug, Default)]
struct Pending {
    block: Changes,
    tx: Changes,
}

/// The layered state of the block being executed.
#[derive(Debug)]
pub struct Layers<B> {
    backend: Arc<B>,
    pending: RwLock<Pending>,
}

/// A storage failure under execution. Reads cannot report errors to wasm without making disk
/// faults visible to consensus, so a failed read stops the node instead of diverging from peers.
fn fatal(e: impl std::fmt::Display) -> ! {
    panic!("state store read failed; stopping rather than diverge from the network: {e}")
}

fn first_in(map: &Changes, from: Bound<&[u8]>, reverse: bool) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let bounds = if reverse { (Bound::Unbounded, from) } else { (from, Bound::Unbounded) };
    let mut range = map.range::<[u8], _>(bounds);
    let entry = if reverse { range.next_back() } else { range.next() };
    entry.map(|(k, v)| (k.clone(), v.clone()))
}

impl<B: Backend> Layers<B> {
    /// Layers over the committed state in `backend`, with nothing pending.
    pub fn new(backend: Arc<B>) -> Self {
        Self { backend, pending: RwLock::new(Pending::default()) }
    }

    fn pending(&self) -> std::sync::RwLockReadGuard<'_, Pending> {
        self.pending.read().unwrap_or_else(|e| e.into_inner())
    }

    fn pending_mut(&self) -> std::sync::RwLockWriteGuard<'_, Pending> {
        self.pending.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The committed value at `key`, ignoring pending writes (read-only queries).
    pub fn committed(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.backend.get(Column::Index, key).unwrap_or_else(|e| fatal(e))
    }

    /// The value at `key` as the current transaction sees it.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let pending = self.pending();
        if let Some(v) = pending.tx.get(key) {
            return v.clone();
        }
        if let Some(v) = pending.block.get(key) {
            return v.clone();
        }
        drop(pending);
        self.committed(key)
    }

    /// Sets `key` in the current transaction.
    pub fn set(&self, key: Vec<u8>, value: Vec<u8>) {
        self.pending_mut().tx.insert(key, Some(value));
    }

    /// Deletes `key` in the current transaction.
    pub fn delete(&self, key: Vec<u8>) {
        self.pending_mut().tx.insert(key, None);
    }

    /// Applies an invocation's diff, its keys under `prefix`, to the current transaction.
    pub fn apply_diff(&self, prefix: &[u8], diff: StateDiff) {
        let mut pending = self.pending_mut();
        for (k, v) in diff {
            pending.tx.insert([prefix, &k].concat(), v);
        }
    }

    /// Keeps the current transaction's writes.
    pub fn commit_tx(&self) {
        let mut pending = self.pending_mut();
        let tx = std::mem::take(&mut pending.tx);
        pending.block.extend(tx);
    }

    /// Drops the current transaction's writes.
    pub fn revert_tx(&self) {
        self.pending_mut().tx.clear();
    }

    /// A checkpoint inside the current transaction, to undo part of it (a failed nested call).
    pub fn checkpoint(&self) -> Changes {
        self.pending().tx.clone()
    }

    /// Returns the current transaction's writes to a checkpoint.
    pub fn restore(&self, checkpoint: Changes) {
        self.pending_mut().tx = checkpoint;
    }

    /// Starts a block from `changes` already written (genesis, for the first block).
    pub fn start_block(&self, changes: Changes) {
        let mut pending = self.pending_mut();
        pending.tx.clear();
        pending.block = changes;
    }

    /// Takes the block's writes (the current transaction must be finished).
    pub fn take_block(&self) -> Changes {
        let mut pending = self.pending_mut();
        debug_assert!(pending.tx.is_empty(), "a transaction is still open");
        pending.tx.clear();
        std::mem::take(&mut pending.block)
    }

    /// The first live entry from `from` in key order (last if `reverse`), merging every layer and
    /// skipping deleted keys; `committed_only` ignores pending writes.
    pub fn next(&self, from: Bound<&[u8]>, reverse: bool, committed_only: bool) -> Option<Entry> {
        let mut cursor: Bound<Vec<u8>> = match from {
            Bound::Included(k) => Bound::Included(k.to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        // Each round either returns or steps past one deleted key, so this ends.
        loop {
            let bound = match &cursor {
                Bound::Included(k) => Bound::Included(k.as_slice()),
                Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
                Bound::Unbounded => Bound::Unbounded,
            };
            let base = self
                .backend
                .seek(Column::Index, bound, reverse)
                .unwrap_or_else(|e| fatal(e))
                .map(|(k, v)| (k, Some(v)));
            let mut best = base;
            if !committed_only {
                let pending = self.pending();
                // Upper layers come later so they win a tie on the same key.
                for layer in [&pending.block, &pending.tx] {
                    if let Some((k, v)) = first_in(layer, bound, reverse) {
                        let better = match &best {
                            None => true,
                            Some((bk, _)) => {
                                if reverse {
                                    k >= *bk
                                } else {
                                    k <= *bk
                                }
                            }
                        };
                        if better {
                            best = Some((k, v));
                        }
                    }
                }
            }
            match best {
                None => return None,
                Some((k, Some(v))) => return Some((k, v)),
                Some((k, None)) => cursor = Bound::Excluded(k),
            }
        }
    }
}

/// One function's state as the runtime reads it: the layers under `prefix`, prefix stripped.
#[derive(Debug)]
pub struct FnView<B> {
    layers: Arc<Layers<B>>,
    prefix: Vec<u8>,
    committed_only: bool,
}

impl<B> FnView<B> {
    /// A view of the pending state under `prefix`.
    pub fn new(layers: Arc<Layers<B>>, prefix: Vec<u8>) -> Self {
        Self { layers, prefix, committed_only: false }
    }

    /// A view of the committed state only, for read-only queries.
    pub fn committed(layers: Arc<Layers<B>>, prefix: Vec<u8>) -> Self {
        Self { layers, prefix, committed_only: true }
    }
}

impl<B: Backend> StateReader for FnView<B> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let full = [&self.prefix[..], key].concat();
        if self.committed_only { self.layers.committed(&full) } else { self.layers.get(&full) }
    }

    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)> {
        let full = [&self.prefix[..], start].concat();
        let end = nexus_types::keys::prefix_end(&self.prefix);
        let from = match (reverse && start.is_empty(), exclusive, &end) {
            (true, _, Some(end)) => Bound::Excluded(end.as_slice()),
            (true, _, None) => Bound::Unbounded,
            (false, true, _) => Bound::Excluded(full.as_slice()),
            (false, false, _) => Bound::Included(full.as_slice()),
        };
        let (k, v) = self.layers.next(from, reverse, self.committed_only)?;
        k.strip_prefix(self.prefix.as_slice()).map(|k| (k.to_vec(), v))
    }
}

/// Every key under `prefix` with its value, in order, as the current transaction sees it.
pub fn scan<B: Backend>(
    layers: &Layers<B>,
    prefix: &[u8],
    committed_only: bool,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut from = Bound::Included(prefix.to_vec());
    loop {
        let bound = match &from {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        };
        match layers.next(bound, false, committed_only) {
            Some((k, v)) if k.starts_with(prefix) => {
                from = Bound::Excluded(k.clone());
                out.insert(k, v);
            }
            _ => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemBackend, Store};

    fn layers_with(committed: &[(&[u8], &[u8])]) -> Arc<Layers<MemBackend>> {
        let backend = Arc::new(MemBackend::default());
        let mut store = Store::new(backend.clone(), Default::default()).expect("opens");
        store.apply(committed.iter().map(|(k, v)| (k.to_vec(), Some(v.to_vec()))).collect());
        store.commit(1).expect("commits");
        Arc::new(Layers::new(backend))
    }

    #[test]
    fn iteration_merges_layers_and_skips_deletions() {
        let layers = layers_with(&[(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]);
        layers.delete(b"b".to_vec());
        layers.commit_tx();
        layers.set(b"bb".to_vec(), b"x".to_vec());
        layers.delete(b"c".to_vec());
        let keys: Vec<_> = scan(&layers, b"", false).into_keys().collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"bb".to_vec()]);
        let committed: Vec<_> = scan(&layers, b"", true).into_keys().collect();
        assert_eq!(committed, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(layers.next(Bound::Unbounded, true, false), Some((b"bb".to_vec(), b"x".to_vec())));
        layers.revert_tx();
        assert_eq!(layers.get(b"c"), Some(b"3".to_vec()));
        assert_eq!(layers.get(b"b"), None);
    }

    #[test]
    fn a_view_sees_only_its_prefix() {
        let layers = layers_with(&[(b"s/1/k", b"a"), (b"s/2/k", b"b"), (b"s/1/z", b"c")]);
        let view = FnView::new(layers, b"s/1/".to_vec());
        assert_eq!(view.get(b"k"), Some(b"a".to_vec()));
        assert_eq!(view.next(b"", false, true), Some((b"z".to_vec(), b"c".to_vec())));
        assert_eq!(view.next(b"k", true, false), Some((b"z".to_vec(), b"c".to_vec())));
        assert_eq!(view.next(b"z", true, false), None);
    }
}
