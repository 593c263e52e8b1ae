//! A validator that stops signing (its processes killed) is jailed after the downtime window,
//! slashed a little and removed from CometBFT's set while the other three keep committing; back
//! online it replays, cannot unjail before its jail period ends, then unjails and rejoins the set
//! at the next epoch and signs again.

mod network;

use network::staking::{TOKEN, fast_params};
use network::{Network, consensus_address};
use nexus_api::NexusApiClient as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_validator_is_jailed_and_unjails_after_its_jail_period() {
    let mut net = Network::with_params(4, Some(fast_params()));
    net.start_all();
    net.wait_height(0, 3).await;
    let silent = consensus_address(&net.validators[3].home);
    net.wait_set(0, "all four validators", |set| set.len() == 4).await;

    net.kill_app(3);
    let removed_at = net.wait_set(0, "validator-3 removed", |set| !set.contains_key(&silent)).await;
    let client = net.client(0).await;
    let operator = |vs: &[nexus_api::types::ValidatorInfo]| {
        vs.iter()
            .find(|v| v.consensus_address.to_string()[2..].eq_ignore_ascii_case(&silent))
            .cloned()
            .unwrap()
    };
    let jailed = operator(&client.validators().await.unwrap());
    let until = jailed.jailed_until.expect("jailed for downtime");
    assert!(!jailed.tombstoned);
    assert_eq!(jailed.tokens, 10 * TOKEN * 9_999 / 10_000, "0.01% slashed for downtime");
    assert_eq!(jailed.set_power, 0);
    assert_eq!(net.cometbft_validators(0, removed_at).await.len(), 3);
    // The other three carry on.
    net.wait_height(0, removed_at + 3).await;

    net.start(3);
    let key = net.operator_key(3);
    let h = net.height(0).await.unwrap();
    net.wait_height(3, h).await;
    if net.height(0).await.unwrap() + 3 < until {
        let (ok, out) = net.cli(3, &key, &["staking", "unjail"]);
        assert!(!ok && out.contains("jailed until"), "unjailed early: {out}");
    }
    net.wait_height(0, until).await;
    let (ok, out) = net.cli(3, &key, &["staking", "unjail"]);
    assert!(ok, "unjail failed: {out}");
    let back_at = net.wait_set(0, "validator-3 back in the set", |set| set.get(&silent) == Some(&9)).await;

    // It signs again: its precommit is in a later commit.
    net.wait_signed(0, &silent, back_at).await;
    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2, 3], top.saturating_sub(2)).await;
}
