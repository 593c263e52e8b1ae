//! The observer as a background task that keeps the newest observation at hand, so a validator's
//! `ExtendVote` reads it instead of waiting on Ethereum RPC.

use crate::observation::{BlockRef, Observation};
use crate::observer::{ObserveError, Observer};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::ClientBuilder;
use alloy::transports::ws::WsConnect;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use url::Url;

/// The last round's outcome and the cursor it was made for.
#[derive(Debug, Clone)]
struct Latest {
    cursor: Option<BlockRef>,
    result: Result<Arc<Observation>, Arc<ObserveError>>,
}

/// A running observer: one task observing from the current cursor after every poll interval,
/// WebSocket head or cursor change, plus one `newHeads` listener per WebSocket endpoint.
/// Dropping the handle stops them all.
#[derive(Debug)]
pub struct ObserverHandle {
    cursor: watch::Sender<Option<BlockRef>>,
    latest: watch::Receiver<Option<Latest>>,
    _tasks: JoinSet<()>,
}

impl ObserverHandle {
    /// Starts observing from `cursor` on the current tokio runtime.
    pub fn spawn(observer: Observer, cursor: Option<BlockRef>) -> Self {
        let (cursor_tx, cursor_rx) = watch::channel(cursor);
        let (latest_tx, latest_rx) = watch::channel(None);
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        for ws in observer.config().endpoints.iter().filter_map(|e| e.ws.clone()) {
            tasks.spawn(listen_for_heads(ws, wake.clone()));
        }
        tasks.spawn(observe_loop(observer, cursor_rx, latest_tx, wake));
        Self { cursor: cursor_tx, latest: latest_rx, _tasks: tasks }
    }

    /// Moves the cursor (the chain's last processed Ethereum block); observations made for an
    /// older cursor stop being returned at once.
    pub fn set_cursor(&self, cursor: Option<BlockRef>) {
        self.cursor.send_replace(cursor);
    }

    /// The newest observation for the current cursor, or `None` if the last round failed or none
    /// has completed since the cursor moved.
    pub fn latest(&self) -> Option<Arc<Observation>> {
        let latest = self.latest.borrow();
        let latest = latest.as_ref().filter(|l| l.cursor == *self.cursor.borrow())?;
        latest.result.as_ref().ok().cloned()
    }

    /// Why the last round failed, if it did (for status reporting).
    pub fn last_error(&self) -> Option<Arc<ObserveError>> {
        self.latest.borrow().as_ref().and_then(|l| l.result.as_ref().err().cloned())
    }
}

async fn observe_loop(
    observer: Observer,
    mut cursor: watch::Receiver<Option<BlockRef>>,
    latest: watch::Sender<Option<Latest>>,
    wake: Arc<Notify>,
) {
    let interval = observer.config().poll_interval;
    loop {
        let at = *cursor.borrow_and_update();
        let result = observer.observe(at).await.map(Arc::new).map_err(Arc::new);
        latest.send_replace(Some(Latest { cursor: at, result }));
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = wake.notified() => {}
            changed = cursor.changed() => if changed.is_err() { return },
        }
    }
}

/// How long a `newHeads` listener waits before reconnecting: a dead endpoint costs one failed
/// connection a second, and one coming back wakes the observer again within a second.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Wakes the observer on every new head; reconnects whenever the connection fails or ends, so an
/// endpoint coming back is followed again. Polling covers the gaps.
async fn listen_for_heads(ws: Url, wake: Arc<Notify>) {
    loop {
        // No reconnection inside alloy: a dropped connection ends the stream and this loop
        // reconnects, which cannot leave a half-dead subscription behind.
        let connect = WsConnect::new(ws.as_str()).with_max_retries(0);
        if let Ok(client) = ClientBuilder::default().pubsub(connect).await {
            let provider: RootProvider = RootProvider::new(client);
            if let Ok(subscription) = provider.subscribe_blocks().await {
                let mut heads = subscription.into_stream();
                while heads.next().await.is_some() {
                    wake.notify_one();
                }
            }
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
