//! How results read, for people and for `--json`: outputs, log lines and events.

use std::process::ExitCode;

use nexus_api::NexusApiClient as _;
use nexus_api::types::{H256, LogRecord, TxRecord};
use serde_json::json;

use super::{Node, hex0x};
use crate::cmd::show_bytes;

/// Bytes for `--json`: hex always, and the text when they are UTF-8.
pub fn bytes_json(b: &[u8]) -> serde_json::Value {
    json!({ "hex": hex0x(b), "text": std::str::from_utf8(b).ok() })
}

/// The log lines and events a transaction caused in the functions it touched.
pub async fn tx_logs(node: &Node, r: &TxRecord) -> anyhow::Result<Vec<LogRecord>> {
    let mut functions: Vec<[u8; 32]> =
        r.results.iter().flat_map(|m| m.invocations.iter().map(|i| i.function)).collect();
    functions.sort();
    functions.dedup();
    let mut logs = Vec::new();
    for f in functions {
        let found = node.client.logs(H256(f), Some(r.height), None).await.map_err(|e| node.explain(e))?;
        logs.extend(found.into_iter().filter(|l| l.height == r.height && l.tx == Some(r.hash)));
    }
    Ok(logs)
}

/// One log record on one line.
pub fn log_line(l: &LogRecord) -> String {
    let what = match (&l.kind[..], &l.topic) {
        ("event", Some(topic)) => format!("event {topic}"),
        (kind, _) => kind.to_string(),
    };
    // Which Ethereum block triggered it, when one did.
    let trigger = l.eth_block.map_or(String::new(), |n| format!("eth#{n} "));
    format!("#{:<6} {trigger}{:<8} {:<7} {}", l.height, l.entry, what, l.message.trim_end())
}

/// Prints a transaction's invocations (output, failure) and its log lines.
pub fn print_invocations(r: &TxRecord, logs: &[LogRecord]) {
    for inv in r.results.iter().flat_map(|m| &m.invocations) {
        match (&inv.error, inv.output.is_empty()) {
            (Some(e), _) => println!("{} of {} failed: {e}", inv.entry, hex0x(&inv.function)),
            (None, false) => println!("output: {}", show_bytes(&inv.output)),
            (None, true) => {}
        }
    }
    for l in logs {
        println!("  {}", log_line(l));
    }
}

/// The gas line every transaction prints.
pub fn gas_line(r: &TxRecord) -> String {
    format!("gas used {} (tx {} at height {})", r.gas_used, hex0x(&r.hash), r.height)
}

/// Exit status of a command whose transaction was committed: 1, with the reason on stderr, if it
/// failed.
pub fn finish(r: &TxRecord) -> ExitCode {
    if r.ok {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {:#}", super::submit::failed(r));
    ExitCode::FAILURE
}
