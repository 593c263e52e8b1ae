//! The RPC server: the node API's methods over the shared node state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::PendingSubscriptionSink;
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::server::{Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use nexus_consensus::app::tx::{self, DecodeTxError};
use nexus_consensus::app::{AppError, QueryError, TxError, function_address};
use nexus_consensus::{Backend, StoreError};
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};

use crate::code;
use crate::node::{Published, Shared, SubmitError};
use crate::rpc::NexusApiServer;
use crate::types::{
    AccountInfo, Address, BlockRecord, Bytes, FileEntry, FunctionDetails, H256, KvValue, LogRecord,
    QueryEvent, QueryLog, QueryResult, SendTxResult, Status, TxState, TxStatus, WorkItem,
};

/// How long `nexus_sendTx` with `wait = true` waits for the commit.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Most log records one `nexus_logs` call returns.
const LOGS_LIMIT: u32 = 1000;

fn err(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned::<()>(code, message.into(), None)
}

fn tx_error(e: TxError) -> ErrorObjectOwned {
    let code = match &e {
        TxError::Decode(d) => match d {
            DecodeTxError::TooLarge { .. } | DecodeTxError::Malformed(_) | DecodeTxError::MessageCount(_) => {
                code::TX_MALFORMED
            }
            DecodeTxError::BadSignature(_) => code::TX_BAD_SIGNATURE,
            DecodeTxError::WrongChain { .. } => code::TX_WRONG_CHAIN,
        },
        TxError::NotInitialized => code::NOT_INITIALIZED,
        TxError::NonceTooLow { .. } => code::TX_NONCE_TOO_LOW,
        TxError::NonceTooHigh { .. } => code::TX_NONCE_TOO_HIGH,
        TxError::Expired { .. } => code::TX_EXPIRED,
        TxError::GasLimitAboveBlock { .. } => code::TX_GAS_LIMIT_ABOVE_BLOCK,
        TxError::GasLimitTooLow { .. } => code::TX_GAS_LIMIT_TOO_LOW,
        TxError::GasPriceTooLow { .. } => code::TX_GAS_PRICE_TOO_LOW,
        TxError::InsufficientFunds { .. } => code::TX_INSUFFICIENT_FUNDS,
    };
    err(code, e.to_string())
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

/// The node API over a node's shared state.
pub(crate) struct Rpc<B: Backend + Send + Sync + 'static> {
    pub shared: Arc<Shared<B>>,
    pub dev: bool,
}

/// Starts serving HTTP and WebSocket on `addr` (port 0 picks a free one) on the current tokio
/// runtime; returns the bound address and the handle that stops the server.
pub(crate) async fn serve<B: Backend + Send + Sync + 'static>(
    addr: SocketAddr,
    rpc: Rpc<B>,
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
impl<B: Backend + Send + Sync + 'static> NexusApiServer for Rpc<B> {
    async fn status(&self) -> RpcResult<Status> {
        let app = self.shared.app().await;
        let info = app.info();
        let latest_block_time_ns = app.block(info.height).map_err(app_error)?.map_or(0, |b| b.time_ns);
        Ok(Status {
            chain_id: self.shared.chain_id,
            chain_name: self.shared.chain_name.clone(),
            height: info.height,
            app_hash: H256(info.app_hash),
            latest_block_time_ns,
            mempool_size: self.shared.mempool_len() as u64,
            dev: self.dev,
        })
    }

    async fn send_tx(&self, tx: Bytes, wait: Option<bool>) -> RpcResult<SendTxResult> {
        // The signature check is most of a check's cost; it needs no lock.
        let verified =
            tx::decode_and_verify(&tx.0, self.shared.chain_id).map_err(|e| tx_error(TxError::Decode(e)))?;
        let hash = H256(verified.hash);
        let (sender, receiver) = match wait {
            Some(true) => {
                let (s, r) = oneshot::channel();
                (Some(s), Some(r))
            }
            _ => (None, None),
        };
        self.shared.submit(tx.0, verified, sender).await.map_err(|e| match e {
            SubmitError::Check(e) => tx_error(e),
            SubmitError::Full => err(
                code::MEMPOOL_FULL,
                format!("the mempool is full ({} transactions); retry shortly", crate::node::MEMPOOL_MAX_TXS),
            ),
            SubmitError::ShuttingDown => err(code::SHUTTING_DOWN, "the node is shutting down"),
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
        if let Some(record) = self.shared.app().await.tx_result(&hash.0).map_err(app_error)? {
            return Ok(TxStatus { hash, status: TxState::Committed, result: Some(record) });
        }
        let status = if self.shared.is_pending(&hash.0) { TxState::Pending } else { TxState::Unknown };
        Ok(TxStatus { hash, status, result: None })
    }

    async fn get_block(&self, height: Option<u64>) -> RpcResult<BlockRecord> {
        let app = self.shared.app().await;
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
        let app = self.shared.app().await;
        let account = app.account(&address.0);
        Ok(AccountInfo {
            address,
            balance: account.balance,
            nonce: account.nonce,
            pending_nonce: app.pending_nonce(&address.0),
        })
    }

    async fn get_function(&self, id: H256) -> RpcResult<FunctionDetails> {
        let app = self.shared.app().await;
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
        let proven = self.shared.app().await.kv_get_with_proof(&id.0, &key.0, height).map_err(app_error)?;
        Ok(KvValue {
            height: proven.height,
            app_hash: H256(proven.app_hash),
            value: proven.value.map(Bytes),
            proof: prove.unwrap_or(false).then(|| Bytes(prost::Message::encode_to_vec(&proven.proof))),
        })
    }

    async fn fs_read(&self, id: H256, path: String) -> RpcResult<Bytes> {
        self.shared.app().await.fs_read(&id.0, &path).map(Bytes).map_err(query_error)
    }

    async fn fs_list(&self, id: H256, path: String) -> RpcResult<Vec<FileEntry>> {
        let entries = self.shared.app().await.fs_list(&id.0, &path).map_err(query_error)?;
        Ok(entries.into_iter().map(|e| FileEntry { name: e.name, kind: e.kind, size: e.size }).collect())
    }

    async fn query(&self, id: H256, input: Bytes) -> RpcResult<QueryResult> {
        let r = self.shared.app().await.query_call(&id.0, input.0).map_err(query_error)?;
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
        self.shared.app().await.logs(&id.0, from_height.unwrap_or(0), limit).map_err(app_error)
    }

    async fn outbox(&self) -> RpcResult<Vec<WorkItem>> {
        let items = self.shared.app().await.outbox().map_err(app_error)?;
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

    async fn subscribe_blocks(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        forward(pending, self.shared.blocks.subscribe(), |p: &Published| vec![&p.block]).await
    }

    async fn subscribe_logs(&self, pending: PendingSubscriptionSink, id: Option<H256>) -> SubscriptionResult {
        let blocks = self.shared.blocks.subscribe();
        forward(pending, blocks, move |p: &Published| {
            p.logs.iter().filter(|l| id.is_none_or(|id| l.function == id.0)).collect()
        })
        .await
    }
}
