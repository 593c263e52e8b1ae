//! Four real validators following a real anvil, one of them through an endpoint that lies (drops
//! logs, then alters a block hash): every validator's `eth-block-counter` lists exactly the
//! finalized blocks with the final chain's hashes, the gateway call reaches `eth-caller` once,
//! and all four agree on every app hash — the liar cannot change what functions see.

mod network;

#[path = "../../ethereum/tests/common/proxy.rs"]
mod proxy;

use std::time::{Duration, Instant};

use network::{Network, example, signed};
use nexus_api::NexusApiClient as _;
use nexus_api::dev_accounts;
use nexus_api::types::H256;
use nexus_consensus::app::tx::Msg;
use nexus_ethereum::devnet::{self, Anvil, DEPLOYER};
use proxy::{Proxy, Tamper};

async fn mine_slowly(eth: &str, blocks: u64) {
    for _ in 0..blocks / 5 {
        devnet::mine(eth, 5).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until validator `i` has processed Ethereum up to anvil's finalized block (or, with
/// nothing finalized since, anchored); returns it.
async fn caught_up(net: &Network, i: usize, eth: &str) -> u64 {
    let (finalized, _) = devnet::block(eth, "finalized").await.unwrap();
    let client = net.client(i).await;
    let deadline = Instant::now() + network::PATIENCE;
    loop {
        let status = client.eth_status().await.unwrap();
        if status.cursor.is_some_and(|c| c.number >= finalized) {
            return finalized;
        }
        assert!(
            Instant::now() < deadline,
            "validator-{i} did not reach Ethereum block {finalized}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_see_the_same_ethereum_blocks_despite_a_lying_endpoint() {
    let Some(anvil) = Anvil::for_test(&[]) else { return };
    let eth = anvil.url();
    let gateway = devnet::deploy_gateway(&eth).await.unwrap();
    devnet::mine(&eth, 3).await.unwrap();
    let port: u16 = eth.rsplit(':').next().unwrap().parse().unwrap();
    let liar = Proxy::start(port);
    liar.set(Tamper::DropLogs);

    let mut net = Network::with_params(4, Some(serde_json::json!({"eth": {"gateway": gateway.to_string()}})));
    for i in 0..3 {
        net.start_with(i, &[], &["--eth-rpc", &eth]);
    }
    net.start_with(3, &[], &["--eth-rpc", &liar.http()]);
    net.wait_height(0, 2).await;
    let anchored = caught_up(&net, 0, &eth).await;

    let deployer = &dev_accounts()[0];
    let mut ids = Vec::new();
    for (nonce, name) in ["eth-block-counter", "eth-caller"].into_iter().enumerate() {
        let tx =
            signed(deployer, nonce as u64, 400_000_000, Msg::Deploy { code: example(name), input: vec![] });
        let r = net.send_and_wait(0, tx).await;
        assert!(r.ok, "{:?}", r.error);
        ids.push(r.results[0].function.unwrap());
    }
    let (counter, caller) = (ids[0], ids[1]);
    mine_slowly(&eth, 25).await;
    devnet::call_gateway(&eth, gateway, caller, b"from ethereum", 11).await.unwrap();
    mine_slowly(&eth, 10).await;
    // Now the liar alters the hash of a block the others report truthfully.
    let (head, _) = devnet::block(&eth, "latest").await.unwrap();
    liar.set(Tamper::BlockHash(head + 3));
    mine_slowly(&eth, 25).await;
    let last = caught_up(&net, 0, &eth).await;
    for i in 1..4 {
        caught_up(&net, i, &eth).await;
    }

    let mut files = Vec::new();
    for i in 0..4 {
        let client = net.client(i).await;
        let blocks = client.fs_read(H256(counter), "/blocks.txt".into()).await.unwrap().0;
        let calls = client.fs_read(H256(caller), "/calls.txt".into()).await.unwrap().0;
        files.push((String::from_utf8(blocks).unwrap(), String::from_utf8(calls).unwrap()));
    }
    assert!(files.iter().all(|f| *f == files[0]), "validators disagree on what functions saw");
    let (blocks, calls) = &files[0];
    let (first, recorded) = network::common::assert_blocks_are_the_final_chain(&eth, blocks, 50).await;
    assert!(first > anchored, "blocks at or before the anchor ran");
    assert!(recorded >= last, "not every finalized block ran");
    assert_eq!(
        *calls,
        format!("{} 11 0x{}\n", format!("{DEPLOYER:#x}").to_lowercase(), hex::encode(b"from ethereum"))
    );
    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], top.saturating_sub(2)).await;
}
