//! Crash safety of `nexus dev`: a real node process is killed with SIGKILL in the middle of a
//! stream of transactions and restarted on the same data directory. Every transaction it had
//! reported committed is still there with the same result, every block (and so the app hash at
//! each height) is unchanged, and the node goes on.

mod common;

use std::process::Child;
use std::sync::Arc;
use std::time::Duration;

use nexus_api::types::{BlockRecord, Bytes, H256, TxRecord, TxState};
use nexus_api::{Client, DevAccount, NexusApiClient as _, dev_accounts};
use nexus_consensus::app::tx::{Msg, Tx};
use tokio::sync::Mutex;

fn signed(account: &DevAccount, nonce: u64, gas_limit: u64, msg: Msg) -> Bytes {
    let tx = Tx { chain_id: 31_337, nonce, expires_at: 0, gas_limit, gas_price: 1, msgs: vec![msg] };
    Bytes(tx.sign(&account.key).encode())
}

fn start(dir: &std::path::Path) -> (Child, String) {
    common::start_dev(dir, &["--no-eth"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transaction_reported_committed_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = dev_accounts();
    let (mut child, url) = start(dir.path());
    let client = Arc::new(Client::connect(&url).await.unwrap());

    let deployer = &accounts[0];
    let deploy = signed(
        deployer,
        0,
        400_000_000,
        Msg::Deploy { code: common::example_bytes("counter"), input: vec![] },
    );
    let deployed = client.send_tx(deploy, Some(true)).await.unwrap().result.unwrap();
    assert!(deployed.ok, "{:?}", deployed.error);
    let id = deployed.results[0].function.unwrap();

    // Four senders, each a sequence of calls waiting for their commit, recording what the node
    // reported committed; the node is killed while they run.
    let committed: Arc<Mutex<Vec<TxRecord>>> = Arc::default();
    let mut senders = Vec::new();
    for account in &accounts[1..5] {
        let account = account.clone();
        let (client, committed) = (client.clone(), committed.clone());
        senders.push(tokio::spawn(async move {
            for nonce in 0.. {
                let tx = signed(
                    &account,
                    nonce,
                    5_000_000,
                    Msg::Call { function: id, input: b"1".to_vec(), value: 0 },
                );
                match client.send_tx(tx, Some(true)).await {
                    Ok(sent) => committed.lock().await.push(sent.result.expect("waited")),
                    Err(_) => break, // the node is gone
                }
            }
        }));
    }
    // Let the stream run until a good number of transactions are committed (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while committed.lock().await.len() < 200 {
        assert!(tokio::time::Instant::now() < deadline, "the node committed too few transactions in 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let height = client.status().await.unwrap().height;
    let mut blocks: Vec<BlockRecord> = Vec::new();
    for h in 1..=height {
        blocks.push(client.get_block(Some(h)).await.unwrap());
    }
    // Still streaming: kill it hard.
    child.kill().unwrap();
    child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let committed = std::mem::take(&mut *committed.lock().await);
    assert!(committed.len() >= 200);

    let (mut child, url) = start(dir.path());
    let client = Client::connect(&url).await.unwrap();
    for b in &blocks {
        assert_eq!(&client.get_block(Some(b.height)).await.unwrap(), b, "block {} changed", b.height);
    }
    for record in &committed {
        let got = client.get_tx(H256(record.hash)).await.unwrap();
        assert_eq!(got.status, TxState::Committed, "transaction {} was lost", H256(record.hash));
        assert_eq!(got.result.as_ref(), Some(record));
    }
    // Every committed increment is counted (and possibly more that committed after the reads).
    let q = client.query(H256(id), Bytes::default()).await.unwrap();
    let count: usize = String::from_utf8(q.output.0).unwrap().parse().unwrap();
    assert!(count >= committed.len(), "count {count} < {} committed increments", committed.len());

    // The node goes on: the next transaction of a sender commits on top.
    let sender = &accounts[1];
    let nonce = client.get_account(sender.address.into()).await.unwrap().pending_nonce;
    let tx = signed(sender, nonce, 5_000_000, Msg::Call { function: id, input: b"1".to_vec(), value: 0 });
    let next = client.send_tx(tx, Some(true)).await.unwrap().result.unwrap();
    assert!(next.ok, "{:?}", next.error);
    assert!(next.height > blocks.last().unwrap().height);

    child.kill().unwrap();
    child.wait().unwrap();
}
