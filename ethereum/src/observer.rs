//! The observer: reads finalized Ethereum blocks and filtered logs from one or more JSON-RPC
//! endpoints, cross-checks them, and reports blocks after the chain's cursor (DESIGN.md §5).
//!
//! Every call of [`Observer::observe`] starts from the cursor the caller passes and asks the
//! endpoints afresh; the observer keeps no memory of what was processed, so an outage or a restart
//! (of the node or of an endpoint) only delays observations.

use crate::NexusGateway;
use crate::observation::{BlockRef, Observation, ObservedBlock};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter as RpcFilter, FilterSet, Log};
use alloy::transports::TransportError;
use alloy_sol_types::SolEvent;
use futures_util::{StreamExt, TryStreamExt, future::try_join_all, stream};
use nexus_types::{EthBlock, EthLog, EthLogFilter};
use std::time::Duration;
use url::Url;

/// Most blocks one observation may cover, whatever the configuration asks: it bounds the work of
/// one call and, through the vote extension, what a Nexus block carries.
pub const MAX_BLOCKS_PER_OBSERVATION: u64 = 1024;

/// Blocks fetched concurrently from one endpoint: enough to hide round trips while catching up
/// without flooding a node.
const FETCH_CONCURRENCY: usize = 4;

/// Which logs a function subscribes to: `None` matches anything; topic `i` constrains the log's
/// `i`-th topic (a log with fewer topics does not match a constraint past its last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Filter {
    /// Emitting contract.
    pub address: Option<[u8; 20]>,
    /// Topic constraints by position.
    pub topics: [Option<[u8; 32]>; 4],
}

impl Filter {
    /// The gateway's `FunctionCalled` logs: the calls Ethereum contracts make to Nexus functions.
    pub fn gateway_calls(gateway: [u8; 20]) -> Self {
        Self {
            address: Some(gateway),
            topics: [Some(NexusGateway::FunctionCalled::SIGNATURE_HASH.0), None, None, None],
        }
    }

    /// The observer's form of a function's manifest filter; `None` if it constrains more than four
    /// topics, which no log has.
    pub fn from_manifest(filter: &EthLogFilter) -> Option<Self> {
        let mut topics = [None; 4];
        for (slot, topic) in topics.iter_mut().zip(&filter.topics) {
            *slot = *topic;
        }
        (filter.topics.len() <= 4).then_some(Self { address: filter.address, topics })
    }

    /// Whether a log from `address` with `topics` matches.
    pub fn matches(&self, address: &[u8; 20], topics: &[[u8; 32]]) -> bool {
        self.address.is_none_or(|a| &a == address)
            && self.topics.iter().enumerate().all(|(i, t)| t.is_none_or(|t| topics.get(i) == Some(&t)))
    }
}

/// One Ethereum node the observer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// JSON-RPC over HTTP (`http://`): every block, header and log is read here.
    pub http: Url,
    /// WebSocket (`ws://`) for `newHeads`, used by [`crate::ObserverHandle`] only to wake up
    /// before the next poll; data is never taken from it.
    pub ws: Option<Url>,
}

impl Endpoint {
    /// An endpoint polled over HTTP only.
    pub fn http(url: Url) -> Self {
        Self { http: url, ws: None }
    }

    /// Adds a WebSocket URL for prompt wake-ups.
    pub fn with_ws(mut self, ws: Url) -> Self {
        self.ws = Some(ws);
        self
    }
}

/// What the observer follows and how.
#[derive(Debug, Clone)]
pub struct ObserverConfig {
    /// Endpoints that must all agree; an observation is reported only if every one answers alike.
    pub endpoints: Vec<Endpoint>,
    /// Log filters (functions' subscriptions and [`Filter::gateway_calls`]); a log matching several
    /// is reported once. No filters: no logs are fetched.
    pub filters: Vec<Filter>,
    /// Most blocks one observation covers (K): catching up takes several.
    pub max_blocks_per_observation: u64,
    /// How often the background task polls, whatever the WebSocket says.
    pub poll_interval: Duration,
    /// How long one endpoint may take for each step of an observation (finalized tag, headers, logs).
    pub request_timeout: Duration,
}

impl ObserverConfig {
    /// Defaults: 16 blocks per observation, polling every 500 ms, 10 s per endpoint.
    pub fn new(endpoints: Vec<Endpoint>, filters: Vec<Filter>) -> Self {
        Self {
            endpoints,
            filters,
            max_blocks_per_observation: 16,
            poll_interval: Duration::from_millis(500),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// A configuration the observer cannot run with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// No endpoint was given.
    #[error("the observer needs at least one Ethereum endpoint")]
    NoEndpoints,
    /// An HTTP endpoint URL is not `http://`/`https://`, or a WebSocket one not `ws://`/`wss://`.
    #[error("unsupported URL scheme in {0} (expected http(s):// for data, ws(s):// for newHeads)")]
    Scheme(Url),
    /// `max_blocks_per_observation` is 0 or above [`MAX_BLOCKS_PER_OBSERVATION`].
    #[error("max_blocks_per_observation must be 1..={MAX_BLOCKS_PER_OBSERVATION}, not {0}")]
    MaxBlocks(u64),
    /// `poll_interval` or `request_timeout` is zero.
    #[error("poll_interval and request_timeout must be positive")]
    ZeroDuration,
}

/// Why an observation could not be made; nothing is reported then, and the next call retries.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ObserveError {
    /// The endpoint refused the connection, failed the request or did not answer in time.
    #[error("Ethereum endpoint {endpoint} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint's HTTP URL.
        endpoint: String,
        /// What the transport said.
        reason: String,
    },
    /// The endpoint answered a request with a JSON-RPC error.
    #[error("Ethereum endpoint {endpoint} refused a request: {reason}")]
    Refused {
        /// The endpoint's HTTP URL.
        endpoint: String,
        /// The error it answered.
        reason: String,
    },
    /// The endpoint has no `finalized` block (pre-merge chain, or a node still syncing).
    #[error("Ethereum endpoint {endpoint} has no finalized block")]
    NoFinalizedBlock {
        /// The endpoint's HTTP URL.
        endpoint: String,
    },
    /// The endpoint does not have a block at or below its own finalized one.
    #[error("Ethereum endpoint {endpoint} has no block {number}, which is finalized")]
    MissingBlock {
        /// The endpoint's HTTP URL.
        endpoint: String,
        /// The missing block's number.
        number: u64,
    },
    /// The endpoint answered something inconsistent (a log of another block, a duplicate log
    /// index, a missing field, a removed log).
    #[error("Ethereum endpoint {endpoint} sent an inconsistent answer for block {number}: {reason}")]
    Malformed {
        /// The endpoint's HTTP URL.
        endpoint: String,
        /// The block concerned.
        number: u64,
        /// What was wrong.
        reason: String,
    },
    /// A block's parent hash is not the previous block's (or the cursor's) hash: the cursor is not
    /// on the endpoints' finalized chain, which an honest node never shows. Checked once the
    /// endpoints agree on the headers, so `endpoint` is the first one.
    #[error(
        "Ethereum endpoint {endpoint}: block {number} has parent {parent}, expected {expected} \
         (the cursor or an earlier block is not on its finalized chain)"
    )]
    BrokenChain {
        /// The endpoint's HTTP URL.
        endpoint: String,
        /// The block whose parent does not match.
        number: u64,
        /// The hash it should descend from.
        expected: B256,
        /// The parent hash it has.
        parent: B256,
    },
    /// The finalized block has the cursor's number but another hash (checked once the endpoints
    /// agree, so `endpoint` is the first one).
    #[error("Ethereum endpoint {endpoint}: finalized block {number} is {found}, not the cursor's {cursor}")]
    CursorNotOnChain {
        /// The endpoint's HTTP URL.
        endpoint: String,
        /// The cursor's block number.
        number: u64,
        /// The cursor's hash.
        cursor: B256,
        /// The endpoint's hash for that number.
        found: B256,
    },
    /// Two endpoints answered differently for the same finalized block.
    #[error("Ethereum endpoints {first} and {second} disagree on the {what} of block {number}")]
    Disagreement {
        /// The block concerned.
        number: u64,
        /// What differs: "header" (hash, parent, timestamp or base fee) or "logs".
        what: &'static str,
        /// The first endpoint's HTTP URL (configuration order).
        first: String,
        /// The HTTP URL of the endpoint that differs from it.
        second: String,
    },
}

/// Follows the configured endpoints; [`Observer::observe`] is one stateless round of reads.
#[derive(Debug, Clone)]
pub struct Observer {
    config: ObserverConfig,
    providers: Vec<RootProvider>,
    query: Option<RpcFilter>,
}

impl Observer {
    /// Checks the configuration and prepares one HTTP client per endpoint (no connection yet).
    pub fn new(config: ObserverConfig) -> Result<Self, ConfigError> {
        if config.endpoints.is_empty() {
            return Err(ConfigError::NoEndpoints);
        }
        let k = config.max_blocks_per_observation;
        if k == 0 || k > MAX_BLOCKS_PER_OBSERVATION {
            return Err(ConfigError::MaxBlocks(k));
        }
        if config.poll_interval.is_zero() || config.request_timeout.is_zero() {
            return Err(ConfigError::ZeroDuration);
        }
        for e in &config.endpoints {
            if !matches!(e.http.scheme(), "http" | "https") {
                return Err(ConfigError::Scheme(e.http.clone()));
            }
            if let Some(ws) = e.ws.as_ref().filter(|ws| !matches!(ws.scheme(), "ws" | "wss")) {
                return Err(ConfigError::Scheme(ws.clone()));
            }
        }
        let providers = config.endpoints.iter().map(|e| RootProvider::new_http(e.http.clone())).collect();
        let query = union_query(&config.filters);
        Ok(Self { config, providers, query })
    }

    /// The configuration this observer runs with.
    pub fn config(&self) -> &ObserverConfig {
        &self.config
    }

    /// Reads, from every endpoint, the finalized blocks after `cursor` (at most K, none above the
    /// lowest `finalized` tag among the endpoints) with their filtered logs, and returns them if
    /// all endpoints agree. Without a cursor the observation is the finalized block alone.
    ///
    /// Headers are read and cross-checked first, then logs are read by the agreed hashes and
    /// cross-checked: a lying endpoint shows up as a disagreement on the block it lies about.
    pub async fn observe(&self, cursor: Option<BlockRef>) -> Result<Observation, ObserveError> {
        let finalized = self
            .on_every_endpoint(|i| async move {
                let block = self.providers[i]
                    .get_block_by_number(BlockNumberOrTag::Finalized)
                    .await
                    .map_err(|e| self.rpc_error(i, e))?
                    .ok_or_else(|| ObserveError::NoFinalizedBlock { endpoint: self.url(i) })?;
                Ok(block.header.number)
            })
            .await?;
        // Endpoints see new finalized blocks at slightly different times; the lowest one is final
        // on all of them, so agreement is checked there instead of failing on timing.
        let target = finalized.into_iter().min().unwrap_or(0);
        let first = cursor.map_or(target, |c| c.number.saturating_add(1));
        let k = self.config.max_blocks_per_observation;
        let last = cursor.map_or(target, |c| target.min(c.number.saturating_add(k)));
        // The range, then the finalized block itself unless the range ends with it.
        let ends_at_target = first <= last && last == target;
        let numbers: Vec<u64> = (first..=last).chain((!ends_at_target).then_some(target)).collect();

        let views = self
            .on_every_endpoint(|i| {
                let numbers = &numbers;
                async move {
                    stream::iter(numbers.iter().copied().map(|n| self.read_header(i, n)))
                        .buffered(FETCH_CONCURRENCY)
                        .try_collect::<Vec<_>>()
                        .await
                }
            })
            .await?;
        let mut headers = self.agreed(views, "header", |k| numbers[k])?;
        let finalized = if ends_at_target { headers.last().cloned() } else { headers.pop() };
        let finalized = finalized.expect("the finalized block is always read");
        let finalized = BlockRef { number: finalized.number, hash: finalized.hash };
        if let Some(c) = cursor.filter(|c| c.number == finalized.number && c.hash != finalized.hash) {
            return Err(ObserveError::CursorNotOnChain {
                endpoint: self.url(0),
                number: c.number,
                cursor: c.hash.into(),
                found: finalized.hash.into(),
            });
        }
        let mut expected = cursor.map(|c| c.hash);
        for h in &headers {
            if let Some(expected) = expected.filter(|e| *e != h.parent_hash) {
                return Err(ObserveError::BrokenChain {
                    endpoint: self.url(0),
                    number: h.number,
                    expected: expected.into(),
                    parent: h.parent_hash.into(),
                });
            }
            expected = Some(h.hash);
        }

        let logs = match &self.query {
            None => vec![Vec::new(); headers.len()],
            Some(query) => {
                let blocks: Vec<BlockRef> =
                    headers.iter().map(|h| BlockRef { number: h.number, hash: h.hash }).collect();
                let views = self
                    .on_every_endpoint(|i| {
                        let blocks = &blocks;
                        async move {
                            stream::iter(blocks.iter().copied().map(|b| self.read_logs(i, query, b)))
                                .buffered(FETCH_CONCURRENCY)
                                .try_collect::<Vec<_>>()
                                .await
                        }
                    })
                    .await?;
                self.agreed(views, "logs", |k| headers[k].number)?
            }
        };
        let blocks =
            headers.into_iter().zip(logs).map(|(header, logs)| ObservedBlock { header, logs }).collect();
        Ok(Observation { cursor, finalized, blocks })
    }

    /// Runs `work` for every endpoint concurrently, each under the request timeout so a hung node
    /// fails the observation instead of stalling it; the results are in endpoint order.
    async fn on_every_endpoint<'a, T, F>(&'a self, work: impl Fn(usize) -> F) -> Result<Vec<T>, ObserveError>
    where
        F: Future<Output = Result<T, ObserveError>> + 'a,
    {
        let limit = self.config.request_timeout;
        try_join_all((0..self.providers.len()).map(|i| {
            let work = work(i);
            async move {
                tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                    Err(ObserveError::Unreachable {
                        endpoint: self.url(i),
                        reason: format!("no answer within {limit:?}"),
                    })
                })
            }
        }))
        .await
    }

    /// The first endpoint's items if every other endpoint's are equal, else a disagreement on the
    /// first item that differs (`number` names the block of the item at a position).
    fn agreed<T: PartialEq>(
        &self,
        views: Vec<Vec<T>>,
        what: &'static str,
        number: impl Fn(usize) -> u64,
    ) -> Result<Vec<T>, ObserveError> {
        let mut views = views.into_iter();
        let first = views.next().unwrap_or_default();
        for (i, other) in views.enumerate() {
            if let Some(k) = first.iter().zip(&other).position(|(a, b)| a != b) {
                return Err(ObserveError::Disagreement {
                    number: number(k),
                    what,
                    first: self.url(0),
                    second: self.url(i + 1),
                });
            }
        }
        Ok(first)
    }

    async fn read_header(&self, i: usize, number: u64) -> Result<EthBlock, ObserveError> {
        let block = self.providers[i]
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| self.rpc_error(i, e))?
            .ok_or_else(|| ObserveError::MissingBlock { endpoint: self.url(i), number })?;
        let h = &block.header;
        if h.number != number {
            return Err(self.malformed(i, number, format!("asked for block {number}, got {}", h.number)));
        }
        Ok(EthBlock {
            number,
            hash: h.hash.0,
            parent_hash: h.parent_hash.0,
            timestamp: h.timestamp,
            base_fee: h.base_fee_per_gas.map_or(0, u128::from),
        })
    }

    /// A block's logs matching any filter, fetched by the block's hash so that they cannot come
    /// from another block of the same number.
    async fn read_logs(
        &self,
        i: usize,
        query: &RpcFilter,
        block: BlockRef,
    ) -> Result<Vec<EthLog>, ObserveError> {
        let raw = self.providers[i]
            .get_logs(&query.clone().at_block_hash(block.hash))
            .await
            .map_err(|e| self.rpc_error(i, e))?;
        let mut logs = Vec::new();
        for log in raw {
            let log = self.convert_log(i, block, log)?;
            if self.config.filters.iter().any(|f| f.matches(&log.address, &log.topics)) {
                logs.push(log);
            }
        }
        logs.sort_by_key(|l| l.log_index);
        if logs.windows(2).any(|w| w[0].log_index == w[1].log_index) {
            return Err(self.malformed(i, block.number, "two logs with the same index".into()));
        }
        Ok(logs)
    }

    fn convert_log(&self, i: usize, block: BlockRef, log: Log) -> Result<EthLog, ObserveError> {
        let bad = |reason: &str| self.malformed(i, block.number, reason.into());
        if log.block_hash.map(|h| h.0) != Some(block.hash) || log.block_number != Some(block.number) {
            return Err(bad("a log of another block"));
        }
        if log.removed {
            return Err(bad("a removed log"));
        }
        let log_index = log
            .log_index
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(|| bad("a log without a valid index"))?;
        let tx_hash = log.transaction_hash.ok_or_else(|| bad("a log without a transaction hash"))?;
        Ok(EthLog {
            block_number: block.number,
            block_hash: block.hash,
            log_index,
            tx_hash: tx_hash.0,
            address: log.address().0.0,
            topics: log.topics().iter().map(|t| t.0).collect(),
            data: log.data().data.to_vec(),
        })
    }

    fn url(&self, i: usize) -> String {
        self.config.endpoints[i].http.to_string()
    }

    /// An error answer from the node is a refusal; anything else (connection refused, reset,
    /// unparsable body) means the endpoint is not usable now.
    fn rpc_error(&self, i: usize, e: TransportError) -> ObserveError {
        let (endpoint, reason) = (self.url(i), e.to_string());
        if e.is_error_resp() {
            ObserveError::Refused { endpoint, reason }
        } else {
            ObserveError::Unreachable { endpoint, reason }
        }
    }

    fn malformed(&self, i: usize, number: u64, reason: String) -> ObserveError {
        ObserveError::Malformed { endpoint: self.url(i), number, reason }
    }
}

/// One `eth_getLogs` query per block covering every filter: per field, the union of the filters'
/// values when all of them constrain it, unconstrained otherwise. It may return more than the
/// filters want (they are applied exactly afterwards) but never less. `None` without filters.
fn union_query(filters: &[Filter]) -> Option<RpcFilter> {
    if filters.is_empty() {
        return None;
    }
    let mut query = RpcFilter::new();
    if let Some(addresses) = filters.iter().map(|f| f.address.map(Address::from)).collect::<Option<Vec<_>>>()
    {
        query = query.address(addresses);
    }
    for (position, topic) in query.topics.iter_mut().enumerate() {
        if let Some(values) =
            filters.iter().map(|f| f.topics[position].map(B256::from)).collect::<Option<Vec<_>>>()
        {
            *topic = FilterSet::from(values);
        }
    }
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_matches_by_address_and_topic_position() {
        let f = Filter { address: Some([1; 20]), topics: [None, Some([2; 32]), None, None] };
        assert!(f.matches(&[1; 20], &[[9; 32], [2; 32]]));
        assert!(!f.matches(&[1; 20], &[[2; 32]]), "topic 1 is missing");
        assert!(!f.matches(&[3; 20], &[[9; 32], [2; 32]]));
        assert!(Filter::default().matches(&[3; 20], &[]));
    }

    #[test]
    fn manifest_filters_convert_when_they_fit_four_topics() {
        let m = EthLogFilter { address: Some([1; 20]), topics: vec![None, Some([2; 32])] };
        let f = Filter::from_manifest(&m).expect("two topics fit");
        assert_eq!(f, Filter { address: Some([1; 20]), topics: [None, Some([2; 32]), None, None] });
        assert!(Filter::from_manifest(&EthLogFilter { address: None, topics: vec![None; 5] }).is_none());
    }

    #[test]
    fn the_union_query_constrains_only_fields_every_filter_constrains() {
        let a = Filter { address: Some([1; 20]), topics: [Some([7; 32]), Some([2; 32]), None, None] };
        let b = Filter { address: Some([3; 20]), topics: [Some([8; 32]), None, None, None] };
        let q = union_query(&[a, b]).expect("filters");
        let addresses: Vec<_> = q.address.iter().copied().collect();
        assert_eq!(addresses.len(), 2);
        assert_eq!(q.topics[0].iter().count(), 2);
        assert!(q.topics[1].is_empty(), "b leaves topic 1 free");
        let anywhere = union_query(&[a, Filter::default()]).expect("filters");
        assert!(anywhere.address.is_empty() && anywhere.topics.iter().all(|t| t.is_empty()));
        assert!(union_query(&[]).is_none());
    }
}
