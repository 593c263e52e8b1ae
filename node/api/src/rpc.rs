//! The JSON-RPC method set (namespace `nexus`), as one trait from which jsonrpsee generates the
//! server glue (`NexusApiServer`) and a typed client (`NexusApiClient`, implemented for any
//! jsonrpsee client, including [`crate::Client`]). `docs/node-api.md` documents each method.

use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::proc_macros::rpc;

use crate::types::{
    AccountInfo, Address, BlockRecord, Bytes, DelegationInfo, EthStatus, FileEntry, FunctionDetails, H256,
    KvValue, LogRecord, QueryResult, SendTxResult, SignedBatchInfo, Status, TssStatus, TxStatus,
    ValidatorInfo, WorkItem,
};

/// The node API.
#[rpc(server, client, namespace = "nexus")]
pub trait NexusApi {
    /// The chain id and name, the last committed height, app hash and block time.
    #[method(name = "status")]
    async fn status(&self) -> jsonrpsee::core::RpcResult<Status>;

    /// Submits a signed transaction (its wire bytes). It is checked (signature, chain id, nonce,
    /// expiry, gas, balance) before it is accepted; a refusal is an error with a stable code
    /// ([`crate::code`]). With `wait = true` the call returns once the transaction is committed,
    /// with its result. Resubmitting a transaction that is still pending is not an error.
    #[method(name = "sendTx")]
    async fn send_tx(&self, tx: Bytes, wait: Option<bool>) -> jsonrpsee::core::RpcResult<SendTxResult>;

    /// Where a transaction is, with its result once committed.
    #[method(name = "getTx")]
    async fn get_tx(&self, hash: H256) -> jsonrpsee::core::RpcResult<TxStatus>;

    /// A committed block (the latest when `height` is omitted).
    #[method(name = "getBlock")]
    async fn get_block(&self, height: Option<u64>) -> jsonrpsee::core::RpcResult<BlockRecord>;

    /// An account's balance, committed nonce and the nonce to sign its next transaction with.
    #[method(name = "getAccount")]
    async fn get_account(&self, address: Address) -> jsonrpsee::core::RpcResult<AccountInfo>;

    /// A deployed function.
    #[method(name = "getFunction")]
    async fn get_function(&self, id: H256) -> jsonrpsee::core::RpcResult<FunctionDetails>;

    /// A function's key-value entry at a committed height (the latest when omitted), with an
    /// ICS23 proof against that height's app hash when `prove` is true.
    #[method(name = "kvGet")]
    async fn kv_get(
        &self,
        id: H256,
        key: Bytes,
        prove: Option<bool>,
        height: Option<u64>,
    ) -> jsonrpsee::core::RpcResult<KvValue>;

    /// A file of a function's filesystem at the latest committed height.
    #[method(name = "fsRead")]
    async fn fs_read(&self, id: H256, path: String) -> jsonrpsee::core::RpcResult<Bytes>;

    /// A directory of a function's filesystem, sorted by name.
    #[method(name = "fsList")]
    async fn fs_list(&self, id: H256, path: String) -> jsonrpsee::core::RpcResult<Vec<FileEntry>>;

    /// Runs a function's read-only `query` entry point against the latest committed state.
    #[method(name = "query")]
    async fn query(&self, id: H256, input: Bytes) -> jsonrpsee::core::RpcResult<QueryResult>;

    /// A function's logs and events from `from_height` (default 0) on, oldest first, at most
    /// `limit` (default and maximum 1000).
    #[method(name = "logs")]
    async fn logs(
        &self,
        id: H256,
        from_height: Option<u64>,
        limit: Option<u32>,
    ) -> jsonrpsee::core::RpcResult<Vec<LogRecord>>;

    /// Every registered validator at the last committed height, by operator address.
    #[method(name = "validators")]
    async fn validators(&self) -> jsonrpsee::core::RpcResult<Vec<ValidatorInfo>>;

    /// A delegator's stake in a validator and the rewards it can withdraw.
    #[method(name = "getDelegation")]
    async fn get_delegation(
        &self,
        validator: Address,
        delegator: Address,
    ) -> jsonrpsee::core::RpcResult<DelegationInfo>;

    /// How far the chain has processed Ethereum, and how this node's observer is doing.
    #[method(name = "ethStatus")]
    async fn eth_status(&self) -> jsonrpsee::core::RpcResult<EthStatus>;

    /// Outbound requests waiting for the Ethereum or zk machinery, oldest first.
    #[method(name = "outbox")]
    async fn outbox(&self) -> jsonrpsee::core::RpcResult<Vec<WorkItem>>;

    /// The validators' threshold keys, the running DKG, signed rotations and reported faults.
    #[method(name = "tssStatus")]
    async fn tss_status(&self) -> jsonrpsee::core::RpcResult<TssStatus>;

    /// Signed message batches from signing job `from` on (at most `limit`, default 16), with
    /// each message's Merkle proof: what a relayer submits to the gateway.
    #[method(name = "tssBatches")]
    async fn tss_batches(
        &self,
        from: u64,
        limit: Option<u32>,
    ) -> jsonrpsee::core::RpcResult<Vec<SignedBatchInfo>>;

    /// Every committed block from now on (WebSocket only).
    #[subscription(name = "subscribeBlocks" => "block", unsubscribe = "unsubscribeBlocks", item = BlockRecord)]
    async fn subscribe_blocks(&self) -> SubscriptionResult;

    /// Every committed log line and event from now on, of one function or of all (WebSocket
    /// only).
    #[subscription(name = "subscribeLogs" => "log", unsubscribe = "unsubscribeLogs", item = LogRecord)]
    async fn subscribe_logs(&self, id: Option<H256>) -> SubscriptionResult;
}

/// The stable JSON-RPC error codes of the node API, beside the standard ones (`-32602` for
/// unparsable parameters). Each error's `message` says what is wrong and what to do. The
/// transaction codes are also the ABCI `CheckTx` codes (`nexus_abci::code`), so a validator
/// passes CometBFT's refusals on unchanged.
pub mod code {
    /// The transaction bytes do not decode (malformed, too large, no or too many messages).
    pub const TX_MALFORMED: i32 = 1000;
    /// The signature is invalid.
    pub const TX_BAD_SIGNATURE: i32 = 1001;
    /// The transaction is signed for another chain id.
    pub const TX_WRONG_CHAIN: i32 = 1002;
    /// The nonce was already used.
    pub const TX_NONCE_TOO_LOW: i32 = 1003;
    /// The nonce skips ahead of the account's next one.
    pub const TX_NONCE_TOO_HIGH: i32 = 1004;
    /// The transaction's expiry height has passed.
    pub const TX_EXPIRED: i32 = 1005;
    /// The gas limit exceeds the block gas limit.
    pub const TX_GAS_LIMIT_ABOVE_BLOCK: i32 = 1006;
    /// The gas limit does not cover the transaction's intrinsic cost.
    pub const TX_GAS_LIMIT_TOO_LOW: i32 = 1007;
    /// The gas price is below the chain's minimum.
    pub const TX_GAS_PRICE_TOO_LOW: i32 = 1008;
    /// The signer cannot pay gas limit × gas price plus the attached value.
    pub const TX_INSUFFICIENT_FUNDS: i32 = 1009;
    /// The mempool is full; retry later.
    pub const MEMPOOL_FULL: i32 = 1010;
    /// The transaction was accepted, then dropped before a block included it (a block changed
    /// the state it was checked against); the message says why.
    pub const TX_DROPPED: i32 = 1011;
    /// `wait = true` gave up before the transaction was committed; it may still be.
    pub const WAIT_TIMEOUT: i32 = 1012;
    /// No such function, block or committed height.
    pub const NOT_FOUND: i32 = 2000;
    /// A filesystem path does not exist or is not what the method needs.
    pub const BAD_PATH: i32 = 2001;
    /// The height asked for was pruned (the node keeps only recent heights).
    pub const PRUNED: i32 = 2002;
    /// The chain has no genesis yet.
    pub const NOT_INITIALIZED: i32 = 3000;
    /// The node failed (storage error); see its log.
    pub const INTERNAL: i32 = 3001;
    /// The node is shutting down.
    pub const SHUTTING_DOWN: i32 = 3002;
    /// The validator's CometBFT cannot be reached (starting, stopped or overloaded); retry.
    pub const UNAVAILABLE: i32 = 3003;
}

#[cfg(test)]
mod tests {
    use nexus_abci::code as abci;

    use super::code;

    #[test]
    fn transaction_codes_are_the_abci_check_tx_codes() {
        let pairs = [
            (code::TX_MALFORMED, abci::TX_MALFORMED),
            (code::TX_BAD_SIGNATURE, abci::TX_BAD_SIGNATURE),
            (code::TX_WRONG_CHAIN, abci::TX_WRONG_CHAIN),
            (code::TX_NONCE_TOO_LOW, abci::TX_NONCE_TOO_LOW),
            (code::TX_NONCE_TOO_HIGH, abci::TX_NONCE_TOO_HIGH),
            (code::TX_EXPIRED, abci::TX_EXPIRED),
            (code::TX_GAS_LIMIT_ABOVE_BLOCK, abci::TX_GAS_LIMIT_ABOVE_BLOCK),
            (code::TX_GAS_LIMIT_TOO_LOW, abci::TX_GAS_LIMIT_TOO_LOW),
            (code::TX_GAS_PRICE_TOO_LOW, abci::TX_GAS_PRICE_TOO_LOW),
            (code::TX_INSUFFICIENT_FUNDS, abci::TX_INSUFFICIENT_FUNDS),
            (code::MEMPOOL_FULL, abci::MEMPOOL_FULL),
            (code::NOT_INITIALIZED, abci::NOT_INITIALIZED),
        ];
        for (api, check_tx) in pairs {
            assert_eq!(api, check_tx as i32);
        }
    }
}
