//! Shared by the observer tests: a real anvil child process, a tampering JSON-RPC proxy in front
//! of it, and the few RPC calls the tests make (mine, deploy the gateway, call it).

#![allow(dead_code)] // each test binary uses a different part of this module

use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, RootProvider};
use alloy_sol_types::{SolCall, SolConstructor};
use nexus_ethereum::{BlockRef, NexusGateway, devnet};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use url::Url;

mod proxy;
#[allow(unused_imports)] // not every test binary lies
pub use proxy::{Proxy, Tamper};

/// anvil's first dev account, unlocked, so `eth_sendTransaction` needs no signing here.
pub const DEV: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
}

/// An anvil child on 127.0.0.1 ([`devnet::Anvil`]), stopped on drop. Finality trails the head by
/// a couple of blocks, and blocks are mined only on request (and by transactions).
pub struct Anvil(devnet::Anvil);

impl Anvil {
    /// Starts anvil, or `None` when it is not installed outside CI.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts anvil with extra arguments. Missing anvil: `None` (the test skips), but under
    /// CI=true the test fails, so CI cannot pass without exercising a real node.
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        devnet::Anvil::for_test(extra).map(Self)
    }

    /// Starts the stopped process again on the same port and arguments.
    pub fn restart(&mut self) {
        self.0.start().expect("anvil restarts");
    }

    /// Stops anvil with SIGTERM, so `--state` is dumped, and waits for it to exit.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// The HTTP JSON-RPC URL.
    pub fn http(&self) -> Url {
        self.0.url().parse().expect("url")
    }

    /// The WebSocket URL (anvil serves both on one port).
    pub fn ws(&self) -> Url {
        self.0.url().replacen("http", "ws", 1).parse().expect("url")
    }

    /// A provider for the test's own calls.
    pub fn provider(&self) -> RootProvider {
        RootProvider::new_http(self.http())
    }
}

/// Mines `n` empty blocks.
pub async fn mine(p: &RootProvider, n: u64) {
    let _: Value = p.raw_request("anvil_mine".into(), (n,)).await.expect("anvil_mine");
}

/// The block `tag` ("finalized", "latest" or a hex number) as anvil reports it.
pub async fn block(p: &RootProvider, tag: &str) -> Value {
    p.raw_request("eth_getBlockByNumber".into(), (tag, false)).await.expect("eth_getBlockByNumber")
}

/// Number and hash of the block `tag`.
pub async fn block_ref(p: &RootProvider, tag: &str) -> BlockRef {
    let b = block(p, tag).await;
    BlockRef { number: hex_u64(&b["number"]), hash: hex32(&b["hash"]) }
}

pub fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex quantity").trim_start_matches("0x"), 16).expect("hex quantity")
}

pub fn hex32(v: &Value) -> [u8; 32] {
    let bytes = alloy::primitives::hex::decode(v.as_str().expect("hex string")).expect("hex");
    bytes.try_into().expect("32 bytes")
}

/// Sends a transaction from [`DEV`] (anvil mines it at once) and returns its receipt.
pub async fn send(p: &RootProvider, to: Option<Address>, data: Vec<u8>, value: U256) -> Value {
    let mut tx = json!({ "from": DEV, "data": Bytes::from(data), "value": value, "gas": "0x1000000" });
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash: Value = p.raw_request("eth_sendTransaction".into(), (tx,)).await.expect("eth_sendTransaction");
    // anvil mines the transaction right after answering, so the receipt may take a moment.
    for _ in 0..100 {
        let receipt: Value = p
            .raw_request("eth_getTransactionReceipt".into(), (hash.clone(),))
            .await
            .expect("eth_getTransactionReceipt");
        if !receipt.is_null() {
            assert_eq!(receipt["status"], "0x1", "transaction reverted: {receipt}");
            return receipt;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no receipt for {hash} within 2 s");
}

/// Deploys a gateway bootstrapped by [`DEV`] (no group key: `callFunction` needs none).
pub async fn deploy_gateway(p: &RootProvider) -> Address {
    let mut code = NexusGateway::BYTECODE.to_vec();
    code.extend(
        NexusGateway::constructorCall { bootstrapper_: nexus_ethereum::devnet::DEPLOYER }.abi_encode(),
    );
    let receipt = send(p, None, code, U256::ZERO).await;
    receipt["contractAddress"].as_str().expect("contract address").parse().expect("address")
}

/// Calls `callFunction(id, payload)` on `gateway` with `value` wei; returns the receipt.
pub async fn call_gateway(
    p: &RootProvider,
    gateway: Address,
    id: [u8; 32],
    payload: &[u8],
    value: u64,
) -> Value {
    let data = NexusGateway::callFunctionCall { functionId: id.into(), payload: payload.to_vec().into() }
        .abi_encode();
    send(p, Some(gateway), data, U256::from(value)).await
}

/// Observes from `cursor` until the observation reaches anvil's finalized block, at most `rounds`
/// calls; returns every block reported, checking each round continues the previous one.
pub async fn observe_until_caught_up(
    observer: &nexus_ethereum::Observer,
    mut cursor: BlockRef,
    rounds: usize,
) -> (BlockRef, Vec<nexus_ethereum::ObservedBlock>) {
    let mut all = Vec::new();
    for _ in 0..rounds {
        let o = observer.observe(Some(cursor)).await.expect("observe");
        let Some(tip) = o.tip().filter(|t| *t != cursor) else { return (cursor, all) };
        cursor = tip;
        all.extend(o.blocks);
    }
    panic!("not caught up after {rounds} observations");
}

/// Polls `ready` every 50 ms until it is true, failing after `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
