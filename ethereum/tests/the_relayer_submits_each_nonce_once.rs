//! Relayers on a real anvil: two racing on the same signed batch and rotation make every message
//! run exactly once and the rotation happen once, each sending at most one transaction per item;
//! a relayer whose transaction is dropped resubmits it only after it is known unmined, under the
//! same account nonce; an unreachable endpoint is a clean error.

#[path = "../../tss/tests/common/mod.rs"]
mod group;

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::providers::{Provider as _, RootProvider};
use alloy::rpc::types::Filter;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall as _, SolEvent as _};
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::TestToken;
use nexus_ethereum::relayer::{
    BatchMessage, Outcome, Relayer, RelayerConfig, RelayerError, Signature, SignedBatch, SignedRotation,
};
use nexus_tss::gateway::{GatewaySignature, Message, batch_digest, merkle_proof, merkle_root, rotate_digest};

const CHAIN_ID: u64 = 31_337;
/// anvil's dev accounts 1 and 2 (account 0 deploys).
const KEYS: [&str; 2] = [
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn signature(s: &GatewaySignature) -> Signature {
    Signature { rx: s.rx, ry: s.ry, z: s.z }
}

/// A gateway keyed by the group of `seed` and a batch of `n` TestToken mints it signed.
async fn setup(url: &str, seed: u64, n: u64) -> (Address, Address, SignedBatch) {
    let gateway = devnet::deploy_gateway(url).await.unwrap();
    let token = devnet::deploy(url, TestToken::BYTECODE.to_vec()).await.unwrap();
    let messages: Vec<Message> = (0..n)
        .map(|nonce| Message {
            nonce,
            sender: [0xaa; 32],
            target: token.0.0,
            gas_limit: 80_000,
            data: TestToken::mintCall { to: Address::with_last_byte(nonce as u8 + 1), value: U256::from(10) }
                .abi_encode(),
        })
        .collect();
    let leaves: Vec<B256> = messages.iter().map(Message::leaf).collect();
    let root = merkle_root(&leaves);
    let (key, sig) = group::group_signs(seed, batch_digest(CHAIN_ID, gateway, 1, root).as_slice());
    devnet::initialize_key(url, gateway, key.x, key.parity, 1).await.unwrap();
    let batch = SignedBatch {
        epoch: 1,
        root,
        signature: signature(&sig),
        messages: messages
            .iter()
            .enumerate()
            .map(|(i, m)| BatchMessage {
                nonce: m.nonce,
                sender: m.sender,
                target: m.target.into(),
                gas_limit: m.gas_limit,
                data: m.data.clone(),
                proof: merkle_proof(&leaves, i),
            })
            .collect(),
    };
    (gateway, token, batch)
}

async fn relayer(url: &str, gateway: Address, key: &str, config: RelayerConfig) -> Relayer {
    Relayer::connect(url, gateway, key.parse::<PrivateKeySigner>().unwrap(), config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_relayers_run_every_message_and_the_rotation_once() {
    let Some(anvil) = Anvil::for_test(&["--block-time", "1"]) else { return };
    let url = anvil.url();
    let (gateway, _, batch) = setup(&url, 7, 6).await;
    let mut a = relayer(&url, gateway, KEYS[0], RelayerConfig::default()).await;
    let mut b = relayer(&url, gateway, KEYS[1], RelayerConfig::default()).await;

    let (poll, timeout) = (Duration::from_millis(150), Duration::from_secs(30));
    let (from_a, from_b) =
        tokio::join!(a.relay_batch(&batch, poll, timeout), b.relay_batch(&batch, poll, timeout));
    for outcomes in [from_a.unwrap(), from_b.unwrap()] {
        assert_eq!(outcomes.len(), 6);
        assert!(outcomes.iter().all(|(_, o)| *o == Outcome::AlreadyExecuted), "{outcomes:?}");
    }
    // Every round between sending and mining found the transaction in flight and sent nothing.
    assert!(a.transactions_sent() <= 1 && b.transactions_sent() <= 1, "a relayer sent a nonce twice");
    assert!(a.transactions_sent() + b.transactions_sent() >= 1);

    let p: RootProvider = RootProvider::new_http(url.parse().unwrap());
    let logs = p
        .get_logs(
            &Filter::new()
                .address(gateway)
                .event_signature(NexusGateway::Executed::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    let mut runs = BTreeMap::new();
    for log in &logs {
        let executed = NexusGateway::Executed::decode_log(&log.inner).unwrap();
        assert!(executed.success, "mint {} failed", executed.nonce);
        *runs.entry(executed.nonce).or_insert(0) += 1;
    }
    assert_eq!(runs, (0..6).map(|n| (n, 1)).collect(), "each nonce ran exactly once");

    let (next, _) = group::group_signs(8, b"");
    let (_, sig) = group::group_signs(7, rotate_digest(CHAIN_ID, gateway, 1, &next).as_slice());
    let rotation =
        SignedRotation { epoch: 1, new_x: next.x, new_parity: next.parity, signature: signature(&sig) };
    let stale = SignedRotation { epoch: 0, ..rotation };
    for _ in 0..100 {
        let (ra, rb) = tokio::join!(a.submit_rotation(&rotation), b.submit_rotation(&rotation));
        if ra.unwrap() == Outcome::AlreadyExecuted && rb.unwrap() == Outcome::AlreadyExecuted {
            break;
        }
        tokio::time::sleep(poll).await;
    }
    assert_eq!(a.epoch().await.unwrap(), 2, "the rotation ran");
    assert_eq!(a.submit_rotation(&stale).await.unwrap(), Outcome::AlreadyExecuted);
    let rotations = p
        .get_logs(
            &Filter::new()
                .address(gateway)
                .event_signature(NexusGateway::GroupKeySet::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    assert_eq!(rotations.len(), 2, "initializeKey and one rotation");
    // The batch's epoch is gone: a relayer no longer submits it.
    let unused =
        SignedBatch { messages: vec![BatchMessage { nonce: 99, ..batch.messages[0].clone() }], ..batch };
    let outcomes = a.submit_batch(&unused).await.unwrap();
    assert!(matches!(&outcomes[0].1, Outcome::Failed { retry: false, .. }), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_is_replaced_only_once_known_unmined() {
    let Some(anvil) = Anvil::for_test(&[]) else { return };
    let url = anvil.url();
    let (gateway, _, batch) = setup(&url, 9, 3).await;
    let p: RootProvider = RootProvider::new_http(url.parse().unwrap());
    let _: serde_json::Value = p.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let config = RelayerConfig { confirm_blocks: 3, backoff: Duration::ZERO, ..RelayerConfig::default() };
    let mut r = relayer(&url, gateway, KEYS[0], config).await;

    let first = r.submit_batch(&batch).await.unwrap();
    let Outcome::Submitted(hash) = first[0].1 else { panic!("{first:?}") };
    assert!(first.iter().all(|(_, o)| *o == Outcome::Submitted(hash)), "one transaction for the batch");
    let again = r.submit_batch(&batch).await.unwrap();
    assert_eq!(again, first, "still in flight: nothing resubmitted");
    assert_eq!(r.transactions_sent(), 1);

    let _: serde_json::Value = p.raw_request("anvil_dropTransaction".into(), (hash,)).await.unwrap();
    let _: serde_json::Value = p.raw_request("anvil_mine".into(), (1,)).await.unwrap();
    assert_eq!(r.submit_batch(&batch).await.unwrap(), first, "unmined for fewer than 3 blocks: waiting");
    let _: serde_json::Value = p.raw_request("anvil_mine".into(), (3,)).await.unwrap();
    let replaced = r.submit_batch(&batch).await.unwrap();
    let Outcome::Submitted(replacement) = replaced[0].1 else { panic!("{replaced:?}") };
    assert_ne!(replacement, hash, "a new transaction after the drop");
    assert_eq!(r.transactions_sent(), 2);
    let _: serde_json::Value = p.raw_request("anvil_mine".into(), (1,)).await.unwrap();
    let done = r.submit_batch(&batch).await.unwrap();
    assert!(done.iter().all(|(_, o)| *o == Outcome::AlreadyExecuted), "{done:?}");
    assert_eq!(r.transactions_sent(), 2);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_clean_error() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let key: PrivateKeySigner = KEYS[0].parse().unwrap();
    let err = Relayer::connect(&url, Address::ZERO, key, RelayerConfig::default()).await.unwrap_err();
    assert!(matches!(err, RelayerError::Rpc { method: "eth_chainId", .. }), "{err}");
    let key: PrivateKeySigner = KEYS[0].parse().unwrap();
    let err = Relayer::connect("not a url", Address::ZERO, key, RelayerConfig::default()).await.unwrap_err();
    assert!(matches!(err, RelayerError::Url(_)), "{err}");
}
