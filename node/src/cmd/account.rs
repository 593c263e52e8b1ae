//! `nexus account [address]`: an account's balance and nonces (the signer's when no address is
//! given).

use std::process::ExitCode;

use anyhow::anyhow;
use nexus_api::NexusApiClient as _;
use nexus_api::types::Address;

use crate::client::signer::SignerArgs;
use crate::client::{NodeArgs, block_on};

/// Arguments of `nexus account`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The account (0x…, 20 bytes); defaults to the key chosen by the signing options.
    address: Option<String>,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// Runs `nexus account`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let given: Option<Address> = args
        .address
        .as_deref()
        .map(|a| a.parse().map_err(|_| anyhow!("{a:?} is not an address: expected 20 bytes of hex (0x…)")))
        .transpose()?;
    block_on(async move {
        let node = args.node.connect().await?;
        let address = match given {
            Some(a) => a,
            None => Address(args.signer.resolve(node.status().await?.dev)?.address),
        };
        let a = node.client.get_account(address).await.map_err(|e| node.explain(e))?;
        if args.node.json {
            super::print_json(&serde_json::to_value(&a)?);
        } else {
            println!("account        {}", a.address);
            println!("balance        {}", a.balance);
            println!("nonce          {} (next to sign: {})", a.nonce, a.pending_nonce);
        }
        Ok(ExitCode::SUCCESS)
    })?
}
