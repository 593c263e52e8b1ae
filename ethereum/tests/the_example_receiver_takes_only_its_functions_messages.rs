//! The example `NexusReceiver` on a real anvil, deployed by `devnet::deploy_receiver` behind the
//! gateway: a message its allowed function sent, signed by a FROST group, reaches it with the
//! exact payload and sender; another function's message runs but is refused by the receiver.

#[path = "../../tss/tests/common/mod.rs"]
mod group;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall as _;
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::NexusReceiver;
use nexus_tss::gateway::{Message, batch_digest};

const CHAIN_ID: u64 = 31_337;
const SENDER: [u8; 32] = [0x5e; 32];
const OTHER: [u8; 32] = [0x07; 32];

/// Runs `sender`'s message `nonce` carrying `payload` to `receiver` as a one-message batch the
/// group of seed 3 signed for epoch 1.
async fn execute(
    url: &str,
    gateway: Address,
    receiver: Address,
    nonce: u64,
    sender: [u8; 32],
    payload: &[u8],
) {
    let message = Message {
        nonce,
        sender,
        target: receiver.0.0,
        gas_limit: 200_000,
        data: NexusReceiver::receiveMessageCall { payload: payload.to_vec().into() }.abi_encode(),
    };
    // A one-message batch: the root is the leaf and the proof is empty.
    let root = message.leaf();
    let (_, sig) = group::group_signs(3, batch_digest(CHAIN_ID, gateway, 1, root).as_slice());
    let call = NexusGateway::executeCall {
        m: NexusGateway::Message {
            nonce,
            sender: sender.into(),
            target: receiver,
            gasLimit: message.gas_limit,
            data: message.data.into(),
        },
        proof: vec![],
        root,
        signature: NexusGateway::Signature {
            rx: U256::from_be_bytes(sig.rx),
            ry: U256::from_be_bytes(sig.ry),
            z: U256::from_be_bytes(sig.z),
        },
    };
    devnet::send(url, Some(gateway), call.abi_encode(), U256::ZERO).await.unwrap();
}

async fn read<C: alloy_sol_types::SolCall>(url: &str, receiver: Address, call: C) -> C::Return {
    C::abi_decode_returns(&devnet::call(url, receiver, call.abi_encode()).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_takes_its_functions_message_and_refuses_another() {
    let Some(anvil) = Anvil::for_test(&[]) else { return };
    let url = anvil.url();
    let gateway = devnet::deploy_gateway(&url).await.unwrap();
    let receiver = devnet::deploy_receiver(&url, gateway, SENDER).await.unwrap();
    assert_eq!(read(&url, receiver, NexusReceiver::gatewayCall {}).await, gateway);
    assert_eq!(read(&url, receiver, NexusReceiver::allowedSenderCall {}).await, B256::from(SENDER));
    // The seed alone fixes the group's key; what it signs here does not matter.
    let (key, _) = group::group_signs(3, &[]);
    devnet::initialize_key(&url, gateway, key.x, key.parity, 1).await.unwrap();

    execute(&url, gateway, receiver, 0, SENDER, b"hello from nexus").await;
    assert_eq!(read(&url, receiver, NexusReceiver::receivedCall {}).await, U256::from(1));
    assert_eq!(read(&url, receiver, NexusReceiver::lastSenderCall {}).await, B256::from(SENDER));
    assert_eq!(read(&url, receiver, NexusReceiver::lastPayloadCall {}).await.as_ref(), b"hello from nexus");

    // The gateway spends the nonce and logs the failure; the receiver keeps the first message.
    execute(&url, gateway, receiver, 1, OTHER, b"from another function").await;
    assert_eq!(read(&url, receiver, NexusReceiver::receivedCall {}).await, U256::from(1));
    assert_eq!(read(&url, receiver, NexusReceiver::lastPayloadCall {}).await.as_ref(), b"hello from nexus");
    let used = read(&url, gateway, NexusGateway::nonceUsedCall { nonce: 1 }).await;
    assert!(used, "the refused message's nonce is spent");
}
