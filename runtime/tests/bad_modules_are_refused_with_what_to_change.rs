//! Every class of invalid or non-deterministic module is refused at deploy, naming the problem.

mod common;
use common::*;
use nexus_runtime::DeployError;

fn refuse(wat: &str) -> DeployError {
    let wasm = wat::parse_str(wat).expect("wat parses");
    match runtime().load(&wasm) {
        Ok(_) => panic!("module was accepted:\n{wat}"),
        Err(e) => e,
    }
}

fn feature(wat: &str) -> &'static str {
    match refuse(wat) {
        DeployError::FeatureNotAllowed { feature, .. } => feature,
        other => panic!("expected a feature error, got {other}"),
    }
}

#[test]
fn non_deterministic_or_unsupported_features_are_named() {
    let simd = r#"(module (func (export "on_call") (drop (v128.const i32x4 0 0 0 0))))"#;
    assert!(feature(simd).contains("SIMD"));
    let threads = r#"(module (memory 1 1 shared) (func (export "on_call")))"#;
    assert!(feature(threads).contains("threads"));
    let mem64 = r#"(module (memory i64 1) (func (export "on_call")))"#;
    assert!(feature(mem64).contains("memory64"));
    let multi = r#"(module (memory 1) (memory 1) (func (export "on_call")))"#;
    assert!(feature(multi).contains("multiple memories"));
    let exceptions = r#"(module (tag $e) (func (export "on_call") (throw $e)))"#;
    assert!(feature(exceptions).contains("exception"));
    let extended = r#"(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (func (export "on_call")))"#;
    assert!(feature(extended).contains("extended"));
    let message = refuse(simd).to_string();
    assert!(message.contains("at byte offset"), "{message}");
}

#[test]
fn imports_outside_the_abi_are_refused() {
    let e = refuse(r#"(module (import "env" "now" (func)) (func (export "on_call")))"#);
    assert!(matches!(e, DeployError::UnknownImport { ref module, .. } if module == "env"), "{e}");
    let e = refuse(
        r#"(module (import "nexus" "teleport" (func)) (memory (export "memory") 1) (func (export "on_call")))"#,
    );
    assert!(e.to_string().contains("no such host function"), "{e}");
    let e = refuse(
        r#"(module (import "nexus" "kv_get" (func (param i64) (result i32))) (memory (export "memory") 1) (func (export "on_call")))"#,
    );
    assert!(e.to_string().contains("host provides"), "{e}");
    let e = refuse(
        r#"(module (import "wasi_snapshot_preview1" "sock_open" (func)) (memory (export "memory") 1) (func (export "on_call")))"#,
    );
    assert!(e.to_string().contains("not a wasi_snapshot_preview1 function"), "{e}");
    let e = refuse(r#"(module (import "nexus" "memory" (memory 1)) (func (export "on_call")))"#);
    assert!(e.to_string().contains("only functions can be imported"), "{e}");
}

#[test]
fn entry_points_must_exist_and_have_the_abi_signature() {
    assert_eq!(refuse(r#"(module (func (export "helper")))"#), DeployError::NoEntryPoint);
    let e = refuse(r#"(module (func (export "on_call") (param i32)))"#);
    assert!(matches!(e, DeployError::BadEntryPoint { ref name, .. } if name == "on_call"), "{e}");
    let e = refuse(r#"(module (func (export "on_task")))"#);
    assert!(e.to_string().contains("() -> i32"), "{e}");
    let e = refuse(r#"(module (import "nexus" "input_len" (func (result i32))) (func (export "on_call")))"#);
    assert_eq!(e, DeployError::NoMemoryExport);
    let e =
        refuse(r#"(module (global (export "__nexus_depth") i32 (i32.const 0)) (func (export "on_call")))"#);
    assert!(matches!(e, DeployError::ReservedName(_)));
}

#[test]
fn oversize_and_malformed_modules_are_refused() {
    let e = refuse(r#"(module (memory 5000) (func (export "on_call")))"#);
    assert!(matches!(e, DeployError::TooLarge { .. }), "{e}");
    let e = runtime().load(b"\0asm\x01\0\0\0garbage").unwrap_err();
    assert!(matches!(e, DeployError::Malformed { .. }), "{e}");
    let e = runtime().load(b"not wasm at all").unwrap_err();
    assert!(matches!(e, DeployError::Malformed { .. }), "{e}");
    let e = refuse(r#"(module (@custom "nexus.manifest" "\09\00\00\00\00") (func (export "on_call")))"#);
    assert!(matches!(e, DeployError::Manifest(_)), "{e}");
}

#[test]
fn a_wasi_import_with_the_wrong_signature_is_refused() {
    let e = refuse(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
           (memory (export "memory") 1) (func (export "on_call")))"#,
    );
    assert!(matches!(e, DeployError::Link(_)), "{e}");
}
