//! Mistakes a user makes at the `nexus` command line, each answered with an error naming the
//! problem (and no transaction sent), against a real `nexus dev` process.

mod common;

use common::{DevNode, example, text};

#[test]
fn bad_cli_input_gets_an_error_that_says_what_to_do() {
    let node = DevNode::start();
    let counter =
        node.json(&["deploy", &example("counter")])["function"].as_str().expect("an id").to_string();
    let nonce = |node: &DevNode| node.json(&["account"])["nonce"].as_u64().expect("a nonce");
    let before = nonce(&node);

    // A well-formed id of no function: refused before any fee is spent.
    let unknown = format!("0x{}", "ab".repeat(32));
    node.fails(&["call", &unknown, "1"], 2, &format!("no function {unknown}"));
    node.fails(&["upgrade", &unknown, &example("counter")], 2, "no function");
    node.fails(&["query", &unknown], 2, "no function");
    // Ids, hashes, keys and inputs that are not hex.
    node.fails(&["call", "counter", "1"], 2, "is not a function id");
    node.fails(&["call", "0x1234", "1"], 2, "is not a function id");
    node.fails(&["tx", "0xnothex"], 2, "is not a transaction hash");
    node.fails(&["call", &counter, "0xzz"], 2, "starts with 0x but is not hex");
    node.fails(&["call", &counter, "1", "--private-key", "0x1234"], 2, "32 bytes of hex");
    node.fails(&["call", &counter, "1", "--mnemonic", "not a real phrase"], 2, "invalid mnemonic");
    node.fails(&["account", "0x12"], 2, "is not an address");
    // Keys that are not there.
    node.fails(
        &["call", &counter, "1", "--keystore", "nobody", "--password", "x"],
        2,
        "no keystore \"nobody\"",
    );
    node.fails(
        &["call", &counter, "1", "--private-key", "0x01", "--keystore", "k"],
        2,
        "cannot be used with",
    );
    node.fails(&["fs", "cat", &counter, "/no/such/file"], 2, "/no/such/file");
    node.fails(&["deploy", "/no/such.wasm"], 2, "cannot read /no/such.wasm");
    assert_eq!(nonce(&node), before, "a refused command sent a transaction");

    // A function's own failure is a committed, failed transaction: exit 1 with its reason.
    let out = node.fails(&["call", &counter, "two"], 1, "not a whole number");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing it did was kept"), "{}", text(&out));
    assert_eq!(node.json(&["query", &counter])["output"]["text"], "0");

    // No node where the URL points.
    let out = common::run(std::process::Command::new(env!("CARGO_BIN_EXE_nexus")).args([
        "status",
        "--rpc",
        "http://127.0.0.1:9",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no node at http://127.0.0.1:9 — start one with `nexus dev`"),
        "{}",
        text(&out)
    );
}
