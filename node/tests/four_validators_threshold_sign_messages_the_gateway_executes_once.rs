//! Four real validators (cometbft) following a real anvil run the DKG through their vote
//! extensions; one of them sends corrupted signature shares. A function's `eth_send` is signed
//! anyway (the culprit is recorded and left out), `nexus relayer` submits it, the gateway runs it
//! once and the receiver contract sees the exact payload from the right function; the function
//! learns it in `on_reply`; the same signed message replayed is refused. With the culprit
//! offline, the other three still sign, and all validators agree on every app hash.

mod network;

use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall as _;
use base64::Engine as _;
use network::{Network, example, signed};
use nexus_api::NexusApiClient as _;
use nexus_api::dev_accounts;
use nexus_api::types::H256;
use nexus_consensus::app::tx::Msg;
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::NexusReceiver;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `probe` (mining an anvil block each time, so Ethereum keeps finalizing) until it
/// answers, for at most [`network::PATIENCE`].
async fn eventually<T>(eth: &str, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + network::PATIENCE;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        devnet::mine(eth, 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn consensus_key(home: &std::path::Path) -> [u8; 32] {
    let text = std::fs::read_to_string(home.join("cometbft/config/priv_validator_key.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let b64 = json["pub_key"]["value"].as_str().unwrap();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap().try_into().unwrap()
}

/// A `nexus relayer` process, stopped with the test.
struct Relayer(std::process::Child);

impl Drop for Relayer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_signed_despite_a_culprit_and_an_absentee_and_runs_once() {
    let anvil = match Anvil::spawn(free_port(), &[]) {
        Ok(a) => a,
        Err(devnet::DevnetError::NotInstalled) if std::env::var("CI").as_deref() != Ok("true") => return,
        Err(e) => panic!("{e}"),
    };
    let eth = anvil.url();
    let gateway = devnet::deploy_gateway(&eth).await.unwrap();
    devnet::mine(&eth, 3).await.unwrap();
    let params = serde_json::json!({
        "eth": {"gateway": gateway.to_string(), "chain_id": 31_337},
        "tss": {"phase_blocks": 10},
    });
    let mut net = Network::with_params(4, Some(params));
    for i in 0..3 {
        net.start_with(i, &[], &["--eth-rpc", &eth]);
    }
    net.start_with(3, &[("NEXUS_FAULT", "tss-bad-share")], &["--eth-rpc", &eth]);
    let client = net.client(0).await;

    // The DKG runs at genesis: one key, 3 of 4, every dealer in.
    let key = eventually(&eth, "the DKG", async || {
        let s = client.tss_status().await.ok()?;
        s.keys.into_iter().find(|k| s.active_epoch == Some(k.epoch))
    })
    .await;
    assert_eq!((key.epoch, key.threshold, key.members.len(), key.qualified.len()), (1, 3, 4, 4));
    devnet::initialize_key(&eth, gateway, key.x.0, key.parity, key.epoch).await.unwrap();

    let deployer = &dev_accounts()[0];
    let tx = signed(deployer, 0, 400_000_000, Msg::Deploy { code: example("eth-sender"), input: vec![] });
    let r = net.send_and_wait(0, tx).await;
    assert!(r.ok, "{:?}", r.error);
    let sender = r.results[0].function.unwrap();
    let receiver = devnet::deploy_receiver(&eth, gateway, sender).await.unwrap();

    let key_file = net.dir.path().join("relayer.key");
    std::fs::write(&key_file, hex::encode(dev_accounts()[2].key.to_bytes())).unwrap();
    let _relayer = Relayer(
        std::process::Command::new(env!("CARGO_BIN_EXE_nexus"))
            .args(["relayer", "--rpc", &net.validators[1].api, "--eth-rpc", &eth, "--interval", "500ms"])
            .arg("--key-file")
            .arg(&key_file)
            .spawn()
            .unwrap(),
    );

    // Two messages in two blocks: two signing jobs, so the culprit is among the signers of one.
    let mut nonce = 1;
    for payload in [b"first".as_slice(), b"second"] {
        let call = NexusReceiver::receiveMessageCall { payload: payload.to_vec().into() }.abi_encode();
        let input = [receiver.as_slice(), &call].concat();
        let tx = signed(deployer, nonce, 400_000_000, Msg::Call { function: sender, input, value: 0 });
        nonce += 1;
        let r = net.send_and_wait(0, tx).await;
        assert!(r.ok, "{:?}", r.error);
    }
    let view = async |call: Vec<u8>| devnet::call(&eth, receiver, call).await.unwrap();
    eventually(&eth, "both messages on Ethereum", async || {
        let n = view(NexusReceiver::receivedCall {}.abi_encode()).await;
        (U256::from_be_slice(&n) == U256::from(2)).then_some(())
    })
    .await;
    let last = view(NexusReceiver::lastPayloadCall {}.abi_encode()).await;
    let last = NexusReceiver::lastPayloadCall::abi_decode_returns(&last).unwrap();
    assert_eq!(last.as_ref(), b"second", "the receiver sees the exact payload");
    let from = view(NexusReceiver::lastSenderCall {}.abi_encode()).await;
    assert_eq!(from, sender.to_vec(), "the receiver sees which function sent it");

    let culprit = consensus_key(&net.validators[3].home);
    let faults = client.tss_status().await.unwrap().faults;
    assert!(
        faults.iter().any(|f| f.validator == culprit && f.reason.contains("invalid signature share")),
        "validator-3 is recorded as a culprit: {faults:?}"
    );
    assert!(faults.iter().all(|f| f.validator == culprit), "only the culprit is blamed: {faults:?}");

    // on_reply ran once per message on every validator.
    for i in 0..4 {
        let c = net.client(i).await;
        eventually(&eth, "the replies", async || {
            let text = c.fs_read(H256(sender), "/replies.txt".into()).await.ok()?;
            (text.0 == b"0 ok\n1 ok\n").then_some(())
        })
        .await;
    }

    // The same signed message again: the gateway refuses it.
    let batch = client.tss_batches(0, None).await.unwrap().remove(0);
    let m = &batch.messages[0];
    let first = NexusReceiver::receiveMessageCall { payload: b"first".to_vec().into() }.abi_encode();
    let replay = NexusGateway::executeCall {
        m: NexusGateway::Message {
            nonce: m.nonce,
            sender: m.sender.0.into(),
            target: Address::from(m.target.0),
            gasLimit: m.gas_limit,
            data: first.into(),
        },
        proof: m.proof.iter().map(|p| p.0.into()).collect(),
        root: batch.root.0.into(),
        signature: NexusGateway::Signature {
            rx: U256::from_be_bytes(batch.signature.rx.0),
            ry: U256::from_be_bytes(batch.signature.ry.0),
            z: U256::from_be_bytes(batch.signature.z.0),
        },
    }
    .abi_encode();
    assert!(devnet::send(&eth, Some(gateway), replay, U256::ZERO).await.is_err(), "a replay must revert");

    // The culprit goes offline: the other three (exactly the threshold) still sign.
    net.kill_app(3);
    let call = NexusReceiver::receiveMessageCall { payload: b"third".to_vec().into() }.abi_encode();
    let input = [receiver.as_slice(), &call].concat();
    let r = net
        .send_and_wait(
            0,
            signed(deployer, nonce, 400_000_000, Msg::Call { function: sender, input, value: 0 }),
        )
        .await;
    assert!(r.ok, "{:?}", r.error);
    eventually(&eth, "the third message on Ethereum", async || {
        let n = view(NexusReceiver::receivedCall {}.abi_encode()).await;
        (U256::from_be_slice(&n) == U256::from(3)).then_some(())
    })
    .await;

    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2], top.saturating_sub(2)).await;
}
