//! `nexus run`, `nexus inspect`, `nexus new` and `nexus build` as a user drives them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples_dir() -> PathBuf {
    match std::env::var("NEXUS_EXAMPLES_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let target = std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
            Path::new(&target).join("examples-wasm")
        }
    }
}

fn example(name: &str) -> PathBuf {
    let p = examples_dir().join(format!("{name}.wasm"));
    assert!(p.exists(), "{} is missing; build the examples first (make examples)", p.display());
    p
}

fn nexus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nexus")).args(args).output().expect("nexus runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_counter_remembers_its_count_across_runs() {
    let counter = example("counter");
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    let c = counter.to_str().unwrap();
    assert!(nexus(&["run", c, "--entry", "init", "--state", s]).status.success());
    for expected in ["5", "10"] {
        let out = nexus(&["run", c, "--input", "5", "--state", s, "--json"]);
        assert!(out.status.success());
        let v = json(&out);
        assert_eq!(v["output_text"], expected);
        assert_eq!(v["kv_written"][0]["key"], "count");
        assert!(v["fuel_used"].as_u64().unwrap() > 0);
    }
    // A failing call exits non-zero, says why, and leaves the count alone.
    let out = nexus(&["run", c, "--input", "two", "--state", s]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not a whole number"));
    let v = json(&nexus(&["run", c, "--entry", "query", "--state", s, "--json"]));
    assert_eq!(v["output_text"], "10");
}

#[test]
fn inspect_shows_the_manifest_and_refuses_invalid_modules() {
    let out = nexus(&["inspect", example("counter").to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v["valid"], true);
    assert!(v["entry_points"].as_array().unwrap().iter().any(|e| e == "on_call"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00").unwrap();
    let out = nexus(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID"));
}

#[test]
fn run_reports_a_missing_file_and_a_bad_entry_point_clearly() {
    let out = nexus(&["run", "/nonexistent.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent.wasm"));
    let out = nexus(&["run", example("counter").to_str().unwrap(), "--entry", "main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown entry point `main`"));
}

#[test]
fn mount_seeds_the_function_filesystem_from_a_host_directory() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("hello"), "from the host").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mount = format!("{}:/notes", host.path().display());
    let notes = example("notes");
    let out = nexus(&[
        "run",
        notes.to_str().unwrap(),
        "--mount",
        &mount,
        "--input",
        "cat hello",
        "--state",
        state.path().to_str().unwrap(),
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["output_text"], "from the host", "{v}");
    // The mounted file is now part of the function's persistent state.
    let out = nexus(&[
        "run",
        notes.to_str().unwrap(),
        "--input",
        "list",
        "--state",
        state.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(json(&out)["output_text"], "hello 13\n");
}
