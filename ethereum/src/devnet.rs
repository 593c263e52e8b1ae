//! A local Ethereum for development and tests: an anvil child process with fast finality, and the
//! gateway deployed on it from anvil's first (unlocked) account, which is also its bootstrapper.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::{Provider as _, RootProvider};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall as _, SolConstructor as _};
use serde_json::{Value, json};

use crate::NexusGateway;
use crate::examples::NexusReceiver;

/// anvil's first dev account: unlocked, so `eth_sendTransaction` needs no key here.
pub const DEPLOYER: Address = alloy_primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// What went wrong with the local Ethereum.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// No anvil binary.
    #[error(
        "anvil not found in ~/.cache/nexus/bin or PATH: run scripts/install-ethereum-tools.sh (or follow an \
         existing node with --eth-rpc)"
    )]
    NotInstalled,
    /// anvil would not start or answer.
    #[error("anvil: {0}")]
    Process(String),
    /// A JSON-RPC call failed.
    #[error("anvil {method}: {reason}")]
    Rpc {
        /// The method.
        method: &'static str,
        /// Why.
        reason: String,
    },
    /// A transaction reverted or was never mined.
    #[error("transaction failed: {0}")]
    Transaction(String),
}

/// `~/.cache/nexus/bin/anvil` (where scripts/install-ethereum-tools.sh puts it), else PATH.
pub fn anvil_binary() -> Option<PathBuf> {
    let cached = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/nexus/bin/anvil"));
    let on_path = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("anvil")).find(|a| a.is_file()));
    cached.filter(|a| a.is_file()).or(on_path)
}

/// A running anvil on 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct Anvil {
    binary: PathBuf,
    args: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl Anvil {
    /// Starts anvil on `port` with finality two blocks behind the head (`--slots-in-an-epoch 1`)
    /// and `extra` arguments (say `--block-time 1`, `--state FILE`), and waits until it answers.
    pub fn spawn(port: u16, extra: &[&str]) -> Result<Self, DevnetError> {
        let binary = anvil_binary().ok_or(DevnetError::NotInstalled)?;
        let mut args: Vec<String> =
            ["--host", "127.0.0.1", "--port", &port.to_string(), "--slots-in-an-epoch", "1"]
                .iter()
                .map(ToString::to_string)
                .collect();
        args.push("--silent".into());
        args.extend(extra.iter().map(ToString::to_string));
        let mut anvil = Self { binary, args, port, child: None };
        anvil.start()?;
        Ok(anvil)
    }

    /// For tests: anvil on a free loopback port with `extra` arguments, or `None` when it is not
    /// installed and CI is not set (the test skips). Under CI=true a missing anvil panics, so CI
    /// cannot pass without exercising a real node.
    pub fn for_test(extra: &[&str]) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        match Self::spawn(port, extra) {
            Ok(a) => Some(a),
            Err(DevnetError::NotInstalled) => {
                let message =
                    "anvil not found in ~/.cache/nexus/bin or PATH: run scripts/install-ethereum-tools.sh";
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
                eprintln!("skipping: {message}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// (Re)starts the stopped process with the same arguments.
    pub fn start(&mut self) -> Result<(), DevnetError> {
        if self.child.is_some() {
            return Ok(());
        }
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| DevnetError::Process(format!("cannot run {}: {e}", self.binary.display())))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.as_mut().is_some_and(|c| !matches!(c.try_wait(), Ok(None)));
            if exited || Instant::now() > deadline {
                self.child = None;
                return Err(DevnetError::Process(format!(
                    "did not listen on 127.0.0.1:{} (port taken?)",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops it with SIGTERM (so a `--state` file is written) and waits for it to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop();
    }
}

fn provider(url: &str) -> Result<RootProvider, DevnetError> {
    let url = url.parse().map_err(|e| DevnetError::Process(format!("{url} is not a URL: {e}")))?;
    Ok(RootProvider::new_http(url))
}

async fn request(p: &RootProvider, method: &'static str, params: Value) -> Result<Value, DevnetError> {
    p.raw_request(method.into(), params).await.map_err(|e| DevnetError::Rpc { method, reason: e.to_string() })
}

/// Sends a transaction from [`DEPLOYER`] and waits for its successful receipt.
pub async fn send(url: &str, to: Option<Address>, data: Vec<u8>, value: U256) -> Result<Value, DevnetError> {
    let p = provider(url)?;
    let mut tx = json!({"from": DEPLOYER, "data": Bytes::from(data), "value": value, "gas": "0x1000000"});
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash = request(&p, "eth_sendTransaction", json!([tx])).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let receipt = request(&p, "eth_getTransactionReceipt", json!([hash])).await?;
        if !receipt.is_null() {
            if receipt["status"] != json!("0x1") {
                return Err(DevnetError::Transaction(format!("{hash} reverted")));
            }
            return Ok(receipt);
        }
        if Instant::now() > deadline {
            return Err(DevnetError::Transaction(format!("{hash} was not mined in 30 s")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deploys `code` (creation bytecode and constructor arguments) from [`DEPLOYER`]; returns the
/// contract's address.
pub async fn deploy(url: &str, code: Vec<u8>) -> Result<Address, DevnetError> {
    let receipt = send(url, None, code, U256::ZERO).await?;
    receipt["contractAddress"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| DevnetError::Transaction(format!("no contract address in {receipt}")))
}

/// The gateway at [`DEPLOYER`]'s first contract address, deployed there unless the chain already
/// has it (a resumed anvil keeps its state), with [`DEPLOYER`] as its bootstrapper and no group
/// key yet ([`initialize_key`] sets it).
pub async fn deploy_gateway(url: &str) -> Result<Address, DevnetError> {
    let address = DEPLOYER.create(0);
    let code = request(&provider(url)?, "eth_getCode", json!([address, "latest"])).await?;
    if code.as_str().is_some_and(|c| c.len() > 2) {
        return Ok(address);
    }
    let mut data = NexusGateway::BYTECODE.to_vec();
    data.extend(NexusGateway::constructorCall { bootstrapper_: DEPLOYER }.abi_encode());
    let deployed = deploy(url, data).await?;
    if deployed != address {
        return Err(DevnetError::Transaction(format!(
            "the gateway landed at {deployed}, not {address}: anvil's first account had sent transactions before"
        )));
    }
    Ok(address)
}

/// Deploys the example `NexusReceiver` from [`DEPLOYER`]: it takes messages from `gateway` sent
/// by the Nexus function `allowed_sender` (all zeros: by any function).
pub async fn deploy_receiver(
    url: &str,
    gateway: Address,
    allowed_sender: [u8; 32],
) -> Result<Address, DevnetError> {
    let mut data = NexusReceiver::BYTECODE.to_vec();
    data.extend(
        NexusReceiver::constructorCall { gateway_: gateway, allowedSender_: allowed_sender.into() }
            .abi_encode(),
    );
    deploy(url, data).await
}

/// Sets the gateway's first group key (x coordinate, y parity) for `epoch`, as its bootstrapper
/// [`DEPLOYER`]; fails if a key is set already.
pub async fn initialize_key(
    url: &str,
    gateway: Address,
    x: [u8; 32],
    parity: u8,
    epoch: u64,
) -> Result<Value, DevnetError> {
    let data = NexusGateway::initializeKeyCall { x: x.into(), parity, initialEpoch: epoch }.abi_encode();
    send(url, Some(gateway), data, U256::ZERO).await
}

/// Calls `gateway.callFunction(function, payload)` from [`DEPLOYER`] with `value` wei.
pub async fn call_gateway(
    url: &str,
    gateway: Address,
    function: [u8; 32],
    payload: &[u8],
    value: u64,
) -> Result<Value, DevnetError> {
    let data =
        NexusGateway::callFunctionCall { functionId: function.into(), payload: payload.to_vec().into() }
            .abi_encode();
    send(url, Some(gateway), data, U256::from(value)).await
}

/// Calls `to` with `data` without a transaction (`eth_call` at the latest block); returns the
/// answer.
pub async fn call(url: &str, to: Address, data: Vec<u8>) -> Result<Vec<u8>, DevnetError> {
    let answer =
        request(&provider(url)?, "eth_call", json!([{"to": to, "data": Bytes::from(data)}, "latest"]))
            .await?;
    let bytes: Option<Bytes> = answer.as_str().and_then(|a| a.parse().ok());
    bytes
        .map(|b| b.to_vec())
        .ok_or_else(|| DevnetError::Rpc { method: "eth_call", reason: format!("answer {answer}") })
}

/// Mines `n` blocks at once.
pub async fn mine(url: &str, n: u64) -> Result<(), DevnetError> {
    request(&provider(url)?, "anvil_mine", json!([n])).await.map(drop)
}

/// The number and hash of block `tag` (`"finalized"`, `"latest"` or a `0x` number).
pub async fn block(url: &str, tag: &str) -> Result<(u64, [u8; 32]), DevnetError> {
    let b = request(&provider(url)?, "eth_getBlockByNumber", json!([tag, false])).await?;
    let number = b["number"].as_str().and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok());
    let hash: Option<B256> = b["hash"].as_str().and_then(|h| h.parse().ok());
    match (number, hash) {
        (Some(n), Some(h)) => Ok((n, h.0)),
        _ => Err(DevnetError::Rpc { method: "eth_getBlockByNumber", reason: format!("no block {tag}: {b}") }),
    }
}
