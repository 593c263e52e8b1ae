//! The relayer: submits batches the validators signed, and key rotations, to a `NexusGateway`
//! from its own funded account. Anyone may relay (the gateway checks the signature, not the
//! sender), so several relayers can race on the same batch; `executeBatch` skips nonces that
//! already ran, and each relayer never has two transactions in flight for one nonce: it resubmits
//! only once its earlier transaction reverted or stayed unmined for `confirm_blocks` blocks, and
//! then under the same account nonce, so at most one of the two can ever be mined.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::{EthereumWallet, TransactionBuilder as _};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolInterface as _};

use crate::NexusGateway;

/// A FROST signature in the gateway's form: R in full and the response z, big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// R's x coordinate.
    pub rx: [u8; 32],
    /// R's y coordinate.
    pub ry: [u8; 32],
    /// The response z.
    pub z: [u8; 32],
}

/// One message of a signed batch with its Merkle proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    /// Its nonce, unique across all batches.
    pub nonce: u64,
    /// The sending Nexus function's id.
    pub sender: [u8; 32],
    /// The called contract.
    pub target: Address,
    /// Gas the target gets.
    pub gas_limit: u64,
    /// Calldata for the target.
    pub data: Vec<u8>,
    /// Siblings from its leaf up to the batch root.
    pub proof: Vec<B256>,
}

/// A batch the group key of `epoch` signed (its root's batch digest), with the messages to relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBatch {
    /// The key epoch the signature was made under.
    pub epoch: u64,
    /// The batch's Merkle root.
    pub root: B256,
    /// The group's signature over the batch digest.
    pub signature: Signature,
    /// The messages to execute (any subset of the batch).
    pub messages: Vec<BatchMessage>,
}

/// A key rotation signed by the key of `epoch`, handing over to (`new_x`, `new_parity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedRotation {
    /// The epoch of the signing (current) key.
    pub epoch: u64,
    /// The next key's x coordinate.
    pub new_x: [u8; 32],
    /// The next key's y parity.
    pub new_parity: u8,
    /// The current key's signature over the rotation digest.
    pub signature: Signature,
}

/// What became of a message (or rotation) in one relaying round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A transaction of this relayer carrying it is in flight (sent now or earlier).
    Submitted(B256),
    /// The gateway has run it already (by whichever relayer).
    AlreadyExecuted,
    /// Not submitted in this round, and why; `retry` says whether a later round will try again.
    Failed {
        /// Why.
        reason: String,
        /// Whether a later round retries it.
        retry: bool,
    },
}

/// Why the relayer could not work at all.
#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    /// The endpoint URL does not parse.
    #[error("{0} is not an RPC URL")]
    Url(String),
    /// The Ethereum endpoint did not answer or answered with an error.
    #[error("ethereum rpc {method}: {reason}")]
    Rpc {
        /// The request.
        method: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// How patient the relayer is.
#[derive(Debug, Clone)]
pub struct RelayerConfig {
    /// Blocks after which a transaction still without a receipt counts as dropped.
    pub confirm_blocks: u64,
    /// Transactions tried per message or rotation before giving up.
    pub max_attempts: u32,
    /// Wait after a failed attempt, doubled after each further one.
    pub backoff: Duration,
    /// Extra gas over the estimate, in percent (the estimate is exact for the state it saw).
    pub gas_margin_percent: u64,
}

impl Default for RelayerConfig {
    fn default() -> Self {
        Self { confirm_blocks: 12, max_attempts: 5, backoff: Duration::from_secs(2), gas_margin_percent: 25 }
    }
}

/// What a relayer submits: a message by nonce, or the rotation away from an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Message(u64),
    Rotation(u64),
}

/// A transaction of ours not yet known mined or dropped.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    hash: B256,
    account_nonce: u64,
    sent_at_block: u64,
    max_fee: u128,
    priority_fee: u128,
}

/// Attempts so far for an item and when the next may start.
#[derive(Debug, Clone, Default)]
struct Attempts {
    count: u32,
    not_before: Option<Instant>,
    last_reason: String,
}

/// A relayer for one gateway, sending from one account.
pub struct Relayer {
    provider: Box<dyn Provider>,
    gateway: Address,
    account: Address,
    config: RelayerConfig,
    in_flight: BTreeMap<Item, InFlight>,
    /// Transactions that stayed unmined too long: a resubmission replaces them (same nonce).
    dropped: BTreeMap<Item, InFlight>,
    attempts: BTreeMap<Item, Attempts>,
    sent: u64,
}

impl std::fmt::Debug for Relayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relayer").field("gateway", &self.gateway).field("account", &self.account).finish()
    }
}

fn rpc(method: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> RelayerError {
    move |e| RelayerError::Rpc { method, reason: e.to_string() }
}

fn gateway_signature(s: &Signature) -> NexusGateway::Signature {
    NexusGateway::Signature {
        rx: U256::from_be_bytes(s.rx),
        ry: U256::from_be_bytes(s.ry),
        z: U256::from_be_bytes(s.z),
    }
}

/// A revert's reason: the gateway's error by name when it is one.
fn revert_reason(error: &alloy::transports::TransportError) -> String {
    let data = error.as_error_resp().and_then(|e| e.as_revert_data());
    match data.as_ref().map(|d| NexusGateway::NexusGatewayErrors::abi_decode(d)) {
        Some(Ok(decoded)) => format!("the gateway refuses: {decoded:?}"),
        _ => error.to_string(),
    }
}

impl Relayer {
    /// A relayer for `gateway` at the JSON-RPC endpoint `url`, sending with `key`; checks the
    /// endpoint answers.
    pub async fn connect(
        url: &str,
        gateway: Address,
        key: PrivateKeySigner,
        config: RelayerConfig,
    ) -> Result<Self, RelayerError> {
        let parsed = url.parse().map_err(|_| RelayerError::Url(url.to_string()))?;
        let account = key.address();
        // No recommended fillers: the relayer sets nonce, gas and fees itself so a replacement
        // reuses the nonce of the transaction it replaces.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .wallet(EthereumWallet::from(key))
            .connect_http(parsed);
        provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;
        Ok(Self {
            provider: Box::new(provider),
            gateway,
            account,
            config,
            in_flight: BTreeMap::new(),
            dropped: BTreeMap::new(),
            attempts: BTreeMap::new(),
            sent: 0,
        })
    }

    /// The account it sends from.
    pub fn account(&self) -> Address {
        self.account
    }

    /// Transactions it has sent so far.
    pub fn transactions_sent(&self) -> u64 {
        self.sent
    }

    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return, RelayerError> {
        let tx = TransactionRequest::default().with_to(self.gateway).with_input(call.abi_encode());
        // At the latest block, not the pending one: "already executed" means mined, never merely
        // pending in some node's pool.
        let answer = self.provider.call(tx).block(BlockId::latest()).await.map_err(rpc("eth_call"))?;
        C::abi_decode_returns(&answer)
            .map_err(|e| RelayerError::Rpc { method: "eth_call", reason: format!("undecodable answer: {e}") })
    }

    /// The gateway's key epoch now.
    pub async fn epoch(&self) -> Result<u64, RelayerError> {
        self.view(NexusGateway::epochCall {}).await
    }

    /// Whether message `nonce` already ran.
    pub async fn nonce_used(&self, nonce: u64) -> Result<bool, RelayerError> {
        self.view(NexusGateway::nonceUsedCall { nonce }).await
    }

    /// What became of our in-flight transaction for `item`, if any: `Some(hash)` while it may
    /// still be mined, `None` once it is known reverted or dropped (recorded as a failed attempt).
    async fn check_in_flight(&mut self, item: Item, head: u64) -> Result<Option<B256>, RelayerError> {
        let Some(tx) = self.in_flight.get(&item).copied() else { return Ok(None) };
        let receipt =
            self.provider.get_transaction_receipt(tx.hash).await.map_err(rpc("eth_getTransactionReceipt"))?;
        let reason = match receipt {
            Some(r) if r.status() => "its transaction was mined but did not run it".to_string(),
            Some(_) => format!("transaction {} reverted", tx.hash),
            None if head < tx.sent_at_block + self.config.confirm_blocks => return Ok(Some(tx.hash)),
            None => {
                self.dropped.insert(item, tx);
                format!("transaction {} unmined after {} blocks", tx.hash, self.config.confirm_blocks)
            }
        };
        self.in_flight.remove(&item);
        self.fail(item, reason);
        Ok(None)
    }

    /// Records a failed attempt for `item` and when the next may start.
    fn fail(&mut self, item: Item, reason: String) {
        let a = self.attempts.entry(item).or_default();
        a.count += 1;
        a.not_before =
            Some(Instant::now() + self.config.backoff * 2u32.saturating_pow(a.count.saturating_sub(1)));
        a.last_reason = reason;
    }

    /// `None` if `item` may be submitted now, else why not.
    fn blocked(&self, item: Item) -> Option<Outcome> {
        let a = self.attempts.get(&item)?;
        if a.count >= self.config.max_attempts {
            return Some(Outcome::Failed {
                reason: format!("gave up after {} attempts: {}", a.count, a.last_reason),
                retry: false,
            });
        }
        a.not_before
            .filter(|t| Instant::now() < *t)
            .map(|_| Outcome::Failed { reason: format!("backing off after: {}", a.last_reason), retry: true })
    }

    /// Forgets everything about an item that is done.
    fn done(&mut self, item: Item) {
        self.in_flight.remove(&item);
        self.dropped.remove(&item);
        self.attempts.remove(&item);
    }

    /// One relaying round for `batch`: each message already run is reported so, one with our
    /// transaction in flight keeps it, and the rest go out together in one `executeBatch`
    /// (simulated first, so a refusal costs no gas). Call it again (say each block) until every
    /// message is `AlreadyExecuted` or failed for good.
    pub async fn submit_batch(&mut self, batch: &SignedBatch) -> Result<Vec<(u64, Outcome)>, RelayerError> {
        let head = self.provider.get_block_number().await.map_err(rpc("eth_blockNumber"))?;
        let epoch = self.epoch().await?;
        let mut outcomes = Vec::with_capacity(batch.messages.len());
        let mut ready = Vec::new();
        for (i, m) in batch.messages.iter().enumerate() {
            let item = Item::Message(m.nonce);
            let outcome = if self.nonce_used(m.nonce).await? {
                self.done(item);
                Outcome::AlreadyExecuted
            } else if let Some(hash) = self.check_in_flight(item, head).await? {
                Outcome::Submitted(hash)
            } else if epoch != batch.epoch {
                let retry = epoch < batch.epoch;
                Outcome::Failed {
                    reason: format!("signed under epoch {}, the gateway is at epoch {epoch}", batch.epoch),
                    retry,
                }
            } else if let Some(blocked) = self.blocked(item) {
                blocked
            } else {
                ready.push(i);
                continue;
            };
            outcomes.push((m.nonce, outcome));
        }
        if !ready.is_empty() {
            let call = NexusGateway::executeBatchCall {
                ms: ready
                    .iter()
                    .map(|&i| {
                        let m = &batch.messages[i];
                        NexusGateway::Message {
                            nonce: m.nonce,
                            sender: m.sender.into(),
                            target: m.target,
                            gasLimit: m.gas_limit,
                            data: m.data.clone().into(),
                        }
                    })
                    .collect(),
                proofs: ready.iter().map(|&i| batch.messages[i].proof.clone()).collect(),
                root: batch.root,
                signature: gateway_signature(&batch.signature),
            };
            let items: Vec<Item> = ready.iter().map(|&i| Item::Message(batch.messages[i].nonce)).collect();
            let outcome = self.send(&items, call.abi_encode(), head).await?;
            outcomes.extend(ready.iter().map(|&i| (batch.messages[i].nonce, outcome.clone())));
        }
        outcomes.sort_by_key(|(nonce, _)| *nonce);
        Ok(outcomes)
    }

    /// One relaying round for `rotation`: submitted only while the gateway is at the rotation's
    /// epoch (`AlreadyExecuted` once it is past it).
    pub async fn submit_rotation(&mut self, rotation: &SignedRotation) -> Result<Outcome, RelayerError> {
        let head = self.provider.get_block_number().await.map_err(rpc("eth_blockNumber"))?;
        let epoch = self.epoch().await?;
        let item = Item::Rotation(rotation.epoch);
        if epoch > rotation.epoch {
            self.done(item);
            return Ok(Outcome::AlreadyExecuted);
        }
        if let Some(hash) = self.check_in_flight(item, head).await? {
            return Ok(Outcome::Submitted(hash));
        }
        if epoch < rotation.epoch {
            return Ok(Outcome::Failed {
                reason: format!("signed under epoch {}, the gateway is at epoch {epoch}", rotation.epoch),
                retry: true,
            });
        }
        if let Some(blocked) = self.blocked(item) {
            return Ok(blocked);
        }
        let call = NexusGateway::rotateKeyCall {
            newX: rotation.new_x.into(),
            newParity: rotation.new_parity,
            signature: gateway_signature(&rotation.signature),
        };
        self.send(&[item], call.abi_encode(), head).await
    }

    /// Simulates and sends `input` to the gateway for `items`; a replacement of a dropped
    /// transaction of theirs reuses its account nonce with higher fees.
    async fn send(&mut self, items: &[Item], input: Vec<u8>, head: u64) -> Result<Outcome, RelayerError> {
        let request =
            TransactionRequest::default().with_from(self.account).with_to(self.gateway).with_input(input);
        let estimate = match self.provider.estimate_gas(request.clone()).await {
            Ok(gas) => gas,
            Err(e) if e.as_error_resp().is_some() => {
                let reason = revert_reason(&e);
                for item in items {
                    self.fail(*item, reason.clone());
                }
                return Ok(Outcome::Failed { reason, retry: true });
            }
            Err(e) => return Err(rpc("eth_estimateGas")(e)),
        };
        let fees = self.provider.estimate_eip1559_fees().await.map_err(rpc("eth_feeHistory"))?;
        let mined_nonce = self
            .provider
            .get_transaction_count(self.account)
            .latest()
            .await
            .map_err(rpc("eth_getTransactionCount"))?;
        // The dropped transaction this one replaces, if its account nonce is still open.
        let replaced = self
            .dropped
            .iter()
            .filter(|(item, _)| items.contains(item))
            .map(|(_, tx)| *tx)
            .find(|tx| tx.account_nonce >= mined_nonce);
        let (nonce, max_fee, priority_fee) = match replaced {
            // Replacements need at least 10% more on both fees; 25% clears every client's rule.
            Some(tx) => (tx.account_nonce, tx.max_fee * 5 / 4 + 1, tx.priority_fee * 5 / 4 + 1),
            None => {
                let pending = self
                    .provider
                    .get_transaction_count(self.account)
                    .pending()
                    .await
                    .map_err(rpc("eth_getTransactionCount"))?;
                (pending, fees.max_fee_per_gas, fees.max_priority_fee_per_gas)
            }
        };
        let chain_id = self.provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;
        let tx = request
            .with_chain_id(chain_id)
            .with_nonce(nonce)
            .with_gas_limit(estimate + estimate * self.config.gas_margin_percent / 100)
            .with_max_fee_per_gas(max_fee.max(fees.max_fee_per_gas))
            .with_max_priority_fee_per_gas(priority_fee.max(fees.max_priority_fee_per_gas));
        let pending = self.provider.send_transaction(tx).await.map_err(rpc("eth_sendRawTransaction"))?;
        let hash = *pending.tx_hash();
        self.sent += 1;
        let record = InFlight { hash, account_nonce: nonce, sent_at_block: head, max_fee, priority_fee };
        for item in items {
            self.dropped.remove(item);
            self.in_flight.insert(*item, record);
        }
        Ok(Outcome::Submitted(hash))
    }

    /// Relays `batch` round after round (every `poll`) until each message has run or failed for
    /// good, or `timeout` passes; returns the last round's outcomes.
    pub async fn relay_batch(
        &mut self,
        batch: &SignedBatch,
        poll: Duration,
        timeout: Duration,
    ) -> Result<Vec<(u64, Outcome)>, RelayerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let outcomes = self.submit_batch(batch).await?;
            let settled = outcomes
                .iter()
                .all(|(_, o)| matches!(o, Outcome::AlreadyExecuted | Outcome::Failed { retry: false, .. }));
            if settled || Instant::now() >= deadline {
                return Ok(outcomes);
            }
            tokio::time::sleep(poll).await;
        }
    }
}
