//! CometBFT as a dependency: finding the pinned binary, creating and configuring its home, and
//! composing a network's genesis.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use nexus_consensus::app::Genesis;
use serde_json::{Value, json};
use toml_edit::{DocumentMut, value};

/// The CometBFT release Nexus speaks (ABCI 2.0, v0.38 line; DESIGN.md §2).
pub const VERSION: &str = "0.38.26";

/// Where `scripts/install-cometbft.sh` installs it.
fn installed_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/nexus/bin/cometbft"))
}

/// The `cometbft` binary to run: `explicit`, else `$NEXUS_COMETBFT`, else the one
/// `scripts/install-cometbft.sh` installed, else `cometbft` on the PATH. Refuses any version but
/// [`VERSION`].
pub fn binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let candidate = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("NEXUS_COMETBFT").map(PathBuf::from))
        .or_else(|| installed_path().filter(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from("cometbft"));
    let out = Command::new(&candidate).arg("version").output().with_context(|| {
        format!(
            "cannot run {} — install CometBFT {VERSION} with scripts/install-cometbft.sh, or pass --cometbft PATH",
            candidate.display()
        )
    })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if version != VERSION {
        bail!(
            "{} is CometBFT {version:?}, Nexus needs exactly {VERSION}: run scripts/install-cometbft.sh (installs into ~/.cache/nexus/bin) or pass --cometbft PATH",
            candidate.display()
        );
    }
    Ok(candidate)
}

/// Runs `cometbft` with `args`, failing with its stderr.
fn run(bin: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out =
        Command::new(bin).args(args).output().with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!("cometbft {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Creates a CometBFT home (config, keys, data) unless it exists.
pub fn init_home(bin: &Path, home: &Path) -> anyhow::Result<()> {
    run(bin, &["init", "--home", &home.to_string_lossy()]).map(drop)
}

/// The node's p2p id.
pub fn node_id(bin: &Path, home: &Path) -> anyhow::Result<String> {
    run(bin, &["show-node-id", "--home", &home.to_string_lossy()])
}

/// The consensus key's address and public key, as `priv_validator_key.json` holds them.
pub fn validator_key(home: &Path) -> anyhow::Result<(String, Value)> {
    let path = home.join("config/priv_validator_key.json");
    let key: Value = read_json(&path)?;
    let address = key["address"].as_str().context("priv_validator_key.json has no address")?.to_string();
    Ok((address, key["pub_key"].clone()))
}

/// The 32 bytes of a CometBFT ed25519 public key (`{"type": …, "value": base64}`).
pub fn ed25519_key(pub_key: &Value) -> anyhow::Result<[u8; 32]> {
    use base64::Engine as _;
    let encoded = pub_key["value"].as_str().context("the consensus key has no value")?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("the consensus key is not 32 bytes of base64 (only ed25519 keys are supported)")
}

/// Reads a JSON file, naming it in errors.
pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Writes a JSON file, pretty.
pub fn write_json(path: &Path, v: &Value) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(v)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A genesis validator: name, consensus key (from its home) and voting power.
#[derive(Debug, Clone)]
pub struct GenesisValidator {
    /// Moniker.
    pub name: String,
    /// Consensus address (hex).
    pub address: String,
    /// `{"type": "tendermint/PubKeyEd25519", "value": …}`.
    pub pub_key: Value,
    /// Voting power.
    pub power: u64,
}

/// CometBFT's genesis for a Nexus network: `template` (a `cometbft init` genesis, for its
/// consensus parameters and time) with the chain id, validators, vote extensions from the first
/// height, and the Nexus genesis as `app_state`.
pub fn network_genesis(template: &Value, app: &Genesis, validators: &[GenesisValidator]) -> Value {
    let mut g = template.clone();
    g["chain_id"] = json!(app.params.chain_name);
    g["initial_height"] = json!("1");
    g["validators"] = Value::Array(
        validators
            .iter()
            .map(|v| json!({"address": v.address, "pub_key": v.pub_key, "power": v.power.to_string(), "name": v.name}))
            .collect(),
    );
    // Vote extensions carry Ethereum observations and signature shares from the first block.
    g["consensus_params"]["abci"] = json!({"vote_extensions_enable_height": "1"});
    // Evidence must stay admissible while the stake it slashes is still bonded or unbonding:
    // half the unbonding period leaves a margin the application checks at InitChain.
    let staking = &app.params.staking;
    g["consensus_params"]["evidence"]["max_age_num_blocks"] =
        json!((staking.unbonding_blocks / 2).to_string());
    g["consensus_params"]["evidence"]["max_age_duration"] =
        json!((u128::from(staking.unbonding_seconds) * 500_000_000).to_string());
    g["app_state"] = serde_json::to_value(app).expect("a genesis serializes");
    g["app_hash"] = json!("");
    g
}

/// The Nexus genesis inside a CometBFT genesis file.
pub fn app_genesis(cometbft_genesis: &Value) -> anyhow::Result<Genesis> {
    serde_json::from_value(cometbft_genesis["app_state"].clone())
        .context("the genesis file's app_state is not a Nexus genesis")
}

/// The ports one node uses.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// CometBFT p2p.
    pub p2p: u16,
    /// CometBFT RPC.
    pub rpc: u16,
    /// The Nexus node API.
    pub api: u16,
}

impl Ports {
    /// Validator `i`'s ports in a local network starting at `base`.
    pub fn local(base: u16, i: usize) -> Self {
        let b = base + 10 * i as u16;
        Self { p2p: b, rpc: b + 1, api: b + 2 }
    }
}

/// How `configure` sets a node up.
#[derive(Debug, Clone)]
pub struct NodeSettings<'a> {
    /// Moniker.
    pub moniker: &'a str,
    /// The address to listen on (`127.0.0.1` for loopback networks, `0.0.0.0` otherwise).
    pub listen: &'a str,
    /// Ports.
    pub ports: Ports,
    /// `id@host:port` of the other validators.
    pub peers: Vec<String>,
    /// The ABCI socket.
    pub abci_socket: &'a Path,
    /// Whether the peers share one machine (loopback networks).
    pub local: bool,
}

/// Edits CometBFT's `config.toml` in place for a Nexus validator, keeping every key it does not
/// set (operators' own edits survive).
pub fn configure(home: &Path, s: &NodeSettings<'_>) -> anyhow::Result<()> {
    let path = home.join("config/config.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut doc: DocumentMut =
        text.parse().with_context(|| format!("{} is not valid TOML", path.display()))?;
    doc["moniker"] = value(s.moniker);
    doc["proxy_app"] = value(format!("unix://{}", s.abci_socket.display()));
    doc["abci"] = value("socket");
    doc["rpc"]["laddr"] = value(format!("tcp://127.0.0.1:{}", s.ports.rpc));
    doc["rpc"]["pprof_laddr"] = value("");
    // The node API funnels submissions through a bounded pool; other RPC users need room too.
    doc["rpc"]["max_open_connections"] = value(2000i64);
    doc["p2p"]["laddr"] = value(format!("tcp://{}:{}", s.listen, s.ports.p2p));
    doc["p2p"]["persistent_peers"] = value(s.peers.join(","));
    if s.local {
        doc["p2p"]["addr_book_strict"] = value(false);
        doc["p2p"]["allow_duplicate_ip"] = value(true);
    }
    // Our own journal indexes transactions; CometBFT's indexer would only duplicate the work.
    doc["tx_index"]["indexer"] = value("null");
    doc["instrumentation"]["prometheus"] = value(false);
    // Transactions up to the application's own limit (512 KiB deploys), with room for framing.
    doc["mempool"]["max_tx_bytes"] = value(1_048_576i64);
    doc["mempool"]["size"] = value(50_000i64);
    doc["mempool"]["max_txs_bytes"] = value(1_073_741_824i64);
    doc["mempool"]["cache_size"] = value(100_000i64);
    // Sub-second rounds: the network is small and the links short; commit quickly after +2/3.
    doc["consensus"]["timeout_propose"] = value("1s");
    doc["consensus"]["timeout_prevote"] = value("500ms");
    doc["consensus"]["timeout_precommit"] = value("500ms");
    doc["consensus"]["timeout_commit"] = value("500ms");
    doc["consensus"]["create_empty_blocks"] = value(true);
    doc["consensus"]["create_empty_blocks_interval"] = value("0s");
    std::fs::write(&path, doc.to_string()).with_context(|| format!("cannot write {}", path.display()))
}

/// The node settings Nexus keeps beside CometBFT's (`nexus.toml` in the validator home).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NodeFile {
    /// Where the node API is served.
    pub rpc_addr: std::net::SocketAddr,
    /// CometBFT's RPC, where transactions are submitted.
    pub cometbft_rpc: String,
}

impl NodeFile {
    /// `home/nexus.toml`.
    pub fn path(home: &Path) -> PathBuf {
        home.join("nexus.toml")
    }

    /// Reads it.
    pub fn read(home: &Path) -> anyhow::Result<Self> {
        let path = Self::path(home);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}; is {} a validator home (nexus validator init)?",
                path.display(),
                home.display()
            )
        })?;
        toml_edit::de::from_str(&text).with_context(|| format!("{} is not a valid node file", path.display()))
    }

    /// Writes it.
    pub fn write(&self, home: &Path) -> anyhow::Result<()> {
        let path = Self::path(home);
        let text = toml_edit::ser::to_string_pretty(self)?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The layout of a validator home.
#[derive(Debug, Clone)]
pub struct Home(pub PathBuf);

impl Home {
    /// CometBFT's home.
    pub fn cometbft(&self) -> PathBuf {
        self.0.join("cometbft")
    }

    /// The application's state.
    pub fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    /// The ABCI socket. Kept short: unix socket paths are limited to ~100 bytes.
    pub fn abci_socket(&self) -> PathBuf {
        self.0.join("abci.sock")
    }

    /// CometBFT's genesis file.
    pub fn genesis(&self) -> PathBuf {
        self.cometbft().join("config/genesis.json")
    }
}
