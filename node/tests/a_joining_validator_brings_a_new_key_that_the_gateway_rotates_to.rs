//! Four real validators following anvil make key 1, which the gateway's bootstrapper installs.
//! A fifth validator bonds into the set: a new DKG makes key 2 among all five, key 1 signs the
//! gateway's `rotateKey`, `nexus relayer` submits it, and only once Ethereum has executed it does
//! the chain sign with key 2. The rotation signed by key 1 is refused when replayed, and a new
//! message signed by key 2 runs on Ethereum.

mod network;

use alloy_primitives::U256;
use alloy_sol_types::SolCall as _;
use network::signing::{
    Relayer, anvil_with_gateway, eventually, first_key, params, received, send, sender_and_receiver,
};
use network::staking::{TOKEN, fast_params};
use network::{Network, consensus_address};
use nexus_api::NexusApiClient as _;
use nexus_api::dev_accounts;
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_validator_brings_key_2_and_the_gateway_rotates_to_it() {
    let Some((anvil, gateway)) = anvil_with_gateway().await else { return };
    let eth = anvil.url();
    let mut net = Network::with_params(4, Some(params(gateway, fast_params())));
    for i in 0..4 {
        net.start_with(i, &[], &["--eth-rpc", &eth]);
    }
    let client = net.client(0).await;
    let first = first_key(&net, &eth, gateway).await;
    assert_eq!((first.epoch, first.members.len()), (1, 4));
    let _relayer = Relayer::start(&net, 0, &eth);

    // A fifth validator bonds in.
    let node = net.add_node();
    net.start_with(node, &[], &["--eth-rpc", &eth]);
    let joiner = consensus_address(&net.validators[node].home);
    let operator = &dev_accounts()[5];
    let key = format!("0x{}", hex::encode(operator.key.to_bytes()));
    let home = net.validators[node].home.display().to_string();
    let amount = (10 * TOKEN).to_string();
    let (ok, out) =
        net.cli(node, &key, &["staking", "create-validator", "--home", &home, "--amount", &amount]);
    assert!(ok, "create-validator failed: {out}");
    net.wait_set(0, "the new validator in the set", |set| set.get(&joiner) == Some(&10)).await;

    // Key 2 among five; the gateway moves to it, and then the chain does.
    let epoch = async || {
        let e = devnet::call(&eth, gateway, NexusGateway::epochCall {}.abi_encode()).await.unwrap();
        NexusGateway::epochCall::abi_decode_returns(&e).unwrap()
    };
    let second = eventually(&eth, "key 2 active on the chain", async || {
        let s = client.tss_status().await.ok()?;
        s.keys.into_iter().find(|k| k.epoch == 2 && s.active_epoch == Some(2))
    })
    .await;
    assert_eq!(second.members.len(), 5);
    assert_eq!(epoch().await, 2, "the gateway holds key 2");
    let x = devnet::call(&eth, gateway, NexusGateway::groupKeyXCall {}.abi_encode()).await.unwrap();
    assert_eq!(x, second.x.0.to_vec());

    // Key 1's rotation again: refused (the gateway is at epoch 2 now).
    let rotation = client.tss_status().await.unwrap().rotations.remove(0);
    assert_eq!((rotation.from, rotation.to), (1, 2));
    let again = NexusGateway::rotateKeyCall {
        newX: rotation.x.0.into(),
        newParity: rotation.parity,
        signature: NexusGateway::Signature {
            rx: U256::from_be_bytes(rotation.signature.rx.0),
            ry: U256::from_be_bytes(rotation.signature.ry.0),
            z: U256::from_be_bytes(rotation.signature.z.0),
        },
    }
    .abi_encode();
    assert!(devnet::send(&eth, Some(gateway), again, U256::ZERO).await.is_err(), "key 1 must be refused");

    // A new message is signed by key 2 and runs.
    let (sender, receiver) = sender_and_receiver(&net, &eth, gateway).await;
    send(&net, sender, receiver, 1, b"under key 2").await;
    received(&eth, receiver, 1).await;
    let batches = client.tss_batches(0, None).await.unwrap();
    assert!(batches.iter().all(|b| b.epoch == 2), "signed under key 2");

    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2, 3, node], top.saturating_sub(2)).await;
}
