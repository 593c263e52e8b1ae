//! `nexus inspect f.wasm`: what the chain will see when the module is deployed.

use anyhow::Context as _;
use nexus_runtime::{MemState, Runtime};
use nexus_types::Trigger;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::ExitCode;
use wasmparser::{Parser, Payload, TypeRef};

/// Arguments of `nexus inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The module to inspect.
    wasm: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

struct Listing {
    imports: Vec<String>,
    exports: Vec<String>,
}

fn list(wasm: &[u8]) -> Listing {
    let mut l = Listing { imports: Vec::new(), exports: Vec::new() };
    for payload in Parser::new(0).parse_all(wasm).map_while(Result::ok) {
        match payload {
            Payload::ImportSection(r) => {
                for imp in r.into_imports().map_while(Result::ok) {
                    let kind = match imp.ty {
                        TypeRef::Func(_) => "func",
                        TypeRef::Memory(_) => "memory",
                        TypeRef::Table(_) => "table",
                        TypeRef::Global(_) => "global",
                        _ => "other",
                    };
                    l.imports.push(format!("{}.{} ({kind})", imp.module, imp.name));
                }
            }
            Payload::ExportSection(r) => {
                l.exports.extend(
                    r.into_iter().map_while(Result::ok).map(|e| format!("{} ({:?})", e.name, e.kind)),
                );
            }
            _ => {}
        }
    }
    l
}

/// Runs `nexus inspect`; exits 1 when the module would be refused.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(&args.wasm).with_context(|| format!("cannot read {}", args.wasm.display()))?;
    let code_hash = hex::encode(Sha256::digest(&wasm));
    let listing = list(&wasm);
    let runtime: Runtime<MemState> = Runtime::new(None)?;
    let loaded = runtime.load(&wasm);
    let valid = loaded.is_ok();
    if args.json {
        let mut v = serde_json::json!({
            "file": args.wasm.display().to_string(),
            "size": wasm.len(),
            "code_hash": code_hash,
            "imports": listing.imports,
            "exports": listing.exports,
            "valid": valid,
        });
        match &loaded {
            Ok(f) => {
                let m = &f.info.manifest;
                v["kind"] = if f.info.is_command() { "wasi-command" } else { "nexus-function" }.into();
                v["entry_points"] =
                    f.info.entry_points.iter().map(|e| e.export_name()).collect::<Vec<_>>().into();
                v["manifest"] = serde_json::json!({
                    "abi_version": m.abi_version,
                    "triggers": m.triggers.iter().map(describe_trigger).collect::<Vec<_>>(),
                    "limits": { "fuel": m.limits.fuel, "memory_bytes": m.limits.memory_bytes, "storage_bytes": m.limits.storage_bytes },
                });
            }
            Err(e) => v["error"] = e.to_string().into(),
        }
        super::print_json(&v);
    } else {
        println!("{}  {} bytes  code hash {code_hash}", args.wasm.display(), wasm.len());
        match &loaded {
            Ok(f) => {
                let m = &f.info.manifest;
                println!(
                    "valid {} (ABI v{})",
                    if f.info.is_command() { "WASI command" } else { "Nexus function" },
                    m.abi_version
                );
                let entries: Vec<_> = f.info.entry_points.iter().map(|e| e.export_name()).collect();
                println!("entry points: {}", entries.join(", "));
                if m.triggers.is_empty() {
                    println!("triggers: none (only transactions and other functions call it)");
                }
                for t in &m.triggers {
                    println!("trigger: {}", describe_trigger(t));
                }
                let show = |o: Option<u64>| o.map_or("chain default".to_string(), |v| v.to_string());
                println!(
                    "limits: fuel {}, memory {} bytes, storage {} bytes",
                    show(m.limits.fuel),
                    show(m.limits.memory_bytes),
                    show(m.limits.storage_bytes)
                );
            }
            Err(e) => println!("INVALID: {e}"),
        }
        println!("imports ({}):", listing.imports.len());
        for i in &listing.imports {
            println!("  {i}");
        }
        println!("exports ({}):", listing.exports.len());
        for e in &listing.exports {
            println!("  {e}");
        }
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn describe_trigger(t: &Trigger) -> String {
    match t {
        Trigger::EthBlocks => "every finalized Ethereum block (on_eth_block)".into(),
        Trigger::EthLogs(f) => {
            let addr = f.address.map_or("any contract".into(), |a| format!("0x{}", hex::encode(a)));
            let topics: Vec<String> =
                f.topics.iter().map(|t| t.map_or("*".into(), |t| format!("0x{}", hex::encode(t)))).collect();
            format!("Ethereum logs from {addr} with topics [{}] (on_eth_log)", topics.join(", "))
        }
        Trigger::Every { blocks } => format!("every {blocks} Nexus blocks (on_task)"),
    }
}
