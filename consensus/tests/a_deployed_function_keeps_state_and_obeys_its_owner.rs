//! Deploy, call, query, prove, upgrade and delete functions in the application, and refuse every
//! owner-only action from anyone else without changing anything.

mod common;

use common::{Chain, example, key};
use nexus_consensus::app::function_kv_key;
use nexus_consensus::app::tx::Msg;
use nexus_consensus::verify_proof;

fn count(chain: &Chain, f: [u8; 32]) -> String {
    let r = chain.app.query_call(&f, Vec::new()).expect("query runs");
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    String::from_utf8(r.output).expect("utf-8")
}

#[test]
fn a_counter_counts_proves_its_state_and_only_its_owner_changes_it() {
    let mut chain = Chain::new();
    let (owner, other) = (key(1), key(2));
    let f = chain.deploy(&owner, "counter", b"");
    assert_eq!(count(&chain, f), "0");

    let r = chain.call(&owner, f, "5");
    assert!(r.ok, "{:?}", r.error);
    assert_eq!(r.results[0].invocations[0].output, b"5");
    let r = chain.call(&other, f, "");
    assert_eq!(r.results[0].invocations[0].output, b"6");
    assert!(r.gas_used > 0 && r.fee == u128::from(r.gas_used));
    assert_eq!(count(&chain, f), "6");

    let logs = chain.app.logs(&f, 0, 100).expect("logs");
    assert!(
        logs.iter()
            .any(|l| l.kind == "event" && l.topic.as_deref() == Some("incremented") && l.message == "6")
    );

    // The value and its absence are both provable against the app hash.
    let proven = chain.app.kv_get_with_proof(&f, b"count", None).expect("proof");
    assert_eq!(proven.value, Some(6u64.to_le_bytes().to_vec()));
    assert_eq!(proven.app_hash, chain.app.info().app_hash);
    let full_key = function_kv_key(&f, b"count");
    assert!(verify_proof(&proven.app_hash, &full_key, Some(&6u64.to_le_bytes()), &proven.proof));
    assert!(!verify_proof(&proven.app_hash, &full_key, Some(&7u64.to_le_bytes()), &proven.proof));
    let absent = chain.app.kv_get_with_proof(&f, b"nope", None).expect("proof");
    assert_eq!(absent.value, None);
    assert!(verify_proof(&absent.app_hash, &function_kv_key(&f, b"nope"), None, &absent.proof));

    // Someone else may neither upgrade nor delete it, and trying changes nothing but their nonce.
    let before = chain.app.function(&f).expect("exists");
    let r = chain.run(&other, vec![Msg::Upgrade { function: f, code: example("c-counter"), input: vec![] }]);
    assert!(!r.ok);
    assert!(r.error.as_deref().unwrap_or("").contains("only the owner"), "{:?}", r.error);
    let r = chain.run(&other, vec![Msg::Delete { function: f }]);
    assert!(r.error.as_deref().unwrap_or("").contains("only the owner"), "{:?}", r.error);
    assert_eq!(chain.app.function(&f), Some(before.clone()));
    assert_eq!(count(&chain, f), "6");

    // A broken upgrade rolls back entirely.
    let r =
        chain.run(&owner, vec![Msg::Upgrade { function: f, code: b"\0asm garbage".to_vec(), input: vec![] }]);
    assert!(r.error.as_deref().unwrap_or("").contains("invalid module"), "{:?}", r.error);
    let trapping_init = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "init") unreachable) (func (export "on_call")))"#,
    )
    .expect("wat");
    let r = chain.run(&owner, vec![Msg::Upgrade { function: f, code: trapping_init, input: vec![] }]);
    assert!(r.error.as_deref().unwrap_or("").contains("init"), "{:?}", r.error);
    assert_eq!(chain.app.function(&f), Some(before.clone()));
    assert_eq!(count(&chain, f), "6");

    // The owner upgrades to the C build of the same counter (same state layout, its init resets).
    chain.ok(&owner, vec![Msg::Upgrade { function: f, code: example("c-counter"), input: vec![] }]);
    let after = chain.app.function(&f).expect("exists");
    assert_eq!((after.version, after.owner), (2, before.owner));
    assert_ne!(after.code_hash, before.code_hash);
    assert_eq!(chain.call(&owner, f, "2").results[0].invocations[0].output, b"2");

    chain.ok(&owner, vec![Msg::Delete { function: f }]);
    assert_eq!(chain.app.function(&f), None);
    assert_eq!(chain.app.kv_get_with_proof(&f, b"count", None).expect("proof").value, None);
    let r = chain.call(&owner, f, "1");
    assert!(r.error.as_deref().unwrap_or("").contains("no function"), "{:?}", r.error);
}

#[test]
fn notes_live_in_the_functions_filesystem() {
    let mut chain = Chain::new();
    let f = chain.deploy(&key(1), "notes", b"");
    for cmd in ["append todo buy milk", "append todo call bob", "add idea nexus"] {
        let r = chain.call(&key(1), f, cmd);
        assert!(r.ok, "{cmd}: {:?}", r.error);
    }
    let names: Vec<_> =
        chain.app.fs_list(&f, "/notes").expect("ls").into_iter().map(|e| (e.name, e.kind)).collect();
    assert_eq!(names, vec![("idea".into(), "file".into()), ("todo".into(), "file".into())]);
    assert_eq!(chain.app.fs_read(&f, "/notes/todo").expect("cat"), b"buy milk\ncall bob\n");
    let err = chain.app.fs_read(&f, "/notes/missing").expect_err("absent");
    assert!(err.to_string().contains("/notes/missing"), "{err}");
    let r = chain.call(&key(1), f, "add todo again");
    assert!(!r.ok);
    assert_eq!(chain.app.fs_read(&f, "/notes/todo").expect("cat"), b"buy milk\ncall bob\n");
}
