//! Staking drives the validator set: bonding joins at the next epoch, unbonding leaves and pays
//! out only after the unbonding period, a double-sign slashes, tombstones and removes at once,
//! downtime jails until the operator unjails, and rewards accrue lazily to delegators.

mod common;

use common::{CHAIN_ID, Chain, FUNDS, key};
use ed25519_consensus::SigningKey as ConsensusKey;
use nexus_consensus::app::staking::key_ownership_message;
use nexus_consensus::app::tx::{Msg, address_of};
use nexus_consensus::app::votes::{ValidatorKey, address_of as consensus_address};
use nexus_consensus::app::{
    BlockInput, BlockOutcome, CommitVote, GenesisValidator, Misbehavior, StakingParams,
};

/// One unit of voting power.
const POWER: u128 = 1_000_000_000_000_000;

fn consensus_key(i: u8) -> ConsensusKey {
    ConsensusKey::from([i; 32])
}

fn pub_key(i: u8) -> [u8; 32] {
    consensus_key(i).verification_key().to_bytes()
}

/// Validators 1 and 2 (operated by accounts 1 and 2) at power 10; accounts 1-4 funded.
fn chain(genesis_validators: &[u8]) -> Chain {
    let mut g = common::genesis(&[&key(1), &key(2), &key(3), &key(4)]);
    g.params.staking = StakingParams {
        epoch_blocks: 4,
        power_reduction: POWER,
        min_self_bond: POWER,
        unbonding_blocks: 10,
        unbonding_seconds: 12,
        downtime_window: 4,
        min_signed_per_window: 2,
        downtime_jail_blocks: 5,
        slash_downtime_bps: 100,
        slash_double_sign_bps: 500,
        block_reward: 1_000_000,
        ..StakingParams::default()
    };
    g.validators = genesis_validators
        .iter()
        .map(|i| GenesisValidator { pub_key: pub_key(*i), power: 10, operator: Some(address_of(&key(*i))) })
        .collect();
    Chain::with_genesis(&g)
}

/// The next block, with every member of the previous height's set signing except `absent`.
fn block(chain: &mut Chain, txs: Vec<Vec<u8>>, absent: &[u8], misbehavior: Vec<Misbehavior>) -> BlockOutcome {
    let absent: Vec<[u8; 20]> = absent.iter().map(|i| consensus_address(&pub_key(*i))).collect();
    let last_commit = if chain.height == 0 {
        Vec::new()
    } else {
        chain
            .app
            .validator_set_at(chain.height)
            .values()
            .map(|k| CommitVote {
                validator: k.address(),
                power: k.power,
                signed: !absent.contains(&k.address()),
            })
            .collect()
    };
    chain.block_with(BlockInput { txs, last_commit, misbehavior, ..BlockInput::default() })
}

/// Runs blocks (everyone signing) until the next one is an epoch end.
fn to_epoch_end(chain: &mut Chain) {
    while !(chain.height + 1).is_multiple_of(4) {
        block(chain, Vec::new(), &[], Vec::new());
    }
}

fn create_validator(i: u8, operator: u8, amount: u128) -> Msg {
    let signature = consensus_key(i).sign(&key_ownership_message(CHAIN_ID, &address_of(&key(operator))));
    Msg::CreateValidator {
        consensus_key: pub_key(i),
        key_signature: signature.to_bytes(),
        commission_bps: 1_000,
        amount,
    }
}

fn in_set(chain: &Chain, height: u64, i: u8) -> Option<u64> {
    chain.app.validator_set_at(height).get(&consensus_address(&pub_key(i))).map(|k| k.power)
}

fn balance(chain: &Chain, i: u8) -> u128 {
    chain.app.account(&address_of(&key(i))).balance
}

#[test]
fn a_new_validator_joins_at_the_next_epoch_and_its_unbonded_stake_waits_out_the_period() {
    let mut c = chain(&[1, 2]);
    block(&mut c, Vec::new(), &[], Vec::new());

    // A key signed for another operator proves nothing.
    let stolen = c.run(&key(4), vec![create_validator(3, 3, 5 * POWER)]);
    assert!(stolen.error.unwrap().contains("does not prove ownership"));
    let below = c.run(&key(3), vec![create_validator(3, 3, POWER / 2)]);
    assert!(below.error.unwrap().contains("below the minimum"));

    to_epoch_end(&mut c);
    block(&mut c, Vec::new(), &[], Vec::new());
    let before = balance(&c, 3);
    let tx = c.sign(&key(3), vec![create_validator(3, 3, 5 * POWER)]).encode();
    let out = block(&mut c, vec![tx], &[], Vec::new());
    assert!(out.txs[0].ok, "{:?}", out.txs[0].error);
    assert_eq!(balance(&c, 3), before - 5 * POWER - u128::from(out.txs[0].gas_used));
    assert!(out.validator_updates.is_empty(), "bonding waits for the epoch end");
    let again = c.run(&key(4), vec![create_validator(3, 4, 5 * POWER)]);
    assert!(again.error.unwrap().contains("already registered"));

    to_epoch_end(&mut c);
    let epoch = block(&mut c, Vec::new(), &[], Vec::new());
    assert_eq!(epoch.validator_updates, vec![ValidatorKey { pub_key: pub_key(3), power: 5 }]);
    let h = c.height;
    assert_eq!(in_set(&c, h + 1, 3), None, "CometBFT applies updates two heights later");
    assert_eq!(in_set(&c, h + 2, 3), Some(5));

    // A delegator's stake raises the power at the following epoch and earns rewards lazily.
    c.ok(&key(4), vec![Msg::Delegate { validator: address_of(&key(3)), amount: 5 * POWER }]);
    to_epoch_end(&mut c);
    let epoch = block(&mut c, Vec::new(), &[], Vec::new());
    assert_eq!(epoch.validator_updates, vec![ValidatorKey { pub_key: pub_key(3), power: 10 }]);
    for _ in 0..3 {
        block(&mut c, Vec::new(), &[], Vec::new());
    }
    let (stake, rewards) = c.app.delegation(&address_of(&key(3)), &address_of(&key(4))).unwrap();
    assert_eq!(stake, 5 * POWER);
    assert!(rewards > 0, "the delegator earned nothing");
    let before = balance(&c, 4);
    let r = c.ok(&key(4), vec![Msg::WithdrawRewards { validator: address_of(&key(3)) }]);
    assert_eq!(balance(&c, 4), before + rewards - u128::from(r.gas_used));
    assert!(c.app.validator(&address_of(&key(3))).unwrap().commission > 0, "no commission accrued");

    // The operator unbonds its whole self-bond: out at the next epoch, paid only after the period.
    let before = balance(&c, 3);
    let r = c.ok(&key(3), vec![Msg::Undelegate { validator: address_of(&key(3)), amount: 5 * POWER }]);
    let unbonded_at = c.height;
    let after_fee = before - u128::from(r.gas_used);
    let rewards_paid = balance(&c, 3) - after_fee;
    to_epoch_end(&mut c);
    let epoch = block(&mut c, Vec::new(), &[], Vec::new());
    assert_eq!(epoch.validator_updates, vec![ValidatorKey { pub_key: pub_key(3), power: 0 }]);
    while c.height < unbonded_at + 9 {
        block(&mut c, Vec::new(), &[], Vec::new());
    }
    assert_eq!(balance(&c, 3), after_fee + rewards_paid, "released before the unbonding period");
    // Ten blocks are done at the next height, but twelve seconds of block time only two later.
    block(&mut c, Vec::new(), &[], Vec::new());
    block(&mut c, Vec::new(), &[], Vec::new());
    assert_eq!(balance(&c, 3), after_fee + rewards_paid, "released before the unbonding time");
    block(&mut c, Vec::new(), &[], Vec::new());
    assert_eq!(balance(&c, 3), after_fee + rewards_paid + 5 * POWER);
}

#[test]
fn a_double_sign_slashes_the_stake_and_unbonding_tombstones_and_removes_at_once() {
    let mut c = chain(&[1, 2, 3]);
    c.ok(&key(4), vec![Msg::Delegate { validator: address_of(&key(3)), amount: 4 * POWER }]);
    let infraction = c.height;
    c.ok(&key(4), vec![Msg::Undelegate { validator: address_of(&key(3)), amount: 2 * POWER }]);
    let unbonded_at = c.height;
    let before = balance(&c, 4);

    let evidence = Misbehavior { validator: consensus_address(&pub_key(3)), height: infraction };
    let out = block(&mut c, Vec::new(), &[], vec![evidence]);
    assert_eq!(out.validator_updates, vec![ValidatorKey { pub_key: pub_key(3), power: 0 }]);
    let v = c.app.validator(&address_of(&key(3))).unwrap();
    assert!(v.tombstoned && v.jailed);
    assert_eq!(v.tokens, (12 * POWER) * 95 / 100, "5% of the bonded stake is burned");
    assert_eq!(in_set(&c, c.height + 2, 3), None);

    // The same evidence again changes nothing more; a tombstoned validator never unjails.
    let again = block(&mut c, Vec::new(), &[], vec![evidence]);
    assert!(again.validator_updates.is_empty());
    assert_eq!(c.app.validator(&address_of(&key(3))).unwrap().tokens, v.tokens);
    let unjail = c.run(&key(3), vec![Msg::Unjail]);
    assert!(unjail.error.unwrap().contains("tombstoned"));
    let delegate = c.run(&key(1), vec![Msg::Delegate { validator: address_of(&key(3)), amount: POWER }]);
    assert!(delegate.error.unwrap().contains("tombstoned"));

    // The stake that was unbonding when the evidence landed is slashed too.
    while c.height < unbonded_at + 12 {
        block(&mut c, Vec::new(), &[], Vec::new());
    }
    assert_eq!(balance(&c, 4), before + 2 * POWER * 95 / 100);
}

#[test]
fn a_validator_that_stops_signing_is_jailed_and_unjails_after_its_jail_period() {
    let mut c = chain(&[1, 2, 3]);
    block(&mut c, Vec::new(), &[], Vec::new());
    // Two misses in a window of four are tolerated; the third jails.
    block(&mut c, Vec::new(), &[3], Vec::new());
    let out = block(&mut c, Vec::new(), &[3], Vec::new());
    assert!(out.validator_updates.is_empty());
    let out = block(&mut c, Vec::new(), &[3], Vec::new());
    assert_eq!(out.validator_updates, vec![ValidatorKey { pub_key: pub_key(3), power: 0 }]);
    let jailed_at = c.height;
    let v = c.app.validator(&address_of(&key(3))).unwrap();
    assert!(v.jailed && !v.tombstoned);
    assert_eq!(v.tokens, 10 * POWER * 99 / 100, "1% is slashed for downtime");
    assert_eq!(v.jailed_until, jailed_at + 5);

    // Still listed as absent until it leaves the set: no double punishment.
    let out = block(&mut c, Vec::new(), &[3], Vec::new());
    assert!(out.validator_updates.is_empty());
    let early = c.run(&key(3), vec![Msg::Unjail]);
    assert!(early.error.unwrap().contains("jailed until"), "unjailed early");
    let other = c.run(&key(1), vec![Msg::Unjail]);
    assert!(other.error.unwrap().contains("not jailed"));

    while c.height + 1 < jailed_at + 5 {
        block(&mut c, Vec::new(), &[], Vec::new());
    }
    c.ok(&key(3), vec![Msg::Unjail]);
    assert!(!c.app.validator(&address_of(&key(3))).unwrap().jailed);
    to_epoch_end(&mut c);
    let epoch = block(&mut c, Vec::new(), &[], Vec::new());
    assert_eq!(epoch.validator_updates, vec![ValidatorKey { pub_key: pub_key(3), power: 9 }]);
}

#[test]
fn the_last_validators_are_never_all_removed() {
    let mut c = chain(&[1]);
    block(&mut c, Vec::new(), &[], Vec::new());
    for _ in 0..4 {
        let out = block(&mut c, Vec::new(), &[1], Vec::new());
        assert!(out.validator_updates.is_empty(), "an empty set halts CometBFT");
    }
    assert!(c.app.validator(&address_of(&key(1))).unwrap().jailed);
    assert_eq!(in_set(&c, c.height + 2, 1), Some(10));
    assert_eq!(balance(&c, 1), FUNDS);
}
