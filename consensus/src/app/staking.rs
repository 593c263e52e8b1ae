//! Staking: validators, delegations, unbonding, slashing, jailing and lazily withdrawn rewards,
//! and the validator set they decide.
//!
//! Stake is held in tokens per validator and owned through shares, so a slash lowers every
//! delegator's stake at once without touching their records. Rewards follow the F1 idea: each
//! validator keeps a cumulative reward per share, a delegation remembers the value it last
//! withdrew at, and what it is owed is the difference times its shares, so distributing a block's
//! rewards never loops over delegators. Bonding changes reach CometBFT at epoch ends; a jailed or
//! tombstoned validator leaves the set at the end of the block that punished it.

use std::collections::BTreeMap;
use std::ops::Bound;

use alloy_primitives::U256;
use borsh::{BorshDeserialize, BorshSerialize};
use nexus_types::Address;
use serde::{Deserialize, Serialize};

use super::execute::{Failure, fail};
use super::records::{Params, hex_bytes};
use super::votes::{ValidatorAddress, ValidatorKey, address_of};
use super::{App, hex0x, state_keys};
use crate::store::Backend;

/// Rewards per share are kept scaled by this, so one token spread over many shares still counts.
const REWARD_SCALE: u128 = 1_000_000_000_000_000_000;

/// Basis points in a whole.
const BPS: u128 = 10_000;

/// Staking parameters, fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StakingParams {
    /// Bonding, unbonding, delegation and unjailing change the validator set only at heights
    /// divisible by this.
    pub epoch_blocks: u64,
    /// Most validators in the active set (highest power first, then lowest operator address).
    pub max_validators: u32,
    /// Tokens per unit of CometBFT voting power.
    #[serde(with = "super::records::decimal")]
    pub power_reduction: u128,
    /// Least stake an operator must keep delegated to its own validator to be in the set.
    #[serde(with = "super::records::decimal")]
    pub min_self_bond: u128,
    /// Blocks before unbonded tokens are released; with `unbonding_seconds`, longer than
    /// CometBFT's evidence max age, so a double-sign is slashable until the stake is gone.
    pub unbonding_blocks: u64,
    /// Seconds (of block time) before unbonded tokens are released; both must have passed.
    pub unbonding_seconds: u64,
    /// Blocks over which a validator's missed precommits are counted.
    pub downtime_window: u64,
    /// Least precommits a validator must have signed in each window.
    pub min_signed_per_window: u64,
    /// Blocks a validator jailed for downtime waits before it may unjail.
    pub downtime_jail_blocks: u64,
    /// Share of stake slashed for downtime, in basis points.
    pub slash_downtime_bps: u32,
    /// Share of stake slashed for a double-sign, in basis points; the validator is also
    /// tombstoned (jailed for good).
    pub slash_double_sign_bps: u32,
    /// Tokens minted each block and shared, with the block's fees, among the validators that
    /// signed the previous block.
    #[serde(with = "super::records::decimal")]
    pub block_reward: u128,
}

impl Default for StakingParams {
    fn default() -> Self {
        Self {
            epoch_blocks: 100,
            max_validators: 100,
            power_reduction: 1_000_000_000_000_000_000,
            min_self_bond: 1_000_000_000_000_000_000,
            // CometBFT's default evidence max age is 100,000 blocks and 48 hours.
            unbonding_blocks: 200_000,
            unbonding_seconds: 72 * 3600,
            downtime_window: 100,
            min_signed_per_window: 50,
            downtime_jail_blocks: 600,
            slash_downtime_bps: 1,
            slash_double_sign_bps: 500,
            block_reward: 100_000_000_000_000_000,
        }
    }
}

impl StakingParams {
    /// Checks the parameters make sense on their own.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (self.epoch_blocks == 0, "epoch_blocks must be at least 1"),
            (self.max_validators == 0, "max_validators must be at least 1"),
            (self.power_reduction == 0, "power_reduction must be at least 1"),
            (self.unbonding_blocks == 0, "unbonding_blocks must be at least 1"),
            (self.downtime_window == 0, "downtime_window must be at least 1"),
            (
                self.min_signed_per_window > self.downtime_window,
                "min_signed_per_window exceeds downtime_window",
            ),
            (u128::from(self.slash_downtime_bps) > BPS, "slash_downtime_bps exceeds 10000"),
            (u128::from(self.slash_double_sign_bps) > BPS, "slash_double_sign_bps exceeds 10000"),
        ];
        match checks.into_iter().find(|(bad, _)| *bad) {
            Some((_, why)) => Err(why.into()),
            None => Ok(()),
        }
    }

    /// Checks the unbonding period outlasts CometBFT's evidence max age (evidence expires only
    /// when both its block count and its duration have passed).
    pub fn check_evidence_age(&self, max_age_blocks: u64, max_age_ns: u64) -> Result<(), String> {
        let unbonding_ns = self.unbonding_seconds.saturating_mul(1_000_000_000);
        if self.unbonding_blocks <= max_age_blocks || unbonding_ns <= max_age_ns {
            return Err(format!(
                "the unbonding period ({} blocks, {} s) must be longer than CometBFT's evidence max \
                 age ({max_age_blocks} blocks, {} s), or a double-signer could leave before its \
                 evidence lands",
                self.unbonding_blocks,
                self.unbonding_seconds,
                max_age_ns / 1_000_000_000
            ));
        }
        Ok(())
    }
}

/// A registered validator.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Validator {
    /// The account that created it and may unjail it.
    #[serde(with = "hex_bytes")]
    pub operator: Address,
    /// Its ed25519 consensus key.
    #[serde(with = "hex_bytes")]
    pub consensus_key: [u8; 32],
    /// Share of its rewards the operator keeps, in basis points.
    pub commission_bps: u16,
    /// Tokens bonded to it, by all delegators together.
    #[serde(with = "super::records::decimal")]
    pub tokens: u128,
    /// Shares issued to its delegators.
    #[serde(with = "super::records::decimal")]
    pub shares: u128,
    /// Whether it is jailed (out of the set until it unjails).
    pub jailed: bool,
    /// First height at which it may unjail.
    pub jailed_until: u64,
    /// Jailed for good after a double-sign.
    pub tombstoned: bool,
    /// Commission earned and not yet withdrawn.
    #[serde(with = "super::records::decimal")]
    pub commission: u128,
    /// Cumulative rewards per share, scaled by 10^18, big-endian.
    #[serde(skip)]
    pub rewards_per_share: [u8; 32],
    /// Liveness over the current window.
    pub signing: Signing,
}

/// A validator's recent precommits.
#[derive(Debug, Clone, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Signing {
    /// Precommits observed since it joined or was last jailed (the window's position).
    pub observed: u64,
    /// Of the last `downtime_window` observed, how many it missed.
    pub missed: u64,
    /// One bit per block of the window, set when missed.
    #[serde(skip)]
    pub bitmap: Vec<u8>,
}

impl Validator {
    /// Its voting power from its tokens.
    pub fn power(&self, params: &StakingParams) -> u64 {
        u64::try_from(self.tokens / params.power_reduction).unwrap_or(u64::MAX)
    }

    fn rps(&self) -> U256 {
        U256::from_be_bytes(self.rewards_per_share)
    }

    /// Tokens that `shares` of this validator are worth.
    fn tokens_of(&self, shares: u128) -> u128 {
        mul_div(shares, self.tokens, self.shares)
    }
}

/// A delegator's stake in a validator.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Delegation {
    /// Its shares of the validator.
    pub shares: u128,
    /// The validator's rewards per share when it last withdrew.
    pub rewards_per_share: [u8; 32],
}

/// Tokens on their way out of a validator.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Unbonding {
    /// The validator they left (a double-sign it committed while they were bonded still
    /// slashes them).
    pub validator: Address,
    /// Who gets them.
    pub delegator: Address,
    /// How many.
    pub amount: u128,
    /// Height the undelegation happened at.
    pub created_height: u64,
    /// Block time after which they may be released (with the release height, in the key).
    pub release_time_ns: u64,
}

/// One precommit of the previous height, as the block's last commit reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitVote {
    /// The validator's consensus address.
    pub validator: ValidatorAddress,
    /// Its voting power at that height.
    pub power: u64,
    /// Whether its precommit is in the commit.
    pub signed: bool,
}

/// Misbehavior CometBFT proved and put in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misbehavior {
    /// The validator's consensus address.
    pub validator: ValidatorAddress,
    /// The height it misbehaved at.
    pub height: u64,
}

/// The validator sets by the first height each signs.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(super) struct SetHistory(Vec<(u64, Vec<ValidatorKey>)>);

impl SetHistory {
    pub(super) fn genesis(height: u64, set: Vec<ValidatorKey>) -> Self {
        Self(vec![(height, set)])
    }

    /// The set that signs `height`.
    pub(super) fn at(&self, height: u64) -> &[ValidatorKey] {
        self.0.iter().rev().find(|(from, _)| *from <= height).map_or(&[], |(_, set)| set.as_slice())
    }

    /// Records the set signing from `from`, dropping sets no height from `keep_from` on uses.
    fn push(&mut self, from: u64, set: Vec<ValidatorKey>, keep_from: u64) {
        self.0.retain(|(f, _)| *f < from);
        self.0.push((from, set));
        while self.0.len() > 1 && self.0[1].0 <= keep_from {
            self.0.remove(0);
        }
    }
}

/// `a × b / c` in 256 bits, rounded down; 0 when `c` is 0.
fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    let q = U256::from(a) * U256::from(b) / U256::from(c);
    u128::try_from(q).unwrap_or(u128::MAX)
}

/// `a × b / c` rounded up.
fn mul_div_up(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    let (q, r) = (U256::from(a) * U256::from(b)).div_rem(U256::from(c));
    let q = if r.is_zero() { q } else { q + U256::from(1) };
    u128::try_from(q).unwrap_or(u128::MAX)
}

/// What `shares` earned between two cumulative rewards-per-share values.
fn owed(shares: u128, now: U256, then: U256) -> u128 {
    let q = U256::from(shares) * now.saturating_sub(then) / U256::from(REWARD_SCALE);
    u128::try_from(q).unwrap_or(u128::MAX)
}

/// The bytes a consensus key signs to prove its owner registers it for `operator` on this chain.
pub fn key_ownership_message(chain_id: u64, operator: &Address) -> Vec<u8> {
    [b"nexus/create-validator/".as_slice(), &chain_id.to_be_bytes(), operator].concat()
}

impl<B: Backend + Send + Sync + 'static> App<B> {
    pub(super) fn load<T: BorshDeserialize>(&self, key: &[u8]) -> Option<T> {
        self.layers.get(key).and_then(|b| borsh::from_slice(&b).ok())
    }

    pub(super) fn store_value<T: BorshSerialize>(&self, key: Vec<u8>, value: &T) {
        self.layers.set(key, borsh::to_vec(value).expect("borsh into a Vec"));
    }

    fn amount(&self, key: &[u8]) -> u128 {
        self.load(key).unwrap_or(0)
    }

    pub(super) fn validator_record(&self, operator: &Address) -> Option<Validator> {
        self.load(&state_keys::validator(operator))
    }

    fn save_validator(&self, v: &Validator) {
        self.store_value(state_keys::validator(&v.operator), v);
    }

    fn operator_of(&self, address: &ValidatorAddress) -> Option<Address> {
        self.load(&state_keys::consensus_key(address))
    }

    /// Registers a validator (genesis or `create_validator`), self-delegating `amount` tokens.
    pub(super) fn register_validator(
        &self,
        operator: Address,
        key: [u8; 32],
        commission_bps: u16,
        amount: u128,
    ) {
        let v = Validator {
            operator,
            consensus_key: key,
            commission_bps,
            tokens: amount,
            shares: amount,
            jailed: false,
            jailed_until: 0,
            tombstoned: false,
            commission: 0,
            rewards_per_share: [0; 32],
            signing: Signing::default(),
        };
        self.save_validator(&v);
        self.store_value(state_keys::consensus_key(&address_of(&key)), &operator);
        let d = Delegation { shares: amount, rewards_per_share: [0; 32] };
        self.store_value(state_keys::delegation(&operator, &operator), &d);
    }

    /// `create_validator`: the signer becomes the operator of a new validator with `key`.
    pub(super) fn create_validator(
        &self,
        params: &Params,
        operator: &Address,
        key: &[u8; 32],
        key_signature: &[u8],
        commission_bps: u16,
        amount: u128,
    ) -> Result<(), Failure> {
        let sp = &params.staking;
        if self.validator_record(operator).is_some() {
            return Err(fail(format!("{} already operates a validator", hex0x(operator))));
        }
        if self.operator_of(&address_of(key)).is_some() {
            return Err(fail(format!("consensus key 0x{} is already registered", hex::encode(key))));
        }
        let message = key_ownership_message(params.chain_id, operator);
        let owns = ed25519_consensus::Signature::try_from(key_signature).ok().is_some_and(|sig| {
            ed25519_consensus::VerificationKey::try_from(*key).is_ok_and(|k| k.verify(&sig, &message).is_ok())
        });
        if !owns {
            return Err(fail(
                "the key signature does not prove ownership of the consensus key for this operator and chain",
            ));
        }
        if u128::from(commission_bps) > BPS {
            return Err(fail(format!("commission {commission_bps} bps exceeds 10000")));
        }
        if amount < sp.min_self_bond {
            return Err(fail(format!("self-bond {amount} is below the minimum {}", sp.min_self_bond)));
        }
        self.debit(operator, amount)?;
        self.register_validator(*operator, *key, commission_bps, amount);
        Ok(())
    }

    fn debit(&self, from: &Address, amount: u128) -> Result<(), Failure> {
        let mut account = self.load_account(from);
        account.balance = account
            .balance
            .checked_sub(amount)
            .ok_or_else(|| fail(format!("{} has {} but bonds {amount}", hex0x(from), account.balance)))?;
        self.save_account(from, &account);
        Ok(())
    }

    fn credit(&self, to: &Address, amount: u128) {
        if amount > 0 {
            let mut account = self.load_account(to);
            account.balance = account.balance.saturating_add(amount);
            self.save_account(to, &account);
        }
    }

    fn require_validator(&self, operator: &Address) -> Result<Validator, Failure> {
        self.validator_record(operator)
            .ok_or_else(|| fail(format!("no validator is operated by {}", hex0x(operator))))
    }

    /// Pays a delegation what it earned since it last withdrew and moves its mark to now.
    fn settle(&self, v: &Validator, delegator: &Address, d: &mut Delegation) -> u128 {
        let earned = owed(d.shares, v.rps(), U256::from_be_bytes(d.rewards_per_share));
        d.rewards_per_share = v.rewards_per_share;
        let held = self.amount(state_keys::REWARDS_HELD);
        let paid = earned.min(held);
        self.store_value(state_keys::REWARDS_HELD.to_vec(), &(held - paid));
        self.credit(delegator, paid);
        paid
    }

    /// `delegate`: bonds `amount` of the signer's tokens to a validator.
    pub(super) fn delegate(
        &self,
        delegator: &Address,
        operator: &Address,
        amount: u128,
    ) -> Result<(), Failure> {
        let mut v = self.require_validator(operator)?;
        if v.tombstoned {
            return Err(fail(format!("validator {} is tombstoned", hex0x(operator))));
        }
        if v.shares > 0 && v.tokens == 0 {
            return Err(fail(format!("validator {} was slashed to nothing", hex0x(operator))));
        }
        if amount == 0 {
            return Err(fail("delegating 0 tokens"));
        }
        self.debit(delegator, amount)?;
        let key = state_keys::delegation(operator, delegator);
        let mut d =
            self.load(&key).unwrap_or(Delegation { shares: 0, rewards_per_share: v.rewards_per_share });
        self.settle(&v, delegator, &mut d);
        let shares = if v.shares == 0 { amount } else { mul_div(amount, v.shares, v.tokens) };
        d.shares += shares;
        v.shares += shares;
        v.tokens += amount;
        self.store_value(key, &d);
        self.save_validator(&v);
        Ok(())
    }

    /// `undelegate`: starts unbonding `amount` tokens of the signer's stake in a validator.
    pub(super) fn undelegate(
        &self,
        params: &Params,
        height: u64,
        time_ns: u64,
        delegator: &Address,
        operator: &Address,
        amount: u128,
    ) -> Result<(), Failure> {
        let mut v = self.require_validator(operator)?;
        let key = state_keys::delegation(operator, delegator);
        let mut d: Delegation = self.load(&key).ok_or_else(|| {
            fail(format!("{} has no stake in validator {}", hex0x(delegator), hex0x(operator)))
        })?;
        let held = v.tokens_of(d.shares);
        if amount == 0 || amount > held {
            return Err(fail(format!("undelegating {amount} of a stake worth {held}")));
        }
        self.settle(&v, delegator, &mut d);
        // Rounded up so nobody gets out more than the shares they burn are worth.
        let shares = mul_div_up(amount, v.shares, v.tokens).min(d.shares);
        d.shares -= shares;
        v.shares -= shares;
        v.tokens -= amount;
        if d.shares == 0 {
            self.layers.delete(key);
        } else {
            self.store_value(key, &d);
        }
        self.save_validator(&v);
        let sp = &params.staking;
        let seq: u64 = self.load(state_keys::UNBONDING_NEXT).unwrap_or(0);
        self.store_value(state_keys::UNBONDING_NEXT.to_vec(), &(seq + 1));
        let entry = Unbonding {
            validator: *operator,
            delegator: *delegator,
            amount,
            created_height: height,
            release_time_ns: time_ns.saturating_add(sp.unbonding_seconds.saturating_mul(1_000_000_000)),
        };
        self.store_value(state_keys::unbonding(height.saturating_add(sp.unbonding_blocks), seq), &entry);
        Ok(())
    }

    /// `unjail`: the signer's jailed validator becomes eligible for the set again (from the next
    /// epoch) once its jail period is over.
    pub(super) fn unjail(&self, params: &Params, height: u64, operator: &Address) -> Result<(), Failure> {
        let mut v = self.require_validator(operator)?;
        if v.tombstoned {
            return Err(fail(format!(
                "validator {} is tombstoned for double-signing and can never unjail",
                hex0x(operator)
            )));
        }
        if !v.jailed {
            return Err(fail(format!("validator {} is not jailed", hex0x(operator))));
        }
        if height < v.jailed_until {
            return Err(fail(format!(
                "validator {} is jailed until height {}",
                hex0x(operator),
                v.jailed_until
            )));
        }
        let self_bond = self.self_bond(&v);
        if self_bond < params.staking.min_self_bond {
            return Err(fail(format!(
                "self-bond {self_bond} is below the minimum {}",
                params.staking.min_self_bond
            )));
        }
        v.jailed = false;
        v.signing = Signing::default();
        self.save_validator(&v);
        Ok(())
    }

    /// `withdraw_rewards`: pays the signer's rewards from a validator, and its commission when the
    /// signer operates it.
    pub(super) fn withdraw_rewards(&self, delegator: &Address, operator: &Address) -> Result<u128, Failure> {
        let mut v = self.require_validator(operator)?;
        let key = state_keys::delegation(operator, delegator);
        let mut paid = 0;
        if let Some(mut d) = self.load::<Delegation>(&key) {
            paid += self.settle(&v, delegator, &mut d);
            self.store_value(key, &d);
        } else if delegator != operator {
            return Err(fail(format!("{} has no stake in validator {}", hex0x(delegator), hex0x(operator))));
        }
        if delegator == operator && v.commission > 0 {
            let held = self.amount(state_keys::REWARDS_HELD);
            let commission = v.commission.min(held);
            self.store_value(state_keys::REWARDS_HELD.to_vec(), &(held - commission));
            self.credit(delegator, commission);
            v.commission = 0;
            self.save_validator(&v);
            paid += commission;
        }
        Ok(paid)
    }

    fn self_bond(&self, v: &Validator) -> u128 {
        self.load::<Delegation>(&state_keys::delegation(&v.operator, &v.operator))
            .map_or(0, |d| v.tokens_of(d.shares))
    }

    /// Burns `bps` of a validator's tokens, and, for a double-sign at `since`, of the tokens
    /// that were bonded to it then and are unbonding now.
    fn slash(&self, v: &mut Validator, bps: u32, since: Option<u64>) {
        v.tokens -= mul_div(v.tokens, u128::from(bps), BPS);
        let Some(since) = since else { return };
        let mut from = state_keys::UNBONDING_PREFIX.to_vec();
        let end = nexus_types::keys::prefix_end(state_keys::UNBONDING_PREFIX).unwrap_or_default();
        while let Some((k, bytes)) =
            self.layers.next(Bound::Excluded(from.as_slice()), false, false).filter(|(k, _)| *k < end)
        {
            if let Ok(mut u) = borsh::from_slice::<Unbonding>(&bytes)
                && u.validator == v.operator
                && u.created_height > since
            {
                u.amount -= mul_div(u.amount, u128::from(bps), BPS);
                self.store_value(k.clone(), &u);
            }
            from = k;
        }
    }

    /// Burns `bps` of the stake of the validator with consensus address `address` (a
    /// threshold-signing culprit), without jailing it.
    pub(super) fn slash_by_consensus_address(&self, address: &[u8; 20], bps: u32) {
        if let Some(mut v) = self.operator_of(address).and_then(|op| self.validator_record(&op)) {
            self.slash(&mut v, bps, None);
            self.save_validator(&v);
        }
    }

    /// The end-of-block staking step: punishes proven double-signs, counts the last commit's
    /// precommits for liveness and rewards, releases matured unbondings, and returns the updates
    /// CometBFT applies from `height + 2`.
    pub(super) fn end_block_staking(
        &self,
        params: &Params,
        height: u64,
        time_ns: u64,
        last_commit: &[CommitVote],
        misbehavior: &[Misbehavior],
    ) -> Vec<ValidatorKey> {
        let sp = &params.staking;
        let mut removed = std::collections::BTreeSet::new();
        for m in misbehavior {
            let Some(mut v) = self.operator_of(&m.validator).and_then(|op| self.validator_record(&op)) else {
                continue;
            };
            if v.tombstoned || m.height.saturating_add(sp.unbonding_blocks) < height {
                continue;
            }
            self.slash(&mut v, sp.slash_double_sign_bps, Some(m.height));
            (v.jailed, v.tombstoned, v.jailed_until) = (true, true, u64::MAX);
            removed.insert(v.consensus_key);
            self.save_validator(&v);
        }

        // Rewards are minted only for a commit someone signed, so a chain without validators
        // (tests, tools) keeps its state still between transactions.
        let signed_power: u128 = last_commit.iter().filter(|c| c.signed).map(|c| u128::from(c.power)).sum();
        let pool = self.amount(state_keys::FEE_POOL).saturating_add(sp.block_reward);
        let mut distributed = 0u128;
        for vote in last_commit {
            let Some(mut v) = self.operator_of(&vote.validator).and_then(|op| self.validator_record(&op))
            else {
                continue;
            };
            if v.jailed {
                continue;
            }
            if self.track_liveness(&mut v, vote.signed, sp) {
                self.slash(&mut v, sp.slash_downtime_bps, None);
                (v.jailed, v.jailed_until) = (true, height.saturating_add(sp.downtime_jail_blocks));
                v.signing = Signing::default();
                removed.insert(v.consensus_key);
            }
            if vote.signed {
                let reward = mul_div(pool, u128::from(vote.power), signed_power);
                let commission = mul_div(reward, u128::from(v.commission_bps), BPS);
                v.commission += commission;
                let rest = reward - commission;
                if v.shares > 0 {
                    let add = U256::from(rest) * U256::from(REWARD_SCALE) / U256::from(v.shares);
                    v.rewards_per_share = (v.rps() + add).to_be_bytes();
                } else {
                    v.commission += rest;
                }
                distributed += reward;
            }
            self.save_validator(&v);
        }
        if signed_power > 0 {
            let held = self.amount(state_keys::REWARDS_HELD).saturating_add(distributed);
            self.store_value(state_keys::REWARDS_HELD.to_vec(), &held);
            self.store_value(state_keys::FEE_POOL.to_vec(), &(pool - distributed));
        }

        self.release_unbondings(height, time_ns);

        let mut history: SetHistory = self.load(state_keys::VALIDATORS).unwrap_or_default();
        let next = history.at(height + 1).to_vec();
        let mut desired = if height.is_multiple_of(sp.epoch_blocks) {
            self.active_set(sp)
        } else {
            next.iter().filter(|k| !removed.contains(&k.pub_key)).copied().collect()
        };
        // CometBFT halts on an empty set; keeping the last one lets operators unjail instead.
        if desired.iter().all(|k| k.power == 0) {
            desired = next.clone();
        }
        let updates = diff(&next, &desired);
        if !updates.is_empty() {
            history.push(height + 2, desired, height);
            self.store_value(state_keys::VALIDATORS.to_vec(), &history);
        }
        self.layers.commit_tx();
        updates
    }

    /// Records one precommit; true when the validator missed too many of its window.
    fn track_liveness(&self, v: &mut Validator, signed: bool, sp: &StakingParams) -> bool {
        let window = sp.downtime_window;
        let s = &mut v.signing;
        let bytes = usize::try_from(window.div_ceil(8)).unwrap_or(usize::MAX);
        if s.bitmap.len() != bytes {
            s.bitmap = vec![0; bytes];
        }
        let index = usize::try_from(s.observed % window).unwrap_or(0);
        let (byte, bit) = (index / 8, 1u8 << (index % 8));
        let was_missed = s.bitmap[byte] & bit != 0;
        match (was_missed, !signed) {
            (false, true) => {
                s.bitmap[byte] |= bit;
                s.missed += 1;
            }
            (true, false) => {
                s.bitmap[byte] &= !bit;
                s.missed -= 1;
            }
            _ => {}
        }
        s.observed += 1;
        // Past this many misses the window can no longer hold enough signatures.
        s.missed > window - sp.min_signed_per_window
    }

    fn release_unbondings(&self, height: u64, time_ns: u64) {
        let end = state_keys::unbonding(height.saturating_add(1), 0);
        let mut from = state_keys::UNBONDING_PREFIX.to_vec();
        while let Some((k, bytes)) =
            self.layers.next(Bound::Excluded(from.as_slice()), false, false).filter(|(k, _)| *k < end)
        {
            if let Ok(u) = borsh::from_slice::<Unbonding>(&bytes)
                && u.release_time_ns <= time_ns
            {
                self.credit(&u.delegator, u.amount);
                self.layers.delete(k.clone());
            }
            from = k;
        }
    }

    /// The set bonding decides: eligible validators by power, then operator address.
    fn active_set(&self, sp: &StakingParams) -> Vec<ValidatorKey> {
        let mut eligible: Vec<(u64, Address, [u8; 32])> =
            super::layers::scan(&self.layers, state_keys::VALIDATOR_PREFIX, false)
                .values()
                .filter_map(|b| borsh::from_slice::<Validator>(b).ok())
                .filter(|v| !v.jailed && !v.tombstoned && self.self_bond(v) >= sp.min_self_bond)
                .map(|v| (v.power(sp), v.operator, v.consensus_key))
                .filter(|(power, _, _)| *power > 0)
                .collect();
        eligible.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        eligible.truncate(usize::try_from(sp.max_validators).unwrap_or(usize::MAX));
        let mut set: Vec<ValidatorKey> =
            eligible.into_iter().map(|(power, _, pub_key)| ValidatorKey { pub_key, power }).collect();
        set.sort_by_key(ValidatorKey::address);
        set
    }

    /// A validator at the last committed height.
    pub fn validator(&self, operator: &Address) -> Option<Validator> {
        self.layers.committed(&state_keys::validator(operator)).and_then(|b| borsh::from_slice(&b).ok())
    }

    /// Every registered validator, by operator address.
    pub fn validators(&self) -> Vec<Validator> {
        super::layers::scan(&self.layers, state_keys::VALIDATOR_PREFIX, true)
            .values()
            .filter_map(|b| borsh::from_slice(b).ok())
            .collect()
    }

    /// A delegator's stake in a validator at the last committed height: tokens it is worth and
    /// rewards it can withdraw.
    pub fn delegation(&self, operator: &Address, delegator: &Address) -> Option<(u128, u128)> {
        let get = |key: &[u8]| self.layers.committed(key);
        let v: Validator = get(&state_keys::validator(operator)).and_then(|b| borsh::from_slice(&b).ok())?;
        let d: Delegation =
            get(&state_keys::delegation(operator, delegator)).and_then(|b| borsh::from_slice(&b).ok())?;
        Some((v.tokens_of(d.shares), owed(d.shares, v.rps(), U256::from_be_bytes(d.rewards_per_share))))
    }
}

/// The updates turning `from` into `to`: changed or new members, and departed ones at power 0.
fn diff(from: &[ValidatorKey], to: &[ValidatorKey]) -> Vec<ValidatorKey> {
    let old: BTreeMap<[u8; 32], u64> = from.iter().map(|k| (k.pub_key, k.power)).collect();
    let new: BTreeMap<[u8; 32], u64> = to.iter().map(|k| (k.pub_key, k.power)).collect();
    let mut updates: Vec<ValidatorKey> = new
        .iter()
        .filter(|(k, p)| old.get(*k) != Some(*p))
        .map(|(k, p)| ValidatorKey { pub_key: *k, power: *p })
        .collect();
    updates
        .extend(old.keys().filter(|k| !new.contains_key(*k)).map(|k| ValidatorKey { pub_key: *k, power: 0 }));
    updates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8, power: u64) -> ValidatorKey {
        ValidatorKey { pub_key: [i; 32], power }
    }

    #[test]
    fn a_set_history_answers_for_every_height_it_keeps() {
        let mut h = SetHistory::genesis(1, vec![key(1, 10)]);
        h.push(7, vec![key(1, 10), key(2, 5)], 5);
        assert_eq!(h.at(6), &[key(1, 10)]);
        assert_eq!(h.at(7).len(), 2);
        h.push(9, vec![key(2, 5)], 7);
        assert_eq!(h.at(7).len(), 2, "the set of height 7 is still needed");
        assert_eq!(h.0.len(), 2, "the genesis set is no longer needed");
        assert_eq!(h.at(100), &[key(2, 5)]);
    }

    #[test]
    fn diffs_name_changes_and_departures() {
        let d = diff(&[key(1, 10), key(2, 5)], &[key(1, 12), key(3, 1)]);
        assert_eq!(d, vec![key(1, 12), key(3, 1), key(2, 0)]);
        assert!(diff(&[key(1, 10)], &[key(1, 10)]).is_empty());
    }

    #[test]
    fn rounding_never_pays_out_more_than_was_put_in() {
        assert_eq!(mul_div(10, 3, 4), 7);
        assert_eq!(mul_div_up(10, 3, 4), 8);
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), u128::MAX);
        assert_eq!(owed(3, U256::from(REWARD_SCALE), U256::ZERO), 3);
    }

    #[test]
    fn parameters_refuse_an_unbonding_period_shorter_than_evidence_age() {
        let p = StakingParams { unbonding_blocks: 100, unbonding_seconds: 100, ..StakingParams::default() };
        assert!(p.check_evidence_age(99, 99_000_000_000).is_ok());
        assert!(p.check_evidence_age(100, 1).is_err());
        assert!(p.check_evidence_age(1, 100_000_000_000).is_err());
        assert!(StakingParams { min_signed_per_window: 101, ..p }.validate().is_err());
    }
}
