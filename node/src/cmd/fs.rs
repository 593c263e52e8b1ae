//! `nexus fs ls|cat <fn> <path>`: a function's files at the latest committed height.

use std::io::Write as _;
use std::process::ExitCode;

use nexus_api::NexusApiClient as _;

use crate::client::{NodeArgs, block_on, parse_function_id, show};

/// Arguments of `nexus fs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Fs,
}

#[derive(Debug, clap::Subcommand)]
enum Fs {
    /// List a directory.
    Ls {
        /// The function id (0x…).
        function: String,
        /// The directory.
        #[arg(default_value = "/")]
        path: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Print a file.
    Cat {
        /// The function id (0x…).
        function: String,
        /// The file.
        path: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// Runs `nexus fs`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (Fs::Ls { function, path, node } | Fs::Cat { function, path, node }) = &args.command;
    let id = parse_function_id(function)?;
    block_on(async {
        let n = node.connect().await?;
        n.function(id).await?;
        match &args.command {
            Fs::Ls { .. } => {
                let entries = n.client.fs_list(id, path.clone()).await.map_err(|e| n.explain(e))?;
                if node.json {
                    super::print_json(&serde_json::to_value(&entries)?);
                } else {
                    for e in entries {
                        let suffix = if e.kind == "dir" { "/" } else { "" };
                        println!("{:<8} {:>10}  {}{suffix}", e.kind, e.size, e.name);
                    }
                }
            }
            Fs::Cat { .. } => {
                let content = n.client.fs_read(id, path.clone()).await.map_err(|e| n.explain(e))?;
                if node.json {
                    let mut v = show::bytes_json(&content.0);
                    v["path"] = path.clone().into();
                    v["size"] = content.0.len().into();
                    super::print_json(&v);
                } else {
                    // The file as it is: `nexus fs cat … > copy` must reproduce it byte for byte.
                    std::io::stdout().write_all(&content.0)?;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })?
}
