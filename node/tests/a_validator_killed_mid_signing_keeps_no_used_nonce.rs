//! Four real validators following anvil sign a stream of messages; one is killed with SIGKILL
//! while jobs are open and restarted from its disk. Every message still runs on Ethereum once,
//! the validators agree on every app hash, and the killed validator's keystore (opened with its
//! consensus key) holds no nonce whose commitment the chain has already handed to a job: none
//! is left that could ever sign a second message.

mod network;

use network::Network;
use network::signing::{
    Relayer, anvil_with_gateway, consensus_key, first_key, params, received, send, sender_and_receiver,
};
use nexus_api::NexusApiClient as _;
use nexus_tss::keystore::Keystore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_signer_restarts_without_any_nonce_the_chain_has_used() {
    let Some((anvil, gateway)) = anvil_with_gateway().await else { return };
    let eth = anvil.url();
    let mut net = Network::with_params(4, Some(params(gateway, serde_json::json!({}))));
    for i in 0..4 {
        net.start_with(i, &[], &["--eth-rpc", &eth]);
    }
    let client = net.client(0).await;
    let key = first_key(&net, &eth, gateway).await;
    let _relayer = Relayer::start(&net, 0, &eth);

    let (sender, receiver) = sender_and_receiver(&net, &eth, gateway).await;

    // Validator 1 dies with jobs open (each message opens one as it commits), then comes back.
    for nonce in 1..=3 {
        send(&net, sender, receiver, nonce, &[nonce as u8]).await;
    }
    net.kill_app(1);
    for nonce in 4..=5 {
        send(&net, sender, receiver, nonce, &[nonce as u8]).await;
    }
    net.start_with(1, &[], &["--eth-rpc", &eth]);
    for nonce in 6..=8 {
        send(&net, sender, receiver, nonce, &[nonce as u8]).await;
    }
    received(&eth, receiver, 8).await;
    let top = net.max_height().await;
    net.wait_height(1, top).await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], top.saturating_sub(2)).await;

    // Its keystore: only nonces for commitments the chain has not used yet (stopped first, so
    // nothing moves between reading the chain and the keystore).
    net.stop(1);
    let home = net.validators[1].home.clone();
    let (public, seed) = consensus_key(&home);
    let keystore = Keystore::open(&home.join("data/tss/keystore"), &seed).unwrap();
    let status = client.tss_status().await.unwrap();
    let record = status.keys.iter().find(|k| k.epoch == key.epoch).unwrap();
    let member = record.members.iter().position(|m| m.0 == public).unwrap() as u16 + 1;
    let (_, next, unused) = *record.commitments.iter().find(|(m, ..)| *m == member).unwrap();
    let held: Vec<u32> =
        keystore.contents().nonces.keys().filter(|(e, _)| *e == key.epoch).map(|(_, i)| *i).collect();
    assert!(next > 0, "validator-1 posted commitments");
    assert!(
        held.iter().all(|i| *i >= next - unused),
        "nonces {held:?} kept for commitments the chain used (unused are {}..{next})",
        next - unused
    );
}
