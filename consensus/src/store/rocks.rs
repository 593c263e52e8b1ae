//! The RocksDB backend: one column family per [`Column`], every commit one synced `WriteBatch`.

use std::ops::Bound;
use std::path::Path;

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Options, WriteBatch, WriteOptions,
};

use super::StoreError;
use super::backend::{Backend, Batch, Column, Entry};

/// A store's data in a RocksDB directory.
pub struct RocksBackend {
    db: DB,
}

impl std::fmt::Debug for RocksBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksBackend").field("path", &self.db.path()).finish()
    }
}

fn options() -> Options {
    let mut options = Options::default();
    // Tree nodes are hashes and barely compress; no codec keeps the C++ build small.
    options.set_compression_type(DBCompressionType::None);
    options
}

impl RocksBackend {
    /// Opens (creating if missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut db_options = options();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        let families = Column::ALL.iter().map(|c| ColumnFamilyDescriptor::new(c.name(), options()));
        Ok(Self { db: DB::open_cf_descriptors(&db_options, path, families)? })
    }

    fn cf(&self, column: Column) -> &ColumnFamily {
        // Every column family is created by `open`, so a missing handle is a bug here, not bad data.
        self.db.cf_handle(column.name()).expect("column families are created on open")
    }
}

impl Backend for RocksBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(column), key)?)
    }

    fn seek(&self, column: Column, from: Bound<&[u8]>, reverse: bool) -> Result<Option<Entry>, StoreError> {
        let mut it = self.db.raw_iterator_cf(self.cf(column));
        match (from, reverse) {
            (Bound::Unbounded, false) => it.seek_to_first(),
            (Bound::Unbounded, true) => it.seek_to_last(),
            (Bound::Included(k), false) => it.seek(k),
            // The smallest key above `k` is `k` followed by a zero byte.
            (Bound::Excluded(k), false) => it.seek([k, &[0]].concat()),
            (Bound::Included(k), true) => it.seek_for_prev(k),
            (Bound::Excluded(k), true) => {
                it.seek_for_prev(k);
                if it.key() == Some(k) {
                    it.prev();
                }
            }
        }
        it.status()?;
        Ok(match (it.key(), it.value()) {
            (Some(k), Some(v)) => Some((k.to_vec(), v.to_vec())),
            _ => None,
        })
    }

    fn range(&self, column: Column, start: &[u8], end: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let mut it = self.db.raw_iterator_cf(self.cf(column));
        it.seek(start);
        let mut entries = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if k >= end {
                break;
            }
            entries.push((k.to_vec(), v.to_vec()));
            it.next();
        }
        it.status()?;
        Ok(entries)
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut rocks = WriteBatch::default();
        for (column, key, value) in batch.ops {
            match value {
                Some(value) => rocks.put_cf(self.cf(column), key, value),
                None => rocks.delete_cf(self.cf(column), key),
            }
        }
        // Synced so a committed height survives power loss, not just a killed process.
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        Ok(self.db.write_opt(rocks, &write_options)?)
    }
}
