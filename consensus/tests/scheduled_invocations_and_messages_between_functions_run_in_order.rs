//! The scheduler runs `every N blocks` triggers and long-running tasks until they finish, and
//! `send` delivers messages between functions after the caller returns, in order, with replies.

mod common;

use common::{Chain, key};
use nexus_consensus::app::tx::Msg;
use nexus_types::Trigger;
use nexus_types::manifest::Manifest;

/// Appends a custom section to a module.
fn with_section(mut module: Vec<u8>, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    leb(&mut body, name.len() as u32);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    module.push(0);
    leb(&mut module, body.len() as u32);
    module.extend(body);
    module
}

fn leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A module whose `on_task` counts its runs under key "n" (one byte) and whose `query` outputs it.
const TICKER: &str = r#"(module
  (import "nexus" "kv_get" (func $kv_get (param i32 i32) (result i32)))
  (import "nexus" "kv_set" (func $kv_set (param i32 i32 i32 i32)))
  (import "nexus" "ret_read" (func $ret_read (param i32)))
  (import "nexus" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (func $load (result i32)
    (if (result i32) (i32.lt_s (call $kv_get (i32.const 0) (i32.const 1)) (i32.const 0))
      (then (i32.const 0))
      (else (call $ret_read (i32.const 16)) (i32.load8_u (i32.const 16)))))
  (func (export "on_task") (result i32)
    (i32.store8 (i32.const 16) (i32.add (call $load) (i32.const 1)))
    (call $kv_set (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 1))
    (i32.const 0))
  (func (export "query")
    (i32.store8 (i32.const 16) (call $load))
    (call $output_write (i32.const 16) (i32.const 1))))"#;

fn runs(chain: &Chain, f: [u8; 32]) -> u8 {
    chain.app.query_call(&f, vec![]).expect("query").output[0]
}

#[test]
fn an_every_trigger_runs_on_multiples_of_its_period() {
    let mut chain = Chain::new();
    let code = with_section(
        wat::parse_str(TICKER).expect("wat"),
        nexus_types::abi::MANIFEST_SECTION,
        &Manifest::trigger_record(&Trigger::Every { blocks: 3 }),
    );
    let r = chain.ok(&key(1), vec![Msg::Deploy { code, input: vec![] }]);
    let f = r.results[0].function.expect("id");
    let deployed_at = chain.height;
    for _ in 0..9 {
        chain.block(vec![]);
    }
    let expected = (deployed_at..=chain.height).filter(|h| h % 3 == 0).count() as u8;
    assert_eq!(runs(&chain, f), expected);
    let block = chain.app.block(chain.height).expect("journal").expect("block");
    assert_eq!(block.scheduled.len(), usize::from(chain.height.is_multiple_of(3)));
}

#[test]
fn a_long_running_task_continues_each_block_until_done() {
    let mut chain = Chain::new();
    let f = chain.deploy(&key(1), "long-sum", b"");
    let r = chain.call(&key(1), f, "100000");
    assert!(r.ok, "{:?}", r.error);
    let mut blocks = 0;
    loop {
        let outcome = chain.block(vec![]);
        blocks += 1;
        assert!(blocks < 500, "the task never finished");
        if outcome.block.scheduled.is_empty() {
            break;
        }
        assert!(outcome.block.scheduled.iter().all(|i| i.ok), "{:?}", outcome.block.scheduled);
    }
    assert!(blocks > 2, "the sum should take several blocks, took {blocks}");
    let q = chain.app.query_call(&f, vec![]).expect("query");
    let text = String::from_utf8(q.output).expect("utf-8");
    assert!(text.contains(&(100_000u64 * 100_001 / 2).to_string()), "{text}");
}

/// A module whose `on_call` sends its input to the function whose id is in KV "peer", and whose
/// `on_reply` stores the reply's bytes under "reply".
const FORWARDER: &str = r#"(module
  (import "nexus" "input_len" (func $input_len (result i32)))
  (import "nexus" "input_read" (func $input_read (param i32)))
  (import "nexus" "kv_get" (func $kv_get (param i32 i32) (result i32)))
  (import "nexus" "kv_set" (func $kv_set (param i32 i32 i32 i32)))
  (import "nexus" "ret_read" (func $ret_read (param i32)))
  (import "nexus" "send" (func $send (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "peer")
  (data (i32.const 8) "reply")
  (func (export "init")
    (call $input_read (i32.const 64))
    (call $kv_set (i32.const 0) (i32.const 4) (i32.const 64) (i32.const 32)))
  (func (export "on_call")
    (drop (call $kv_get (i32.const 0) (i32.const 4)))
    (call $ret_read (i32.const 64))
    (call $input_read (i32.const 128))
    (drop (call $send (i32.const 64) (i32.const 128) (call $input_len) (i32.const 0))))
  (func (export "on_reply")
    (call $input_read (i32.const 256))
    (call $kv_set (i32.const 8) (i32.const 5) (i32.const 256) (call $input_len))))"#;

#[test]
fn a_send_calls_the_other_function_after_the_caller_and_replies() {
    let mut chain = Chain::new();
    let counter = chain.deploy(&key(1), "counter", b"");
    let r = chain.ok(
        &key(1),
        vec![Msg::Deploy { code: wat::parse_str(FORWARDER).expect("wat"), input: counter.to_vec() }],
    );
    let forwarder = r.results[0].function.expect("id");
    let r = chain.call(&key(2), forwarder, "7");
    assert!(r.ok, "{:?}", r.error);
    let entries: Vec<_> =
        r.results[0].invocations.iter().map(|i| (i.function, i.entry.clone(), i.ok)).collect();
    assert_eq!(
        entries,
        vec![
            (forwarder, "on_call".to_string(), true),
            (counter, "on_call".to_string(), true),
            (forwarder, "on_reply".to_string(), true),
        ]
    );
    assert_eq!(chain.app.query_call(&counter, vec![]).expect("query").output, b"7");
    let reply = chain.app.kv_get_with_proof(&forwarder, b"reply", None).expect("kv").value.expect("stored");
    // Reply encoding: request id, kind, ok flag, then the counter's output.
    assert!(reply.ends_with(b"7"), "{reply:?}");

    // A failing callee is undone and reported in the reply; the caller's transaction still succeeds.
    let r = chain.call(&key(2), forwarder, "x");
    assert!(r.ok, "{:?}", r.error);
    assert!(!r.results[0].invocations[1].ok);
    assert_eq!(chain.app.query_call(&counter, vec![]).expect("query").output, b"7");
}
