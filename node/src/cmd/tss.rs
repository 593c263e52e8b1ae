//! `nexus tss status`: the validators' threshold key, the running DKG, signed rotations and
//! reported faults.

use std::process::ExitCode;

use nexus_api::NexusApiClient as _;

use crate::client::{NodeArgs, block_on};

/// Arguments of `nexus tss`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Keys, the DKG in progress, rotations and faults.
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// Runs `nexus tss …`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::Status { node } = args.command;
    block_on(async move {
        let n = node.connect().await?;
        let s = n.client.tss_status().await.map_err(|e| n.explain(e))?;
        if node.json {
            super::print_json(&serde_json::to_value(&s)?);
            return Ok(ExitCode::SUCCESS);
        }
        let epoch = |e: Option<u64>| e.map_or("none".to_string(), |e| e.to_string());
        println!("active key  {}", epoch(s.active_epoch));
        println!("newest key  {}", epoch(s.latest_epoch));
        for k in &s.keys {
            println!(
                "key {}       {}-of-{}, {} dealers, x {} parity {}",
                k.epoch,
                k.threshold,
                k.members.len(),
                k.qualified.len(),
                k.x,
                k.parity
            );
        }
        match &s.dkg {
            Some(d) => println!(
                "dkg         session {} for key {}: {} ({} members, threshold {}, {} excluded)",
                d.session,
                d.epoch,
                d.phase,
                d.members,
                d.threshold,
                d.excluded.len()
            ),
            None => println!("dkg         none running"),
        }
        println!("messages    {}", s.messages);
        for f in &s.faults {
            println!(
                "fault       height {}: validator 0x{}: {}",
                f.height,
                hex::encode(f.validator),
                f.reason
            );
        }
        Ok(ExitCode::SUCCESS)
    })?
}
