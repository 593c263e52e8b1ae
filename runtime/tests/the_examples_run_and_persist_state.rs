//! The example functions (Rust, C and Go) run through the runtime and keep their state.

mod common;
use common::*;
use nexus_runtime::{Call, InvocationError, MemState, TaskControl};
use nexus_types::{Context, EntryPoint};

fn text(r: &nexus_runtime::InvocationResult) -> String {
    assert_eq!(r.outcome, Ok(()), "invocation failed: {r:?}");
    String::from_utf8(r.output.clone()).expect("utf-8 output")
}

#[test]
fn the_rust_c_and_go_counters_count_and_persist() {
    let rt = runtime();
    for name in ["counter", "c-counter", "go-counter"] {
        let f = rt.load(&example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut state = MemState::new();
        call(&rt, &f, EntryPoint::Init, b"", &mut state);
        assert_eq!(text(&call(&rt, &f, EntryPoint::OnCall, b"", &mut state)), "1", "{name}");
        let r = call(&rt, &f, EntryPoint::OnCall, b"41", &mut state);
        assert_eq!(text(&r), "42", "{name}");
        assert_eq!(r.events.last().map(|e| e.data.clone()), Some(b"42".to_vec()), "{name}");
        assert_eq!(text(&call(&rt, &f, EntryPoint::Query, b"", &mut state)), "42", "{name}");
        assert_eq!(state.get(b"kcount".as_ref()), Some(&42u64.to_le_bytes().to_vec()), "{name}");
        let bad = call(&rt, &f, EntryPoint::OnCall, b"two", &mut state);
        assert!(bad.outcome.is_err(), "{name} accepted a bad amount");
        assert!(bad.diff.is_empty());
        if name != "counter" {
            // The C and Go counters also keep a history file through their languages' stdio.
            let h = text(&call(&rt, &f, EntryPoint::Query, b"history", &mut state));
            assert_eq!(h, "count=1\ncount=42\n", "{name}");
        }
    }
}

#[test]
fn the_go_runtime_runs_deterministically() {
    let rt_a = runtime();
    let rt_b = runtime();
    let wasm = example("go-counter");
    let (fa, fb) = (rt_a.load(&wasm).unwrap(), rt_b.load(&wasm).unwrap());
    let mut c = Call::new(EntryPoint::OnCall, b"7".to_vec());
    c.context = Context { time_ns: 1_700_000_000_000_000_000, ..Context::default() };
    let (a, _) = rt_a.invoke(&fa, c.clone(), MemState::new());
    let (b, _) = rt_b.invoke(&fb, c, MemState::new());
    assert_eq!(a.outcome, Ok(()));
    assert_eq!(a, b);
}

#[test]
fn notes_get_posix_answers_from_std_fs_and_keep_their_files() {
    let rt = runtime();
    let f = rt.load(&example("notes")).unwrap();
    let mut state = MemState::new();
    let mut run = |cmd: &str| call(&rt, &f, EntryPoint::OnCall, cmd.as_bytes(), &mut state);
    text(&run("add b beta"));
    text(&run("add a alpha"));
    text(&run("append a more"));
    assert!(run("add a again").outcome.is_err(), "create_new on an existing file must fail");
    assert_eq!(text(&run("cat a")), "alphamore\n");
    assert_eq!(text(&run("read a 5 2")), "mo");
    assert_eq!(text(&run("list")), "a 10\nb 4\n");
    text(&run("mv b c"));
    assert!(run("cat b").outcome.is_err());
    assert_eq!(text(&run("stat c")), "size 4 modified 1700000000");
    text(&run("rm a"));
    assert_eq!(text(&run("list")), "c 4\n");
    let r = run("cat missing");
    assert!(matches!(&r.outcome, Err(InvocationError::Aborted(m)) if m.contains("No such file")), "{r:?}");
}

#[test]
fn long_sum_finishes_over_several_task_invocations() {
    let rt = runtime();
    let f = rt.load(&example("long-sum")).unwrap();
    let mut state = MemState::new();
    let start = call(&rt, &f, EntryPoint::OnCall, b"25000", &mut state);
    assert_eq!(start.task, TaskControl::Schedule);
    let mut slices = 0;
    loop {
        let r = call(&rt, &f, EntryPoint::OnTask, b"", &mut state);
        assert_eq!(r.outcome, Ok(()), "{r:?}");
        slices += 1;
        if r.task == TaskControl::Done {
            break;
        }
        assert_eq!(r.task, TaskControl::Continue);
        assert!(slices < 10);
    }
    assert_eq!(slices, 3);
    let progress = text(&call(&rt, &f, EntryPoint::Query, b"", &mut state));
    assert!(progress.contains("\"sum\":312512500") && progress.contains("\"done\":true"), "{progress}");
}
