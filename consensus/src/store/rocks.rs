//! The RocksDB backend: one column family per [`Column`], every commit one synced `WriteBatch`.

use std::ops::Bound;
use std::path::Path;

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Options,
    WriteBatch, WriteOptions,
};

use super::StoreError;
use super::backend::{Backend, Batch, Column, Entry};

/// Block cache shared by every column family. The tree's upper levels and the value history of
/// hot keys are read on every commit; keeping them cached is what makes a commit CPU-bound.
const BLOCK_CACHE_BYTES: usize = 256 << 20;

/// Memtable size per column family: a block writes a few megabytes, so small memtables would
/// flush (and compact) every few blocks.
const WRITE_BUFFER_BYTES: usize = 64 << 20;

/// A store's data in a RocksDB directory.
pub struct RocksBackend {
    db: DB,
}

impl std::fmt::Debug for RocksBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksBackend").field("path", &self.db.path()).finish()
    }
}

fn options(cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Tree nodes are read by point lookups, most for keys that exist; a bloom filter still saves
    // the block reads of the levels that do not hold the key.
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut options = Options::default();
    options.set_block_based_table_factory(&table);
    // Tree nodes are hashes and barely compress; no codec keeps the C++ build small.
    options.set_compression_type(DBCompressionType::None);
    options.set_write_buffer_size(WRITE_BUFFER_BYTES);
    options.set_level_compaction_dynamic_level_bytes(true);
    options
}

impl RocksBackend {
    /// Opens (creating if missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut db_options = options(&cache);
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        // Flushes and compactions run beside commits instead of stalling them.
        db_options.increase_parallelism(2);
        let families = Column::ALL.iter().map(|c| ColumnFamilyDescriptor::new(c.name(), options(&cache)));
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

    fn floor_keys(&self, column: Column, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        // One iterator for all: creating one per key cost more than the seeks themselves.
        let mut it = self.db.raw_iterator_cf(self.cf(column));
        keys.iter()
            .map(|k| {
                it.seek_for_prev(k);
                it.status()?;
                Ok(it.key().map(<[u8]>::to_vec))
            })
            .collect()
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut rocks = WriteBatch::default();
        for (column, key, value) in batch.ops {
            match value {
                Some(value) => rocks.put_cf(self.cf(column), key, value),
                None => rocks.delete_cf(self.cf(column), key),
            }
        }
        // Synced so a committed height survives power loss, not just a killed process. One write
        // per commit, so one sync per block.
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        Ok(self.db.write_opt(rocks, &write_options)?)
    }
}
