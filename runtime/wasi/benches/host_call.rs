//! Cost of warm WASI host calls made from a wasm loop: 16-byte writes to a file (appending, and
//! overwriting the same bytes with `fd_pwrite`) and to stdout, and `sched_yield` (the bare call
//! and gas overhead), against an empty loop.

use std::time::{Duration, Instant};

use criterion::Criterion;
use nexus_wasi::{MemStorage, Storage, Vfs, WasiConfig, WasiCtx, WasiView, add_to_linker};
use wasmtime::{Config, Engine, Linker, Module, Store, TypedFunc};

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec {ptr 16, len 16} at 0, the 16 bytes at 16, the file name at 64.
  (data (i32.const 0) "\10\00\00\00\10\00\00\00")
  (data (i32.const 16) "0123456789abcdef")
  (data (i32.const 64) "bench.dat")
  (func (export "open") (result i32)
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 9) (i32.const 1)
      (i64.const 0x46) (i64.const 0) (i32.const 1) (i32.const 40)))
    (i32.load (i32.const 40)))
  (func (export "writes") (param $fd i32) (param $n i32)
    (loop $l
      (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "pwrites") (param $fd i32) (param $n i32)
    (loop $l
      (drop (call $pwrite (local.get $fd) (i32.const 0) (i32.const 1) (i64.const 0) (i32.const 8)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "yields") (param $n i32)
    (loop $l
      (drop (call $yield))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "empty") (param $n i32)
    (loop $l
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

struct Host {
    ctx: WasiCtx,
    storage: MemStorage,
}

impl WasiView for Host {
    fn wasi_parts(&mut self) -> (&mut WasiCtx, &mut dyn Storage) {
        (&mut self.ctx, &mut self.storage)
    }
}

/// Calls per timed batch; the file is truncated between batches so it stays at most 64 KiB.
const BATCH: u64 = 4096;

fn bench(c: &mut Criterion) {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wat::parse_str(GUEST).unwrap()).unwrap();
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker).unwrap();
    let host = Host {
        ctx: WasiCtx::new(WasiConfig { max_output_bytes: 1 << 20, ..WasiConfig::default() }),
        storage: MemStorage::new(),
    };
    let mut store = Store::new(&engine, host);
    store.set_fuel(u64::MAX / 2).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let open: TypedFunc<(), i32> = instance.get_typed_func(&mut store, "open").unwrap();
    let fd = open.call(&mut store, ()).unwrap();
    assert_eq!(fd, 4);
    let writes: TypedFunc<(i32, i32), ()> = instance.get_typed_func(&mut store, "writes").unwrap();
    let pwrites: TypedFunc<(i32, i32), ()> = instance.get_typed_func(&mut store, "pwrites").unwrap();
    let yields: TypedFunc<i32, ()> = instance.get_typed_func(&mut store, "yields").unwrap();
    let empty: TypedFunc<i32, ()> = instance.get_typed_func(&mut store, "empty").unwrap();

    let mut timed = |c: &mut Criterion, name: &str, run: &mut dyn FnMut(&mut Store<Host>, i32)| {
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(BATCH);
                    let start = Instant::now();
                    run(&mut store, n as i32);
                    total += start.elapsed();
                    left -= n;
                    let host = store.data_mut();
                    Vfs::new(&mut host.storage, 0).set_len("/bench.dat", 0).unwrap();
                    host.ctx.take_output();
                }
                total
            })
        });
    };
    timed(c, "empty loop iteration", &mut |s, n| empty.call(s, n).unwrap());
    timed(c, "sched_yield", &mut |s, n| yields.call(s, n).unwrap());
    timed(c, "fd_write 16 B to stdout", &mut |s, n| writes.call(s, (1, n)).unwrap());
    timed(c, "fd_pwrite 16 B over the same file bytes", &mut |s, n| pwrites.call(s, (fd, n)).unwrap());
    timed(c, "fd_write 16 B appending to a file", &mut |s, n| writes.call(s, (fd, n)).unwrap());
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
