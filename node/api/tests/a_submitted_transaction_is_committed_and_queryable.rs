//! Through the real JSON-RPC client over HTTP: a deployed counter is called, and its result,
//! state (with a verified proof), logs, account nonces and blocks are read back; refused
//! transactions get their stable error codes and change nothing.

mod common;

use common::{call, deploy, send_and_wait, signed};
use jsonrpsee::core::client::Error as RpcError;
use nexus_api::types::{Address, Bytes, H256, TxState};
use nexus_api::{Client, NexusApiClient as _, code, dev_accounts};
use nexus_consensus::app::function_kv_key;
use nexus_consensus::app::tx::{Msg, Tx};

fn error_code(e: RpcError) -> i32 {
    match e {
        RpcError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_call_is_committed_and_its_result_state_and_logs_are_queryable() {
    let node = common::ephemeral().await;
    let client = Client::connect(&node.http_url()).await.unwrap();
    let alice = &dev_accounts()[0];

    let status = client.status().await.unwrap();
    assert_eq!((status.chain_id, status.chain_name.as_str(), status.dev), (31_337, "nexus-dev", true));

    let id = deploy(&client, alice, 0, "counter").await;
    let function = client.get_function(H256(id)).await.unwrap();
    assert_eq!(function.owner, Address(alice.address));
    assert_eq!(function.code_size, common::example("counter").len() as u64);

    let tx = call(alice, 1, id, 5);
    let record = send_and_wait(&client, tx.clone()).await;
    assert!(record.ok, "{:?}", record.error);
    assert_eq!(record.results[0].invocations[0].output, b"5");

    // The result is queryable by hash, with the same record.
    let status_of_tx = client.get_tx(H256(record.hash)).await.unwrap();
    assert_eq!(status_of_tx.status, TxState::Committed);
    assert_eq!(status_of_tx.result.as_ref(), Some(&record));

    // Read-only query and the key-value entry with a proof against the block's app hash.
    let q = client.query(H256(id), Bytes::default()).await.unwrap();
    assert!(q.ok, "{:?}", q.error);
    assert_eq!(q.output.0, b"5");
    let kv = client.kv_get(H256(id), Bytes(b"count".to_vec()), Some(true), None).await.unwrap();
    assert_eq!(kv.value.as_ref().map(|v| v.0.clone()), Some(5u64.to_le_bytes().to_vec()));
    let block = client.get_block(Some(kv.height)).await.unwrap();
    assert_eq!(block.app_hash, kv.app_hash.0);
    let proof: ics23::CommitmentProof =
        prost::Message::decode(kv.proof.expect("asked for a proof").0.as_slice()).unwrap();
    let key = function_kv_key(&id, b"count");
    assert!(nexus_consensus::verify_proof(&kv.app_hash.0, &key, Some(&5u64.to_le_bytes()), &proof));
    assert!(!nexus_consensus::verify_proof(&kv.app_hash.0, &key, Some(&6u64.to_le_bytes()), &proof));

    // The event is in the function's logs; the block lists the transaction.
    let logs = client.logs(H256(id), None, None).await.unwrap();
    assert!(
        logs.iter()
            .any(|l| l.kind == "event" && l.topic.as_deref() == Some("incremented") && l.message == "5")
    );
    let tx_block = client.get_block(Some(record.height)).await.unwrap();
    assert!(tx_block.txs.contains(&record.hash));

    let account = client.get_account(Address(alice.address)).await.unwrap();
    assert_eq!((account.nonce, account.pending_nonce), (2, 2));
    assert!(account.balance < nexus_api::DEV_BALANCE);

    // Refusals: each with its code, and no state change.
    let before = client.status().await.unwrap();
    assert_eq!(error_code(client.send_tx(tx, Some(true)).await.unwrap_err()), code::TX_NONCE_TOO_LOW);
    assert_eq!(
        error_code(client.send_tx(call(alice, 7, id, 1), None).await.unwrap_err()),
        code::TX_NONCE_TOO_HIGH
    );
    let other_chain =
        Tx { chain_id: 1, nonce: 2, expires_at: 0, gas_limit: common::CALL_GAS, gas_price: 1, msgs: vec![] };
    let other_chain = Bytes(
        Tx { msgs: vec![Msg::Call { function: id, input: b"1".to_vec(), value: 0 }], ..other_chain }
            .sign(&alice.key)
            .encode(),
    );
    assert_eq!(error_code(client.send_tx(other_chain, None).await.unwrap_err()), code::TX_WRONG_CHAIN);
    assert_eq!(error_code(client.send_tx(Bytes(vec![1, 2, 3]), None).await.unwrap_err()), code::TX_MALFORMED);
    let too_much_gas =
        signed(alice, 2, u64::MAX / 2, vec![Msg::Call { function: id, input: vec![], value: 0 }]);
    assert_eq!(
        error_code(client.send_tx(too_much_gas, None).await.unwrap_err()),
        code::TX_GAS_LIMIT_ABOVE_BLOCK
    );
    assert_eq!(error_code(client.get_function(H256([7; 32])).await.unwrap_err()), code::NOT_FOUND);
    assert_eq!(error_code(client.get_block(Some(before.height + 1000)).await.unwrap_err()), code::NOT_FOUND);
    let unknown = client.get_tx(H256([9; 32])).await.unwrap();
    assert_eq!(unknown.status, TxState::Unknown);
    let after = client.status().await.unwrap();
    assert_eq!((after.height, after.app_hash, after.mempool_size), (before.height, before.app_hash, 0));
    assert_eq!(client.get_account(Address(alice.address)).await.unwrap().pending_nonce, 2);

    node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_sent_without_waiting_are_all_committed_in_nonce_order() {
    let node = common::ephemeral().await;
    let client = Client::connect(&node.ws_url()).await.unwrap();
    let alice = &dev_accounts()[1];
    let id = deploy(&client, alice, 0, "counter").await;
    let start = client.status().await.unwrap().height;

    const N: u64 = 300;
    let mut hashes = Vec::new();
    for nonce in 1..=N {
        hashes.push(client.send_tx(call(alice, nonce, id, 1), None).await.unwrap().hash);
    }
    // Waiting on the last one: nonces execute in order, so all are in by then.
    let last = client.send_tx(call(alice, N + 1, id, 1), Some(true)).await.unwrap().result.unwrap();
    assert!(last.ok, "{:?}", last.error);
    let mut previous = (start, 0);
    for h in &hashes {
        let got = client.get_tx(*h).await.unwrap();
        assert_eq!(got.status, TxState::Committed);
        let record = got.result.unwrap();
        assert!(record.ok, "{:?}", record.error);
        assert!((record.height, record.index) > previous, "executed out of order");
        previous = (record.height, record.index);
    }
    let q = client.query(H256(id), Bytes::default()).await.unwrap();
    assert_eq!(String::from_utf8(q.output.0).unwrap(), (N + 1).to_string());
    node.shutdown().await.unwrap();
}
