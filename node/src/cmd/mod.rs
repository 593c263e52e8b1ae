//! One module per `nexus` verb.

pub mod build;
pub mod dev;
pub mod inspect;
pub mod new;
pub mod run;
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

/// Reads an `--input` value: hex (`0x…`), `@file`, or the text itself.
pub fn parse_input(s: &str) -> anyhow::Result<Vec<u8>> {
    if let Some(path) = s.strip_prefix('@') {
        return std::fs::read(path).with_context(|| format!("cannot read input file {path}"));
    }
    if let Some(h) = s.strip_prefix("0x") {
        return hex::decode(h).context("--input 0x… must be hex");
    }
    Ok(s.as_bytes().to_vec())
}
