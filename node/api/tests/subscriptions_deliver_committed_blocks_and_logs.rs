//! Over WebSocket: block and log subscriptions deliver what each committed block holds, logs
//! filtered by function; timed blocks come even when no transaction arrives.

mod common;

use std::time::Duration;

use common::{call, deploy, send_and_wait};
use nexus_api::types::H256;
use nexus_api::{Client, DevConfig, DevNode, NexusApiClient as _, dev_accounts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_each_committed_block_and_the_logs_of_their_function() {
    let node = common::ephemeral().await;
    let client = Client::connect(&node.ws_url()).await.unwrap();
    let alice = &dev_accounts()[0];
    let counter = deploy(&client, alice, 0, "counter").await;
    let other = deploy(&client, alice, 1, "counter").await;

    let mut blocks = client.subscribe_blocks().await.unwrap();
    let mut logs = client.subscribe_logs(Some(H256(counter))).await.unwrap();
    let mut all_logs = client.subscribe_logs(None).await.unwrap();

    let _ = send_and_wait(&client, call(alice, 2, other, 3)).await;
    let record = send_and_wait(&client, call(alice, 3, counter, 4)).await;

    let within = Duration::from_secs(10);
    // Blocks arrive in height order; the counter call's block is among them.
    let mut last_height = 0;
    loop {
        let block = tokio::time::timeout(within, blocks.next()).await.expect("a block").unwrap().unwrap();
        assert!(block.height > last_height);
        last_height = block.height;
        if block.txs.contains(&record.hash) {
            assert_eq!(block.height, record.height);
            break;
        }
    }
    // The filtered stream has only the counter's records, and its event.
    let log = tokio::time::timeout(within, logs.next()).await.expect("a log").unwrap().unwrap();
    assert_eq!(log.function, counter);
    let mut seen = vec![log];
    while !seen.iter().any(|l| l.kind == "event") {
        let log = tokio::time::timeout(within, logs.next()).await.expect("the event").unwrap().unwrap();
        assert_eq!(log.function, counter);
        seen.push(log);
    }
    let event = seen.iter().find(|l| l.kind == "event").unwrap();
    assert_eq!(
        (event.topic.as_deref(), event.message.as_str(), event.tx),
        (Some("incremented"), "4", Some(record.hash))
    );
    // The unfiltered stream saw the other function first.
    let first = tokio::time::timeout(within, all_logs.next()).await.expect("a log").unwrap().unwrap();
    assert_eq!(first.function, other);

    blocks.unsubscribe().await.unwrap();
    logs.unsubscribe().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_blocks_are_produced_without_transactions_with_increasing_times() {
    let config = DevConfig { block_time: Some(Duration::from_millis(50)), ..common::config() };
    let node = DevNode::start(config).await.unwrap();
    let client = Client::connect(&node.ws_url()).await.unwrap();
    let mut blocks = client.subscribe_blocks().await.unwrap();
    let mut previous: Option<nexus_api::types::BlockRecord> = None;
    for _ in 0..4 {
        let block = tokio::time::timeout(Duration::from_secs(10), blocks.next())
            .await
            .expect("a block")
            .unwrap()
            .unwrap();
        assert!(block.txs.is_empty());
        if let Some(p) = &previous {
            assert_eq!(block.height, p.height + 1);
            assert!(block.time_ns > p.time_ns);
        }
        previous = Some(block);
    }
    node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_over_http_are_refused_with_advice() {
    let node = common::ephemeral().await;
    let client = Client::connect(&node.http_url()).await.unwrap();
    let err = client.subscribe_blocks().await.unwrap_err().to_string();
    assert!(err.contains("ws://"), "{err}");
    node.shutdown().await.unwrap();
}
