//! One module per `nexus` verb.

pub mod account;
pub mod bench;
pub mod bench_eth;
pub mod build;
pub mod call;
pub mod delete;
pub mod deploy;
pub mod dev;
pub mod eth;
pub mod fs;
pub mod function;
pub mod inspect;
pub mod keys;
pub mod kv;
pub mod logs;
pub mod network;
pub mod new;
pub mod query;
pub mod relayer;
pub mod run;
pub mod staking;
pub mod status;
pub mod testnet;
pub mod tss;
pub mod tx;
pub mod upgrade;
pub mod validator;
pub mod zk;

use anyhow::Context as _;

/// Prints a JSON value on stdout, pretty.
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Bytes as text when they are printable UTF-8, else hex; for humans.
pub fn show_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => s.to_string(),
        _ => format!("0x{}", hex::encode(b)),
    }
}

/// A spinner on stderr for long work; hidden with `--json` (and by indicatif when stderr is not
/// a terminal).
pub fn spinner(json: bool) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Reads an input or key argument: hex (`0x…`), `@file`, or the text itself.
pub fn parse_input(s: &str) -> anyhow::Result<Vec<u8>> {
    if let Some(path) = s.strip_prefix('@') {
        return std::fs::read(path).with_context(|| format!("cannot read input file {path}"));
    }
    if let Some(h) = s.strip_prefix("0x") {
        return hex::decode(h).with_context(|| {
            format!("{s:?} starts with 0x but is not hex; give hex bytes, or the text without 0x")
        });
    }
    Ok(s.as_bytes().to_vec())
}
