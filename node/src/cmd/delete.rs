//! `nexus delete <fn>`: removes a function and all its state (owner only).

use std::process::ExitCode;

use nexus_consensus::app::tx::Msg;

use crate::client::submit::{TxArgs, record_json, send};
use crate::client::{NodeArgs, block_on, parse_function_id, show};

/// Arguments of `nexus delete`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function id (0x…).
    function: String,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    tx: TxArgs,
}

/// Runs `nexus delete`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let function = parse_function_id(&args.function)?;
    block_on(async move {
        let node = args.node.connect().await?;
        node.function(function).await?;
        let msg = Msg::Delete { function: function.0 };
        let r = send(&node, &args.tx, vec![msg], &format!("deleting {function}"), args.node.json).await?;
        if args.node.json {
            let mut v = record_json(&r);
            v["function"] = function.to_string().into();
            super::print_json(&v);
        } else if r.ok {
            println!("deleted function {function}");
            println!("{}", show::gas_line(&r));
        }
        Ok(show::finish(&r))
    })?
}
