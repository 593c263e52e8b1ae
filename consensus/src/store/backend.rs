//! Where the store's bytes live: a few ordered key-value columns written in atomic batches, on
//! RocksDB for nodes and in memory for tests. All tree logic sits above this trait, so both backends
//! produce the same roots by construction.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use super::StoreError;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The store's columns (RocksDB column families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    /// Merkle tree nodes by node key.
    Nodes,
    /// Value history: key hash ++ height → value or tombstone, read by the tree at past heights.
    Values,
    /// Tree nodes made stale at a height, so pruning finds them without scanning the tree.
    StaleNodes,
    /// Value history entries made stale at a height.
    StaleValues,
    /// Key hash → raw key, for the neighbours named in non-existence proofs. Kept for deleted keys
    /// too (a key may come back, and telling is not worth a read per deletion).
    Preimages,
    /// Raw key → latest value, in key order, for ordered iteration at the latest height.
    Index,
    /// The last committed height and root, and the oldest height still kept.
    Meta,
    /// Node-local records outside the Merkle tree (transaction results, block records, function
    /// logs), written in the same atomic batch as the height they describe.
    Aux,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 8] = [
        Column::Nodes,
        Column::Values,
        Column::StaleNodes,
        Column::StaleValues,
        Column::Preimages,
        Column::Index,
        Column::Meta,
        Column::Aux,
    ];

    /// The column's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Column::Nodes => "nodes",
            Column::Values => "values",
            Column::StaleNodes => "stale_nodes",
            Column::StaleValues => "stale_values",
            Column::Preimages => "preimages",
            Column::Index => "index",
            Column::Meta => "meta",
            Column::Aux => "aux",
        }
    }
}

/// Writes that become visible together or not at all.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// `Some` puts, `None` deletes; applied in order.
    pub ops: Vec<(Column, Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// Queues a put.
    pub fn put(&mut self, column: Column, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((column, key, Some(value)));
    }

    /// Queues a delete.
    pub fn delete(&mut self, column: Column, key: Vec<u8>) {
        self.ops.push((column, key, None));
    }
}

/// Ordered, atomically written storage for the store.
pub trait Backend {
    /// The value at `key` in `column`.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// The first entry of `column` within `from` going forward, or the last going backward if
    /// `reverse` (`Unbounded` starts at the column's start or end).
    fn seek(&self, column: Column, from: Bound<&[u8]>, reverse: bool) -> Result<Option<Entry>, StoreError>;

    /// Every entry of `column` with a key in `start..end`, in key order.
    fn range(&self, column: Column, start: &[u8], end: &[u8]) -> Result<Vec<Entry>, StoreError>;

    /// Applies `batch` atomically and durably.
    fn write(&self, batch: Batch) -> Result<(), StoreError>;

    /// For each of `keys`, the greatest key of `column` at or below it (the key of
    /// `seek(Included(key), true)`). A commit asks this for every key it writes; a backend may
    /// answer all of them with one cursor.
    fn floor_keys(&self, column: Column, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| Ok(self.seek(column, Bound::Included(k), true)?.map(|(k, _)| k))).collect()
    }
}

/// A shared backend: the application reads committed state through it while the store writes.
impl<B: Backend + ?Sized> Backend for std::sync::Arc<B> {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(column, key)
    }

    fn seek(&self, column: Column, from: Bound<&[u8]>, reverse: bool) -> Result<Option<Entry>, StoreError> {
        (**self).seek(column, from, reverse)
    }

    fn range(&self, column: Column, start: &[u8], end: &[u8]) -> Result<Vec<Entry>, StoreError> {
        (**self).range(column, start, end)
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        (**self).write(batch)
    }

    fn floor_keys(&self, column: Column, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).floor_keys(column, keys)
    }
}

type ColumnData = BTreeMap<Vec<u8>, Vec<u8>>;

/// A backend in memory, for tests and tools; its state dies with it.
#[derive(Debug, Default)]
pub struct MemBackend {
    columns: RwLock<BTreeMap<Column, ColumnData>>,
}

impl Backend for MemBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let columns = self.columns.read().map_err(|_| StoreError::Poisoned)?;
        Ok(columns.get(&column).and_then(|c| c.get(key)).cloned())
    }

    fn seek(&self, column: Column, from: Bound<&[u8]>, reverse: bool) -> Result<Option<Entry>, StoreError> {
        let columns = self.columns.read().map_err(|_| StoreError::Poisoned)?;
        let Some(c) = columns.get(&column) else { return Ok(None) };
        let bounds = if reverse { (Bound::Unbounded, from) } else { (from, Bound::Unbounded) };
        let mut range = c.range::<[u8], _>(bounds);
        let entry = if reverse { range.next_back() } else { range.next() };
        Ok(entry.map(|(k, v)| (k.clone(), v.clone())))
    }

    fn range(&self, column: Column, start: &[u8], end: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let columns = self.columns.read().map_err(|_| StoreError::Poisoned)?;
        let Some(c) = columns.get(&column) else { return Ok(Vec::new()) };
        let bounds = (Bound::Included(start), Bound::Excluded(end));
        Ok(c.range::<[u8], _>(bounds).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut columns = self.columns.write().map_err(|_| StoreError::Poisoned)?;
        for (column, key, value) in batch.ops {
            let c = columns.entry(column).or_default();
            match value {
                Some(value) => c.insert(key, value),
                None => c.remove(&key),
            };
        }
        Ok(())
    }
}
