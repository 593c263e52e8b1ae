//! A validator double-signs: a second node runs with the same consensus key, so when that key
//! proposes, its two instances prevote for different blocks. CometBFT's evidence of the duplicate
//! vote reaches the application in a block, which slashes the validator, tombstones it and
//! removes it from the set; it can never unjail, and the other three keep agreeing.

mod network;

use network::staking::{TOKEN, fast_params};
use network::{Network, consensus_address};
use nexus_api::NexusApiClient as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_signer_is_slashed_tombstoned_and_removed() {
    let mut net = Network::with_params(4, Some(fast_params()));
    net.start_all();
    net.wait_height(0, 2).await;
    let twin = net.add_node();
    std::fs::copy(
        net.validators[3].home.join("cometbft/config/priv_validator_key.json"),
        net.validators[twin].home.join("cometbft/config/priv_validator_key.json"),
    )
    .unwrap();
    net.start(twin);
    let culprit = consensus_address(&net.validators[3].home);

    let removed_at = net.wait_set(0, "the double-signer removed", |set| !set.contains_key(&culprit)).await;
    let client = net.client(0).await;
    let v = client
        .validators()
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.consensus_address.to_string()[2..].eq_ignore_ascii_case(&culprit))
        .unwrap();
    assert!(v.tombstoned && v.jailed, "{v:?}");
    assert_eq!(v.tokens, 10 * TOKEN * 95 / 100, "5% slashed for double-signing");
    assert_eq!(v.set_power, 0);
    assert_eq!(net.cometbft_validators(0, removed_at).await.len(), 3);
    // The evidence is in a committed block.
    let mut evidence = 0;
    for h in 1..=removed_at {
        let b =
            network::cometbft(&net.validators[0].cometbft_rpc, "block", &[("height", h.to_string())]).await;
        evidence += b["block"]["evidence"]["evidence"].as_array().map_or(0, Vec::len);
    }
    assert!(evidence > 0, "no evidence was committed");

    net.kill_app(twin);
    let (ok, out) = net.cli(0, &net.operator_key(3), &["staking", "unjail"]);
    assert!(!ok && out.contains("tombstoned"), "a tombstoned validator unjailed: {out}");
    net.wait_height(0, removed_at + 3).await;
    net.assert_same_app_hashes(&[0, 1, 2], removed_at + 3).await;
}
