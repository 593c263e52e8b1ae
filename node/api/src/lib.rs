//! The node API — JSON-RPC 2.0 over HTTP and WebSocket, its typed client, and `nexus dev`'s
//! in-process block producer that serves it.

mod client;
mod rpc;
pub mod types;

pub use client::{Client, ClientError};
pub use rpc::{NexusApiClient, NexusApiServer, code};
