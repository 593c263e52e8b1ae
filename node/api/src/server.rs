//! The RPC server: the node API's methods over the shared node state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::PendingSubscriptionSink;
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::server::{Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use nexus_consensus::app::tx::{self, VerifiedTx};
use nexus_consensus::app::{App, AppError, QueryError, TxError, function_address};
use nexus_consensus::app::{tss, votes};
use nexus_consensus::{Backend, StoreError};
use nexus_types::Hash32;
use serde::Serialize;
use tokio::sync::{RwLockReadGuard, broadcast, oneshot};

use crate::code;
use crate::node::{Outcome, Published, SubmitError};
use crate::rpc::NexusApiServer;
use crate::types::{
    AccountInfo, Address, BlockRecord, Bytes, DelegationInfo, DkgInfo, EthStatus, FileEntry, FunctionDetails,
    GatewaySignature, H256, KeyInfo, KvValue, LogRecord, QueryEvent, QueryLog, QueryResult, SendTxResult,
    SignedBatchInfo, SignedMessageInfo, SignedRotationInfo, Status, TssStatus, TxState, TxStatus,
    ValidatorInfo, WorkItem,
};

/// How long `nexus_sendTx` with `wait = true` waits for the commit.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Most log records one `nexus_logs` call returns.
const LOGS_LIMIT: u32 = 1000;

fn err(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned::<()>(code, message.into(), None)
}

fn tx_error(e: TxError) -> ErrorObjectOwned {
    // The node API's codes are the ABCI CheckTx codes, so validators pass CometBFT's refusals on.
    err(nexus_abci::code::of(&e) as i32, e.to_string())
}

fn app_error(e: AppError) -> ErrorObjectOwned {
    let code = match &e {
        AppError::NotInitialized => code::NOT_INITIALIZED,
        AppError::Store(StoreError::Pruned { .. }) => code::PRUNED,
        AppError::Store(StoreError::NotCommitted { .. }) => code::NOT_FOUND,
        _ => code::INTERNAL,
    };
    err(code, e.to_string())
}

fn query_error(e: QueryError) -> ErrorObjectOwned {
    match e {
        QueryError::NoFunction(_) => err(code::NOT_FOUND, e.to_string()),
        QueryError::Path { .. } => err(code::BAD_PATH, e.to_string()),
        QueryError::App(a) => app_error(a),
    }
}

/// What the node API needs of a node: the application to read, a way to submit transactions,
/// and the stream of committed blocks. `nexus dev` and validators each provide it.
#[async_trait]
pub(crate) trait Node: Send + Sync + 'static {
    /// The state store backend.
    type Backend: Backend + Send + Sync + 'static;
    /// The numeric chain id signatures bind.
    fn chain_id(&self) -> u64;
    /// The chain's name.
    fn chain_name(&self) -> &str;
    /// Whether this is a dev node.
    fn is_dev(&self) -> bool;
    /// The application, for reading (waiting yields the thread).
    async fn app(&self) -> RwLockReadGuard<'_, App<Self::Backend>>;
    /// Checks and queues a transaction whose signature was verified; `waiter` learns its result.
    async fn submit(
        &self,
        bytes: Vec<u8>,
        verified: VerifiedTx,
        waiter: Option<oneshot::Sender<Outcome>>,
    ) -> Result<(), SubmitError>;
    /// Whether a transaction waits in the mempool.
    fn is_pending(&self, hash: &Hash32) -> bool;
    /// How many transactions wait in the mempool.
    fn mempool_len(&self) -> usize;
    /// Every block from now on, once committed.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Published>>;
}

/// The node API over a node.
pub(crate) struct Rpc<N: Node> {
    pub node: Arc<N>,
    /// The node's Ethereum observer, when it follows Ethereum.
    pub eth: Option<Arc<crate::EthObserver>>,
}

/// Starts serving HTTP and WebSocket on `addr` (port 0 picks a free one) on the current tokio
/// runtime; returns the bound address and the handle that stops the server.
pub(crate) async fn serve<N: Node>(
    addr: SocketAddr,
    rpc: Rpc<N>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        // A deploy carries up to 512 KiB of module, twice that in hex.
        .max_request_body_size(4 << 20)
        .max_response_body_size(32 << 20)
        .max_connections(1024)
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    Ok((local, server.start(rpc.into_rpc())))
}

/// Forwards every published block (or its log records) to one subscriber until it leaves, the
/// node stops, or it falls too far behind.
async fn forward<T: Serialize>(
    pending: PendingSubscriptionSink,
    mut blocks: broadcast::Receiver<Arc<Published>>,
    pick: impl Fn(&Published) -> Vec<&T> + Send,
) -> SubscriptionResult {
    let sink = pending.accept().await?;
    loop {
        let published = tokio::select! {
            _ = sink.closed() => return Ok(()),
            next = blocks.recv() => match next {
                Ok(p) => p,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    return Err(format!("subscriber fell {n} blocks behind and was dropped; catch up with nexus_getBlock / nexus_logs and subscribe again").into());
                }
            },
        };
        for item in pick(&published) {
            sink.send(serde_json::value::to_raw_value(item)?).await?;
        }
    }
}

#[async_trait]
impl<N: Node> NexusApiServer for Rpc<N> {
    async fn status(&self) -> RpcResult<Status> {
        let app = self.node.app().await;
        let info = app.info();
        let latest_block_time_ns = app.block(info.height).map_err(app_error)?.map_or(0, |b| b.time_ns);
        Ok(Status {
            chain_id: self.node.chain_id(),
            chain_name: self.node.chain_name().to_string(),
            height: info.height,
            app_hash: H256(info.app_hash),
            latest_block_time_ns,
            mempool_size: self.node.mempool_len() as u64,
            dev: self.node.is_dev(),
        })
    }

    async fn send_tx(&self, tx: Bytes, wait: Option<bool>) -> RpcResult<SendTxResult> {
        // The signature check is most of a check's cost; it needs no lock.
        let verified =
            tx::decode_and_verify(&tx.0, self.node.chain_id()).map_err(|e| tx_error(TxError::Decode(e)))?;
        let hash = H256(verified.hash);
        let (sender, receiver) = match wait {
            Some(true) => {
                let (s, r) = oneshot::channel();
                (Some(s), Some(r))
            }
            _ => (None, None),
        };
        self.node.submit(tx.0, verified, sender).await.map_err(|e| match e {
            SubmitError::Check(e) => tx_error(e),
            SubmitError::Full => err(
                code::MEMPOOL_FULL,
                format!("the mempool is full ({} transactions); retry shortly", crate::node::MEMPOOL_MAX_TXS),
            ),
            SubmitError::ShuttingDown => err(code::SHUTTING_DOWN, "the node is shutting down"),
            SubmitError::Refused { code, reason } => err(code, reason),
            SubmitError::Unavailable(reason) => err(code::UNAVAILABLE, reason),
        })?;
        let Some(receiver) = receiver else { return Ok(SendTxResult { hash, result: None }) };
        match tokio::time::timeout(WAIT_TIMEOUT, receiver).await {
            Ok(Ok(Ok(record))) => Ok(SendTxResult { hash, result: Some(record) }),
            Ok(Ok(Err(reason))) => {
                Err(err(code::TX_DROPPED, format!("transaction {hash} was not committed: {reason}")))
            }
            Ok(Err(_)) => Err(err(code::SHUTTING_DOWN, "the node stopped before committing the transaction")),
            Err(_) => Err(err(
                code::WAIT_TIMEOUT,
                format!(
                    "transaction {hash} is still pending after {}s; it may still be committed (check with nexus_getTx)",
                    WAIT_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    async fn get_tx(&self, hash: H256) -> RpcResult<TxStatus> {
        if let Some(record) = self.node.app().await.tx_result(&hash.0).map_err(app_error)? {
            return Ok(TxStatus { hash, status: TxState::Committed, result: Some(record) });
        }
        let status = if self.node.is_pending(&hash.0) { TxState::Pending } else { TxState::Unknown };
        Ok(TxStatus { hash, status, result: None })
    }

    async fn get_block(&self, height: Option<u64>) -> RpcResult<BlockRecord> {
        let app = self.node.app().await;
        let latest = app.info().height;
        let height = height.unwrap_or(latest);
        app.block(height).map_err(app_error)?.ok_or_else(|| {
            err(
                code::NOT_FOUND,
                format!("no block at height {height}; the latest committed height is {latest}"),
            )
        })
    }

    async fn get_account(&self, address: Address) -> RpcResult<AccountInfo> {
        let app = self.node.app().await;
        let account = app.account(&address.0);
        Ok(AccountInfo {
            address,
            balance: account.balance,
            nonce: account.nonce,
            pending_nonce: app.pending_nonce(&address.0),
        })
    }

    async fn get_function(&self, id: H256) -> RpcResult<FunctionDetails> {
        let app = self.node.app().await;
        let info = app
            .function(&id.0)
            .ok_or_else(|| err(code::NOT_FOUND, format!("no function {id} on this chain")))?;
        let address = function_address(&id.0);
        Ok(FunctionDetails {
            id,
            address: Address(address),
            owner: Address(info.owner),
            code_hash: H256(info.code_hash),
            code_size: app.code(&info.code_hash).map_or(0, |c| c.len() as u64),
            created_at: info.created_at,
            updated_at: info.updated_at,
            version: info.version,
            balance: app.account(&address).balance,
        })
    }

    async fn kv_get(
        &self,
        id: H256,
        key: Bytes,
        prove: Option<bool>,
        height: Option<u64>,
    ) -> RpcResult<KvValue> {
        let proven = self.node.app().await.kv_get_with_proof(&id.0, &key.0, height).map_err(app_error)?;
        Ok(KvValue {
            height: proven.height,
            app_hash: H256(proven.app_hash),
            value: proven.value.map(Bytes),
            proof: prove.unwrap_or(false).then(|| Bytes(prost::Message::encode_to_vec(&proven.proof))),
        })
    }

    async fn fs_read(&self, id: H256, path: String) -> RpcResult<Bytes> {
        self.node.app().await.fs_read(&id.0, &path).map(Bytes).map_err(query_error)
    }

    async fn fs_list(&self, id: H256, path: String) -> RpcResult<Vec<FileEntry>> {
        let entries = self.node.app().await.fs_list(&id.0, &path).map_err(query_error)?;
        Ok(entries.into_iter().map(|e| FileEntry { name: e.name, kind: e.kind, size: e.size }).collect())
    }

    async fn query(&self, id: H256, input: Bytes) -> RpcResult<QueryResult> {
        let r = self.node.app().await.query_call(&id.0, input.0).map_err(query_error)?;
        Ok(QueryResult {
            ok: r.outcome.is_ok(),
            error: r.outcome.err().map(|e| e.to_string()),
            output: Bytes(r.output),
            logs: r
                .logs
                .into_iter()
                .map(|l| QueryLog {
                    level: match l.level {
                        0 => "debug",
                        1 => "info",
                        2 => "warn",
                        _ => "error",
                    }
                    .into(),
                    message: l.message,
                })
                .collect(),
            events: r
                .events
                .into_iter()
                .map(|e| QueryEvent {
                    topic: String::from_utf8_lossy(&e.topic).into_owned(),
                    data: Bytes(e.data),
                })
                .collect(),
            fuel_used: r.fuel_used,
        })
    }

    async fn logs(
        &self,
        id: H256,
        from_height: Option<u64>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<LogRecord>> {
        let limit = limit.unwrap_or(LOGS_LIMIT).min(LOGS_LIMIT) as usize;
        self.node.app().await.logs(&id.0, from_height.unwrap_or(0), limit).map_err(app_error)
    }

    async fn validators(&self) -> RpcResult<Vec<ValidatorInfo>> {
        let app = self.node.app().await;
        let params = app.params().ok_or_else(|| app_error(AppError::NotInitialized))?.staking.clone();
        let set = app.validator_set_at(app.info().height + 1);
        Ok(app
            .validators()
            .into_iter()
            .map(|v| {
                let consensus_address = votes::address_of(&v.consensus_key);
                ValidatorInfo {
                    operator: Address(v.operator),
                    consensus_key: H256(v.consensus_key),
                    consensus_address: Address(consensus_address),
                    tokens: v.tokens,
                    power: v.power(&params),
                    set_power: set.get(&consensus_address).map_or(0, |k| k.power),
                    commission_bps: v.commission_bps,
                    commission: v.commission,
                    jailed: v.jailed,
                    jailed_until: (v.jailed && !v.tombstoned).then_some(v.jailed_until),
                    tombstoned: v.tombstoned,
                    missed: v.signing.missed,
                }
            })
            .collect())
    }

    async fn get_delegation(&self, validator: Address, delegator: Address) -> RpcResult<DelegationInfo> {
        let app = self.node.app().await;
        let (stake, rewards) = app.delegation(&validator.0, &delegator.0).ok_or_else(|| {
            err(code::NOT_FOUND, format!("{delegator} has no stake in a validator operated by {validator}"))
        })?;
        Ok(DelegationInfo { validator, delegator, stake, rewards })
    }

    async fn eth_status(&self) -> RpcResult<EthStatus> {
        let app = self.node.app().await;
        let cursor = app.eth_cursor();
        let finalized = self.eth.as_ref().and_then(|o| o.finalized());
        Ok(EthStatus {
            gateway: app.params().and_then(|p| p.eth.gateway).map(Address),
            cursor,
            observing: self.eth.is_some(),
            finalized,
            lag: finalized.map(|f| f.number.saturating_sub(cursor.map_or(f.number, |c| c.number))),
            error: self.eth.as_ref().and_then(|o| o.last_error()),
        })
    }

    async fn outbox(&self) -> RpcResult<Vec<WorkItem>> {
        let items = self.node.app().await.outbox().map_err(app_error)?;
        Ok(items
            .into_iter()
            .map(|w| WorkItem {
                function: H256(w.function),
                height: w.height,
                request_id: w.request_id,
                kind: w.kind,
                payload: Bytes(w.payload),
            })
            .collect())
    }

    async fn tss_status(&self) -> RpcResult<TssStatus> {
        let s = self.node.app().await.tss_status();
        let dkg = s.session.map(|d| DkgInfo {
            session: d.session,
            epoch: d.epoch,
            phase: format!("{:?}", d.phase).to_lowercase(),
            members: d.members.len(),
            threshold: d.threshold,
            excluded: d.excluded.into_iter().collect(),
        });
        let keys = s
            .keys
            .iter()
            .map(|k| {
                let (x, parity) = gateway_key(&k.group_key);
                KeyInfo {
                    epoch: k.epoch,
                    threshold: k.threshold,
                    members: k.members.iter().map(|m| H256(*m)).collect(),
                    qualified: k.qualified.clone(),
                    group_key: Bytes(k.group_key.to_vec()),
                    x,
                    parity,
                    commitments: s
                        .stocks
                        .iter()
                        .filter(|(epoch, ..)| *epoch == k.epoch)
                        .map(|(_, member, next, unused)| (*member, *next, *unused))
                        .collect(),
                }
            })
            .collect();
        let rotations = s
            .rotations
            .iter()
            .map(|r| {
                let (x, parity) = gateway_key(&r.group_key);
                SignedRotationInfo {
                    from: r.from,
                    to: r.to,
                    x,
                    parity,
                    signature: gateway_signature(&r.signature),
                    height: r.height,
                }
            })
            .collect();
        Ok(TssStatus {
            active_epoch: s.state.active,
            latest_epoch: s.state.latest,
            dkg,
            keys,
            rotations,
            faults: s.faults,
            messages: s.state.next_nonce,
        })
    }

    async fn tss_batches(&self, from: u64, limit: Option<u32>) -> RpcResult<Vec<SignedBatchInfo>> {
        let limit = limit.unwrap_or(16).clamp(1, 256) as usize;
        let batches = self.node.app().await.tss_batches(from, limit);
        Ok(batches
            .into_iter()
            .map(|(b, records)| {
                let leaves: Vec<_> =
                    records.iter().map(|(n, m)| tss::gateway_message(*n, m).leaf()).collect();
                let messages = records
                    .iter()
                    .zip(nexus_tss::gateway::merkle_proofs(&leaves))
                    .map(|((nonce, m), proof)| SignedMessageInfo {
                        nonce: *nonce,
                        sender: H256(m.function),
                        target: Address(m.target),
                        gas_limit: m.gas_limit,
                        data: Bytes(m.data.clone()),
                        proof: proof.into_iter().map(|p| H256(p.0)).collect(),
                        status: match m.status {
                            tss::MessageStatus::Executed { .. } => "executed",
                            tss::MessageStatus::Signed { batch, .. } if batch == b.job => "signed",
                            _ => "queued",
                        }
                        .into(),
                    })
                    .collect();
                SignedBatchInfo {
                    job: b.job,
                    epoch: b.epoch,
                    root: H256(b.root),
                    signature: gateway_signature(&b.signature),
                    height: b.height,
                    messages,
                }
            })
            .collect())
    }

    async fn subscribe_blocks(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        forward(pending, self.node.subscribe(), |p: &Published| vec![&p.block]).await
    }

    async fn subscribe_logs(&self, pending: PendingSubscriptionSink, id: Option<H256>) -> SubscriptionResult {
        let blocks = self.node.subscribe();
        forward(pending, blocks, move |p: &Published| {
            p.logs.iter().filter(|l| id.is_none_or(|id| l.function == id.0)).collect()
        })
        .await
    }
}

/// A stored group key (compressed) in the gateway's form; the chain only keeps keys that have one.
fn gateway_key(compressed: &[u8; 33]) -> (H256, u8) {
    let key = frost_secp256k1::VerifyingKey::deserialize(compressed)
        .ok()
        .and_then(|k| nexus_tss::gateway::GroupKey::from_frost(&k).ok());
    key.map_or((H256([0; 32]), 0), |k| (H256(k.x), k.parity))
}

/// A stored FROST signature (aggregated and verified by the chain) in the gateway's form.
fn gateway_signature(bytes: &[u8]) -> GatewaySignature {
    let s = nexus_tss::signing::signature(bytes)
        .ok()
        .and_then(|s| nexus_tss::gateway::GatewaySignature::from_frost(&s).ok());
    s.map_or(GatewaySignature { rx: H256([0; 32]), ry: H256([0; 32]), z: H256([0; 32]) }, |s| {
        GatewaySignature { rx: H256(s.rx), ry: H256(s.ry), z: H256(s.z) }
    })
}
