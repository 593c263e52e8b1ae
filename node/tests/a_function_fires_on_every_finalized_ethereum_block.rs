//! `nexus dev` following a real anvil: `eth-block-counter` records every finalized Ethereum block
//! exactly once, in order, with the right hash — across a kill -9 and restart of the node, an
//! anvil outage, and a reorg of the unfinalized tip; a Solidity contract's call through the
//! gateway reaches `eth-caller` once with the contract as caller and the right value and payload;
//! and `eth-watcher` totals an ERC-20's `Transfer` logs.

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use alloy_sol_types::{SolCall as _, SolConstructor as _};
use nexus_api::types::{Bytes, H256};
use nexus_api::{Client, NexusApiClient as _, dev_accounts};
use nexus_consensus::app::tx::{Msg, Tx};
use nexus_ethereum::devnet::{self, Anvil};
use nexus_ethereum::examples::{EthCaller, TestToken};

/// anvil, or `None` outside CI when it is not installed (under CI=true its absence fails).
fn anvil(state: &std::path::Path) -> Option<Anvil> {
    let state = state.display().to_string();
    Anvil::for_test(&["--state", &state])
}

/// `nexus dev` on `dir`, following `eth` with `gateway`; returns it and its API URL.
fn start_node(dir: &std::path::Path, eth: &str, gateway: &str) -> (Child, String) {
    common::start_dev(dir, &["--block-time", "200ms", "--eth-rpc", eth, "--gateway", gateway])
}

async fn deploy(client: &Client, nonce: u64, name: &str) -> [u8; 32] {
    let msg = Msg::Deploy { code: common::example_bytes(name), input: vec![] };
    let tx =
        Tx { chain_id: 31_337, nonce, expires_at: 0, gas_limit: 400_000_000, gas_price: 1, msgs: vec![msg] };
    let sent = client.send_tx(Bytes(tx.sign(&dev_accounts()[0].key).encode()), Some(true)).await.unwrap();
    let r = sent.result.unwrap();
    assert!(r.ok, "{:?}", r.error);
    r.results[0].function.unwrap()
}

/// Waits until the chain has processed every block anvil calls finalized now.
async fn caught_up(client: &Client, eth: &str) -> u64 {
    let (finalized, _) = devnet::block(eth, "finalized").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status = client.eth_status().await.unwrap();
        if status.cursor.is_some_and(|c| c.number >= finalized) {
            return finalized;
        }
        assert!(Instant::now() < deadline, "the chain did not reach Ethereum block {finalized}: {status:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn mine_slowly(eth: &str, blocks: u64) {
    for _ in 0..blocks / 5 {
        devnet::mine(eth, 5).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_finalized_block_is_seen_once_in_order_across_restarts_outages_and_reorgs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut anvil) = anvil(&dir.path().join("anvil.json")) else { return };
    let eth = anvil.url();
    let gateway = devnet::deploy_gateway(&eth).await.unwrap();
    devnet::mine(&eth, 3).await.unwrap();
    let node_dir = dir.path().join("node");
    let (mut node, url) = start_node(&node_dir, &eth, &gateway.to_string());
    let client = Client::connect(&url).await.unwrap();
    let counter = deploy(&client, 0, "eth-block-counter").await;
    let caller = deploy(&client, 1, "eth-caller").await;
    let watcher = deploy(&client, 2, "eth-watcher").await;
    let mut code = EthCaller::BYTECODE.to_vec();
    code.extend(EthCaller::constructorCall { gateway_: gateway }.abi_encode());
    let contract = devnet::deploy(&eth, code).await.unwrap();
    let token = devnet::deploy(&eth, TestToken::BYTECODE.to_vec()).await.unwrap();
    let holder = alloy_primitives::Address::repeat_byte(0xbb);
    let mint =
        TestToken::mintCall { to: devnet::DEPLOYER, value: alloy_primitives::U256::from(100) }.abi_encode();
    devnet::send(&eth, Some(token), mint, alloy_primitives::U256::ZERO).await.unwrap();
    let transfer =
        TestToken::transferCall { to: holder, value: alloy_primitives::U256::from(30) }.abi_encode();
    devnet::send(&eth, Some(token), transfer, alloy_primitives::U256::ZERO).await.unwrap();
    mine_slowly(&eth, 20).await;
    caught_up(&client, &eth).await;

    // kill -9 the node mid-run; it resumes from its committed cursor.
    mine_slowly(&eth, 5).await;
    node.kill().unwrap();
    node.wait().unwrap();
    mine_slowly(&eth, 10).await;
    let (mut node, url) = start_node(&node_dir, &eth, &gateway.to_string());
    let client = Client::connect(&url).await.unwrap();
    mine_slowly(&eth, 5).await;
    caught_up(&client, &eth).await;

    // anvil goes away for a while (the node keeps producing blocks), then comes back.
    anvil.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(client.eth_status().await.unwrap().error.is_some(), "an unreachable endpoint is reported");
    anvil.start().unwrap();
    mine_slowly(&eth, 10).await;

    // A call from Ethereum through the gateway, and a reorg of the unfinalized tip.
    let call = EthCaller::callNexusCall { functionId: caller.into(), payload: b"hello".to_vec().into() }
        .abi_encode();
    devnet::send(&eth, Some(contract), call, alloy_primitives::U256::from(7)).await.unwrap();
    devnet::mine(&eth, 1).await.unwrap();
    let _: serde_json::Value = {
        use jsonrpsee::core::client::ClientT as _;
        let c = jsonrpsee_http_client::HttpClientBuilder::default().build(&eth).unwrap();
        c.request("anvil_reorg", jsonrpsee::rpc_params![1, Vec::<serde_json::Value>::new()]).await.unwrap()
    };
    mine_slowly(&eth, 10).await;
    let last = caught_up(&client, &eth).await;

    let text =
        String::from_utf8(client.fs_read(H256(counter), "/blocks.txt".into()).await.unwrap().0).unwrap();
    let (_, recorded) = common::assert_blocks_are_the_final_chain(&eth, &text, 50).await;
    assert!(recorded >= last, "not every finalized block ran");

    let calls =
        String::from_utf8(client.fs_read(H256(caller), "/calls.txt".into()).await.unwrap().0).unwrap();
    assert_eq!(calls, format!("{} 7 0x{}\n", format!("{contract:#x}").to_lowercase(), hex::encode(b"hello")));
    let query = format!("{token:#x} {holder:#x}");
    let received = client.query(H256(watcher), Bytes(query.into_bytes())).await.unwrap();
    assert_eq!(received.output.0, b"30", "eth-watcher saw the transfer once");
    node.kill().unwrap();
    node.wait().unwrap();
}
