//! Four real validators following anvil; one deals a corrupted round-2 share in the DKG and does
//! not answer the complaint. The complaint round excludes it and reports it, the other three deal
//! the key, and that key signs a message the gateway runs.

mod network;

use network::Network;
use network::signing::{
    Relayer, anvil_with_gateway, consensus_key, first_key, params, received, send, sender_and_receiver,
};
use nexus_api::NexusApiClient as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheating_dealer_is_left_out_of_the_key_and_the_rest_sign() {
    let Some((anvil, gateway)) = anvil_with_gateway().await else { return };
    let eth = anvil.url();
    let mut net = Network::with_params(4, Some(params(gateway, serde_json::json!({}))));
    for i in 0..4 {
        let env: &[(&str, &str)] = if i == 2 { &[("NEXUS_FAULT", "tss-bad-dealing")] } else { &[] };
        net.start_with(i, env, &["--eth-rpc", &eth]);
    }
    let key = first_key(&net, &eth, gateway).await;
    let (cheat, _) = consensus_key(&net.validators[2].home);
    let id = key.members.iter().position(|m| m.0 == cheat).unwrap() as u16 + 1;
    assert_eq!((key.threshold, key.members.len()), (3, 4));
    assert_eq!(key.qualified.len(), 3, "one dealer is out");
    assert!(!key.qualified.contains(&id), "the cheating dealer is out");
    let faults = net.client(0).await.tss_status().await.unwrap().faults;
    assert!(
        faults.iter().any(|f| f.validator == cheat && f.reason.contains("complaint")),
        "the cheat is reported: {faults:?}"
    );
    assert!(faults.iter().all(|f| f.validator == cheat), "only the cheat is blamed: {faults:?}");

    let _relayer = Relayer::start(&net, 0, &eth);
    let (sender, receiver) = sender_and_receiver(&net, &eth, gateway).await;
    send(&net, sender, receiver, 1, b"dealt by three").await;
    received(&eth, receiver, 1).await;
    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], top.saturating_sub(2)).await;
}
