//! The developer loop end to end, with the `nexus` CLI against a real `nexus dev` process:
//! deploy `counter` and `notes`, call them, read their key-value state back with a proof verified
//! client-side and their files back, upgrade as the owner, fail to upgrade or delete as anyone
//! else with nothing changed, delete.

mod common;

use common::{DEV0_ADDRESS, DEV1_ADDRESS, DEV1_KEY, DevNode, example, stdout, text};

#[test]
fn a_deployed_function_is_called_read_upgraded_and_deleted() {
    let node = DevNode::start();
    let status = node.json(&["status"]);
    assert_eq!(status["dev"], true);

    // Deploy: with no key given, the dev chain's account 0 signs, and the CLI says so.
    let out = node.nexus(&["deploy", &example("counter"), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dev account 0"), "{}", text(&out));
    let deployed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(deployed["ok"], true);
    let counter = deployed["function"].as_str().expect("a function id").to_string();
    let counter_code = deployed["code_hash"].as_str().expect("a code hash").to_string();
    assert!(deployed["gas_used"].as_u64().unwrap() > 0);
    let info = node.json(&["function", &counter]);
    assert_eq!(info["owner"], DEV0_ADDRESS);
    assert_eq!(info["code_hash"], counter_code.as_str());
    assert_eq!(info["version"], 1);

    // Call: output, event and gas of the invocation.
    let called = node.json(&["call", &counter, "5"]);
    assert_eq!(called["ok"], true);
    assert_eq!(called["output"]["text"], "5");
    let logs = called["logs"].as_array().expect("logs");
    assert!(
        logs.iter().any(|l| l["kind"] == "event" && l["topic"] == "incremented" && l["message"] == "5"),
        "{called:#}"
    );
    assert!(called["gas_used"].as_u64().unwrap() > 0);
    assert_eq!(node.json(&["call", &counter])["output"]["text"], "6");
    assert_eq!(node.json(&["query", &counter])["output"]["text"], "6");

    // Key-value state with a proof checked here against the app hash.
    let kv = node.json(&["kv", "get", &counter, "count", "--prove"]);
    assert_eq!(kv["value"]["hex"], format!("0x{}", hex::encode(6u64.to_le_bytes())));
    assert_eq!(kv["proof_verified"], true);
    let out = node.nexus(&["kv", "get", &counter, "count", "--prove"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = stdout(&out);
    let expected = format!(
        "proof verified against app hash {} at height {}",
        kv["app_hash"].as_str().unwrap(),
        kv["height"]
    );
    assert!(said.contains(&expected), "{said}");
    // A key that was never written: its absence is proven too.
    let absent = node.json(&["kv", "get", &counter, "nothing-here", "--prove"]);
    assert_eq!(absent["value"], serde_json::Value::Null);
    assert_eq!(absent["proof_verified"], true);

    // The logs command shows the same events.
    let out = node.nexus(&["logs", &counter]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("event incremented 6"), "{}", text(&out));

    // Notes: files written through std::fs come back through the node's filesystem API.
    let notes = node.json(&["deploy", &example("notes")])["function"].as_str().expect("an id").to_string();
    assert_eq!(node.json(&["call", &notes, "add hello hi there"])["ok"], true);
    assert_eq!(node.json(&["call", &notes, "append hello second line"])["ok"], true);
    let listing = node.json(&["fs", "ls", &notes, "/notes"]);
    assert_eq!(listing[0]["name"], "hello");
    assert_eq!(listing[0]["kind"], "file");
    let content = "hi theresecond line\n";
    assert_eq!(listing[0]["size"], content.len());
    let out = node.nexus(&["fs", "cat", &notes, "/notes/hello"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&out), content);
    assert_eq!(node.json(&["fs", "cat", &notes, "/notes/hello"])["text"], content);
    assert_eq!(node.json(&["query", &notes, "list"])["output"]["text"], format!("hello {}\n", content.len()));

    // Someone else may neither upgrade nor delete, and nothing changes when they try: once with a
    // raw private key, once with a keystore holding dev account 1's mnemonic key.
    node.fails(&["upgrade", &counter, &example("c-counter"), "--private-key", DEV1_KEY], 1, "only the owner");
    let imported = node.json(&[
        "keys",
        "import",
        "dev1",
        "--mnemonic",
        "test test test test test test test test test test test junk",
        "--mnemonic-index",
        "1",
        "--password",
        "pw",
    ]);
    assert_eq!(imported["address"].as_str().unwrap().to_lowercase(), DEV1_ADDRESS);
    node.fails(&["delete", &counter, "--keystore", "dev1", "--password", "pw"], 1, "only the owner");
    node.fails(
        &["delete", &counter, "--keystore", "dev1", "--password", "wrong"],
        2,
        "is the password right?",
    );
    let info = node.json(&["function", &counter]);
    assert_eq!(
        (info["code_hash"].as_str().unwrap(), info["version"].as_u64()),
        (counter_code.as_str(), Some(1))
    );
    assert_eq!(node.json(&["query", &counter])["output"]["text"], "6");

    // The owner upgrades to the C counter (same key layout, plus a history file); having no
    // `migrate`, its `init` runs and starts the count again.
    let upgraded = node.json(&["upgrade", &counter, &example("c-counter")]);
    assert_eq!(upgraded["ok"], true, "{upgraded:#}");
    let info = node.json(&["function", &counter]);
    assert_eq!(info["version"], 2);
    assert_eq!(info["code_hash"], upgraded["code_hash"]);
    assert_ne!(info["code_hash"], counter_code.as_str());
    assert_eq!(node.json(&["call", &counter, "3"])["output"]["text"], "3");
    assert_eq!(node.json(&["fs", "cat", &counter, "/history.log"])["text"], "count=3\n");

    // Delete: the function and its state are gone.
    assert_eq!(node.json(&["delete", &counter])["ok"], true);
    node.fails(&["function", &counter], 2, "no function");
    node.fails(&["call", &counter, "1"], 2, "no function");
    node.fails(&["kv", "get", &counter, "count"], 2, "no function");
    // The other function is untouched.
    assert_eq!(node.json(&["query", &notes, "cat hello"])["output"]["text"], content);
}
