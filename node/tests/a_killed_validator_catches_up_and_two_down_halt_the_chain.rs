//! Crash recovery on a real 4-validator network: a validator killed with SIGKILL (its
//! application, or its cometbft) leaves the other three committing; restarted, it replays what it
//! missed and agrees on every app hash. With two of four down the chain halts without forking, and
//! it resumes when one comes back.

mod network;

use std::time::Duration;

use network::{Network, example, signed};
use nexus_api::dev_accounts;
use nexus_consensus::app::tx::Msg;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_validators_replay_catch_up_and_agree_and_two_down_halt_without_forking() {
    let mut net = Network::new(4);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 2).await;
    }
    let alice = &dev_accounts()[0];
    let deployed = net
        .send_and_wait(
            0,
            signed(alice, 0, 400_000_000, Msg::Deploy { code: example("counter"), input: vec![] }),
        )
        .await;
    let id = deployed.results[0].function.unwrap();
    let call = |nonce| signed(alice, nonce, 5_000_000, Msg::Call { function: id, input: vec![], value: 0 });

    // One application killed: its cometbft follows it down, even one frozen so that it cannot
    // notice (the kernel kills it); the other three go on.
    net.freeze_cometbft(3);
    net.kill_app(3);
    let h = net.max_height().await;
    let r = net.send_and_wait(1, call(1)).await;
    assert!(r.ok);
    for i in 0..3 {
        net.wait_height(i, h + 3).await;
    }
    net.start(3);
    let target = net.max_height().await;
    net.wait_height(3, target).await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], target).await;

    // One cometbft killed: its supervisor stops with a failure status (so a service manager
    // restarts both); restarted, it catches up.
    let status = net.kill_cometbft(2);
    assert!(!status.success(), "a validator whose cometbft died must exit non-zero, got {status}");
    let r = net.send_and_wait(0, call(2)).await;
    assert_eq!(r.results[0].invocations[0].output, b"2");
    net.start(2);
    let target = net.max_height().await;
    net.wait_height(2, target).await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], target).await;

    // Two of four down: less than 2/3 of the power remains, so nothing commits.
    net.kill_app(0);
    net.kill_app(1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let halted = net.max_height().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(net.max_height().await, halted, "the chain must halt with half of its power down");
    // One comes back: 3 of 4 again, blocks resume.
    net.start(0);
    for i in [0, 2, 3] {
        net.wait_height(i, halted + 2).await;
    }
    net.assert_same_app_hashes(&[0, 2, 3], halted + 2).await;
}
