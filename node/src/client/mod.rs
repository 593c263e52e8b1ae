//! What the commands that talk to a node share: the `--rpc`/`--json` options, the connection,
//! errors turned into advice, argument parsing of ids and bytes, and the signer.

pub mod show;
pub mod signer;
pub mod submit;

use std::future::Future;

use anyhow::anyhow;
use jsonrpsee::core::client::Error as RpcError;
use nexus_api::types::{FunctionDetails, H256, Status};
use nexus_api::{Client, NexusApiClient as _, code};

/// Where the node is and how to print; flattened into every command that talks to one.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The node's API URL (http:// or ws://).
    #[arg(long, env = "NEXUS_RPC", default_value = "http://127.0.0.1:8645", value_name = "URL")]
    pub rpc: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A connected node.
pub struct Node {
    /// The client.
    pub client: Client,
    /// The URL it was reached at, for messages.
    pub url: String,
}

impl NodeArgs {
    /// Connects over the URL's own scheme.
    pub async fn connect(&self) -> anyhow::Result<Node> {
        Node::connect(&self.rpc).await
    }

    /// Connects over WebSocket, which subscriptions need: an `http://` URL becomes `ws://` on the
    /// same port (the node serves both there).
    pub async fn connect_ws(&self) -> anyhow::Result<Node> {
        let url = match self.rpc.split_once("://") {
            Some(("http", rest)) => format!("ws://{rest}"),
            Some(("https", rest)) => format!("wss://{rest}"),
            _ => self.rpc.clone(),
        };
        Node::connect(&url).await
    }
}

impl Node {
    async fn connect(url: &str) -> anyhow::Result<Node> {
        let client = Client::connect(url).await.map_err(|e| match e {
            nexus_api::ClientError::Connect { source, .. } => anyhow!("{} ({source})", no_node(url)),
            other => anyhow!(other),
        })?;
        Ok(Node { client, url: url.to_string() })
    }

    /// Turns a failed call into an error that says what to do.
    pub fn explain(&self, e: RpcError) -> anyhow::Error {
        match e {
            RpcError::Transport(e) => anyhow!("{} ({e})", no_node(&self.url)),
            RpcError::RestartNeeded(e) => anyhow!("{} ({e})", no_node(&self.url)),
            RpcError::RequestTimeout => anyhow!("the node at {} did not answer in time", self.url),
            RpcError::Call(obj) => {
                let hint = match obj.code() {
                    code::TX_INSUFFICIENT_FUNDS => " (fund the account, or lower --gas-limit / --gas-price)",
                    code::TX_GAS_LIMIT_TOO_LOW => " (raise --gas-limit)",
                    code::TX_GAS_PRICE_TOO_LOW => " (raise --gas-price)",
                    code::TX_GAS_LIMIT_ABOVE_BLOCK => " (lower --gas-limit)",
                    code::TX_NONCE_TOO_LOW | code::TX_NONCE_TOO_HIGH => {
                        " (another transaction of this account raced this one; run the command again)"
                    }
                    code::WAIT_TIMEOUT => " (check later with `nexus tx <hash>`)",
                    _ => "",
                };
                anyhow!("{}{hint}", obj.message())
            }
            other => anyhow!("the node at {} answered unexpectedly: {other}", self.url),
        }
    }

    /// A deployed function, or an error naming the id when there is none.
    pub async fn function(&self, id: H256) -> anyhow::Result<FunctionDetails> {
        self.client.get_function(id).await.map_err(|e| match e {
            RpcError::Call(obj) if obj.code() == code::NOT_FOUND => {
                anyhow!(
                    "no function {id} on the chain at {}; `nexus deploy` prints the id of each new function",
                    self.url
                )
            }
            other => self.explain(other),
        })
    }

    /// `nexus_status`, the first call of most commands (so a missing node shows up here).
    pub async fn status(&self) -> anyhow::Result<Status> {
        self.client.status().await.map_err(|e| self.explain(e))
    }
}

fn no_node(url: &str) -> String {
    format!("no node at {url} — start one with `nexus dev`, or point --rpc / NEXUS_RPC at a running node")
}

/// Runs a command's async body on a runtime of its own: the CLI is synchronous elsewhere.
pub fn block_on<F: Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(rt.block_on(f))
}

/// A function id: 32 bytes of hex, with or without `0x`.
pub fn parse_function_id(s: &str) -> anyhow::Result<H256> {
    s.parse::<H256>().map_err(|_| {
        anyhow!("{s:?} is not a function id: expected 32 bytes of hex (0x…), as `nexus deploy` prints")
    })
}

/// `0x` hex of bytes.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_ids_take_hex_with_or_without_prefix() {
        let id = format!("0x{}", "ab".repeat(32));
        assert_eq!(parse_function_id(&id).unwrap().0, [0xab; 32]);
        assert_eq!(parse_function_id(&id[2..]).unwrap().0, [0xab; 32]);
        let e = parse_function_id("0x1234").unwrap_err().to_string();
        assert!(e.contains("not a function id"), "{e}");
        assert!(parse_function_id("counter").is_err());
    }
}
