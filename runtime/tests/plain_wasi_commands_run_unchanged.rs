//! A module with only `_start` and WASI imports is a valid function: stdin in, stdout out.

mod common;
use common::*;
use nexus_runtime::{Call, InvocationError, MemState};
use nexus_types::EntryPoint;

/// Echoes stdin to stdout in upper case, then exits with the number of arguments minus one.
const UPPER: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32) (local $i i32) (local $c i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1024))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $n (i32.load (i32.const 8)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $c (i32.load8_u (i32.add (i32.const 1024) (local.get $i))))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (i32.store8 (i32.add (i32.const 1024) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $args (i32.const 16) (i32.const 20)))
    (call $exit (i32.sub (i32.load (i32.const 16)) (i32.const 1)))))
"#;

#[test]
fn stdin_is_the_input_and_stdout_the_output() {
    let rt = runtime();
    let f = load_wat(&rt, UPPER);
    assert!(f.info.is_command());
    let (r, _) = rt.invoke(&f, Call::new(EntryPoint::Start, b"hello nexus".to_vec()), MemState::new());
    assert_eq!(r.outcome, Ok(()));
    assert_eq!(r.output, b"HELLO NEXUS");
}

#[test]
fn a_non_zero_exit_code_fails_the_call_and_keeps_the_code() {
    let rt = runtime();
    let f = load_wat(&rt, UPPER);
    let mut c = Call::new(EntryPoint::Start, b"x".to_vec());
    c.args = vec!["prog".into(), "a".into(), "b".into()];
    let (r, _) = rt.invoke(&f, c, MemState::new());
    assert_eq!(r.outcome, Err(InvocationError::Exit(2)));
    assert!(r.output.is_empty());
    assert_eq!(r.stdout, b"X", "stdout is kept for debugging even when the call fails");
}

#[test]
fn an_ordinary_rust_program_keeps_its_files_between_runs() {
    let rt = runtime();
    let f = rt.load(&example("wc")).expect("wc loads");
    assert!(f.info.is_command());
    let mut state = MemState::new();
    let first = call(&rt, &f, EntryPoint::Start, b"one two\nthree\n", &mut state);
    assert_eq!(first.outcome, Ok(()), "{first:?}");
    assert_eq!(String::from_utf8_lossy(&first.output), "2 3 14 (total bytes so far: 14)\n");
    let second = call(&rt, &f, EntryPoint::Start, b"four", &mut state);
    assert_eq!(String::from_utf8_lossy(&second.output), "1 1 4 (total bytes so far: 18)\n");
}
