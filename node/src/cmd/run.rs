//! `nexus run f.wasm`: one invocation against a local state directory, with everything it did.

use anyhow::{Context as _, bail};
use nexus_runtime::state::{NS_FS, NS_KV, Overlay};
use nexus_runtime::{Call, InvocationError, InvocationResult, MemState, Runtime, StateDiff, apply_diff};
use nexus_types::codec::{Decode, Encode, Reader};
use nexus_types::{Context, EntryPoint};
use nexus_wasi::Vfs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `nexus run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The module to run.
    wasm: PathBuf,
    /// Entry point to call (init, migrate, on_call, on_eth_block, on_eth_log, on_reply, on_task,
    /// query); defaults to `_start` for WASI commands and `on_call` otherwise.
    #[arg(long)]
    entry: Option<String>,
    /// Input: hex (`0x…`), `@file`, or text.
    #[arg(long, default_value = "")]
    input: String,
    /// Directory holding the function's persistent state (key-value and files) between runs.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Seed the virtual filesystem from a host directory, as HOST:GUEST.
    #[arg(long, value_name = "HOST:GUEST")]
    mount: Vec<String>,
    /// Environment variable for the function, as K=V.
    #[arg(long, value_name = "K=V")]
    env: Vec<String>,
    /// Fuel limit.
    #[arg(long, default_value_t = 1_000_000_000)]
    fuel: u64,
    /// Block height the function sees.
    #[arg(long, default_value_t = 1)]
    height: u64,
    /// Block time the function sees, in seconds since the Unix epoch.
    #[arg(long, default_value_t = 1_700_000_000)]
    time: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Arguments passed to the function (`argv[1..]`).
    #[arg(last = true)]
    args: Vec<String>,
}

const STATE_FILE: &str = "state.bin";

fn load_state(dir: &Path) -> anyhow::Result<MemState> {
    let path = dir.join(STATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MemState::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut r = Reader::new(&bytes);
    let mut state = MemState::new();
    while !r.is_empty() {
        let k = Vec::<u8>::decode_from(&mut r).with_context(|| format!("{} is corrupt", path.display()))?;
        let v = Vec::<u8>::decode_from(&mut r).with_context(|| format!("{} is corrupt", path.display()))?;
        state.insert(k, v);
    }
    Ok(state)
}

fn save_state(dir: &Path, state: &MemState) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = Vec::new();
    for (k, v) in state {
        k.encode_to(&mut out);
        v.encode_to(&mut out);
    }
    // Write then rename, so an interrupted run never leaves half a state behind.
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, dir.join(STATE_FILE))?;
    Ok(())
}

fn mount(state: &mut MemState, spec: &str, time_ns: u64) -> anyhow::Result<()> {
    let Some((host, guest)) = spec.split_once(':') else {
        bail!("--mount takes HOST:GUEST, e.g. --mount ./data:/data");
    };
    let mut overlay = Overlay::new(std::mem::take(state), u64::MAX);
    let result = copy_in(&mut Vfs::new(&mut overlay, time_ns), Path::new(host), guest);
    let (diff, base) = overlay.into_parts(result.is_ok());
    *state = base;
    apply_diff(state, &diff);
    result
}

fn copy_in(vfs: &mut Vfs<'_>, host: &Path, guest: &str) -> anyhow::Result<()> {
    vfs.create_dir_all(guest)
        .map_err(|e| anyhow::anyhow!("cannot create {guest} in the function's filesystem: {e}"))?;
    let mut entries: Vec<_> = std::fs::read_dir(host)
        .with_context(|| format!("cannot read {}", host.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let g = format!("{}/{name}", guest.trim_end_matches('/'));
        if e.file_type()?.is_dir() {
            copy_in(vfs, &e.path(), &g)?;
        } else {
            let bytes = std::fs::read(e.path())?;
            vfs.write_file(&g, &bytes).map_err(|err| anyhow::anyhow!("cannot write {g}: {err}"))?;
        }
    }
    Ok(())
}

/// Lists the paths of every file and directory in the function's filesystem.
fn walk(state: &MemState, time_ns: u64) -> Vec<(String, u64, u64)> {
    let mut overlay = Overlay::new(state.clone(), u64::MAX);
    let vfs = Vfs::new(&mut overlay, time_ns);
    let mut out = Vec::new();
    let mut stack = vec!["/".to_string()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = vfs.read_dir(&dir) else { continue };
        for e in entries {
            let path = format!("{}/{}", dir.trim_end_matches('/'), e.name);
            if let Ok(st) = vfs.stat(&path) {
                out.push((path.clone(), st.size, st.mtim));
            }
            if e.file_type == nexus_wasi::FileType::Directory {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

fn changed_files(before: &[(String, u64, u64)], after: &[(String, u64, u64)]) -> Vec<String> {
    let mut out: Vec<String> = after.iter().filter(|a| !before.contains(a)).map(|a| a.0.clone()).collect();
    out.extend(
        before.iter().filter(|b| !after.iter().any(|a| a.0 == b.0)).map(|b| format!("{} (removed)", b.0)),
    );
    out
}

fn kv_writes(diff: &StateDiff) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    diff.iter()
        .filter(|(k, _)| k.first() == Some(&NS_KV))
        .map(|(k, v)| (k[1..].to_vec(), v.clone()))
        .collect()
}

/// Runs `nexus run`; the process exit code follows the function's.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(&args.wasm).with_context(|| format!("cannot read {}", args.wasm.display()))?;
    let runtime: Runtime<MemState> = Runtime::new(None)?;
    let function =
        runtime.load(&wasm).map_err(|e| anyhow::anyhow!("{} cannot run: {e}", args.wasm.display()))?;
    let entry = match &args.entry {
        Some(name) => EntryPoint::from_export_name(name)
            .with_context(|| format!("unknown entry point `{name}`; use one of init, migrate, on_call, on_eth_block, on_eth_log, on_reply, on_task, query, _start"))?,
        None if function.info.is_command() => EntryPoint::Start,
        None => EntryPoint::OnCall,
    };
    let time_ns = args.time.saturating_mul(1_000_000_000);
    let mut state = match &args.state {
        Some(dir) => load_state(dir)?,
        None => MemState::new(),
    };
    for spec in &args.mount {
        mount(&mut state, spec, time_ns)?;
    }
    let files_before = walk(&state, time_ns);
    let mut call = Call::new(entry, super::parse_input(&args.input)?);
    call.fuel = args.fuel;
    call.context =
        Context { chain_id: "nexus-local".into(), height: args.height, time_ns, ..Context::default() };
    call.args = std::iter::once(args.wasm.display().to_string()).chain(args.args.iter().cloned()).collect();
    call.env = args
        .env
        .iter()
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect::<Option<_>>()
        .context("--env takes K=V")?;
    let (result, mut state) = runtime.invoke(&function, call, state);
    apply_diff(&mut state, &result.diff);
    let files = changed_files(&files_before, &walk(&state, time_ns));
    if let Some(dir) = &args.state {
        save_state(dir, &state)?;
    }
    report(&args, &result, &files);
    Ok(match &result.outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(InvocationError::Exit(code)) => ExitCode::from((*code).clamp(1, 255) as u8),
        Err(_) => ExitCode::FAILURE,
    })
}

fn report(args: &Args, r: &InvocationResult, files: &[String]) {
    let kv = kv_writes(&r.diff);
    let fs_keys = r.diff.keys().filter(|k| k.first() == Some(&NS_FS)).count();
    if args.json {
        let v = serde_json::json!({
            "ok": r.outcome.is_ok(),
            "error": r.outcome.as_ref().err().map(|e| e.to_string()),
            "error_code": r.outcome.as_ref().err().map(InvocationError::code),
            "exit_code": match &r.outcome { Ok(()) => 0, Err(InvocationError::Exit(c)) => *c as i64, Err(_) => -1 },
            "output": hex::encode(&r.output),
            "output_text": String::from_utf8(r.output.clone()).ok(),
            "fuel_used": r.fuel_used,
            "events": r.events.iter().map(|e| serde_json::json!({"topic": super::show_bytes(&e.topic), "data": hex::encode(&e.data)})).collect::<Vec<_>>(),
            "logs": r.logs.iter().map(|l| serde_json::json!({"level": l.level, "message": l.message})).collect::<Vec<_>>(),
            "stdout": String::from_utf8_lossy(&r.stdout),
            "stderr": String::from_utf8_lossy(&r.stderr),
            "requests": r.requests.iter().map(|q| format!("{q:?}")).collect::<Vec<_>>(),
            "task": format!("{:?}", r.task),
            "kv_written": kv.iter().map(|(k, v)| serde_json::json!({"key": super::show_bytes(k), "value": v.as_ref().map(hex::encode)})).collect::<Vec<_>>(),
            "files_written": files,
            "fs_keys_written": fs_keys,
        });
        super::print_json(&v);
        return;
    }
    match &r.outcome {
        Ok(()) => println!("ok"),
        Err(e) => println!("failed: {e} (code {})", e.code()),
    }
    if !r.output.is_empty() {
        println!("output: {}", super::show_bytes(&r.output));
    }
    println!("fuel used: {}", r.fuel_used);
    for e in &r.events {
        println!("event {}: {}", super::show_bytes(&e.topic), super::show_bytes(&e.data));
    }
    for l in &r.logs {
        let level = ["debug", "info", "warn", "error"].get(l.level as usize).unwrap_or(&"?");
        println!("log [{level}] {}", l.message);
    }
    if r.logs_dropped > 0 {
        println!("({} log lines dropped)", r.logs_dropped);
    }
    if !r.stdout.is_empty() && r.output != r.stdout {
        println!("stdout: {}", String::from_utf8_lossy(&r.stdout).trim_end());
    }
    if !r.stderr.is_empty() {
        println!("stderr: {}", String::from_utf8_lossy(&r.stderr).trim_end());
    }
    for q in &r.requests {
        println!("request: {q:?}");
    }
    if r.task != nexus_runtime::TaskControl::None {
        println!("task: {:?}", r.task);
    }
    for (k, v) in &kv {
        match v {
            Some(v) => println!("kv set {} = {}", super::show_bytes(k), super::show_bytes(v)),
            None => println!("kv delete {}", super::show_bytes(k)),
        }
    }
    for f in files {
        println!("file written: {f}");
    }
}
