//! Runs a store test against every backend, so RocksDB is held to what the in-memory backend does.

use std::sync::Arc;

#[cfg(feature = "rocksdb")]
use nexus_consensus::RocksBackend;
use nexus_consensus::{Backend, MemBackend, Store, StoreConfig};

/// A store over whichever backend the test is running on.
pub type AnyStore = Store<Arc<dyn Backend>>;

/// Calls `test` with a fresh store on each backend, named for failure messages.
pub fn on_every_backend(config: StoreConfig, mut test: impl FnMut(&str, AnyStore)) {
    test("in-memory", Store::new(Arc::new(MemBackend::default()) as Arc<dyn Backend>, config).unwrap());
    #[cfg(feature = "rocksdb")]
    {
        let dir = tempfile::tempdir().unwrap();
        let rocks = Arc::new(RocksBackend::open(dir.path()).unwrap());
        test("rocksdb", Store::new(rocks as Arc<dyn Backend>, config).unwrap());
    }
}
