//! `nexus query <fn> <input>`: runs a function's read-only `query` entry point against the latest
//! committed state; no transaction, no fee, nothing kept.

use std::process::ExitCode;

use nexus_api::NexusApiClient as _;
use nexus_api::types::Bytes;

use crate::client::{NodeArgs, block_on, parse_function_id, show};

/// Arguments of `nexus query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function id (0x…).
    function: String,
    /// Input of `query`: hex (`0x…`), `@file`, or text.
    #[arg(default_value = "")]
    input: String,
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `nexus query`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let function = parse_function_id(&args.function)?;
    let input = super::parse_input(&args.input)?;
    block_on(async move {
        let node = args.node.connect().await?;
        node.function(function).await?;
        let r = node.client.query(function, Bytes(input)).await.map_err(|e| node.explain(e))?;
        if args.node.json {
            let mut v = serde_json::to_value(&r)?;
            v["output"] = show::bytes_json(&r.output.0);
            super::print_json(&v);
        } else {
            for l in &r.logs {
                println!("  {:<7} {}", l.level, l.message.trim_end());
            }
            for e in &r.events {
                println!("  event {} {}", e.topic, super::show_bytes(&e.data.0));
            }
            if r.ok {
                println!("{}", super::show_bytes(&r.output.0));
            }
        }
        if !r.ok {
            eprintln!("error: query failed: {}", r.error.as_deref().unwrap_or("no reason given"));
            return Ok(ExitCode::FAILURE);
        }
        Ok(ExitCode::SUCCESS)
    })?
}
