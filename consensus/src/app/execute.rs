//! Executing blocks: transactions, their messages, function invocations, function-to-function
//! messages, and the scheduled invocations at the end of each block.

use std::collections::VecDeque;
use std::sync::Arc;

use alloy_primitives::keccak256;
use nexus_runtime::{Call, Function, InvocationResult, OutboundRequest, TaskControl};
use nexus_types::codec::Decode as _;
use nexus_types::codec::Encode;
use nexus_types::{Address, Context, EntryPoint, EthLogFilter, Hash32, Reply, ReplyKind, Trigger};

use super::eth::{self, EthCursor, EthData};
use super::gas::{self, Meter, OutOfGas};
use super::layers::{self, FnView};
use super::records::{
    Account, BlockRecord, FunctionInfo, InvocationRecord, LogRecord, MsgResult, Params, TxRecord, WorkItem,
};
use super::tx::{self, Msg};
use super::votes::Bundle;
use super::{App, AppError, BlockInput, BlockOutcome, Finalized, TxError, hex0x, state_keys};
use crate::store::Backend;

/// A compiled module shared between invocations.
pub(super) type Module<B> = Arc<Function<FnView<B>>>;

/// The address form of a function: where its native tokens are held, and the caller its
/// messages to other functions carry.
pub fn function_address(id: &Hash32) -> Address {
    id[12..].try_into().expect("20 bytes")
}

/// The id of a function created by the `index`-th message of `sender`'s transaction with `nonce`.
pub fn function_id(sender: &Address, nonce: u64, index: u32) -> Hash32 {
    keccak256([b"nexus/function".as_slice(), sender, &nonce.to_be_bytes(), &index.to_be_bytes()].concat()).0
}

/// What a message failed with: a reason for the record, and whether it was running out of gas
/// (which ends the whole transaction, not just a nested call).
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) reason: String,
    pub(super) out_of_gas: bool,
}

impl From<OutOfGas> for Failure {
    fn from(_: OutOfGas) -> Self {
        Failure { reason: "out of gas".into(), out_of_gas: true }
    }
}

pub(super) fn fail(reason: impl Into<String>) -> Failure {
    Failure { reason: reason.into(), out_of_gas: false }
}

/// Per-block execution context.
struct BlockCtx<'p> {
    params: &'p Params,
    height: u64,
    time_ns: u64,
    logs: Vec<LogRecord>,
}

/// Who invoked a function and under which transaction.
#[derive(Clone, Copy)]
struct Origin {
    caller: Address,
    value: u128,
    tx: Option<Hash32>,
    seq: u32,
    eth_block: Option<u64>,
}

impl<B: Backend + Send + Sync + 'static> App<B> {
    pub(super) fn execute_block(
        &mut self,
        params: &Params,
        block: &BlockInput,
    ) -> Result<BlockOutcome, AppError> {
        let mut ctx = BlockCtx { params, height: block.height, time_ns: block.time_ns, logs: Vec::new() };
        let mut records = Vec::with_capacity(block.txs.len());
        let mut fees = 0u128;
        // ProcessProposal vouched for the bundle's signatures; it carries no state changes yet
        // (the Ethereum and threshold-signing components will read their payloads from it).
        let bundle = block.txs.first().and_then(|t| Bundle::decode(t)).and_then(Result::ok);
        let mut skip = usize::from(bundle.is_some());
        // ProcessProposal checked the Ethereum data against the votes; it runs before any
        // transaction, so the filters it was checked with are still the chain's.
        let eth_data = block.txs.get(skip).and_then(|t| EthData::decode(t)).and_then(Result::ok);
        let mut eth_records = Vec::new();
        if let Some(data) = &eth_data {
            skip += 1;
            eth_records = self.run_eth(&mut ctx, data);
        }
        for (index, bytes) in block.txs.iter().enumerate().skip(skip) {
            let record = self.execute_tx(&mut ctx, index as u32, bytes);
            fees = fees.saturating_add(record.fee);
            records.push(record);
        }
        if fees > 0 {
            // Fees are pooled until staking distributes them.
            let pool = self.layers.get(state_keys::FEE_POOL).and_then(|b| borsh::from_slice::<u128>(&b).ok());
            let total = pool.unwrap_or(0).saturating_add(fees);
            self.layers.set(state_keys::FEE_POOL.to_vec(), borsh::to_vec(&total).expect("borsh"));
            self.layers.commit_tx();
        }
        let scheduled = self.run_scheduled(&mut ctx);
        self.end_block_tss(params, block.height, bundle.as_ref(), &mut ctx.logs);
        let validator_updates = self.end_block_staking(
            params,
            block.height,
            block.time_ns,
            &block.last_commit,
            &block.misbehavior,
        );

        self.store.apply(self.layers.take_block());
        let app_hash = self.store.stage(block.height)?;
        let block_record = BlockRecord {
            height: block.height,
            time_ns: block.time_ns,
            app_hash,
            txs: records.iter().map(|r| r.hash).collect(),
            gas_used: records.iter().map(|r| r.gas_used).sum(),
            scheduled,
            eth: eth_records,
            eth_cursor: self.load(state_keys::ETH_CURSOR),
        };
        let mut journal = Vec::with_capacity(records.len() + ctx.logs.len() + 1);
        journal.push((state_keys::journal_block(block.height), Some(json(&block_record))));
        for r in &records {
            journal.push((state_keys::journal_tx(&r.hash), Some(json(r))));
        }
        let mut seq_by_function = std::collections::BTreeMap::<Hash32, u32>::new();
        for log in &ctx.logs {
            let seq = seq_by_function.entry(log.function).or_default();
            journal.push((state_keys::journal_log(&log.function, block.height, *seq), Some(json(log))));
            *seq += 1;
        }
        self.finalized = Some(Finalized { height: block.height, app_hash, journal });
        Ok(BlockOutcome {
            app_hash,
            block: block_record,
            bundle,
            injected: skip,
            txs: records,
            logs: ctx.logs,
            validator_updates,
        })
    }

    fn execute_tx(&self, ctx: &mut BlockCtx<'_>, index: u32, bytes: &[u8]) -> TxRecord {
        let hash = tx::tx_hash(bytes);
        let mut record = TxRecord {
            hash,
            height: ctx.height,
            index,
            sender: [0; 20],
            nonce: 0,
            ok: false,
            error: None,
            gas_limit: 0,
            gas_used: 0,
            fee: 0,
            results: Vec::new(),
        };
        let signed = match tx::decode(bytes) {
            Ok(s) => s,
            Err(e) => {
                record.error = Some(e.to_string());
                return record;
            }
        };
        let cached = self.verified.lock().unwrap_or_else(|e| e.into_inner()).remove(&hash);
        let sender = match cached {
            Some(sender) => sender,
            None => match tx::recover_signer(&signed.tx, &signed.signature) {
                Ok(s) => s,
                Err(e) => {
                    record.error = Some(e.to_string());
                    return record;
                }
            },
        };
        let t = signed.tx;
        (record.sender, record.nonce, record.gas_limit) = (sender, t.nonce, t.gas_limit);
        let verified = tx::VerifiedTx { hash, sender, tx: t, size: bytes.len() };
        let mut account = self.load_account(&sender);
        let (expected, got) = (account.nonce, verified.tx.nonce);
        let refusal = if verified.tx.chain_id != ctx.params.chain_id {
            let e =
                tx::DecodeTxError::WrongChain { expected: ctx.params.chain_id, got: verified.tx.chain_id };
            Some(e.to_string())
        } else if got < expected {
            Some(TxError::NonceTooLow { sender: hex0x(&sender), expected, got }.to_string())
        } else if got > expected {
            Some(TxError::NonceTooHigh { sender: hex0x(&sender), expected, got }.to_string())
        } else {
            match super::stateless_checks(ctx.params, &verified, ctx.height) {
                Err(e) => Some(e.to_string()),
                Ok(_) => None,
            }
        };
        let t = verified.tx;
        let max_fee = u128::from(t.gas_limit).saturating_mul(t.gas_price);
        let refusal = refusal.or_else(|| {
            (account.balance < max_fee).then(|| {
                format!("{} has {} but the fee may be up to {max_fee}", hex0x(&sender), account.balance)
            })
        });
        if let Some(reason) = refusal {
            record.error = Some(reason);
            return record;
        }
        // From here the transaction is included: the nonce is used and gas is paid for.
        account.nonce += 1;
        account.balance -= max_fee;
        self.save_account(&sender, &account);
        self.layers.commit_tx();

        let mut meter = Meter::new(t.gas_limit);
        let mut outcome = meter.charge(gas::intrinsic(bytes.len())).map_err(Failure::from);
        if outcome.is_ok() {
            for (i, msg) in t.msgs.iter().enumerate() {
                let origin = Origin { caller: sender, value: 0, tx: Some(hash), seq: 0, eth_block: None };
                match self.execute_msg(ctx, &mut meter, origin, t.nonce, i as u32, msg) {
                    Ok(result) => record.results.push(result),
                    Err(f) => {
                        outcome = Err(Failure {
                            reason: format!("message {i} ({}): {}", msg.kind_name(), f.reason),
                            ..f
                        });
                        break;
                    }
                }
            }
        }
        match outcome {
            Ok(()) => {
                self.layers.commit_tx();
                record.ok = true;
            }
            Err(f) => {
                self.layers.revert_tx();
                record.results.clear();
                record.error = Some(f.reason);
            }
        }
        record.gas_used = meter.used();
        record.fee = u128::from(meter.used()) * t.gas_price;
        let mut account = self.load_account(&sender);
        account.balance += max_fee - record.fee;
        self.save_account(&sender, &account);
        self.layers.commit_tx();
        record
    }

    fn execute_msg(
        &self,
        ctx: &mut BlockCtx<'_>,
        meter: &mut Meter,
        origin: Origin,
        nonce: u64,
        index: u32,
        msg: &Msg,
    ) -> Result<MsgResult, Failure> {
        let sender = origin.caller;
        let mut result = MsgResult {
            kind: msg.kind_name().into(),
            function: None,
            code_hash: None,
            invocations: Vec::new(),
        };
        match msg {
            Msg::Transfer { to, amount } => {
                meter.charge(gas::TRANSFER)?;
                self.transfer(&sender, to, *amount)?;
            }
            Msg::Deploy { code, input } => {
                let (function, code_hash) = self.install(ctx, meter, code)?;
                let id = function_id(&sender, nonce, index);
                let info = FunctionInfo {
                    owner: sender,
                    code_hash,
                    created_at: ctx.height,
                    updated_at: ctx.height,
                    version: 1,
                };
                self.layers.set(state_keys::function(&id), borsh::to_vec(&info).expect("borsh"));
                self.register_triggers(&id, &function);
                (result.function, result.code_hash) = (Some(id), Some(code_hash));
                if function.info.entry_points.contains(&EntryPoint::Init) {
                    let init = EntryPoint::Init;
                    self.invoke_with_sends(ctx, meter, origin, &id, &info, init, input, &mut result)?;
                }
            }
            Msg::Call { function: id, input, value } => {
                result.function = Some(*id);
                // Read once: the transfer below cannot change the function record.
                let info = self.require_function(id)?;
                meter.charge(gas::TRANSFER)?;
                self.transfer(&sender, &function_address(id), *value)?;
                let origin = Origin { value: *value, ..origin };
                let on_call = EntryPoint::OnCall;
                self.invoke_with_sends(ctx, meter, origin, id, &info, on_call, input, &mut result)?;
            }
            Msg::Upgrade { function: id, code, input } => {
                result.function = Some(*id);
                let mut info = self.require_owner(id, &sender, "upgrade")?;
                let (function, code_hash) = self.install(ctx, meter, code)?;
                (info.code_hash, info.updated_at, info.version) = (code_hash, ctx.height, info.version + 1);
                self.layers.set(state_keys::function(id), borsh::to_vec(&info).expect("borsh"));
                self.unregister_triggers(id);
                self.register_triggers(id, &function);
                result.code_hash = Some(code_hash);
                let entries = &function.info.entry_points;
                let entry = [EntryPoint::Migrate, EntryPoint::Init].into_iter().find(|e| entries.contains(e));
                if let Some(entry) = entry {
                    self.invoke_with_sends(ctx, meter, origin, id, &info, entry, input, &mut result)?;
                }
            }
            Msg::CreateValidator { consensus_key, key_signature, commission_bps, amount } => {
                meter.charge(gas::STAKING)?;
                self.create_validator(
                    ctx.params,
                    &sender,
                    consensus_key,
                    key_signature,
                    *commission_bps,
                    *amount,
                )?;
            }
            Msg::Delegate { validator, amount } => {
                meter.charge(gas::STAKING)?;
                self.delegate(&sender, validator, *amount)?;
            }
            Msg::Undelegate { validator, amount } => {
                meter.charge(gas::STAKING)?;
                self.undelegate(ctx.params, ctx.height, ctx.time_ns, &sender, validator, *amount)?;
            }
            Msg::Unjail => {
                meter.charge(gas::STAKING)?;
                self.unjail(ctx.params, ctx.height, &sender)?;
            }
            Msg::WithdrawRewards { validator } => {
                meter.charge(gas::STAKING)?;
                self.withdraw_rewards(&sender, validator)?;
            }
            Msg::Delete { function: id } => {
                result.function = Some(*id);
                self.require_owner(id, &sender, "delete")?;
                let state = layers::scan(&self.layers, &state_keys::function_state(id), false);
                meter.charge(gas::PER_DELETED_KEY.saturating_mul(state.len() as u64))?;
                for key in state.into_keys() {
                    self.layers.delete(key);
                }
                for key in [state_keys::function(id), state_keys::task(id)] {
                    self.layers.delete(key);
                }
                self.unregister_triggers(id);
                let address = function_address(id);
                let left = self.load_account(&address).balance;
                self.transfer(&address, &sender, left)?;
                self.layers.delete(state_keys::account(&address));
            }
        }
        Ok(result)
    }

    /// Validates and compiles a module, charging for its size first, and stores its bytes.
    fn install(
        &self,
        ctx: &BlockCtx<'_>,
        meter: &mut Meter,
        code: &[u8],
    ) -> Result<(Module<B>, Hash32), Failure> {
        meter.charge(gas::PER_CODE_BYTE.saturating_mul(code.len() as u64))?;
        if code.len() as u64 > ctx.params.max_code_bytes {
            return Err(fail(format!(
                "module is {} bytes; the limit is {}",
                code.len(),
                ctx.params.max_code_bytes
            )));
        }
        let function = self.compile(code).map_err(|e| fail(format!("invalid module: {e}")))?;
        let key = state_keys::code(&function.code_hash);
        if self.layers.get(&key).is_none() {
            self.layers.set(key, code.to_vec());
        }
        let hash = function.code_hash;
        Ok((function, hash))
    }

    fn register_triggers(&self, id: &Hash32, function: &Function<FnView<B>>) {
        let mut filters = 0u32;
        for trigger in &function.info.manifest.triggers {
            match trigger {
                Trigger::Every { blocks } => {
                    self.layers.set(state_keys::every(id), blocks.to_be_bytes().to_vec())
                }
                Trigger::EthBlocks => self.layers.set(state_keys::eth_blocks(id), Vec::new()),
                Trigger::EthLogs(filter) => {
                    self.layers.set(state_keys::eth_log(id, filters), filter.encode());
                    filters += 1;
                }
            }
        }
    }

    /// Removes a function's triggers (before an upgrade registers the new code's, or on delete).
    fn unregister_triggers(&self, id: &Hash32) {
        for key in [state_keys::every(id), state_keys::eth_blocks(id)] {
            self.layers.delete(key);
        }
        for key in layers::scan(&self.layers, &state_keys::eth_logs(id), false).into_keys() {
            self.layers.delete(key);
        }
    }

    /// Whether function `id` exists and exports `entry`.
    fn exports(&self, id: &Hash32, entry: EntryPoint) -> bool {
        self.require_function(id)
            .and_then(|info| self.module(&info.code_hash))
            .is_ok_and(|m| m.info.entry_points.contains(&entry))
    }

    fn require_function(&self, id: &Hash32) -> Result<FunctionInfo, Failure> {
        self.layers
            .get(&state_keys::function(id))
            .and_then(|b| borsh::from_slice(&b).ok())
            .ok_or_else(|| fail(format!("no function {} on this chain", hex0x(id))))
    }

    fn require_owner(&self, id: &Hash32, sender: &Address, action: &str) -> Result<FunctionInfo, Failure> {
        let info = self.require_function(id)?;
        if info.owner != *sender {
            return Err(fail(format!(
                "only the owner {} may {action} function {}; the signer is {}",
                hex0x(&info.owner),
                hex0x(id),
                hex0x(sender)
            )));
        }
        Ok(info)
    }

    pub(super) fn load_account(&self, address: &Address) -> Account {
        self.layers
            .get(&state_keys::account(address))
            .and_then(|b| borsh::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(super) fn save_account(&self, address: &Address, account: &Account) {
        self.layers.set(state_keys::account(address), borsh::to_vec(account).expect("borsh"));
    }

    fn transfer(&self, from: &Address, to: &Address, amount: u128) -> Result<(), Failure> {
        if amount == 0 || from == to {
            return Ok(());
        }
        let mut source = self.load_account(from);
        source.balance = source
            .balance
            .checked_sub(amount)
            .ok_or_else(|| fail(format!("{} has {} but sends {amount}", hex0x(from), source.balance)))?;
        self.save_account(from, &source);
        let mut target = self.load_account(to);
        target.balance = target.balance.checked_add(amount).ok_or_else(|| fail("balance overflow"))?;
        self.save_account(to, &target);
        Ok(())
    }

    /// A compiled module by its bytes, from the node-local cache when possible.
    pub(super) fn compile(&self, code: &[u8]) -> Result<Module<B>, nexus_runtime::DeployError> {
        let hash: Hash32 = <sha2::Sha256 as sha2::Digest>::digest(code).into();
        if let Some(f) = self.modules.lock().unwrap_or_else(|e| e.into_inner()).get(&hash) {
            return Ok(f.clone());
        }
        let f = Arc::new(self.runtime.load(code)?);
        self.modules.lock().unwrap_or_else(|e| e.into_inner()).insert(f.code_hash, f.clone());
        Ok(f)
    }

    /// The compiled module of a stored code hash.
    pub(super) fn module(&self, code_hash: &Hash32) -> Result<Module<B>, Failure> {
        if let Some(f) = self.modules.lock().unwrap_or_else(|e| e.into_inner()).get(code_hash) {
            return Ok(f.clone());
        }
        let code = self
            .layers
            .get(&state_keys::code(code_hash))
            .ok_or_else(|| fail(format!("code {} is missing from state", hex0x(code_hash))))?;
        self.compile(&code).map_err(|e| fail(format!("stored module no longer loads: {e}")))
    }

    /// Invokes `entry` of function `id` (whose record is `info`), then delivers every `send` it
    /// (and its callees) made, in order, each followed by the sender's `on_reply`.
    #[allow(clippy::too_many_arguments)]
    fn invoke_with_sends(
        &self,
        ctx: &mut BlockCtx<'_>,
        meter: &mut Meter,
        origin: Origin,
        id: &Hash32,
        info: &FunctionInfo,
        entry: EntryPoint,
        input: &[u8],
        result: &mut MsgResult,
    ) -> Result<TaskControl, Failure> {
        let mut queue = VecDeque::new();
        let first = self.invoke(ctx, meter, origin, id, info, entry, input.to_vec())?;
        result.invocations.push(first.0);
        let first = first.1;
        if let Err(e) = &first.outcome {
            return Err(fail(format!("{} of {} failed: {e}", entry.export_name(), hex0x(id))));
        }
        self.take_requests(ctx, id, &first, &mut queue);
        let control = first.task;
        let mut sends = 0u32;
        while let Some((from, request_id, target, data, value)) = queue.pop_front() {
            sends += 1;
            if sends > ctx.params.max_sends_per_tx {
                return Err(fail(format!(
                    "more than {} function-to-function messages",
                    ctx.params.max_sends_per_tx
                )));
            }
            let checkpoint = self.layers.checkpoint();
            let caller = function_address(&from);
            let delivered = self.require_function(&target).and_then(|info| {
                self.transfer(&caller, &function_address(&target), value)?;
                let origin = Origin { caller, value, seq: sends, ..origin };
                self.invoke(ctx, meter, origin, &target, &info, EntryPoint::OnCall, data)
            });
            let reply = match delivered {
                Ok((record, r)) => {
                    result.invocations.push(record);
                    match &r.outcome {
                        Ok(()) => {
                            self.take_requests(ctx, &target, &r, &mut queue);
                            Reply { request_id, kind: ReplyKind::Send, ok: true, data: r.output }
                        }
                        Err(e) => {
                            self.layers.restore(checkpoint);
                            Reply {
                                request_id,
                                kind: ReplyKind::Send,
                                ok: false,
                                data: e.to_string().into_bytes(),
                            }
                        }
                    }
                }
                Err(f) if f.out_of_gas => return Err(f),
                Err(f) => {
                    self.layers.restore(checkpoint);
                    Reply { request_id, kind: ReplyKind::Send, ok: false, data: f.reason.into_bytes() }
                }
            };
            let sender =
                self.require_function(&from).and_then(|info| Ok((self.module(&info.code_hash)?, info)));
            if let Ok((module, info)) = sender
                && module.info.entry_points.contains(&EntryPoint::OnReply)
            {
                let origin = Origin { caller: function_address(&target), value: 0, seq: sends, ..origin };
                let on_reply = EntryPoint::OnReply;
                let (record, r) = self.invoke(ctx, meter, origin, &from, &info, on_reply, reply.encode())?;
                result.invocations.push(record);
                if r.outcome.is_ok() {
                    self.take_requests(ctx, &from, &r, &mut queue);
                }
            }
        }
        Ok(control)
    }

    /// Queues an invocation's sends and stores its other outbound requests in the outbox.
    fn take_requests(
        &self,
        ctx: &mut BlockCtx<'_>,
        id: &Hash32,
        r: &InvocationResult,
        queue: &mut VecDeque<(Hash32, u64, Hash32, Vec<u8>, u128)>,
    ) {
        for request in &r.requests {
            let (request_id, kind) = match request {
                OutboundRequest::Send { id: request_id, function, data, value } => {
                    queue.push_back((*id, *request_id, *function, data.clone(), *value));
                    continue;
                }
                OutboundRequest::EthSend { id: request_id, target, data, gas_limit } => {
                    let (nonce, m) = self.queue_eth_send(*id, *request_id, *target, *gas_limit, data.clone());
                    ctx.logs.push(super::tss::message_log(&m, nonce, ctx.height, "queued"));
                    continue;
                }
                OutboundRequest::Proof { id, .. } => (*id, "proof"),
            };
            let seq = self
                .layers
                .get(state_keys::OUTBOX_NEXT)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_be_bytes);
            let item = WorkItem {
                function: *id,
                height: ctx.height,
                request_id,
                kind: kind.into(),
                payload: encode_request(request),
            };
            self.layers.set(state_keys::outbox(seq), borsh::to_vec(&item).expect("borsh"));
            self.layers.set(state_keys::OUTBOX_NEXT.to_vec(), (seq + 1).to_be_bytes().to_vec());
        }
        if r.task == TaskControl::Schedule {
            self.layers.set(state_keys::task(id), Vec::new());
        }
    }

    /// Runs one entry point of function `id` (whose record the caller just read: `info`) against
    /// the current transaction's state, charging its fuel and recording its logs. A failed
    /// invocation changes nothing (its result says why).
    #[allow(clippy::too_many_arguments)]
    fn invoke(
        &self,
        ctx: &mut BlockCtx<'_>,
        meter: &mut Meter,
        origin: Origin,
        id: &Hash32,
        info: &FunctionInfo,
        entry: EntryPoint,
        input: Vec<u8>,
    ) -> Result<(InvocationRecord, InvocationResult), Failure> {
        let module = self.module(&info.code_hash)?;
        let entry =
            if entry == EntryPoint::OnCall && module.info.is_command() { EntryPoint::Start } else { entry };
        let limits = module.info.manifest.limits;
        let fuel_cap = limits.fuel.unwrap_or(u64::MAX).min(ctx.params.max_fuel_per_invocation);
        let seed = keccak256(
            [
                id.as_slice(),
                &ctx.height.to_be_bytes(),
                &origin.tx.unwrap_or_default(),
                &origin.seq.to_be_bytes(),
            ]
            .concat(),
        );
        let call = Call {
            entry,
            input,
            context: Context {
                chain_id: ctx.params.chain_name.clone(),
                height: ctx.height,
                time_ns: ctx.time_ns,
                self_id: *id,
                caller: origin.caller,
                value: origin.value,
                entry: Some(entry),
                eth_block: origin.eth_block,
            },
            fuel: meter.remaining().min(fuel_cap),
            storage_quota: limits.storage_bytes.unwrap_or(u64::MAX).min(ctx.params.max_storage_bytes),
            args: vec![hex0x(id)],
            env: Vec::new(),
            random_seed: seed.0,
            preopens: Vec::new(),
        };
        let prefix = state_keys::function_state(id);
        let view = FnView::new(self.layers.clone(), prefix.clone());
        // Running out of the transaction's gas (not just the function's own cap) ends the transaction.
        let tx_gas_ran_out = call.fuel == meter.remaining();
        let (mut r, _) = self.runtime.invoke(&module, call, view);
        let out_of_gas = meter.charge(r.fuel_used).is_err()
            || (tx_gas_ran_out && r.outcome == Err(nexus_runtime::InvocationError::OutOfGas));
        record_logs(ctx, id, &origin, entry, &r);
        let record = InvocationRecord {
            function: *id,
            entry: entry.export_name().into(),
            ok: r.outcome.is_ok(),
            error: r.outcome.as_ref().err().map(ToString::to_string),
            output: r.output.clone(),
            fuel_used: r.fuel_used,
        };
        if out_of_gas {
            return Err(OutOfGas.into());
        }
        if r.outcome.is_ok() {
            self.layers.apply_diff(&prefix, std::mem::take(&mut r.diff));
        }
        Ok((record, r))
    }

    /// Runs the functions finalized Ethereum blocks trigger, block by block in order: every
    /// `on_eth_block` subscriber, then for each log (in index order) every function whose filter
    /// matches it and, for a gateway `FunctionCalled` log, the called function's `on_call`; then
    /// moves the cursor. With no cursor yet, the data is the anchor block: it only sets the cursor.
    /// Each invocation gets a whole invocation's fuel, so no Ethereum block is ever skipped or
    /// split; their number is bounded by the caps on blocks and logs per Nexus block.
    fn run_eth(&self, ctx: &mut BlockCtx<'_>, data: &EthData) -> Vec<InvocationRecord> {
        let mut records = Vec::new();
        let anchored = self.load::<EthCursor>(state_keys::ETH_CURSOR).is_some();
        let block_subscribers: Vec<Hash32> = layers::scan(&self.layers, state_keys::ETH_BLOCKS_PREFIX, false)
            .into_keys()
            .filter_map(|k| k[state_keys::ETH_BLOCKS_PREFIX.len()..].try_into().ok())
            .collect();
        let log_subscribers: Vec<(Hash32, EthLogFilter)> =
            layers::scan(&self.layers, state_keys::ETH_LOGS_PREFIX, false)
                .into_iter()
                .filter_map(|(k, v)| {
                    let id =
                        k.get(state_keys::ETH_LOGS_PREFIX.len()..state_keys::ETH_LOGS_PREFIX.len() + 32)?;
                    Some((id.try_into().ok()?, EthLogFilter::decode(&v).ok()?))
                })
                .collect();
        let gateway = ctx.params.eth.gateway;
        let height = ctx.height;
        // The chain's own lines about executed messages join the block's logs after the run.
        let mut executed = Vec::new();
        let mut seq = 0u32;
        for block in data.blocks.iter().filter(|_| anchored) {
            let number = block.header.number;
            let mut run = |id: &Hash32, entry: EntryPoint, caller: Address, value: u128, input: Vec<u8>| {
                seq += 1;
                let origin = Origin { caller, value, tx: None, seq, eth_block: Some(number) };
                let mut result = MsgResult {
                    kind: "eth".into(),
                    function: Some(*id),
                    code_hash: None,
                    invocations: Vec::new(),
                };
                let mut meter = Meter::new(ctx.params.max_fuel_per_invocation);
                let outcome = self.require_function(id).and_then(|info| {
                    self.invoke_with_sends(ctx, &mut meter, origin, id, &info, entry, &input, &mut result)
                });
                match outcome {
                    Ok(_) => self.layers.commit_tx(),
                    Err(_) => self.layers.revert_tx(),
                }
                records.extend(result.invocations);
            };
            for id in &block_subscribers {
                run(id, EntryPoint::OnEthBlock, [0; 20], 0, block.header.encode());
            }
            for log in &block.logs {
                let mut last = None;
                for (id, filter) in &log_subscribers {
                    // One invocation per function and log, however many of its filters match.
                    if last != Some(id) && eth::matches(filter, log) {
                        run(id, EntryPoint::OnEthLog, [0; 20], 0, log.encode());
                        last = Some(id);
                    }
                }
                if let Some(call) = gateway.and_then(|g| gateway_call(g, log)) {
                    run(&call.function, EntryPoint::OnCall, call.caller, call.value, call.payload);
                } else if let Some(done) = gateway.and_then(|g| gateway_executed(g, log)) {
                    if let Some(m) = self.message_executed(done.nonce, done.sender, done.success) {
                        self.layers.commit_tx();
                        let outcome =
                            if done.success { "executed on Ethereum" } else { "reverted on Ethereum" };
                        executed.push(super::tss::message_log(&m, done.nonce, height, outcome));
                        if self.exports(&m.function, EntryPoint::OnReply) {
                            let reply = Reply {
                                request_id: m.request_id,
                                kind: ReplyKind::EthSend,
                                ok: done.success,
                                data: done.result,
                            };
                            run(&m.function, EntryPoint::OnReply, log.address, 0, reply.encode());
                        }
                    }
                } else if let Some((epoch, x)) = gateway.and_then(|g| gateway_key_set(g, log)) {
                    self.key_installed(epoch, x);
                    self.layers.commit_tx();
                }
            }
        }
        ctx.logs.extend(executed);
        if let Some(last) = data.blocks.last() {
            let cursor = EthCursor { number: last.header.number, hash: last.header.hash };
            self.store_value(state_keys::ETH_CURSOR.to_vec(), &cursor);
            self.layers.commit_tx();
        }
        records
    }

    /// Invokes `every` triggers due at this height, then every long-running task, from one
    /// per-block fuel budget; whoever the budget does not reach waits for the next block (the
    /// starting point rotates by height, so no function always comes last).
    fn run_scheduled(&self, ctx: &mut BlockCtx<'_>) -> Vec<InvocationRecord> {
        let mut due = Vec::new();
        for (key, period) in layers::scan(&self.layers, state_keys::EVERY_PREFIX, false) {
            let period = period.try_into().map(u64::from_be_bytes).unwrap_or(0);
            if period > 0 && ctx.height.is_multiple_of(period) {
                due.push((key[state_keys::EVERY_PREFIX.len()..].try_into().expect("32-byte id"), false));
            }
        }
        for key in layers::scan(&self.layers, state_keys::TASK_PREFIX, false).into_keys() {
            due.push((key[state_keys::TASK_PREFIX.len()..].try_into().expect("32-byte id"), true));
        }
        if due.is_empty() {
            return Vec::new();
        }
        let start = (ctx.height % due.len() as u64) as usize;
        due.rotate_left(start);
        let mut budget = Meter::new(ctx.params.scheduled_fuel_per_block);
        let mut records = Vec::new();
        for (id, is_task) in due {
            if budget.remaining() <= nexus_runtime::gas::INVOCATION_BASE {
                break;
            }
            let origin =
                Origin { caller: [0; 20], value: 0, tx: None, seq: u32::from(is_task), eth_block: None };
            let mut result = MsgResult {
                kind: "scheduled".into(),
                function: Some(id),
                code_hash: None,
                invocations: Vec::new(),
            };
            let outcome = self.require_function(&id).and_then(|info| {
                let on_task = EntryPoint::OnTask;
                self.invoke_with_sends(ctx, &mut budget, origin, &id, &info, on_task, &[], &mut result)
            });
            match &outcome {
                Ok(_) => self.layers.commit_tx(),
                // The block's budget ran out, not the function's own limit: it waits for the next block.
                Err(f) if f.out_of_gas => {
                    self.layers.revert_tx();
                    records.extend(result.invocations);
                    break;
                }
                Err(_) => self.layers.revert_tx(),
            }
            // A task ends when it says so or fails; a failing task would otherwise burn the
            // budget of every block.
            if is_task && !matches!(outcome, Ok(TaskControl::Continue)) {
                self.layers.delete(state_keys::task(&id));
                self.layers.commit_tx();
            }
            records.extend(result.invocations);
        }
        records
    }
}

/// A `callFunction` request read from a gateway log.
struct GatewayCall {
    function: Hash32,
    caller: Address,
    value: u128,
    payload: Vec<u8>,
}

/// The request in a gateway's `FunctionCalled` log (`None` for other logs, undecodable data or a
/// value beyond 128 bits, which the gateway's callers cannot send).
fn gateway_call(gateway: Address, log: &nexus_types::EthLog) -> Option<GatewayCall> {
    use alloy_sol_types::SolEvent as _;
    if log.address != gateway {
        return None;
    }
    let topics: Vec<alloy_primitives::B256> = log.topics.iter().map(|t| (*t).into()).collect();
    let event = eth::FunctionCalled::decode_raw_log(topics, &log.data).ok()?;
    Some(GatewayCall {
        function: event.functionId.0,
        caller: event.caller.into_array(),
        value: u128::try_from(event.value).ok()?,
        payload: event.payload.to_vec(),
    })
}

/// A gateway `Executed` log: which message ran, and how.
struct GatewayExecuted {
    nonce: u64,
    sender: Hash32,
    success: bool,
    result: Vec<u8>,
}

fn gateway_executed(gateway: Address, log: &nexus_types::EthLog) -> Option<GatewayExecuted> {
    use alloy_sol_types::SolEvent as _;
    if log.address != gateway {
        return None;
    }
    let topics: Vec<alloy_primitives::B256> = log.topics.iter().map(|t| (*t).into()).collect();
    let e = eth::Executed::decode_raw_log(topics, &log.data).ok()?;
    Some(GatewayExecuted {
        nonce: e.nonce,
        sender: e.sender.0,
        success: e.success,
        result: e.result.to_vec(),
    })
}

/// A gateway `GroupKeySet` log: the epoch and x coordinate of the key it holds now.
fn gateway_key_set(gateway: Address, log: &nexus_types::EthLog) -> Option<(u64, [u8; 32])> {
    use alloy_sol_types::SolEvent as _;
    if log.address != gateway {
        return None;
    }
    let topics: Vec<alloy_primitives::B256> = log.topics.iter().map(|t| (*t).into()).collect();
    let e = eth::GroupKeySet::decode_raw_log(topics, &log.data).ok()?;
    Some((e.epoch, e.x.0))
}

/// A journal record's bytes: JSON, since the journal is node-local and served as JSON.
fn json(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("records serialize")
}

/// Encodes an outbound request for the outbox (the Ethereum and zk components decode it).
fn encode_request(request: &OutboundRequest) -> Vec<u8> {
    let mut out = Vec::new();
    match request {
        OutboundRequest::EthSend { id, target, data, gas_limit } => {
            0u8.encode_to(&mut out);
            id.encode_to(&mut out);
            target.encode_to(&mut out);
            data.encode_to(&mut out);
            gas_limit.encode_to(&mut out);
        }
        OutboundRequest::Proof { id, program_id, input } => {
            1u8.encode_to(&mut out);
            id.encode_to(&mut out);
            program_id.encode_to(&mut out);
            input.encode_to(&mut out);
        }
        OutboundRequest::Send { id, function, data, value } => {
            2u8.encode_to(&mut out);
            id.encode_to(&mut out);
            function.encode_to(&mut out);
            data.encode_to(&mut out);
            value.encode_to(&mut out);
        }
    }
    out
}

fn record_logs(
    ctx: &mut BlockCtx<'_>,
    id: &Hash32,
    origin: &Origin,
    entry: EntryPoint,
    r: &InvocationResult,
) {
    let mut push = |kind: &str, topic: Option<String>, message: String| {
        ctx.logs.push(LogRecord {
            function: *id,
            height: ctx.height,
            tx: origin.tx,
            entry: entry.export_name().into(),
            kind: kind.into(),
            topic,
            message,
            eth_block: origin.eth_block,
        });
    };
    for line in &r.logs {
        let level = match line.level {
            0 => "debug",
            1 => "info",
            2 => "warn",
            _ => "error",
        };
        push(level, None, line.message.clone());
    }
    for event in &r.events {
        push(
            "event",
            Some(String::from_utf8_lossy(&event.topic).into_owned()),
            String::from_utf8_lossy(&event.data).into_owned(),
        );
    }
    for (kind, bytes) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        if !bytes.is_empty() {
            push(kind, None, String::from_utf8_lossy(bytes).into_owned());
        }
    }
    if let Err(e) = &r.outcome {
        push("failure", None, e.to_string());
    }
}
