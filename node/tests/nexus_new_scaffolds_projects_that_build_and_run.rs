//! `nexus new` scaffolds a project in each language, `nexus build` builds it, `nexus run` runs it.

use std::path::Path;
use std::process::{Command, Output};

fn nexus(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .current_dir(dir)
        // Scaffolded Rust projects share a build cache apart from the workspace's own, whose lock
        // this test's cargo holds.
        .env("CARGO_TARGET_DIR", scaffold_target())
        .args(args)
        .output()
        .expect("nexus runs");
    assert!(
        out.status.success(),
        "nexus {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scaffold_target() -> String {
    let base = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    format!("{base}/scaffolded")
}

fn scaffold_build_run(lang: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("hello-{lang}");
    nexus(tmp.path(), &["new", &name, "--lang", lang]);
    let project = tmp.path().join(&name);
    nexus(&project, &["build"]);
    let wasm = format!("{name}.wasm");
    let inspect = String::from_utf8(nexus(&project, &["inspect", &wasm]).stdout).unwrap();
    assert!(inspect.contains("valid Nexus function"), "{inspect}");
    let out = nexus(&project, &["run", &wasm, "--input", "nexus", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["output_text"].as_str().unwrap_or_default().to_string();
    assert!(text.starts_with("hello, nexus!"), "{lang}: {v}");
}

#[test]
fn a_new_rust_function_builds_and_runs() {
    scaffold_build_run("rust");
}

#[test]
fn a_new_c_function_builds_and_runs() {
    scaffold_build_run("c");
}

#[test]
fn a_new_go_function_builds_and_runs() {
    scaffold_build_run("go");
}

#[test]
fn bad_project_names_and_existing_directories_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .current_dir(tmp.path())
        .args(["new", "1bad/name"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid project name"));
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .current_dir(tmp.path())
        .args(["new", "taken"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}
