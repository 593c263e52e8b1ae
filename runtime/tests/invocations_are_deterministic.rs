//! The same invocation yields byte-identical results in fresh engines; limits fire at fixed points.

mod common;
use common::*;
use nexus_runtime::{Call, InvocationError, MemState, Runtime};
use nexus_types::EntryPoint;

const BUSY: &str = r#"
(module
  (import "nexus" "kv_set" (func $kv_set (param i32 i32 i32 i32)))
  (import "nexus" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "key")
  (func (export "on_call") (local $i i32) (local $f f64)
    (drop (call $random (i32.const 100) (i32.const 32)))
    (loop $l
      (local.set $f (f64.add (local.get $f) (f64.div (f64.const 1) (f64.convert_i32_u (i32.add (local.get $i) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (f64.store (i32.const 200) (f64.sqrt (f64.div (f64.const 0) (f64.const 0))))
    (f64.store (i32.const 208) (local.get $f))
    (call $kv_set (i32.const 0) (i32.const 3) (i32.const 100) (i32.const 116))
    (call $emit (i32.const 0) (i32.const 3) (i32.const 200) (i32.const 16)))
  (func (export "spin") (loop $l (br $l)))
  (func $rec (param $n i32)
    (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "on_task") (result i32)
    (call $rec (i32.load (i32.const 300))) (i32.const 0))
)"#;

#[test]
fn the_same_invocation_in_two_fresh_engines_is_byte_identical() {
    let a = runtime();
    let b = runtime();
    let fa = load_wat(&a, BUSY);
    let fb = load_wat(&b, BUSY);
    let (ra, _) = a.invoke(&fa, Call::new(EntryPoint::OnCall, vec![]), MemState::new());
    let (rb, _) = b.invoke(&fb, Call::new(EntryPoint::OnCall, vec![]), MemState::new());
    assert_eq!(ra.outcome, Ok(()));
    assert_eq!(ra, rb);
    assert!(!ra.diff.is_empty());
    // NaN produced by 0/0 is canonical, whatever the CPU would have produced.
    assert_eq!(&ra.events[0].data[..8], &f64::from_bits(0x7ff8_0000_0000_0000).to_le_bytes());
}

#[test]
fn an_infinite_loop_runs_out_of_gas_at_exactly_the_limit_every_time() {
    let wat = r#"(module (func (export "on_call") (loop $l (br $l))))"#;
    let rt = runtime();
    let f = load_wat(&rt, wat);
    let mut call = Call::new(EntryPoint::OnCall, vec![]);
    call.fuel = 1_000_000;
    for _ in 0..3 {
        let (r, _) = rt.invoke(&f, call.clone(), MemState::new());
        assert_eq!(r.outcome, Err(InvocationError::OutOfGas));
        assert_eq!(r.fuel_used, 1_000_000);
    }
}

fn recursion_wat(extra_locals: usize) -> String {
    let locals = "(local i64)".repeat(extra_locals);
    format!(
        r#"(module
  (import "nexus" "input_read" (func $input_read (param i32)))
  (memory (export "memory") 1)
  (func $rec (param $n i32) {locals}
    (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "on_call")
    (call $input_read (i32.const 0))
    (call $rec (i32.load (i32.const 0)))))"#
    )
}

/// The deepest recursion that succeeds, found by bisection.
fn max_depth(rt: &Runtime<MemState>, extra_locals: usize) -> u32 {
    let f = load_wat(rt, &recursion_wat(extra_locals));
    let ok = |n: u32| {
        let (r, _) = rt.invoke(&f, Call::new(EntryPoint::OnCall, n.to_le_bytes().to_vec()), MemState::new());
        match r.outcome {
            Ok(()) => true,
            Err(InvocationError::StackDepth) => false,
            other => panic!("recursion to {n} ended with {other:?}, not StackDepth"),
        }
    };
    let (mut lo, mut hi) = (0u32, 1u32 << 20);
    assert!(!ok(hi));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { lo = mid } else { hi = mid }
    }
    lo
}

#[test]
fn deep_recursion_hits_the_call_depth_limit_at_the_same_depth_in_every_build() {
    let rt = runtime();
    // 4096 units, one per small frame: on_call's frame plus 4095 frames of $rec (n .. 0).
    assert_eq!(max_depth(&rt, 0), 4094);
    // Frames holding many values cost more units, so the limit comes sooner, never the native stack.
    let big = max_depth(&rt, 400);
    assert_eq!(big, 4095 / 51 - 1);
}

#[test]
fn invocation_errors_have_stable_codes() {
    assert_eq!(InvocationError::OutOfGas.code(), 1);
    assert_eq!(InvocationError::StackDepth.code(), 9);
    assert_eq!(InvocationError::Exit(3).code(), 13);
}

#[test]
fn a_module_loaded_from_the_precompiled_cache_charges_exactly_the_same_gas() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(BUSY).unwrap();
    let cold: Runtime<MemState> = Runtime::new(Some(dir.path().to_path_buf())).unwrap();
    let compiled = cold.load(&wasm).unwrap();
    let cached_files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(cached_files, 1, "the compiled module is written to the cache");
    let warm: Runtime<MemState> = Runtime::new(Some(dir.path().to_path_buf())).unwrap();
    let from_cache = warm.load(&wasm).unwrap();
    let plain = runtime();
    let uncached = plain.load(&wasm).unwrap();
    let call = Call::new(EntryPoint::OnCall, vec![]);
    let (a, _) = cold.invoke(&compiled, call.clone(), MemState::new());
    let (b, _) = warm.invoke(&from_cache, call.clone(), MemState::new());
    let (c, _) = plain.invoke(&uncached, call, MemState::new());
    assert_eq!(a.outcome, Ok(()));
    assert_eq!(a, b);
    assert_eq!(a, c);
}
