//! `nexus build [dir]`: compile a function project to `<dir>/<name>.wasm`.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Arguments of `nexus build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where the Nexus SDKs live (for C's `nexus.h`).
    #[arg(long)]
    sdk: Option<PathBuf>,
}

fn run_tool(cmd: &mut Command, what: &str, install_hint: &str) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {what}; {install_hint}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn project_name(dir: &Path) -> anyhow::Result<String> {
    let abs = dir.canonicalize().with_context(|| format!("{} not found", dir.display()))?;
    Ok(abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "function".into()))
}

/// Runs `nexus build`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    let name = project_name(dir)?;
    let out = dir.join(format!("{name}.wasm"));
    let hint = "run scripts/install-guest-toolchains.sh from the Nexus repository";
    if dir.join("Cargo.toml").exists() {
        // Honour CARGO_TARGET_DIR like cargo does, so many projects can share one build cache.
        let target_dir =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| dir.join("target"), PathBuf::from);
        run_tool(
            Command::new("cargo")
                .args(["build", "--release", "--target", "wasm32-wasip1", "--manifest-path"])
                .arg(dir.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&target_dir),
            "cargo",
            hint,
        )?;
        let artifact =
            target_dir.join("wasm32-wasip1/release").join(format!("{}.wasm", name.replace('-', "_")));
        std::fs::copy(&artifact, &out)
            .with_context(|| format!("expected {} after the build", artifact.display()))?;
    } else if dir.join("go.mod").exists() {
        run_tool(
            Command::new("go")
                .current_dir(dir)
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .args(["build", "-buildmode=c-shared", "-o"])
                .arg(format!("{name}.wasm"))
                .arg("."),
            "go build",
            hint,
        )?;
    } else {
        let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "c" || x == "cc" || x == "cpp"))
            .collect();
        sources.sort();
        if sources.is_empty() {
            bail!(
                "{} has no Cargo.toml, go.mod or C/C++ sources; create a project with `nexus new`",
                dir.display()
            );
        }
        let sdk = args.sdk.unwrap_or_else(super::new::default_sdk_dir);
        let cpp = sources.iter().any(|p| p.extension().is_some_and(|x| x != "c"));
        // Debian's clang 14 and wasi-libc know the target as wasm32-wasi; newer ones as wasm32-wasip1.
        let target =
            if Path::new("/usr/lib/wasm32-wasip1").exists() { "wasm32-wasip1" } else { "wasm32-wasi" };
        run_tool(
            Command::new(if cpp { "clang++" } else { "clang" })
                .arg(format!("--target={target}"))
                .args(["-mexec-model=reactor", "-O2", "-I"])
                .arg(sdk.join("c"))
                .args(&sources)
                .arg("-o")
                .arg(&out),
            "clang",
            hint,
        )?;
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!("built {} ({size} bytes); try: nexus inspect {0}", out.display());
    Ok(ExitCode::SUCCESS)
}
