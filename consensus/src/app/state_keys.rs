//! Every key the application writes, by owning component. Consensus state keys are in the Merkle
//! tree; journal keys are node-local records beside it (`Column::Aux`).

use nexus_types::{Address, Hash32};

/// Chain parameters, fixed at genesis (component: chain).
pub const PARAMS: &[u8] = b"p/params";

/// Staking component: the validator sets by the height they sign from (CometBFT applies an
/// update returned at height H from H+2, so up to three are live at once).
pub const VALIDATORS: &[u8] = b"p/validators";

/// Fees component: fees and block rewards not yet distributed (what the last commit's signers
/// get at the end of the block; rounding dust stays).
pub const FEE_POOL: &[u8] = b"p/fees";

/// Staking component: rewards distributed to validators and delegators but not yet withdrawn.
pub const REWARDS_HELD: &[u8] = b"p/rewards";

/// Staking component: `v/<operator>` → a validator.
pub const VALIDATOR_PREFIX: &[u8] = b"v/";

/// Staking component: a validator by its operator account.
pub fn validator(operator: &Address) -> Vec<u8> {
    [VALIDATOR_PREFIX, operator].concat()
}

/// Staking component: `vk/<consensus address>` → the operator that registered the key (keys are
/// never reused, so evidence and commits always name one operator).
pub fn consensus_key(address: &[u8; 20]) -> Vec<u8> {
    [b"vk/".as_slice(), address].concat()
}

/// Staking component: `d/<validator operator>/<delegator>` → a delegation.
pub fn delegation(validator: &Address, delegator: &Address) -> Vec<u8> {
    [b"d/".as_slice(), validator, b"/", delegator].concat()
}

/// Staking component: `u/<release height>/<sequence>` → an unbonding entry, in release order.
pub const UNBONDING_PREFIX: &[u8] = b"u/";

/// Staking component: an unbonding entry.
pub fn unbonding(release_height: u64, seq: u64) -> Vec<u8> {
    [UNBONDING_PREFIX, &release_height.to_be_bytes(), &seq.to_be_bytes()].concat()
}

/// Staking component: the next unbonding sequence number.
pub const UNBONDING_NEXT: &[u8] = b"u-next";

/// Accounts component: `a/<address>` → balance and nonce.
pub fn account(address: &Address) -> Vec<u8> {
    [b"a/".as_slice(), address].concat()
}

/// Functions component: `c/<code hash>` → module bytes, shared by every function running them.
pub fn code(hash: &Hash32) -> Vec<u8> {
    [b"c/".as_slice(), hash].concat()
}

/// Functions component: `F/<function id>` → owner, code hash, manifest.
pub fn function(id: &Hash32) -> Vec<u8> {
    [b"F/".as_slice(), id].concat()
}

/// Functions component: `s/<function id>/` prefixes the function's own state (runtime layout).
pub fn function_state(id: &Hash32) -> Vec<u8> {
    [b"s/".as_slice(), id, b"/"].concat()
}

/// Scheduler component: `e/<function id>` → the period of an `every N blocks` trigger.
pub const EVERY_PREFIX: &[u8] = b"e/";

/// Scheduler component: the `every` trigger entry of a function.
pub fn every(id: &Hash32) -> Vec<u8> {
    [EVERY_PREFIX, id].concat()
}

/// Scheduler component: `t/<function id>` marks a long-running task invoked each block.
pub const TASK_PREFIX: &[u8] = b"t/";

/// Scheduler component: the task entry of a function.
pub fn task(id: &Hash32) -> Vec<u8> {
    [TASK_PREFIX, id].concat()
}

/// Ethereum component: the last finalized Ethereum block processed.
pub const ETH_CURSOR: &[u8] = b"p/eth-cursor";

/// Ethereum component: `eb/<function id>` marks a function run for every Ethereum block.
pub const ETH_BLOCKS_PREFIX: &[u8] = b"eb/";

/// Ethereum component: the block subscription of a function.
pub fn eth_blocks(id: &Hash32) -> Vec<u8> {
    [ETH_BLOCKS_PREFIX, id].concat()
}

/// Ethereum component: `el/<function id><index>` → one log filter of a function.
pub const ETH_LOGS_PREFIX: &[u8] = b"el/";

/// Ethereum component: the prefix of a function's log filters.
pub fn eth_logs(id: &Hash32) -> Vec<u8> {
    [ETH_LOGS_PREFIX, id].concat()
}

/// Ethereum component: a function's `index`-th log filter.
pub fn eth_log(id: &Hash32, index: u32) -> Vec<u8> {
    [eth_logs(id).as_slice(), &index.to_be_bytes()].concat()
}

/// Outbox component: `q/<sequence>` → an outbound request awaiting the Ethereum or zk machinery.
pub const OUTBOX_PREFIX: &[u8] = b"q/";

/// Outbox component: a pending work item by sequence number.
pub fn outbox(seq: u64) -> Vec<u8> {
    [OUTBOX_PREFIX, &seq.to_be_bytes()].concat()
}

/// Outbox component: the next outbox sequence number.
pub const OUTBOX_NEXT: &[u8] = b"q-next";

/// Journal: `tx/<hash>` → the result of a transaction.
pub fn journal_tx(hash: &Hash32) -> Vec<u8> {
    [b"tx/".as_slice(), hash].concat()
}

/// Journal: `blk/<height>` → the block record.
pub fn journal_block(height: u64) -> Vec<u8> {
    [b"blk/".as_slice(), &height.to_be_bytes()].concat()
}

/// Journal: `log/<function id>/` prefixes a function's logs and events.
pub fn journal_logs(id: &Hash32) -> Vec<u8> {
    [b"log/".as_slice(), id, b"/"].concat()
}

/// Journal: one log record, ordered by height then sequence within the block.
pub fn journal_log(id: &Hash32, height: u64, seq: u32) -> Vec<u8> {
    [journal_logs(id).as_slice(), &height.to_be_bytes(), &seq.to_be_bytes()].concat()
}
