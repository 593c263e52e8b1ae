//! The node API — JSON-RPC 2.0 over HTTP and WebSocket, its typed client, and the two nodes that
//! serve it: `nexus dev`'s in-process block producer and a validator's application side.

mod client;
mod dev;
mod eth;
mod node;
mod rpc;
mod server;
mod tss;
pub mod types;
mod validator;

pub use client::{Client, ClientError};
pub use dev::{
    DEFAULT_KEEP_RECENT, DEFAULT_RPC_ADDR, DEV_ACCOUNTS, DEV_BALANCE, DEV_MNEMONIC, DevAccount, DevConfig,
    DevError, DevNode, dev_accounts, dev_genesis, dev_validator_key,
};
pub use eth::{EthConfigError, EthObserver};
pub use node::{MEMPOOL_MAX_TXS, NodeError, SetupError};
pub use rpc::{NexusApiClient, NexusApiServer, code};
pub use server::WAIT_TIMEOUT;
pub use validator::{Closing, ValidatorConfig, ValidatorError, ValidatorNode};
