//! `nexus network new`: the genesis and one home per validator of a brand-new network.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use nexus_consensus::app::{Genesis, GenesisAccount, Params};

use crate::cometbft::{self, GenesisValidator, Home, NodeFile, NodeSettings, Ports};

/// Arguments of `nexus network`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a genesis and a home per validator (keys, configs) for a new network.
    New(NewArgs),
}

/// Arguments of `nexus network new`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// Directory to create: `genesis.json` and `validator-<i>/` homes.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// The chain's name (CometBFT's chain id).
    #[arg(long, default_value = "nexus-local")]
    pub chain_name: String,
    /// The numeric chain id transactions are signed for.
    #[arg(long, default_value_t = 31_338)]
    pub chain_id: u64,
    /// Voting power of each genesis validator.
    #[arg(long, default_value_t = 10)]
    pub power: u64,
    /// Fund the ten dev accounts (anvil's mnemonic) so the CLI's dev keys work.
    #[arg(long)]
    pub dev_accounts: bool,
    /// Fund an account: `0xADDRESS=BALANCE` (smallest unit), repeatable.
    #[arg(long = "account", value_name = "ADDR=BALANCE")]
    pub accounts: Vec<String>,
    /// Each validator's host as its peers reach it, comma-separated, one per validator; omitted,
    /// every validator runs on this machine (loopback).
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// First port: validator i uses base+10i (p2p), +1 (CometBFT RPC), +2 (node API).
    #[arg(long, default_value_t = 26_600)]
    pub base_port: u16,
    /// Balance (smallest unit) of each validator's operator account, whose key is written to
    /// `<home>/operator.key`.
    #[arg(long, default_value_t = 1_000_000_000_000_000_000_000)]
    pub operator_balance: u128,
    /// Consensus parameters as JSON: any subset of the genesis `params` (gas, limits, `staking`);
    /// `--chain-id` and `--chain-name` win over the file's.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// The CometBFT binary.
    #[arg(long, value_name = "PATH")]
    pub cometbft: Option<PathBuf>,
}

/// Runs `nexus network …`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::New(a) => {
            let homes = new_network(&a)?;
            println!("network {} (chain id {}) written to {}", a.chain_name, a.chain_id, a.dir.display());
            for h in homes {
                println!("  {}", h.0.display());
            }
            println!("start each with: nexus validator start --home <home>");
            Ok(())
        }
    }
}

fn parse_account(s: &str) -> anyhow::Result<GenesisAccount> {
    let (addr, balance) = s.split_once('=').context("an account is 0xADDRESS=BALANCE")?;
    let address: nexus_api::types::Address = addr
        .parse()
        .map_err(|_| anyhow::anyhow!("{addr:?} is not an address: expected 20 bytes of hex (0x…)"))?;
    Ok(GenesisAccount {
        address: address.0,
        balance: balance.parse().with_context(|| format!("{balance} is not a balance"))?,
    })
}

/// Creates the network; returns the validator homes.
pub fn new_network(a: &NewArgs) -> anyhow::Result<Vec<Home>> {
    if a.validators == 0 {
        bail!("a network needs at least one validator");
    }
    if !a.hosts.is_empty() && a.hosts.len() != a.validators {
        bail!(
            "--hosts lists {} hosts for {} validators; give one per validator",
            a.hosts.len(),
            a.validators
        );
    }
    if a.dir.join("genesis.json").exists() {
        bail!("{} already holds a network (genesis.json); pick a new --dir", a.dir.display());
    }
    let bin = cometbft::binary(a.cometbft.as_deref())?;
    std::fs::create_dir_all(&a.dir).with_context(|| format!("cannot create {}", a.dir.display()))?;
    let dir = std::fs::canonicalize(&a.dir)?;
    let local = a.hosts.is_empty();
    let homes: Vec<Home> = (0..a.validators).map(|i| Home(dir.join(format!("validator-{i}")))).collect();
    let params = match &a.params {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a set of genesis params", path.display()))?
        }
        None => Params::default(),
    };
    let params = Params { chain_id: a.chain_id, chain_name: a.chain_name.clone(), ..params };
    let mut validators = Vec::new();
    let mut app_validators = Vec::new();
    let mut accounts = Vec::new();
    let mut ids = Vec::new();
    for (i, home) in homes.iter().enumerate() {
        cometbft::init_home(&bin, &home.cometbft())?;
        let (address, pub_key) = cometbft::validator_key(&home.cometbft())?;
        let operator = write_operator_key(home)?;
        app_validators.push(nexus_consensus::app::GenesisValidator {
            pub_key: cometbft::ed25519_key(&pub_key)?,
            power: a.power,
            operator: Some(operator),
        });
        accounts.push(GenesisAccount { address: operator, balance: a.operator_balance });
        validators.push(GenesisValidator {
            name: format!("validator-{i}"),
            address,
            pub_key,
            power: a.power,
        });
        ids.push(cometbft::node_id(&bin, &home.cometbft())?);
    }
    accounts.extend(a.accounts.iter().map(|s| parse_account(s)).collect::<Result<Vec<_>, _>>()?);
    if a.dev_accounts {
        accounts.extend(
            nexus_api::dev_accounts()
                .into_iter()
                .map(|d| GenesisAccount { address: d.address, balance: nexus_api::DEV_BALANCE }),
        );
    }
    let app = Genesis { params, accounts, validators: app_validators };
    let template = cometbft::read_json(&homes[0].genesis())?;
    let genesis = cometbft::network_genesis(&template, &app, &validators);
    cometbft::write_json(&dir.join("genesis.json"), &genesis)?;
    for (i, home) in homes.iter().enumerate() {
        let ports = Ports::local(a.base_port, if local { i } else { 0 });
        let host = |j: usize| if local { "127.0.0.1".to_string() } else { a.hosts[j].clone() };
        let peers = (0..a.validators)
            .filter(|j| *j != i)
            .map(|j| {
                format!("{}@{}:{}", ids[j], host(j), Ports::local(a.base_port, if local { j } else { 0 }).p2p)
            })
            .collect();
        write_home(
            home,
            &genesis,
            &NodeSettings {
                moniker: &format!("validator-{i}"),
                listen: if local { "127.0.0.1" } else { "0.0.0.0" },
                ports,
                peers,
                abci_socket: &home.abci_socket(),
                local,
            },
        )?;
    }
    Ok(homes)
}

/// Creates a validator's operator account key in `<home>/operator.key` (hex, owner-only, as
/// CometBFT keeps its consensus key) and returns its address.
fn write_operator_key(home: &Home) -> anyhow::Result<nexus_types::Address> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = k256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let path = home.0.join("operator.key");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "0x{}", hex::encode(key.to_bytes()))?;
    Ok(nexus_consensus::app::tx::address_of(&key))
}

/// Writes a home's genesis, CometBFT config and node file.
pub fn write_home(home: &Home, genesis: &serde_json::Value, s: &NodeSettings<'_>) -> anyhow::Result<()> {
    cometbft::write_json(&home.genesis(), genesis)?;
    cometbft::configure(&home.cometbft(), s)?;
    NodeFile {
        rpc_addr: std::net::SocketAddr::from(([127, 0, 0, 1], s.ports.api)),
        cometbft_rpc: format!("http://127.0.0.1:{}", s.ports.rpc),
    }
    .write(&home.0)
}

/// The network directory's validator homes, in order.
pub fn homes_in(dir: &Path) -> anyhow::Result<Vec<Home>> {
    let mut homes = Vec::new();
    for i in 0.. {
        let h = dir.join(format!("validator-{i}"));
        if !h.is_dir() {
            break;
        }
        homes.push(Home(h));
    }
    if homes.is_empty() {
        bail!("{} holds no validator homes (validator-0/ …)", dir.display());
    }
    Ok(homes)
}
