//! An ordinary command-line program with no Nexus SDK: counts the lines, words and bytes of
//! stdin, prints them, and keeps a running total in `/totals` across runs. As a Nexus function
//! the call input is its stdin and its stdout is the output; `-q` suppresses the output.

use std::io::{Read, Write};

fn main() {
    let quiet = std::env::args().skip(1).any(|a| a == "-q");
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("wc: cannot read stdin: {e}");
        std::process::exit(2);
    }
    let text = String::from_utf8_lossy(&input);
    let (lines, words, bytes) = (text.lines().count(), text.split_whitespace().count(), input.len());
    let previous: usize =
        std::fs::read_to_string("/totals").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let total = previous + bytes;
    if let Err(e) = std::fs::File::create("/totals").and_then(|mut f| writeln!(f, "{total}")) {
        eprintln!("wc: cannot update /totals: {e}");
        std::process::exit(3);
    }
    if !quiet {
        println!("{lines} {words} {bytes} (total bytes so far: {total})");
    }
}
