//! `nexus function <fn>`: a deployed function's owner, code, version and balance.

use std::process::ExitCode;

use crate::client::{NodeArgs, block_on, parse_function_id};

/// Arguments of `nexus function`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function id (0x…).
    function: String,
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `nexus function`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let id = parse_function_id(&args.function)?;
    block_on(async move {
        let node = args.node.connect().await?;
        let f = node.function(id).await?;
        if args.node.json {
            super::print_json(&serde_json::to_value(&f)?);
        } else {
            println!("function   {}", f.id);
            println!("owner      {}", f.owner);
            println!("code hash  {} ({} bytes)", f.code_hash, f.code_size);
            println!(
                "version    {} (deployed at height {}, updated at {})",
                f.version, f.created_at, f.updated_at
            );
            println!("balance    {} (account {})", f.balance, f.address);
        }
        Ok(ExitCode::SUCCESS)
    })?
}
