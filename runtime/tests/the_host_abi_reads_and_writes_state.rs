//! The `nexus` host functions behave as functions-sdk/ABI.md says.

mod common;
use common::*;
use nexus_runtime::{Call, MemState, OutboundRequest, TaskControl};
use nexus_types::{Context, Decode, EntryPoint};

/// Input selects: 0 = store three keys, 1 = list keys forward into output, 2 = list in reverse,
/// 3 = copy the context into output, 4 = make two requests, 5 = delete key "b".
const KV: &str = r#"
(module
  (import "nexus" "input_read" (func $input_read (param i32)))
  (import "nexus" "output_write" (func $out (param i32 i32)))
  (import "nexus" "ret_read" (func $ret_read (param i32)))
  (import "nexus" "kv_set" (func $set (param i32 i32 i32 i32)))
  (import "nexus" "kv_delete" (func $del (param i32 i32) (result i32)))
  (import "nexus" "kv_next" (func $next (param i32 i32 i32) (result i32)))
  (import "nexus" "context" (func $context (result i32)))
  (import "nexus" "eth_send" (func $eth_send (param i32 i32 i32 i64) (result i64)))
  (import "nexus" "request_proof" (func $proof (param i32 i32 i32) (result i64)))
  (import "nexus" "task_schedule" (func $task))
  (memory (export "memory") 1)
  (data (i32.const 100) "abc")
  ;; Walks keys from the start key at [200..200+len) and appends each key's first byte at 1000+.
  (func $walk (param $flags i32) (param $start_len i32) (local $n i32) (local $len i32) (local $klen i32)
    (block $done (loop $l
      (local.set $len (call $next (i32.const 200) (local.get $start_len) (local.get $flags)))
      (br_if $done (i32.lt_s (local.get $len) (i32.const 0)))
      (call $ret_read (i32.const 300))
      (local.set $klen (i32.load (i32.const 300)))
      (i32.store8 (i32.add (i32.const 1000) (local.get $n)) (i32.load8_u (i32.const 304)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (memory.copy (i32.const 200) (i32.const 304) (local.get $klen))
      (local.set $start_len (local.get $klen))
      (local.set $flags (i32.or (local.get $flags) (i32.const 1)))
      (br $l)))
    (call $out (i32.const 1000) (local.get $n)))
  (func (export "on_call") (local $mode i32)
    (call $input_read (i32.const 0))
    (local.set $mode (i32.load8_u (i32.const 0)))
    (if (i32.eqz (local.get $mode)) (then
      (call $set (i32.const 101) (i32.const 1) (i32.const 100) (i32.const 3))
      (call $set (i32.const 100) (i32.const 1) (i32.const 100) (i32.const 3))
      (call $set (i32.const 102) (i32.const 1) (i32.const 100) (i32.const 3))))
    (if (i32.eq (local.get $mode) (i32.const 1)) (then (call $walk (i32.const 0) (i32.const 0))))
    (if (i32.eq (local.get $mode) (i32.const 2)) (then (call $walk (i32.const 2) (i32.const 0))))
    (if (i32.eq (local.get $mode) (i32.const 3)) (then
      (call $ret_read (i32.const 2000) (drop (call $context)))
      (call $out (i32.const 2000) (call $context))))
    (if (i32.eq (local.get $mode) (i32.const 4)) (then
      (drop (call $eth_send (i32.const 100) (i32.const 100) (i32.const 3) (i64.const 50000)))
      (drop (call $proof (i32.const 100) (i32.const 100) (i32.const 3)))
      (call $task)))
    (if (i32.eq (local.get $mode) (i32.const 5)) (then (drop (call $del (i32.const 101) (i32.const 1))))))
)"#;

#[test]
fn keys_iterate_in_order_both_ways_and_see_deletes() {
    let rt = runtime();
    let f = load_wat(&rt, KV);
    let mut state = MemState::new();
    assert_eq!(call(&rt, &f, EntryPoint::OnCall, &[0], &mut state).outcome, Ok(()));
    assert_eq!(call(&rt, &f, EntryPoint::OnCall, &[1], &mut state).output, b"abc");
    assert_eq!(call(&rt, &f, EntryPoint::OnCall, &[2], &mut state).output, b"cba");
    call(&rt, &f, EntryPoint::OnCall, &[5], &mut state);
    assert_eq!(call(&rt, &f, EntryPoint::OnCall, &[1], &mut state).output, b"ac");
}

#[test]
fn the_context_is_what_the_caller_gave() {
    let rt = runtime();
    let f = load_wat(&rt, KV);
    let mut c = Call::new(EntryPoint::OnCall, vec![3]);
    c.context = Context { chain_id: "nexus-test".into(), height: 9, caller: [4; 20], ..Context::default() };
    let (r, _) = rt.invoke(&f, c, MemState::new());
    let got = Context::decode(&r.output).expect("context decodes");
    assert_eq!(got.height, 9);
    assert_eq!(got.chain_id, "nexus-test");
    assert_eq!(got.entry, Some(EntryPoint::OnCall));
}

#[test]
fn outbound_requests_get_ids_that_keep_counting_across_invocations() {
    let rt = runtime();
    let f = load_wat(&rt, KV);
    let mut state = MemState::new();
    let first = call(&rt, &f, EntryPoint::OnCall, &[4], &mut state);
    assert_eq!(first.task, TaskControl::Schedule);
    let second = call(&rt, &f, EntryPoint::OnCall, &[4], &mut state);
    let ids: Vec<u64> = first
        .requests
        .iter()
        .chain(&second.requests)
        .map(|r| match r {
            OutboundRequest::EthSend { id, gas_limit, .. } => {
                assert_eq!(*gas_limit, 50_000);
                *id
            }
            OutboundRequest::Proof { id, input, .. } => {
                assert_eq!(input, b"abc");
                *id
            }
            OutboundRequest::Send { id, .. } => *id,
        })
        .collect();
    assert_eq!(ids, [0, 1, 2, 3]);
}
