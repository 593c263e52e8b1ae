//! `nexus dev`: the application driven in-process by the dev block producer, with pre-funded dev
//! accounts, serving the node API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy_signer_local::MnemonicBuilder;
use alloy_signer_local::coins_bip39::English;
use jsonrpsee::server::ServerHandle;
use k256::ecdsa::SigningKey;
use nexus_consensus::app::{
    App, Genesis, GenesisAccount, GenesisValidator, NodeConfig, Params, tx::address_of,
};
use nexus_consensus::{Backend, MemBackend, RocksBackend, Store, StoreConfig};

use crate::node::{NodeError, SetupError, Shared};
use crate::server::{Rpc, serve};

/// The mnemonic of the dev accounts: the one Hardhat and Foundry's anvil use, so wallets and
/// scripts that know it work unchanged.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Number of dev accounts (`m/44'/60'/0'/0/0` to `…/9`).
pub const DEV_ACCOUNTS: u32 = 10;

/// Genesis balance of each dev account: 10^9 whole tokens of 10^18 units.
pub const DEV_BALANCE: u128 = 1_000_000_000_000_000_000_000_000_000;

/// The default RPC address.
pub const DEFAULT_RPC_ADDR: &str = "127.0.0.1:8645";

/// A pre-funded dev account.
#[derive(Clone)]
pub struct DevAccount {
    /// Its address.
    pub address: [u8; 20],
    /// Its private key.
    pub key: SigningKey,
}

impl std::fmt::Debug for DevAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevAccount").field("address", &hex::encode(self.address)).finish_non_exhaustive()
    }
}

/// The dev accounts derived from [`DEV_MNEMONIC`], as anvil derives them.
pub fn dev_accounts() -> Vec<DevAccount> {
    (0..DEV_ACCOUNTS)
        .map(|i| {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i)
                .and_then(|b| b.build())
                .expect("the dev mnemonic and its standard paths are valid");
            let key = signer.into_credential();
            DevAccount { address: address_of(&key), key }
        })
        .collect()
}

/// The dev validator's consensus key: fixed, so a dev chain restarts with the same validator.
pub fn dev_validator_key() -> ed25519_consensus::SigningKey {
    ed25519_consensus::SigningKey::from(*b"nexus dev validator consensus k!")
}

/// The dev chain's genesis: chain id 31337, name `nexus-dev`, every dev account funded with
/// [`DEV_BALANCE`], the dev validator as the whole validator set.
pub fn dev_genesis() -> Genesis {
    Genesis {
        validators: vec![GenesisValidator {
            pub_key: dev_validator_key().verification_key().to_bytes(),
            power: 1,
            operator: Some(dev_accounts()[0].address),
        }],
        params: Params { chain_id: 31_337, chain_name: "nexus-dev".into(), ..Params::default() },
        accounts: dev_accounts()
            .into_iter()
            .map(|a| GenesisAccount { address: a.address, balance: DEV_BALANCE })
            .collect(),
    }
}

/// How to run a dev node.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// Where the state lives (RocksDB under `db/`, compiled modules under `modules/`); `None`
    /// keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Where to serve the node API (port 0 picks a free port).
    pub rpc_addr: SocketAddr,
    /// `None`: a block as soon as a transaction waits; otherwise a block every interval.
    pub block_time: Option<Duration>,
    /// The genesis of a new chain (ignored when the data dir already holds one).
    pub genesis: Genesis,
    /// Heights whose state stays provable; `None` keeps all (archive).
    pub keep_recent: Option<u64>,
    /// Ethereum JSON-RPC endpoints (`http://`) to follow; empty runs without Ethereum.
    pub eth_rpc: Vec<String>,
    /// Where the dev validator keeps its threshold-signing keystore; `None`: under the data dir,
    /// or, in memory, nowhere (no threshold signing).
    pub tss_dir: Option<PathBuf>,
}

impl Default for DevConfig {
    fn default() -> Self {
        Self {
            data_dir: None,
            rpc_addr: DEFAULT_RPC_ADDR.parse().expect("a valid address"),
            block_time: None,
            genesis: dev_genesis(),
            keep_recent: Some(DEFAULT_KEEP_RECENT),
            eth_rpc: Vec::new(),
            tss_dir: None,
        }
    }
}

/// Heights a dev node keeps provable unless told otherwise.
pub const DEFAULT_KEEP_RECENT: u64 = 10_000;

/// A running dev node.
pub struct DevNode {
    rpc_addr: SocketAddr,
    server: ServerHandle,
    /// The producer's result, sent when its thread ends (dropped unsent if it panicked).
    producer: tokio::sync::oneshot::Receiver<Result<(), NodeError>>,
    finished: bool,
    /// Asks the producer to stop.
    stop: Box<dyn Fn() + Send + Sync>,
    /// Whether anything (the producer, the server's connection tasks) still holds the node's
    /// state, and so its open database.
    alive: Box<dyn Fn() -> bool + Send + Sync>,
    /// Height and app hash it resumed from (0 for a new chain).
    resumed_at: u64,
}

impl std::fmt::Debug for DevNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevNode").field("rpc_addr", &self.rpc_addr).finish_non_exhaustive()
    }
}

/// Why a dev node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The node (store, application, producer) failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The data directory or the node API address.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The producer thread panicked.
    #[error("the block producer panicked")]
    ProducerPanicked,
    /// The Ethereum endpoints are unusable.
    #[error(transparent)]
    Eth(#[from] crate::EthConfigError),
    /// The threshold-signing keystore cannot be opened.
    #[error(transparent)]
    Keystore(#[from] nexus_tss::keystore::KeystoreError),
    /// The producer thread could not be started.
    #[error("cannot start the block producer thread: {0}")]
    Spawn(std::io::Error),
}

/// Opens the database, waiting briefly while an earlier node in this process finishes closing
/// it: the last reference to a stopped node's state can still be dropping (RocksDB flushing and
/// releasing its lock) on another thread when `shutdown` returns.
fn open_rocks(db: &std::path::Path) -> Result<RocksBackend, nexus_consensus::StoreError> {
    let mut attempts = 0;
    loop {
        match RocksBackend::open(db) {
            Err(e) if attempts < 200 && e.to_string().contains("lock hold by current process") => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

impl DevNode {
    /// Opens (or creates) the chain and starts the producer and the RPC server on the current
    /// tokio runtime (which must be multi-threaded: RPC calls wait on the application's lock).
    pub async fn start(config: DevConfig) -> Result<Self, DevError> {
        let store_config = StoreConfig { keep_recent: config.keep_recent };
        match &config.data_dir {
            Some(dir) => {
                let db = dir.join("db");
                std::fs::create_dir_all(&db)
                    .map_err(|source| SetupError::DataDir { path: db.clone(), source })?;
                let backend = Arc::new(open_rocks(&db).map_err(NodeError::from)?);
                let store = Store::new(backend, store_config).map_err(NodeError::from)?;
                let node = NodeConfig { module_cache_dir: Some(dir.join("modules")) };
                Self::start_on(store, node, config).await
            }
            None => {
                let store =
                    Store::new(Arc::new(MemBackend::default()), store_config).map_err(NodeError::from)?;
                Self::start_on(store, NodeConfig::default(), config).await
            }
        }
    }

    async fn start_on<B: Backend + Send + Sync + 'static>(
        store: Store<Arc<B>>,
        node: NodeConfig,
        config: DevConfig,
    ) -> Result<Self, DevError> {
        let mut app = App::new(store, node).map_err(NodeError::from)?;
        let eth = crate::eth::attach(&mut app, &config.eth_rpc, &config.genesis)?;
        if let Some(dir) = config.tss_dir.clone().or_else(|| config.data_dir.as_ref().map(|d| d.join("tss")))
        {
            crate::tss::attach(&mut app, &dir, &dev_validator_key())?;
        }
        let resumed_at = app.info().height;
        let shared = Arc::new(Shared::new(app, &config.genesis)?);
        let rpc = Rpc { node: shared.clone(), eth };
        let (rpc_addr, server) = serve(config.rpc_addr, rpc)
            .await
            .map_err(|source| SetupError::Bind { addr: config.rpc_addr, source })?;
        let (done, producer) = tokio::sync::oneshot::channel();
        {
            let shared = shared.clone();
            let block_time = config.block_time;
            std::thread::Builder::new()
                .name("nexus-producer".into())
                .spawn(move || {
                    let _ = done.send(shared.produce(block_time));
                })
                .map_err(DevError::Spawn)?;
        }
        let weak = Arc::downgrade(&shared);
        drop(shared);
        let stop = Box::new({
            let weak = weak.clone();
            move || {
                if let Some(s) = weak.upgrade() {
                    s.stop();
                }
            }
        });
        let alive = Box::new(move || weak.strong_count() > 0);
        Ok(Self { rpc_addr, server, producer, finished: false, stop, alive, resumed_at })
    }

    /// The address the node API is served on.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// `http://…` URL of the node API.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// `ws://…` URL of the node API.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr)
    }

    /// The height the chain had when the node started (0 for a new chain).
    pub fn resumed_at(&self) -> u64 {
        self.resumed_at
    }

    /// Waits until the producer stops (on its own only after an error) and returns its result;
    /// `Ok` once it was already reported. Cancel-safe: it can be raced against a Ctrl-C.
    pub async fn stopped(&mut self) -> Result<(), DevError> {
        if self.finished {
            return Ok(());
        }
        let result = (&mut self.producer).await;
        self.finished = true;
        match result {
            Ok(r) => Ok(r?),
            Err(_) => Err(DevError::ProducerPanicked),
        }
    }

    /// Stops the server and the producer (after the block it is executing, which commits) and
    /// waits for both, and for the database to be closed, so the data dir can be reopened.
    pub async fn shutdown(mut self) -> Result<(), DevError> {
        (self.stop)();
        let _ = self.server.stop();
        self.server.clone().stopped().await;
        let result = self.stopped().await;
        // The server's connection tasks let go of the state shortly after it stops.
        for _ in 0..500 {
            if !(self.alive)() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_accounts_are_anvils() {
        let accounts = dev_accounts();
        assert_eq!(accounts.len(), 10);
        assert_eq!(hex::encode(accounts[0].address), "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        assert_eq!(
            hex::encode(accounts[0].key.to_bytes()),
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(hex::encode(accounts[1].address), "70997970c51812dc3a010c7d01b50e0d17dc79c8");
        assert_eq!(dev_genesis().accounts[9].balance, DEV_BALANCE);
    }
}
