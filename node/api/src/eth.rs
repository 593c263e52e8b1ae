//! The node's Ethereum observer as the application's [`EthSource`]: one
//! [`nexus_ethereum::ObserverHandle`] following the chain's cursor with the chain's current
//! filters (restarted when a deploy or upgrade changes them).

use std::sync::{Arc, Mutex};

use nexus_consensus::app::eth::{self, EthCursor, EthObservation, EthSource, ObservedBlock};
use nexus_ethereum::{BlockRef, Endpoint, Filter, Observer, ObserverConfig, ObserverHandle};
use nexus_types::{EthLogFilter, Hash32};

/// Why the Ethereum endpoints cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum EthConfigError {
    /// An endpoint is not an `http://` URL.
    #[error("Ethereum endpoint {0:?} is not an http:// URL")]
    Url(String),
    /// The observer refused its configuration.
    #[error("Ethereum observer: {0}")]
    Observer(#[from] nexus_ethereum::ConfigError),
}

/// The observer behind a node's votes and proposals.
pub struct EthObserver {
    endpoints: Vec<Endpoint>,
    max_blocks: u64,
    runtime: tokio::runtime::Handle,
    current: Mutex<Option<(Hash32, ObserverHandle)>>,
}

impl std::fmt::Debug for EthObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthObserver").field("endpoints", &self.endpoints).finish_non_exhaustive()
    }
}

impl EthObserver {
    /// An observer of `urls` (HTTP JSON-RPC; the same host's `ws://` is used to wake up on new
    /// heads), reporting at most `max_blocks` blocks per observation, run on `runtime`.
    pub fn new(
        urls: &[String],
        max_blocks: u64,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, EthConfigError> {
        let endpoints = urls
            .iter()
            .map(|u| {
                let http: url::Url = u.parse().map_err(|_| EthConfigError::Url(u.clone()))?;
                if http.scheme() != "http" {
                    return Err(EthConfigError::Url(u.clone()));
                }
                let mut ws = http.clone();
                ws.set_scheme("ws").map_err(|()| EthConfigError::Url(u.clone()))?;
                Ok(Endpoint::http(http).with_ws(ws))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Checked once here, so restarts with new filters cannot fail on it later.
        Observer::new(config(&endpoints, &[], max_blocks))?;
        Ok(Self { endpoints, max_blocks, runtime, current: Mutex::new(None) })
    }

    /// Why the last observation round failed, if it did.
    pub fn last_error(&self) -> Option<String> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().and_then(|(_, h)| h.last_error()).map(|e| e.to_string())
    }

    /// The newest finalized block the observer reached, if it has observed.
    pub fn finalized(&self) -> Option<EthCursor> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let latest = current.as_ref()?.1.latest()?;
        Some(EthCursor { number: latest.finalized.number, hash: latest.finalized.hash })
    }
}

/// Starts an observer of `urls` (none: nothing) for `app`'s votes and proposals, with the block
/// cap of `genesis` (a resumed chain keeps the parameters it started with).
pub(crate) fn attach<B: nexus_consensus::Backend + Send + Sync + 'static>(
    app: &mut nexus_consensus::app::App<B>,
    urls: &[String],
    genesis: &nexus_consensus::app::Genesis,
) -> Result<Option<Arc<EthObserver>>, EthConfigError> {
    if urls.is_empty() {
        return Ok(None);
    }
    let max_blocks = app.params().unwrap_or(&genesis.params).eth.max_blocks_per_block;
    let observer = Arc::new(EthObserver::new(urls, max_blocks, tokio::runtime::Handle::current())?);
    app.set_eth_source(observer.clone());
    Ok(Some(observer))
}

fn config(endpoints: &[Endpoint], filters: &[EthLogFilter], max_blocks: u64) -> ObserverConfig {
    let filters = filters.iter().filter_map(Filter::from_manifest).collect();
    ObserverConfig {
        max_blocks_per_observation: max_blocks,
        ..ObserverConfig::new(endpoints.to_vec(), filters)
    }
}

fn block_ref(c: EthCursor) -> BlockRef {
    BlockRef { number: c.number, hash: c.hash }
}

impl EthSource for EthObserver {
    fn observation(
        &self,
        cursor: Option<EthCursor>,
        filters: &[EthLogFilter],
    ) -> Option<Arc<EthObservation>> {
        let wanted = eth::filters_hash(filters);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(h, _)| *h != wanted) {
            let observer = Observer::new(config(&self.endpoints, filters, self.max_blocks)).ok()?;
            let _runtime = self.runtime.enter();
            *current = Some((wanted, ObserverHandle::spawn(observer, cursor.map(block_ref))));
        }
        let (_, handle) = current.as_ref()?;
        handle.set_cursor(cursor.map(block_ref));
        let o = handle.latest()?;
        Some(Arc::new(EthObservation {
            filters: wanted,
            finalized: EthCursor { number: o.finalized.number, hash: o.finalized.hash },
            blocks: o
                .blocks
                .iter()
                .map(|b| ObservedBlock { header: b.header.clone(), logs: b.logs.clone() })
                .collect(),
        }))
    }
}
