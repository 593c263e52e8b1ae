//! A fifth node joins a four-validator network as a full node; its operator creates a validator
//! with the node's consensus key and it enters CometBFT's set at the next epoch and signs. The
//! operator unbonds: the validator leaves at the next epoch, and the tokens come back only once
//! both the unbonding blocks and the unbonding time have passed.

mod network;

use std::time::Duration;

use network::staking::{TOKEN, fast_params};
use network::{Network, consensus_address};
use nexus_api::types::Address;
use nexus_api::{NexusApiClient as _, dev_accounts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bonded_validator_joins_at_the_epoch_and_unbonding_waits_out_the_period() {
    let mut net = Network::with_params(4, Some(fast_params()));
    net.start_all();
    net.wait_height(0, 2).await;
    let node = net.add_node();
    net.start(node);
    let joiner = consensus_address(&net.validators[node].home);
    let operator = &dev_accounts()[5];
    let key = format!("0x{}", hex::encode(operator.key.to_bytes()));
    let home = net.validators[node].home.display().to_string();

    let amount = (10 * TOKEN).to_string();
    let (ok, out) =
        net.cli(node, &key, &["staking", "create-validator", "--home", &home, "--amount", &amount]);
    assert!(ok, "create-validator failed: {out}");
    let joined_at =
        net.wait_set(0, "the new validator in the set", |set| set.get(&joiner) == Some(&10)).await;
    assert_eq!(net.cometbft_validators(0, joined_at).await.len(), 5);
    net.wait_signed(0, &joiner, joined_at).await;

    let client = net.client(0).await;
    let before = client.get_account(Address(operator.address)).await.unwrap().balance;
    let validator = format!("0x{}", hex::encode(operator.address));
    let (ok, out) = net.cli(node, &key, &["staking", "undelegate", &validator, &amount, "--json"]);
    assert!(ok, "undelegate failed: {out}");
    let json = &out[out.find('{').unwrap()..=out.rfind('}').unwrap()];
    let record: serde_json::Value = serde_json::from_str(json).unwrap();
    let unbonded_at = record["height"].as_u64().unwrap();
    // The result came from the new node; the one queried below may be a block behind.
    net.wait_height(0, unbonded_at).await;
    let unbonded_time = client.get_block(Some(unbonded_at)).await.unwrap().time_ns;
    let after_fee = client.get_account(Address(operator.address)).await.unwrap().balance;
    // Undelegating pays out the rewards earned so far (a fraction of a token), not the stake.
    assert!(after_fee < before + TOKEN, "the stake came back at once");
    net.wait_set(0, "the unbonded validator gone", |set| !set.contains_key(&joiner)).await;

    // Poll until the tokens come back. The height is read before the balance, so the release
    // happened at most one height after it; it is due at the first height at least 30 after the
    // undelegation whose block time is at least 20 s later.
    let deadline = std::time::Instant::now() + network::PATIENCE;
    loop {
        let height = client.status().await.unwrap().height;
        let balance = client.get_account(Address(operator.address)).await.unwrap().balance;
        if balance > after_fee {
            assert_eq!(balance, after_fee + 10 * TOKEN, "released a different amount");
            let mut due = None;
            for h in unbonded_at + 30..=height + 1 {
                if client.get_block(Some(h)).await.unwrap().time_ns >= unbonded_time + 20_000_000_000 {
                    due = Some(h);
                    break;
                }
            }
            let due = due.unwrap_or_else(|| panic!("released by height {} before the period", height + 1));
            assert!(height + 1 >= due, "released by height {} but due at {due}", height + 1);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the unbonded tokens never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let top = net.max_height().await;
    net.assert_same_app_hashes(&[0, 1, 2, 3, node], top.saturating_sub(2)).await;
}
