//! A validator whose process dies after executing a block (FinalizeBlock) but before persisting
//! it (Commit) — the test-only fault point `NEXUS_FAULT=crash-after-finalize:H` aborts it there —
//! restarts, gets the block replayed by CometBFT's handshake, and agrees with the network on the
//! app hash of every height, that one included.

mod network;

use std::time::Duration;

use network::Network;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_aborted_between_finalize_and_commit_replays_the_block_and_agrees() {
    let mut net = Network::new(4);
    let fault_height = 5;
    for i in 0..3 {
        net.start(i);
    }
    net.start_with_env(3, &[("NEXUS_FAULT", &format!("crash-after-finalize:{fault_height}"))]);
    let status = net.wait_exit(3, network::PATIENCE).expect("the fault point aborts the validator");
    assert!(!status.success());
    let log = std::fs::read_to_string(net.validators[3].home.join("node.log")).unwrap();
    assert!(log.contains(&format!("aborting after FinalizeBlock {fault_height}")), "log: {log}");
    // It stopped before committing the block.
    assert!(net.height(3).await.is_none());

    net.start(3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let target = net.max_height().await.max(fault_height + 2);
    net.wait_height(3, target).await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], target).await;
}
