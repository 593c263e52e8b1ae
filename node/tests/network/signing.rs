//! What the threshold-signing tests share: anvil with a gateway, a network whose genesis knows it,
//! a `nexus relayer` process, and polling that keeps Ethereum finalizing.

use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall as _;
use base64::Engine as _;
use nexus_api::NexusApiClient as _;
use nexus_api::dev_accounts;
use nexus_api::types::KeyInfo;
use nexus_consensus::app::tx::Msg;
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::NexusReceiver;

use super::Network;

/// anvil with a freshly deployed gateway (no key yet), or `None` outside CI when anvil is not
/// installed (under CI=true its absence fails).
pub async fn anvil_with_gateway() -> Option<(Anvil, Address)> {
    let anvil = Anvil::for_test(&[])?;
    let gateway = devnet::deploy_gateway(&anvil.url()).await.unwrap();
    devnet::mine(&anvil.url(), 3).await.unwrap();
    Some((anvil, gateway))
}

/// Genesis parameters for a network whose gateway is `gateway` on anvil, with `extra` merged in.
pub fn params(gateway: Address, extra: serde_json::Value) -> serde_json::Value {
    let mut p = serde_json::json!({
        "eth": {"gateway": gateway.to_string(), "chain_id": 31_337},
        "tss": {"phase_blocks": 10},
    });
    if let (Some(p), serde_json::Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

/// Polls `probe` (mining an anvil block each time, so Ethereum keeps finalizing) until it
/// answers, for at most [`super::PATIENCE`].
pub async fn eventually<T>(eth: &str, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + super::PATIENCE;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        devnet::mine(eth, 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits for the chain's first active key (seen by validator 0) and installs it on the gateway
/// as its bootstrapper.
pub async fn first_key(net: &Network, eth: &str, gateway: Address) -> KeyInfo {
    let client = net.client(0).await;
    let key = eventually(eth, "the first key", async || {
        let s = client.tss_status().await.ok()?;
        s.keys.into_iter().find(|k| s.active_epoch == Some(k.epoch))
    })
    .await;
    devnet::initialize_key(eth, gateway, key.x.0, key.parity, key.epoch).await.unwrap();
    key
}

/// A validator home's consensus key pair: (public key, 32-byte seed).
pub fn consensus_key(home: &std::path::Path) -> ([u8; 32], [u8; 32]) {
    let text = std::fs::read_to_string(home.join("cometbft/config/priv_validator_key.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let decode = |v: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
    };
    let public = decode(&json["pub_key"]["value"]).try_into().unwrap();
    let seed = decode(&json["priv_key"]["value"])[..32].try_into().unwrap();
    (public, seed)
}

/// A `nexus relayer` process following validator `i`, paying from anvil's third account;
/// stopped with the test.
pub struct Relayer(std::process::Child);

impl Relayer {
    /// Starts it.
    pub fn start(net: &Network, i: usize, eth: &str) -> Self {
        let key_file = net.dir.path().join("relayer.key");
        std::fs::write(&key_file, hex::encode(dev_accounts()[2].key.to_bytes())).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_nexus"))
            .args(["relayer", "--rpc", &net.validators[i].api, "--eth-rpc", eth, "--interval", "500ms"])
            .arg("--key-file")
            .arg(&key_file)
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for Relayer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Deploys `eth-sender` (dev account 0's transaction 0, through validator 0) and a
/// `NexusReceiver` on anvil that accepts only its messages; returns (function id, receiver).
pub async fn sender_and_receiver(net: &Network, eth: &str, gateway: Address) -> ([u8; 32], Address) {
    let code = super::example("eth-sender");
    let r = net
        .send_and_wait(
            0,
            super::signed(&dev_accounts()[0], 0, 400_000_000, Msg::Deploy { code, input: vec![] }),
        )
        .await;
    assert!(r.ok, "{:?}", r.error);
    let sender = r.results[0].function.unwrap();
    (sender, devnet::deploy_receiver(eth, gateway, sender).await.unwrap())
}

/// Has `eth-sender` send `payload` to `receiver`, in dev account 0's transaction `nonce`.
pub async fn send(net: &Network, sender: [u8; 32], receiver: Address, nonce: u64, payload: &[u8]) {
    let call = NexusReceiver::receiveMessageCall { payload: payload.to_vec().into() }.abi_encode();
    let input = [receiver.as_slice(), &call].concat();
    let msg = Msg::Call { function: sender, input, value: 0 };
    let r = net.send_and_wait(0, super::signed(&dev_accounts()[0], nonce, 400_000_000, msg)).await;
    assert!(r.ok, "{:?}", r.error);
}

/// Waits until `receiver` has received `n` messages.
pub async fn received(eth: &str, receiver: Address, n: u64) {
    eventually(eth, &format!("{n} messages on Ethereum"), async || {
        let got = devnet::call(eth, receiver, NexusReceiver::receivedCall {}.abi_encode()).await.ok()?;
        (U256::from_be_slice(&got) == U256::from(n)).then_some(())
    })
    .await;
}

/// `receiver`'s last payload.
pub async fn last_payload(eth: &str, receiver: Address) -> Vec<u8> {
    let bytes = devnet::call(eth, receiver, NexusReceiver::lastPayloadCall {}.abi_encode()).await.unwrap();
    NexusReceiver::lastPayloadCall::abi_decode_returns(&bytes).unwrap().to_vec()
}
