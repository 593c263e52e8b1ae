//! Four real validators (cometbft) following a real anvil run the DKG through their vote
//! extensions; one of them sends corrupted signature shares. A function's `eth_send` is signed
//! anyway (the culprit is recorded, slashed and left out), `nexus relayer` submits it, the
//! gateway runs it once and the receiver contract sees the exact payload from the right function;
//! the function learns it in `on_reply`; the same signed message replayed is refused. With the
//! culprit offline, the other three still sign, and all validators agree on every app hash.

mod network;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall as _;
use network::Network;
use network::signing::{
    Relayer, anvil_with_gateway, consensus_key, eventually, first_key, last_payload, params, received, send,
    sender_and_receiver,
};
use nexus_api::NexusApiClient as _;
use nexus_api::types::H256;
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet;
use nexus_ethereum::examples::NexusReceiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_signed_despite_a_culprit_and_an_absentee_and_runs_once() {
    let Some((anvil, gateway)) = anvil_with_gateway().await else { return };
    let eth = anvil.url();
    let mut net = Network::with_params(4, Some(params(gateway, serde_json::json!({}))));
    for i in 0..3 {
        net.start_with(i, &[], &["--eth-rpc", &eth]);
    }
    net.start_with(3, &[("NEXUS_FAULT", "tss-bad-share")], &["--eth-rpc", &eth]);
    let client = net.client(0).await;

    // The DKG runs at genesis: one key, 3 of 4, every dealer in.
    let key = first_key(&net, &eth, gateway).await;
    assert_eq!((key.epoch, key.threshold, key.members.len(), key.qualified.len()), (1, 3, 4, 4));

    let (sender, receiver) = sender_and_receiver(&net, &eth, gateway).await;

    let _relayer = Relayer::start(&net, 1, &eth);

    // Two messages in two blocks: two signing jobs, so the culprit is among the signers of one.
    send(&net, sender, receiver, 1, b"first").await;
    send(&net, sender, receiver, 2, b"second").await;
    received(&eth, receiver, 2).await;
    // A retried job may land after a later one, so the order of the two is not fixed.
    let last = last_payload(&eth, receiver).await;
    assert!([b"first".as_slice(), b"second"].contains(&last.as_slice()), "{last:?}");
    let from = devnet::call(&eth, receiver, NexusReceiver::lastSenderCall {}.abi_encode()).await.unwrap();
    assert_eq!(from, sender.to_vec(), "the receiver sees which function sent it");

    let (culprit, _) = consensus_key(&net.validators[3].home);
    let faults = client.tss_status().await.unwrap().faults;
    assert!(
        faults.iter().any(|f| f.validator == culprit && f.reason.contains("invalid signature share")),
        "validator-3 is recorded as a culprit: {faults:?}"
    );
    assert!(faults.iter().all(|f| f.validator == culprit), "only the culprit is blamed: {faults:?}");
    // And penalized: genesis gave every validator the same stake; the culprit's is slashed.
    let validators = client.validators().await.unwrap();
    let tokens = |key: &[u8; 32]| validators.iter().find(|v| v.consensus_key.0 == *key).unwrap().tokens;
    let (honest, _) = consensus_key(&net.validators[0].home);
    assert!(tokens(&culprit) < tokens(&honest), "the culprit's stake is slashed");

    // on_reply ran once per message on every validator.
    for i in 0..4 {
        let c = net.client(i).await;
        eventually(&eth, "the replies", async || {
            let text = c.fs_read(H256(sender), "/replies.txt".into()).await.ok()?;
            let mut lines: Vec<String> =
                String::from_utf8(text.0).unwrap().lines().map(String::from).collect();
            lines.sort();
            (lines == ["0 ok", "1 ok"]).then_some(())
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
    send(&net, sender, receiver, 3, b"third").await;
    received(&eth, receiver, 3).await;
    assert_eq!(last_payload(&eth, receiver).await, b"third", "the receiver sees the exact payload");

    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2], top.saturating_sub(2)).await;
}
