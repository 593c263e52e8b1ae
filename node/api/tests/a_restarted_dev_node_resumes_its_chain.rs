//! A dev node on a data directory stops and starts again where it was: same blocks, same state,
//! no new genesis, and it goes on producing.

mod common;

use common::{call, deploy, send_and_wait};
use nexus_api::types::{Bytes, H256};
use nexus_api::{Client, DevConfig, DevNode, NexusApiClient as _, dev_accounts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_restarts_at_its_last_block_with_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevConfig { data_dir: Some(dir.path().to_path_buf()), ..common::config() };
    let alice = &dev_accounts()[0];

    let node = DevNode::start(config.clone()).await.unwrap();
    assert_eq!(node.resumed_at(), 0);
    let client = Client::connect(&node.http_url()).await.unwrap();
    let id = deploy(&client, alice, 0, "counter").await;
    let record = send_and_wait(&client, call(alice, 1, id, 7)).await;
    let height = client.status().await.unwrap().height;
    let mut blocks = Vec::new();
    for h in 1..=height {
        blocks.push(client.get_block(Some(h)).await.unwrap());
    }
    // An open client connection keeps the server's hold on the database; a restarted node
    // must find it released.
    drop(client);
    node.shutdown().await.unwrap();

    let node = DevNode::start(config).await.unwrap();
    assert_eq!(node.resumed_at(), height);
    let client = Client::connect(&node.http_url()).await.unwrap();
    for b in &blocks {
        assert_eq!(&client.get_block(Some(b.height)).await.unwrap(), b);
    }
    assert_eq!(client.get_tx(H256(record.hash)).await.unwrap().result, Some(record));
    let q = client.query(H256(id), Bytes::default()).await.unwrap();
    assert_eq!(q.output.0, b"7");
    // No second genesis: the dev account's nonce carried over, and the chain goes on.
    let next = send_and_wait(&client, call(alice, 2, id, 1)).await;
    assert!(next.ok, "{:?}", next.error);
    assert_eq!(next.height, height + 1);
    node.shutdown().await.unwrap();
}
