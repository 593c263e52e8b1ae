//! Runtime failures map to the stable error enum and discard every write of the invocation.

mod common;
use common::*;
use nexus_runtime::{Call, InvocationError, MemState};
use nexus_types::EntryPoint;

/// A module that writes a key, then fails in the way its input selects.
const FAILING: &str = r#"
(module
  (import "nexus" "kv_set" (func $kv_set (param i32 i32 i32 i32)))
  (import "nexus" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "nexus" "input_read" (func $input_read (param i32)))
  (import "nexus" "abort" (func $abort (param i32 i32)))
  (import "nexus" "send" (func $send (param i32 i32 i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (table 1 funcref)
  (type $v (func))
  (data (i32.const 16) "boom")
  (func (export "on_call") (local $mode i32)
    (call $input_read (i32.const 0))
    (local.set $mode (i32.load8_u (i32.const 0)))
    (call $kv_set (i32.const 16) (i32.const 4) (i32.const 16) (i32.const 4))
    (call $emit (i32.const 16) (i32.const 4) (i32.const 16) (i32.const 4))
    (drop (call $send (i32.const 64) (i32.const 16) (i32.const 4) (i32.const 0)))
    (if (i32.eq (local.get $mode) (i32.const 1)) (then unreachable))
    (if (i32.eq (local.get $mode) (i32.const 2)) (then (drop (i32.load (i32.const 0x7fffffff)))))
    (if (i32.eq (local.get $mode) (i32.const 3)) (then (drop (i32.div_u (i32.const 1) (i32.const 0)))))
    (if (i32.eq (local.get $mode) (i32.const 4)) (then (call $abort (i32.const 16) (i32.const 4))))
    (if (i32.eq (local.get $mode) (i32.const 5)) (then (call $exit (i32.const 7))))
    (if (i32.eq (local.get $mode) (i32.const 6)) (then (drop (memory.grow (i32.const 3000)))))
    (if (i32.eq (local.get $mode) (i32.const 7)) (then (call $kv_set (i32.const 0) (i32.const 5000) (i32.const 0) (i32.const 1))))
    (if (i32.eq (local.get $mode) (i32.const 8)) (then (call_indirect (type $v) (i32.const 0))))
    (if (i32.eq (local.get $mode) (i32.const 9)) (then (drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))))
    (if (i32.eq (local.get $mode) (i32.const 10)) (then (drop (i32.trunc_f32_s (f32.const nan)))))
    (if (i32.eq (local.get $mode) (i32.const 11)) (then (call $emit (i32.const 0xfffff0) (i32.const 64) (i32.const 0) (i32.const 0))))
    (if (i32.eq (local.get $mode) (i32.const 12)) (then (call $exit (i32.const 0)))))
)"#;

#[test]
fn every_trap_class_maps_to_its_error_and_no_write_survives() {
    let rt = runtime();
    let f = load_wat(&rt, FAILING);
    let cases = [
        (1u8, InvocationError::Unreachable),
        (2, InvocationError::MemoryOutOfBounds),
        (3, InvocationError::DivisionByZero),
        (4, InvocationError::Aborted("boom".into())),
        (5, InvocationError::Exit(7)),
        (6, InvocationError::MemoryLimit),
        (8, InvocationError::TableOutOfBounds),
        (9, InvocationError::IntegerOverflow),
        (10, InvocationError::InvalidConversion),
    ];
    for (mode, expected) in cases {
        let mut state = MemState::new();
        let r = call(&rt, &f, EntryPoint::OnCall, &[mode], &mut state);
        assert_eq!(r.outcome, Err(expected), "mode {mode}");
        assert!(
            r.diff.is_empty() && r.events.is_empty() && r.requests.is_empty(),
            "mode {mode} kept effects"
        );
        assert!(state.is_empty(), "mode {mode} changed state");
    }
    let mut state = MemState::new();
    let r = call(&rt, &f, EntryPoint::OnCall, &[7], &mut state);
    assert!(
        matches!(r.outcome, Err(InvocationError::AbiViolation(ref m)) if m.contains("exceeds the limit")),
        "{r:?}"
    );
    let r = call(&rt, &f, EntryPoint::OnCall, &[11], &mut state);
    assert!(
        matches!(r.outcome, Err(InvocationError::AbiViolation(ref m)) if m.contains("outside memory")),
        "{r:?}"
    );
    assert!(state.is_empty());
}

#[test]
fn success_and_exit_zero_keep_writes_events_and_requests() {
    let rt = runtime();
    let f = load_wat(&rt, FAILING);
    for mode in [0u8, 12] {
        let mut state = MemState::new();
        let r = call(&rt, &f, EntryPoint::OnCall, &[mode], &mut state);
        assert_eq!(r.outcome, Ok(()));
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.requests.len(), 1);
        assert_eq!(state.get(b"kboom".as_ref()), Some(&b"boom".to_vec()));
    }
}

#[test]
fn the_storage_quota_is_enforced_without_partial_writes() {
    let rt = runtime();
    let f = load_wat(&rt, FAILING);
    let mut call = Call::new(EntryPoint::OnCall, vec![0]);
    call.storage_quota = 4;
    let (r, state) = rt.invoke(&f, call, MemState::new());
    assert_eq!(r.outcome, Err(InvocationError::QuotaExceeded));
    assert!(r.diff.is_empty() && state.is_empty());
}

#[test]
fn queries_never_write_and_missing_entry_points_are_reported() {
    let rt = runtime();
    let f = load_wat(
        &rt,
        r#"(module
          (import "nexus" "kv_set" (func $kv_set (param i32 i32 i32 i32)))
          (memory (export "memory") 1)
          (func (export "query") (call $kv_set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))))"#,
    );
    let mut state = MemState::new();
    let r = call(&rt, &f, EntryPoint::Query, &[], &mut state);
    assert_eq!(r.outcome, Ok(()));
    assert!(r.diff.is_empty() && state.is_empty());
    let r = call(&rt, &f, EntryPoint::OnCall, &[], &mut state);
    assert_eq!(r.outcome, Err(InvocationError::MissingEntryPoint("on_call")));
}

#[test]
fn too_little_fuel_for_the_fixed_cost_fails_cleanly() {
    let rt = runtime();
    let f = load_wat(&rt, r#"(module (func (export "on_call")))"#);
    let mut c = Call::new(EntryPoint::OnCall, vec![]);
    c.fuel = 10;
    let (r, _) = rt.invoke(&f, c, MemState::new());
    assert_eq!(r.outcome, Err(InvocationError::OutOfGas));
    assert_eq!(r.fuel_used, 10);
}

#[test]
fn an_on_task_result_outside_the_abi_fails_and_keeps_nothing() {
    let rt = runtime();
    let f = load_wat(
        &rt,
        r#"(module
          (import "nexus" "kv_set" (func $kv_set (param i32 i32 i32 i32)))
          (import "nexus" "emit_event" (func $emit (param i32 i32 i32 i32)))
          (memory (export "memory") 1)
          (func (export "on_task") (result i32)
            (call $kv_set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))
            (call $emit (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))
            (i32.const 7)))"#,
    );
    let mut state = MemState::new();
    let r = call(&rt, &f, EntryPoint::OnTask, &[], &mut state);
    assert!(
        matches!(r.outcome, Err(InvocationError::AbiViolation(ref m)) if m.contains("on_task returned 7"))
    );
    assert!(r.diff.is_empty() && r.events.is_empty() && state.is_empty());
    assert_eq!(r.task, nexus_runtime::TaskControl::None);
}
