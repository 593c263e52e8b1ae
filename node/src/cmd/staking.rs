//! `nexus staking …`: create a validator, delegate, undelegate, unjail, withdraw rewards, and
//! list validators and delegations.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use nexus_api::NexusApiClient as _;
use nexus_api::types::Address;
use nexus_consensus::app::staking::key_ownership_message;
use nexus_consensus::app::tx::Msg;

use crate::client::submit::{TxArgs, record_json, send};
use crate::client::{NodeArgs, block_on, show};

/// Arguments of `nexus staking`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List every registered validator: stake, power, set membership, jail state.
    Validators {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A delegator's stake in a validator and its withdrawable rewards.
    Delegation {
        /// The validator's operator address.
        validator: String,
        /// The delegator [default: the signer].
        delegator: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Make the signer the operator of a new validator whose consensus key is in a validator
    /// home; it joins the set at the next epoch.
    CreateValidator {
        /// The validator home (`nexus validator init`) holding the consensus key.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// The self-bond, in the smallest unit.
        #[arg(long)]
        amount: u128,
        /// Share of rewards the operator keeps, in basis points.
        #[arg(long, default_value_t = 500)]
        commission_bps: u16,
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Bond tokens to a validator.
    Delegate(AmountArgs),
    /// Start unbonding tokens from a validator (released after the unbonding period).
    Undelegate(AmountArgs),
    /// Let the signer's jailed validator back into the set at the next epoch.
    Unjail {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Pay out the signer's rewards from a validator (and its commission, for the operator).
    Withdraw {
        /// The validator's operator address.
        validator: String,
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        tx: TxArgs,
    },
}

#[derive(Debug, clap::Args)]
struct AmountArgs {
    /// The validator's operator address.
    validator: String,
    /// Tokens, in the smallest unit.
    amount: u128,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    tx: TxArgs,
}

fn address(s: &str) -> anyhow::Result<Address> {
    s.parse().map_err(|_| anyhow!("{s:?} is not an address: expected 20 bytes of hex (0x…)"))
}

/// The ed25519 consensus key in a validator home (CometBFT's `priv_validator_key.json`).
pub(crate) fn consensus_key(home: &std::path::Path) -> anyhow::Result<ed25519_consensus::SigningKey> {
    let path = crate::cometbft::Home(home.to_path_buf()).cometbft().join("config/priv_validator_key.json");
    let key = crate::cometbft::read_json(&path)?;
    let encoded =
        key["priv_key"]["value"].as_str().with_context(|| format!("{} has no priv_key", path.display()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .with_context(|| format!("{}: priv_key is not base64", path.display()))?;
    let seed: [u8; 32] = bytes
        .get(..32)
        .and_then(|s| s.try_into().ok())
        .with_context(|| format!("{}: priv_key is not an ed25519 key", path.display()))?;
    Ok(ed25519_consensus::SigningKey::from(seed))
}

/// Runs `nexus staking …`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Validators { node } => list(node),
        Command::Delegation { validator, delegator, node, tx } => delegation(&validator, delegator, node, tx),
        Command::CreateValidator { home, amount, commission_bps, node, tx } => {
            let key = consensus_key(&home)?;
            block_on(async move {
                let n = node.connect().await?;
                let status = n.status().await?;
                let operator = tx.signer.resolve(status.dev)?.address;
                let key_signature = key.sign(&key_ownership_message(status.chain_id, &operator)).to_bytes();
                let consensus_key = key.verification_key().to_bytes();
                let msg = Msg::CreateValidator { consensus_key, key_signature, commission_bps, amount };
                submit(&n, &node, &tx, msg, "creating a validator").await
            })?
        }
        Command::Delegate(a) => {
            let msg = Msg::Delegate { validator: address(&a.validator)?.0, amount: a.amount };
            block_on(
                async move { submit(&a.node.connect().await?, &a.node, &a.tx, msg, "delegating").await },
            )?
        }
        Command::Undelegate(a) => {
            let msg = Msg::Undelegate { validator: address(&a.validator)?.0, amount: a.amount };
            block_on(
                async move { submit(&a.node.connect().await?, &a.node, &a.tx, msg, "undelegating").await },
            )?
        }
        Command::Unjail { node, tx } => {
            block_on(
                async move { submit(&node.connect().await?, &node, &tx, Msg::Unjail, "unjailing").await },
            )?
        }
        Command::Withdraw { validator, node, tx } => {
            let msg = Msg::WithdrawRewards { validator: address(&validator)?.0 };
            block_on(
                async move { submit(&node.connect().await?, &node, &tx, msg, "withdrawing rewards").await },
            )?
        }
    }
}

async fn submit(
    node: &crate::client::Node,
    args: &NodeArgs,
    tx: &TxArgs,
    msg: Msg,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let r = send(node, tx, vec![msg], what, args.json).await?;
    if args.json {
        super::print_json(&record_json(&r));
    } else if r.ok {
        println!("{what}: done");
        println!("{}", show::gas_line(&r));
    }
    Ok(show::finish(&r))
}

fn list(node: NodeArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let n = node.connect().await?;
        let validators = n.client.validators().await.map_err(|e| n.explain(e))?;
        if node.json {
            super::print_json(&serde_json::to_value(&validators)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!("{:<42}  {:>8}  {:>8}  {:>6}  state", "operator", "power", "in set", "missed");
        for v in validators {
            let state = match (v.tombstoned, v.jailed_until) {
                (true, _) => "tombstoned".to_string(),
                (false, Some(until)) => format!("jailed until {until}"),
                (false, None) => "active".to_string(),
            };
            println!("{:<42}  {:>8}  {:>8}  {:>6}  {state}", v.operator, v.power, v.set_power, v.missed);
        }
        Ok(ExitCode::SUCCESS)
    })?
}

fn delegation(
    validator: &str,
    delegator: Option<String>,
    node: NodeArgs,
    tx: TxArgs,
) -> anyhow::Result<ExitCode> {
    let validator = address(validator)?;
    let delegator = delegator.as_deref().map(address).transpose()?;
    block_on(async move {
        let n = node.connect().await?;
        let delegator = match delegator {
            Some(d) => d,
            None => Address(tx.signer.resolve(n.status().await?.dev)?.address),
        };
        let d = n.client.get_delegation(validator, delegator).await.map_err(|e| n.explain(e))?;
        if node.json {
            super::print_json(&serde_json::to_value(&d)?);
        } else {
            println!("stake    {}", d.stake);
            println!("rewards  {}", d.rewards);
        }
        Ok(ExitCode::SUCCESS)
    })?
}
