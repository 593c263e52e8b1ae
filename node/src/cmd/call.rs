//! `nexus call <fn> <input>`: a transaction that runs a function's `on_call`, then its output,
//! events and log lines.

use std::process::ExitCode;

use nexus_consensus::app::tx::Msg;

use crate::client::submit::{TxArgs, record_json, send};
use crate::client::{NodeArgs, block_on, parse_function_id, show};

/// Arguments of `nexus call`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function id (0x…, as `nexus deploy` prints).
    function: String,
    /// Input of `on_call`: hex (`0x…`), `@file`, or text.
    #[arg(default_value = "")]
    input: String,
    /// Native tokens to send along, in the smallest unit.
    #[arg(long, default_value_t = 0)]
    value: u128,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    tx: TxArgs,
}

/// Runs `nexus call`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let function = parse_function_id(&args.function)?;
    let input = super::parse_input(&args.input)?;
    block_on(async move {
        let node = args.node.connect().await?;
        // Checked first so that a mistyped id costs no fee.
        node.function(function).await?;
        let msg = Msg::Call { function: function.0, input, value: args.value };
        let r = send(&node, &args.tx, vec![msg], &format!("calling {function}"), args.node.json).await?;
        let logs = show::tx_logs(&node, &r).await?;
        let own = r.results.first().and_then(|m| m.invocations.first());
        if args.node.json {
            let mut v = record_json(&r);
            v["function"] = function.to_string().into();
            v["output"] = own.map(|i| show::bytes_json(&i.output)).into();
            v["invocations"] =
                serde_json::to_value(r.results.iter().flat_map(|m| &m.invocations).collect::<Vec<_>>())?;
            v["logs"] = serde_json::to_value(&logs)?;
            super::print_json(&v);
        } else {
            show::print_invocations(&r, &logs);
            if r.ok {
                println!("{}", show::gas_line(&r));
            }
        }
        Ok(show::finish(&r))
    })?
}
