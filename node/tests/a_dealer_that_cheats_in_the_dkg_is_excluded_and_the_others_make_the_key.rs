//! Four real validators following anvil; one deals a corrupted round-2 share in the DKG and does
//! not answer the complaint. The complaint round excludes it and reports it, the other three deal
//! the key, and that key signs a message the gateway runs.

mod network;

use alloy_primitives::U256;
use alloy_sol_types::SolCall as _;
use network::signing::{Relayer, anvil_with_gateway, consensus_key, eventually, first_key, params};
use network::{Network, example, signed};
use nexus_api::NexusApiClient as _;
use nexus_api::dev_accounts;
use nexus_consensus::app::tx::Msg;
use nexus_ethereum::devnet;
use nexus_ethereum::examples::NexusReceiver;

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
    let deployer = &dev_accounts()[0];
    let tx = signed(deployer, 0, 400_000_000, Msg::Deploy { code: example("eth-sender"), input: vec![] });
    let r = net.send_and_wait(0, tx).await;
    assert!(r.ok, "{:?}", r.error);
    let sender = r.results[0].function.unwrap();
    let receiver = devnet::deploy_receiver(&eth, gateway, sender).await.unwrap();
    let call = NexusReceiver::receiveMessageCall { payload: b"dealt by three".to_vec().into() }.abi_encode();
    let input = [receiver.as_slice(), &call].concat();
    let r = net
        .send_and_wait(0, signed(deployer, 1, 400_000_000, Msg::Call { function: sender, input, value: 0 }))
        .await;
    assert!(r.ok, "{:?}", r.error);
    eventually(&eth, "the message on Ethereum", async || {
        let n = devnet::call(&eth, receiver, NexusReceiver::receivedCall {}.abi_encode()).await.ok()?;
        (U256::from_be_slice(&n) == U256::from(1)).then_some(())
    })
    .await;
    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], top.saturating_sub(2)).await;
}
