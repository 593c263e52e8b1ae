//! `nexus upgrade <fn> f.wasm`: replaces a function's code (owner only); the new code's `migrate`
//! (or `init`) runs, and if it fails nothing changes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use nexus_consensus::app::tx::Msg;

use crate::client::submit::{TxArgs, record_json, send};
use crate::client::{NodeArgs, block_on, hex0x, parse_function_id, show};

/// Arguments of `nexus upgrade`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function id (0x…).
    function: String,
    /// The new module.
    wasm: PathBuf,
    /// Input of `migrate` (or `init`): hex (`0x…`), `@file`, or text.
    #[arg(long, default_value = "")]
    input: String,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    tx: TxArgs,
}

/// Runs `nexus upgrade`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let function = parse_function_id(&args.function)?;
    let code = std::fs::read(&args.wasm).with_context(|| format!("cannot read {}", args.wasm.display()))?;
    let input = super::parse_input(&args.input)?;
    block_on(async move {
        let node = args.node.connect().await?;
        node.function(function).await?;
        let msg = Msg::Upgrade { function: function.0, code, input };
        let what = format!("upgrading {function} to {}", args.wasm.display());
        let r = send(&node, &args.tx, vec![msg], &what, args.node.json).await?;
        let logs = show::tx_logs(&node, &r).await?;
        let code_hash = r.results.first().and_then(|m| m.code_hash);
        if args.node.json {
            let mut v = record_json(&r);
            v["function"] = function.to_string().into();
            v["code_hash"] = code_hash.map(|h| hex0x(&h)).into();
            v["logs"] = serde_json::to_value(&logs)?;
            super::print_json(&v);
        } else {
            if r.ok {
                let info = node.function(function).await?;
                println!("upgraded function {function} to version {}", info.version);
                println!("code hash {}", info.code_hash);
                println!("{}", show::gas_line(&r));
            }
            show::print_invocations(&r, &logs);
        }
        Ok(show::finish(&r))
    })?
}
