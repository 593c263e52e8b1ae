//! Helpers shared by the node API's tests: an ephemeral dev node on a free loopback port, signed
//! transactions from the dev accounts, and the example functions.
#![allow(dead_code, missing_docs)]

use std::time::Duration;

use nexus_api::types::{Bytes, TxRecord};
use nexus_api::{Client, DevAccount, DevConfig, DevNode, NexusApiClient as _};
use nexus_consensus::app::tx::{Msg, Tx};

/// Gas for one counter call (its metered run is well under this).
pub const CALL_GAS: u64 = 5_000_000;
/// Gas for deploying an example (200 per module byte plus `init`).
pub const DEPLOY_GAS: u64 = 400_000_000;

/// Where `scripts/build-examples.sh` puts the example functions.
pub fn example(name: &str) -> Vec<u8> {
    let dir = std::env::var("NEXUS_EXAMPLES_DIR").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_string());
        format!("{target}/examples-wasm")
    });
    let path = format!("{dir}/{name}.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}); build the examples first with `scripts/build-examples.sh` (make examples)")
    })
}

/// A dev node config on a free loopback port.
pub fn config() -> DevConfig {
    DevConfig { rpc_addr: "127.0.0.1:0".parse().unwrap(), ..DevConfig::default() }
}

/// An in-memory dev node on a free loopback port, with instant blocks.
pub async fn ephemeral() -> DevNode {
    DevNode::start(config()).await.expect("the dev node starts")
}

/// Signs `msgs` from `account` with `nonce`.
pub fn signed(account: &DevAccount, nonce: u64, gas_limit: u64, msgs: Vec<Msg>) -> Bytes {
    let tx = Tx { chain_id: 31_337, nonce, expires_at: 0, gas_limit, gas_price: 1, msgs };
    Bytes(tx.sign(&account.key).encode())
}

/// A call of the counter adding `by`.
pub fn call(account: &DevAccount, nonce: u64, function: [u8; 32], by: u64) -> Bytes {
    signed(
        account,
        nonce,
        CALL_GAS,
        vec![Msg::Call { function, input: by.to_string().into_bytes(), value: 0 }],
    )
}

/// Deploys `examples/<name>` from `account` and returns the function id.
pub async fn deploy(client: &Client, account: &DevAccount, nonce: u64, name: &str) -> [u8; 32] {
    let tx = signed(account, nonce, DEPLOY_GAS, vec![Msg::Deploy { code: example(name), input: Vec::new() }]);
    let record = send_and_wait(client, tx).await;
    assert!(record.ok, "deploying {name} failed: {:?}", record.error);
    record.results[0].function.expect("a deploy names its function")
}

/// Sends a transaction and waits for its committed result.
pub async fn send_and_wait(client: &Client, tx: Bytes) -> TxRecord {
    let sent = client.send_tx(tx, Some(true)).await.expect("the transaction is accepted");
    sent.result.expect("wait = true returns the result")
}

/// Polls `f` every 20 ms until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    secs: u64,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "condition not met within {secs}s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
