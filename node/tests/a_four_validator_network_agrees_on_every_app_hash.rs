//! Four real validators (each `nexus validator start` with its own cometbft) on loopback: a
//! function deployed through one node is called through another and read through a third; bad
//! transactions sent to any node are refused at CheckTx with a clear reason and never stall
//! consensus; every block carries the previous height's signed vote extensions; and all four
//! report the same app hash at every height.

mod network;

use jsonrpsee::core::client::Error as RpcError;
use network::{Network, example, signed};
use nexus_api::types::Bytes;
use nexus_api::{NexusApiClient as _, code, dev_accounts};
use nexus_consensus::app::tx::Msg;
use nexus_consensus::app::votes::Bundle;

fn error_code(e: RpcError) -> i32 {
    match e {
        RpcError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

/// CometBFT's own `broadcast_tx_sync` for raw bytes: (code, log).
async fn broadcast_raw(cometbft_rpc: &str, tx: &[u8]) -> (u64, String) {
    use base64::Engine as _;
    use jsonrpsee::core::client::ClientT as _;
    let client = jsonrpsee_http_client::HttpClientBuilder::default().build(cometbft_rpc).unwrap();
    let mut params = jsonrpsee::core::params::ObjectParams::new();
    params.insert("tx", base64::engine::general_purpose::STANDARD.encode(tx)).unwrap();
    let r: serde_json::Value = client.request("broadcast_tx_sync", params).await.unwrap();
    (r["code"].as_u64().unwrap(), r["log"].as_str().unwrap_or_default().to_string())
}

/// CometBFT's `abci_query` of the application's `/kv` path, with a proof.
async fn abci_query(cometbft_rpc: &str, data: &[u8]) -> serde_json::Value {
    use jsonrpsee::core::client::ClientT as _;
    let client = jsonrpsee_http_client::HttpClientBuilder::default().build(cometbft_rpc).unwrap();
    let mut params = jsonrpsee::core::params::ObjectParams::new();
    params.insert("path", nexus_abci::QUERY_KV).unwrap();
    params.insert("data", hex::encode(data)).unwrap();
    params.insert("prove", true).unwrap();
    client.request("abci_query", params).await.unwrap()
}

/// A block as CometBFT's RPC shows it.
async fn cometbft_block(cometbft_rpc: &str, height: u64) -> serde_json::Value {
    use jsonrpsee::core::client::ClientT as _;
    let client = jsonrpsee_http_client::HttpClientBuilder::default().build(cometbft_rpc).unwrap();
    let mut params = jsonrpsee::core::params::ObjectParams::new();
    params.insert("height", height.to_string()).unwrap();
    client.request("block", params).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_run_functions_refuse_bad_transactions_and_agree_on_every_app_hash() {
    let mut net = Network::new(4);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 2).await;
    }
    let alice = &dev_accounts()[0];
    let bob = &dev_accounts()[1];

    let deployed = net
        .send_and_wait(
            0,
            signed(alice, 0, 400_000_000, Msg::Deploy { code: example("counter"), input: vec![] }),
        )
        .await;
    assert!(deployed.ok, "deploy failed: {:?}", deployed.error);
    let id = deployed.results[0].function.expect("a deploy names its function");

    let call = Msg::Call { function: id, input: vec![], value: 0 };
    let first = net.send_and_wait(2, signed(bob, 0, 5_000_000, call.clone())).await;
    assert!(first.ok, "call failed: {:?}", first.error);
    assert_eq!(first.results[0].invocations[0].output, b"1");
    let second = net.send_and_wait(3, signed(alice, 1, 5_000_000, call)).await;
    assert_eq!(second.results[0].invocations[0].output, b"2");
    // Read through a node that took part in neither transaction.
    net.wait_height(1, second.height).await;
    let client = net.client(1).await;
    let value =
        client.kv_get(nexus_api::types::H256(id), Bytes(b"count".to_vec()), None, None).await.unwrap();
    assert_eq!(
        value.value.map(|b| b.0),
        Some(2u64.to_le_bytes().to_vec()),
        "validator-1 sees the counter's state"
    );

    // CometBFT's own abci_query reaches the application too (for light clients).
    let query = abci_query(&net.validators[3].cometbft_rpc, &[&id[..], b"count"].concat()).await;
    let response = &query["response"];
    let value = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        response["value"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(value, 2u64.to_le_bytes());
    assert_eq!(response["proofOps"]["ops"][0]["type"], "ics23:jmt", "{query}");

    // Refused at every entry point with a reason, changing nothing.
    let before = net.max_height().await;
    let garbage = Bytes(vec![0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(error_code(client.send_tx(garbage.clone(), None).await.unwrap_err()), code::TX_MALFORMED);
    let oversize = Bytes(vec![7; 600 << 10]);
    assert_eq!(error_code(client.send_tx(oversize, None).await.unwrap_err()), code::TX_MALFORMED);
    // A committed transaction sent again, and a new one reusing its nonce: both replays.
    let resent = signed(bob, 0, 5_000_000, Msg::Call { function: id, input: vec![], value: 0 });
    assert_eq!(error_code(client.send_tx(resent, None).await.unwrap_err()), code::TX_NONCE_TOO_LOW);
    let reused = signed(bob, 0, 6_000_000, Msg::Call { function: id, input: vec![], value: 0 });
    assert_eq!(error_code(client.send_tx(reused, None).await.unwrap_err()), code::TX_NONCE_TOO_LOW);
    // Straight into CometBFT's mempool, past our API: CheckTx refuses it with our code and reason.
    let (code_, log) = broadcast_raw(&net.validators[2].cometbft_rpc, &garbage.0).await;
    assert_eq!(code_, code::TX_MALFORMED as u64, "log: {log}");
    assert!(log.contains("malformed"), "the refusal says why: {log}");

    // Consensus goes on.
    for i in 0..4 {
        net.wait_height(i, before + 3).await;
    }
    let upto = before + 3;
    net.assert_same_app_hashes(&[0, 1, 2, 3], upto).await;
    // Every block after the first starts with the previous height's signed vote extensions,
    // which every validator verified against the set's keys and power before accepting it.
    let block = cometbft_block(&net.validators[1].cometbft_rpc, upto).await;
    let first_tx = block["block"]["data"]["txs"][0].as_str().expect("the block carries the bundle");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, first_tx).unwrap();
    let bundle = Bundle::decode(&bytes).expect("a bundle").unwrap();
    assert_eq!(bundle.height, upto - 1);
    assert!(bundle.votes.len() >= 3, "more than 2/3 of 4 equal validators signed: {}", bundle.votes.len());
    let status = client.status().await.unwrap();
    assert_eq!((status.chain_id, status.dev), (network::CHAIN_ID, false));
}
