//! On a real anvil: the gateway, deployed before any key exists and bootstrapped with a FROST
//! group key, executes a batch of three messages the group signed (TestToken mints) through real
//! transactions, once each; the group rotates to a new group's key, after which the old key's
//! signatures are refused and a batch of the new group executes.

mod common;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall as _;
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::TestToken;
use nexus_tss::gateway::{GatewaySignature, Message, batch_digest, merkle_proof, merkle_root, rotate_digest};

const CHAIN_ID: u64 = 31_337;

fn sig(s: &GatewaySignature) -> NexusGateway::Signature {
    NexusGateway::Signature {
        rx: U256::from_be_bytes(s.rx),
        ry: U256::from_be_bytes(s.ry),
        z: U256::from_be_bytes(s.z),
    }
}

fn mint(nonce: u64, token: Address, holder: Address, amount: u64) -> Message {
    Message {
        nonce,
        sender: [0x5e; 32],
        target: token.0.0,
        gas_limit: 100_000,
        data: TestToken::mintCall { to: holder, value: U256::from(amount) }.abi_encode(),
    }
}

fn binding(m: &Message) -> NexusGateway::Message {
    NexusGateway::Message {
        nonce: m.nonce,
        sender: m.sender.into(),
        target: m.target.into(),
        gasLimit: m.gas_limit,
        data: m.data.clone().into(),
    }
}

/// `executeBatch` calldata for every message of `batch` under `signature`.
fn execute_batch(batch: &[Message], signature: &GatewaySignature) -> Vec<u8> {
    let leaves: Vec<B256> = batch.iter().map(Message::leaf).collect();
    NexusGateway::executeBatchCall {
        ms: batch.iter().map(binding).collect(),
        proofs: (0..batch.len()).map(|i| merkle_proof(&leaves, i)).collect(),
        root: merkle_root(&leaves),
        signature: sig(signature),
    }
    .abi_encode()
}

async fn balance(url: &str, token: Address, holder: Address) -> U256 {
    U256::from_be_slice(
        &devnet::call(url, token, TestToken::balanceOfCall(holder).abi_encode()).await.unwrap(),
    )
}

fn from_hex(quantity: Option<&str>) -> u64 {
    u64::from_str_radix(quantity.unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_executes_signed_batches_once_and_follows_a_rotation() {
    let Some(anvil) = Anvil::for_test(&[]) else { return };
    let url = anvil.url();
    let gateway = devnet::deploy_gateway(&url).await.unwrap();
    let token = devnet::deploy(&url, TestToken::BYTECODE.to_vec()).await.unwrap();
    let holders = [Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3)];

    let batch: Vec<Message> =
        holders.iter().enumerate().map(|(i, h)| mint(i as u64, token, *h, 100)).collect();
    let leaves: Vec<B256> = batch.iter().map(Message::leaf).collect();
    let root = merkle_root(&leaves);
    let (key, signature) = common::group_signs(3, batch_digest(CHAIN_ID, gateway, 1, root).as_slice());
    assert!(
        devnet::send(&url, Some(gateway), execute_batch(&batch, &signature), U256::ZERO).await.is_err(),
        "a batch executed before the gateway had a key"
    );
    devnet::initialize_key(&url, gateway, key.x, key.parity, 1).await.unwrap();

    // Message 0 alone, then the whole batch: message 0 is skipped, not run twice.
    let single = NexusGateway::executeCall {
        m: binding(&batch[0]),
        proof: merkle_proof(&leaves, 0),
        root,
        signature: sig(&signature),
    }
    .abi_encode();
    let receipt = devnet::send(&url, Some(gateway), single.clone(), U256::ZERO).await.unwrap();
    eprintln!(
        "execute (one message of a 3-message batch, a TestToken mint): {} gas",
        from_hex(receipt["gasUsed"].as_str())
    );
    let receipt =
        devnet::send(&url, Some(gateway), execute_batch(&batch, &signature), U256::ZERO).await.unwrap();
    eprintln!(
        "executeBatch (the other two mints, one skipped): {} gas",
        from_hex(receipt["gasUsed"].as_str())
    );
    for holder in holders {
        assert_eq!(balance(&url, token, holder).await, U256::from(100), "each mint ran once");
    }
    assert!(devnet::send(&url, Some(gateway), single, U256::ZERO).await.is_err(), "a replay executed");
    devnet::send(&url, Some(gateway), execute_batch(&batch, &signature), U256::ZERO).await.unwrap();
    for holder in holders {
        assert_eq!(balance(&url, token, holder).await, U256::from(100), "a racing batch ran nothing again");
    }

    // Rotation to the group of seed 4, signed by the current group.
    let (next, _) = common::group_signs(4, b"");
    let (_, rotation) = common::group_signs(3, rotate_digest(CHAIN_ID, gateway, 1, &next).as_slice());
    let rotate = NexusGateway::rotateKeyCall {
        newX: next.x.into(),
        newParity: next.parity,
        signature: sig(&rotation),
    }
    .abi_encode();
    devnet::send(&url, Some(gateway), rotate.clone(), U256::ZERO).await.unwrap();
    let epoch = devnet::call(&url, gateway, NexusGateway::epochCall {}.abi_encode()).await.unwrap();
    assert_eq!(U256::from_be_slice(&epoch), U256::from(2), "epoch after the rotation");
    assert!(devnet::send(&url, Some(gateway), rotate, U256::ZERO).await.is_err(), "a rotation replayed");

    let after = vec![mint(3, token, holders[0], 5), mint(4, token, holders[1], 5)];
    let after_root = merkle_root(&after.iter().map(Message::leaf).collect::<Vec<_>>());
    let digest = batch_digest(CHAIN_ID, gateway, 2, after_root);
    let (_, by_old) = common::group_signs(3, digest.as_slice());
    let old_epoch_digest = batch_digest(CHAIN_ID, gateway, 1, after_root);
    let (_, old_epoch) = common::group_signs(3, old_epoch_digest.as_slice());
    for refused in [by_old, old_epoch] {
        let sent = devnet::send(&url, Some(gateway), execute_batch(&after, &refused), U256::ZERO).await;
        assert!(sent.is_err(), "the retired key's signature was accepted");
    }
    let (_, by_new) = common::group_signs(4, digest.as_slice());
    devnet::send(&url, Some(gateway), execute_batch(&after, &by_new), U256::ZERO).await.unwrap();
    assert_eq!(balance(&url, token, holders[0]).await, U256::from(105), "the new key's batch ran");
    assert_eq!(balance(&url, token, holders[1]).await, U256::from(105), "the new key's batch ran");
}
