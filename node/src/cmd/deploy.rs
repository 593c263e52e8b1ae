//! `nexus deploy f.wasm`: stores the module on chain, creates a function owned by the signer and
//! runs its `init`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use nexus_consensus::app::tx::Msg;

use crate::client::submit::{TxArgs, record_json, send};
use crate::client::{NodeArgs, block_on, hex0x, show};

/// Arguments of `nexus deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The module to deploy (`nexus build` makes one).
    wasm: PathBuf,
    /// Input of `init`: hex (`0x…`), `@file`, or text.
    #[arg(long, default_value = "")]
    input: String,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    tx: TxArgs,
}

/// Runs `nexus deploy`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let code = std::fs::read(&args.wasm).with_context(|| format!("cannot read {}", args.wasm.display()))?;
    let input = super::parse_input(&args.input)?;
    block_on(async move {
        let node = args.node.connect().await?;
        let what = format!("deploying {} ({} bytes)", args.wasm.display(), code.len());
        let r = send(&node, &args.tx, vec![Msg::Deploy { code, input }], &what, args.node.json).await?;
        let logs = show::tx_logs(&node, &r).await?;
        let deployed = r.results.first();
        let function = deployed.and_then(|m| m.function);
        let code_hash = deployed.and_then(|m| m.code_hash);
        if args.node.json {
            let mut v = record_json(&r);
            v["function"] = function.map(|f| hex0x(&f)).into();
            v["code_hash"] = code_hash.map(|h| hex0x(&h)).into();
            v["logs"] = serde_json::to_value(&logs)?;
            super::print_json(&v);
        } else if r.ok {
            println!("deployed function {}", function.map(|f| hex0x(&f)).unwrap_or_default());
            println!("code hash {}", code_hash.map(|h| hex0x(&h)).unwrap_or_default());
            println!("{}", show::gas_line(&r));
        }
        if !args.node.json {
            show::print_invocations(&r, &logs);
        }
        Ok(show::finish(&r))
    })?
}
