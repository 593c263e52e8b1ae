//! Runs a Rust std program compiled for wasm32-wasip1 (so wasi-libc's own use of every common
//! call: preopen scan, readdir, stat, open flags, poll-based sleep) on the virtual filesystem.

use std::path::PathBuf;
use std::process::Command;

use nexus_wasi::{MemStorage, ProcExit, Storage, Vfs, WasiConfig, WasiCtx, WasiView, add_to_linker};
use wasmtime::{Config, Engine, Linker, Module, Store};

const T: u64 = 1_700_000_000_000_000_000;

struct Host {
    ctx: WasiCtx,
    storage: MemStorage,
}

impl WasiView for Host {
    fn wasi_parts(&mut self) -> (&mut WasiCtx, &mut dyn Storage) {
        (&mut self.ctx, &mut self.storage)
    }
}

/// Builds the guest with the workspace toolchain (rust-toolchain.toml lists wasm32-wasip1).
fn build_guest() -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = dir.join("std_fs.wasm");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/guest/std_fs.rs");
    let status = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--edition", "2024", "--target", "wasm32-wasip1", "-O", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("rustc runs");
    assert!(status.success(), "building the wasm32-wasip1 guest failed");
    std::fs::read(out).unwrap()
}

fn run(wasm: &[u8]) -> (MemStorage, Vec<u8>, Vec<u8>) {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wasm).unwrap();
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker).unwrap();
    let ctx = WasiCtx::new(WasiConfig {
        args: vec!["std_fs".into(), "--go".into()],
        env: vec![("X".into(), "42".into())],
        stdin: b"piped in".to_vec(),
        time_ns: T,
        random_seed: [9; 32],
        ..WasiConfig::default()
    });
    let mut store = Store::new(&engine, Host { ctx, storage: MemStorage::new() });
    store.set_fuel(1_000_000_000).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
    let err = start.call(&mut store, ()).unwrap_err();
    let stderr = store.data().ctx.stderr().bytes.clone();
    assert_eq!(
        err.downcast_ref::<ProcExit>(),
        Some(&ProcExit(3)),
        "{err:?}\n{}",
        String::from_utf8_lossy(&stderr)
    );
    let host = store.into_data();
    (host.storage, host.ctx.stdout().bytes.clone(), stderr)
}

#[test]
fn rust_std_program_runs_deterministically() {
    let wasm = build_guest();
    let (storage, stdout, stderr) = run(&wasm);
    assert_eq!(String::from_utf8(stdout).unwrap(), "args [\"std_fs\", \"--go\"] X=42\nstdin \"piped in\"\n");
    assert_eq!(stderr, b"done\n");
    let mut s = storage.clone();
    let vfs = Vfs::new(&mut s, 0);
    let report = String::from_utf8(vfs.read_file("/data/report").unwrap()).unwrap();
    assert!(report.starts_with(&format!("now={T} order=")), "{report}");
    let names: Vec<String> = vfs.read_dir("/data").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["b.txt", "big", "c.txt", "link", "report"]);
    assert_eq!(vfs.stat("/data/b.txt").unwrap().nlink, 2);
    // Same program, same inputs: same bytes in storage, HashMap order included.
    let (again, _, _) = run(&wasm);
    assert_eq!(storage.entries(), again.entries());
}
