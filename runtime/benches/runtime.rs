//! Criterion benchmarks of the runtime against the targets of the runtime issue (see BENCHMARKS.md).

use criterion::{Criterion, criterion_group, criterion_main};
use nexus_runtime::{Call, MemState, Runtime, profile};
use nexus_types::EntryPoint;
use std::hint::black_box;
use wasmtime::{Engine, Instance, Module, Store};

/// ~10 host calls: 4 key-value ops, context, an event, and a file created, written and closed.
const TEN_CALLS: &str = r#"
(module
  (import "nexus" "kv_get" (func $get (param i32 i32) (result i32)))
  (import "nexus" "kv_set" (func $set (param i32 i32 i32 i32)))
  (import "nexus" "context" (func $context (result i32)))
  (import "nexus" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "counter")
  (data (i32.const 16) "log.txt")
  (data (i32.const 64) "\80\00\00\00\05\00\00\00")
  (data (i32.const 128) "hello")
  (func (export "on_call")
    (drop (call $get (i32.const 0) (i32.const 7)))
    (call $set (i32.const 0) (i32.const 7) (i32.const 128) (i32.const 5))
    (drop (call $get (i32.const 16) (i32.const 7)))
    (call $set (i32.const 16) (i32.const 7) (i32.const 128) (i32.const 5))
    (drop (call $context))
    (call $emit (i32.const 0) (i32.const 7) (i32.const 128) (i32.const 5))
    ;; open /log.txt under the root preopen (fd 3) with O_CREAT, write 5 bytes, close.
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 7) (i32.const 1)
      (i64.const 0x7fffffff) (i64.const 0x7fffffff) (i32.const 0) (i32.const 256)))
    (drop (call $write (i32.load (i32.const 256)) (i32.const 64) (i32.const 1) (i32.const 260)))
    (drop (call $close (i32.load (i32.const 256))))))
"#;

const HOST_LOOP: &str = r#"
(module
  (import "nexus" "input_len" (func $len (result i32)))
  (memory (export "memory") 1)
  (func (export "on_call") (local $i i32)
    (loop $l
      (drop (call $len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))))
"#;

/// Shell sort of 10,000 pseudo-random i32s (an integer/memory kernel like BTreeMap or sort code).
const SORT: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "on_call") (local $i i32) (local $j i32) (local $gap i32) (local $x i32) (local $seed i32)
    (local.set $seed (i32.const 12345))
    (loop $fill
      (local.set $seed (i32.add (i32.mul (local.get $seed) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $seed))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 10000))))
    (local.set $gap (i32.const 5000))
    (loop $gaps
      (local.set $i (local.get $gap))
      (block $idone (loop $outer
        (br_if $idone (i32.ge_u (local.get $i) (i32.const 10000)))
        (local.set $x (i32.load (i32.shl (local.get $i) (i32.const 2))))
        (local.set $j (local.get $i))
        (block $jdone (loop $inner
          (br_if $jdone (i32.lt_u (local.get $j) (local.get $gap)))
          (br_if $jdone (i32.le_s (i32.load (i32.shl (i32.sub (local.get $j) (local.get $gap)) (i32.const 2))) (local.get $x)))
          (i32.store (i32.shl (local.get $j) (i32.const 2)) (i32.load (i32.shl (i32.sub (local.get $j) (local.get $gap)) (i32.const 2))))
          (local.set $j (i32.sub (local.get $j) (local.get $gap)))
          (br $inner)))
        (i32.store (i32.shl (local.get $j) (i32.const 2)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
      (local.set $gap (i32.shr_u (local.get $gap) (i32.const 1)))
      (br_if $gaps (local.get $gap)))))
"#;

fn load(rt: &Runtime<MemState>, wat: &str) -> nexus_runtime::Function<MemState> {
    rt.load(&wat::parse_str(wat).unwrap()).unwrap()
}

fn invocation(c: &mut Criterion) {
    let rt: Runtime<MemState> = Runtime::new(None).unwrap();
    let empty = load(&rt, r#"(module (memory (export "memory") 1) (func (export "on_call")))"#);
    c.bench_function("invoke/empty (store + pooled instantiate + call)", |b| {
        b.iter(|| black_box(rt.invoke(&empty, Call::new(EntryPoint::OnCall, vec![]), MemState::new())))
    });
    let ten = load(&rt, TEN_CALLS);
    let (r, _) = rt.invoke(&ten, Call::new(EntryPoint::OnCall, vec![]), MemState::new());
    assert_eq!(r.outcome, Ok(()), "{r:?}");
    c.bench_function("invoke/ten host calls (kv + file)", |b| {
        b.iter(|| black_box(rt.invoke(&ten, Call::new(EntryPoint::OnCall, vec![]), MemState::new())))
    });
    let host_loop = load(&rt, HOST_LOOP);
    c.bench_function("host call x100000 (input_len)", |b| {
        b.iter(|| black_box(rt.invoke(&host_loop, Call::new(EntryPoint::OnCall, vec![]), MemState::new())))
    });
}

fn pooled_instantiate(c: &mut Criterion) {
    let engine = Engine::new(&profile::engine_config()).unwrap();
    let module =
        Module::new(&engine, wat::parse_str(r#"(module (memory 1) (func (export "f")))"#).unwrap()).unwrap();
    c.bench_function("pooled instantiate (raw wasmtime, profile config)", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            store.set_fuel(1_000_000).unwrap();
            black_box(Instance::new(&mut store, &module, &[]).unwrap());
        })
    });
}

fn fuel_overhead(c: &mut Criterion) {
    let wasm = wat::parse_str(SORT).unwrap();
    let mut g = c.benchmark_group("sort 10k i32");
    for fuel in [true, false] {
        let mut config = profile::engine_config();
        config.consume_fuel(fuel);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, &wasm).unwrap();
        g.bench_function(if fuel { "with fuel" } else { "without fuel" }, |b| {
            b.iter(|| {
                let mut store = Store::new(&engine, ());
                if fuel {
                    store.set_fuel(u64::MAX).unwrap();
                }
                let i = Instance::new(&mut store, &module, &[]).unwrap();
                i.get_typed_func::<(), ()>(&mut store, "on_call").unwrap().call(&mut store, ()).unwrap();
            })
        });
    }
    g.finish();
}

fn precompiled_load(c: &mut Criterion) {
    // A module of realistic size: 400 small functions calling each other.
    let mut wat = String::from("(module (memory (export \"memory\") 1)");
    for i in 0..400 {
        wat += &format!("(func $f{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))");
    }
    wat += "(func (export \"on_call\") (drop (call $f0 (i32.const 1)))))";
    let wasm = wat::parse_str(&wat).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt: Runtime<MemState> = Runtime::new(Some(dir.path().to_path_buf())).unwrap();
    rt.load(&wasm).unwrap();
    let cache = nexus_runtime::cache::ModuleCache::open(dir.path(), rt.engine()).unwrap();
    let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&wasm).into();
    c.bench_function("precompiled module load (deserialize_file)", |b| {
        b.iter(|| black_box(cache.load(rt.engine(), &hash).unwrap()))
    });
    c.bench_function("load from cache incl. validation + link", |b| {
        b.iter(|| black_box(rt.load(&wasm).unwrap()))
    });
}

// criterion_group! generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, invocation, pooled_instantiate, fuel_overhead, precompiled_load);
}
use group::benches;
criterion_main!(benches);
