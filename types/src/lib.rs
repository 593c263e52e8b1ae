//! Types and byte encodings shared by the Nexus host and its guests; `no_std` so functions and zkVM programs can use them.
#![no_std]

extern crate alloc;

pub mod abi;
pub mod codec;
pub mod context;
pub mod keys;
pub mod manifest;

pub use codec::{Decode, DecodeError, Encode};
pub use context::{Context, EntryPoint, EthBlock, EthLog, Reply, ReplyKind};
pub use manifest::{EthLogFilter, Limits, Manifest, Trigger};

/// A 20-byte Ethereum-style account address.
pub type Address = [u8; 20];
/// A 32-byte identifier (function id, code hash, block hash, topic).
pub type Hash32 = [u8; 32];
