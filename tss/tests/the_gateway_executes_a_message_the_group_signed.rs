//! On a real anvil: a gateway holding a FROST group key executes a message the group signed (the
//! gateway mints TestToken to a holder), refuses it replayed, and refuses a message signed for
//! another nonce.

mod common;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall as _, SolConstructor as _};
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::TestToken;
use nexus_tss::gateway::execute_digest;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_executes_a_signed_message_once() {
    let anvil = match Anvil::spawn(free_port(), &[]) {
        Ok(a) => a,
        Err(devnet::DevnetError::NotInstalled) if std::env::var("CI").as_deref() != Ok("true") => return,
        Err(e) => panic!("{e}"),
    };
    let url = anvil.url();
    // The gateway's address is fixed before the key is known: the deployer's next contract.
    let token = devnet::deploy(&url, TestToken::BYTECODE.to_vec()).await.unwrap();
    let gateway = devnet::DEPLOYER.create(1);
    let holder = Address::repeat_byte(0x42);
    let data = TestToken::mintCall { to: holder, value: U256::from(1_000) }.abi_encode();
    let digest = execute_digest(31_337, gateway, 1, U256::ZERO, token, &data);
    let (key, signature) = common::group_signs(3, &digest);

    let mut code = NexusGateway::BYTECODE.to_vec();
    code.extend(
        NexusGateway::constructorCall { x: key.x.into(), parity: key.parity, initialEpoch: 1 }.abi_encode(),
    );
    assert_eq!(devnet::deploy(&url, code).await.unwrap(), gateway);

    let sig = NexusGateway::Signature {
        rx: U256::from_be_bytes(signature.rx),
        ry: U256::from_be_bytes(signature.ry),
        z: U256::from_be_bytes(signature.z),
    };
    let execute = |nonce: u64| {
        NexusGateway::executeCall {
            nonce: U256::from(nonce),
            target: token,
            data: data.clone().into(),
            signature: sig.clone(),
        }
        .abi_encode()
    };
    let receipt = devnet::send(&url, Some(gateway), execute(0), U256::ZERO).await.unwrap();
    let gas = u64::from_str_radix(receipt["gasUsed"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    eprintln!("execute (signature check + a TestToken mint) used {gas} gas");
    let balance = devnet::call(&url, token, TestToken::balanceOfCall(holder).abi_encode()).await.unwrap();
    assert_eq!(U256::from_be_slice(&balance), U256::from(1_000), "the signed mint ran");

    let replay = devnet::send(&url, Some(gateway), execute(0), U256::ZERO).await;
    assert!(replay.is_err(), "a replayed message executed");
    let other_nonce = devnet::send(&url, Some(gateway), execute(1), U256::ZERO).await;
    assert!(other_nonce.is_err(), "a signature for nonce 0 executed nonce 1");
    let balance = devnet::call(&url, token, TestToken::balanceOfCall(holder).abi_encode()).await.unwrap();
    assert_eq!(U256::from_be_slice(&balance), U256::from(1_000), "the refused messages minted nothing");
    let used = devnet::call(&url, gateway, NexusGateway::nonceUsedCall { nonce: U256::from(1) }.abi_encode())
        .await
        .unwrap();
    assert_eq!(U256::from_be_slice(&used), U256::ZERO, "a refused message spent a nonce");
}
