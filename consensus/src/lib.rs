//! The chain: the ABCI 2.0 application and the verifiable state store (a height-versioned Jellyfish Merkle tree whose root is the app hash).

pub mod app;
pub mod store;

#[cfg(feature = "rocksdb")]
pub use store::RocksBackend;
pub use store::{
    AppHash, Backend, Batch, Changes, Column, CommitmentProof, EMPTY_ROOT, Entry, MemBackend, Namespace,
    Store, StoreConfig, StoreError, verify_proof,
};
