//! A client for one node over HTTP or WebSocket, chosen by the URL's scheme. It implements
//! jsonrpsee's client traits, so every method of [`crate::NexusApiClient`] is available on it.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use jsonrpsee::core::client::{
    BatchResponse, ClientT, Error as RpcClientError, Subscription, SubscriptionClientT,
};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;

/// Longest a request may take: `nexus_sendTx` with `wait = true` holds its answer until the
/// transaction is committed, which the node itself bounds at a minute.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is neither `http(s)://` nor `ws(s)://`.
    #[error("node URL {0:?} must start with http:// or ws:// (for example http://127.0.0.1:8645)")]
    Scheme(String),
    /// The node could not be reached or refused the connection.
    #[error(
        "cannot connect to the node at {url}: {source} (is `nexus dev` running? pick another node with --rpc or NEXUS_RPC)"
    )]
    Connect {
        /// The URL tried.
        url: String,
        /// What failed.
        source: RpcClientError,
    },
}

/// A node API client over HTTP (requests only) or WebSocket (requests and subscriptions).
pub enum Client {
    /// `http://…`: one HTTP request per call.
    Http(HttpClient),
    /// `ws://…`: one connection for everything, including subscriptions.
    Ws(WsClient),
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Client::Http(_) => "Client::Http",
            Client::Ws(_) => "Client::Ws",
        })
    }
}

impl Client {
    /// Connects to the node at `url`: `http://host:port` or `ws://host:port`. An HTTP client
    /// does not touch the network until the first call.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let connect = |source| ClientError::Connect { url: url.to_string(), source };
        if url.starts_with("http://") || url.starts_with("https://") {
            let client =
                HttpClientBuilder::default().request_timeout(REQUEST_TIMEOUT).build(url).map_err(connect)?;
            Ok(Client::Http(client))
        } else if url.starts_with("ws://") || url.starts_with("wss://") {
            let client = WsClientBuilder::default()
                .request_timeout(REQUEST_TIMEOUT)
                .max_buffer_capacity_per_subscription(4096)
                .build(url)
                .await
                .map_err(connect)?;
            Ok(Client::Ws(client))
        } else {
            Err(ClientError::Scheme(url.to_string()))
        }
    }
}

// The traits declare `impl Future + Send` returns; spelling them out keeps the `Send` visible.
#[allow(clippy::manual_async_fn)]
impl ClientT for Client {
    fn notification<Params>(
        &self,
        method: &str,
        params: Params,
    ) -> impl Future<Output = Result<(), RpcClientError>> + Send
    where
        Params: ToRpcParams + Send,
    {
        async move {
            match self {
                Client::Http(c) => c.notification(method, params).await,
                Client::Ws(c) => c.notification(method, params).await,
            }
        }
    }

    fn request<R, Params>(
        &self,
        method: &str,
        params: Params,
    ) -> impl Future<Output = Result<R, RpcClientError>> + Send
    where
        R: DeserializeOwned,
        Params: ToRpcParams + Send,
    {
        async move {
            match self {
                Client::Http(c) => c.request(method, params).await,
                Client::Ws(c) => c.request(method, params).await,
            }
        }
    }

    fn batch_request<'a, R>(
        &self,
        batch: BatchRequestBuilder<'a>,
    ) -> impl Future<Output = Result<BatchResponse<'a, R>, RpcClientError>> + Send
    where
        R: DeserializeOwned + fmt::Debug + 'a,
    {
        async move {
            match self {
                Client::Http(c) => c.batch_request(batch).await,
                Client::Ws(c) => c.batch_request(batch).await,
            }
        }
    }
}

fn subscriptions_need_ws() -> RpcClientError {
    RpcClientError::Custom("subscriptions need a WebSocket connection: use a ws:// node URL".into())
}

#[allow(clippy::manual_async_fn)]
impl SubscriptionClientT for Client {
    fn subscribe<'a, Notif, Params>(
        &self,
        subscribe_method: &'a str,
        params: Params,
        unsubscribe_method: &'a str,
    ) -> impl Future<Output = Result<Subscription<Notif>, RpcClientError>> + Send
    where
        Params: ToRpcParams + Send,
        Notif: DeserializeOwned,
    {
        async move {
            match self {
                Client::Http(_) => Err(subscriptions_need_ws()),
                Client::Ws(c) => c.subscribe(subscribe_method, params, unsubscribe_method).await,
            }
        }
    }

    fn subscribe_to_method<Notif>(
        &self,
        method: &str,
    ) -> impl Future<Output = Result<Subscription<Notif>, RpcClientError>> + Send
    where
        Notif: DeserializeOwned,
    {
        async move {
            match self {
                Client::Http(_) => Err(subscriptions_need_ws()),
                Client::Ws(c) => c.subscribe_to_method(method).await,
            }
        }
    }
}
