//! `nexus new <name>`: scaffold a function project in Rust, C or Go.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `nexus new`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project name (also its directory).
    name: String,
    /// Language of the function.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
    /// Where the Nexus SDKs live (defaults to the ones this `nexus` was built with).
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// Languages `nexus new` can scaffold.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    /// Rust with the `nexus-sdk` crate.
    Rust,
    /// C with `nexus.h`.
    C,
    /// Go with the `nexus` package.
    Go,
}

/// The SDK folder of the source tree this binary was built from.
pub fn default_sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions-sdk")
}

fn render(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_string(), |t, (k, v)| t.replace(&format!("{{{{{k}}}}}"), v))
}

/// Runs `nexus new`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let valid = !args.name.is_empty()
        && args.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && args.name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !valid {
        bail!(
            "`{}` is not a valid project name: use letters, digits, `-` and `_`, starting with a letter",
            args.name
        );
    }
    let dir = PathBuf::from(&args.name);
    if dir.exists() {
        bail!("{} already exists; pick another name or remove it", dir.display());
    }
    let sdk = args.sdk.unwrap_or_else(default_sdk_dir);
    let sdk =
        sdk.canonicalize().with_context(|| format!("SDK folder {} not found; pass --sdk", sdk.display()))?;
    let path = |p: &str| sdk.join(p).display().to_string();
    let files: Vec<(&str, String)> = match args.lang {
        Lang::Rust => vec![
            (
                "Cargo.toml",
                render(
                    include_str!("../../templates/rust/Cargo.toml.tmpl"),
                    &[("name", &args.name), ("sdk_path", &path("rust"))],
                ),
            ),
            ("src/lib.rs", render(include_str!("../../templates/rust/lib.rs.tmpl"), &[("name", &args.name)])),
        ],
        Lang::C => vec![
            (
                "function.c",
                render(include_str!("../../templates/c/function.c.tmpl"), &[("name", &args.name)]),
            ),
            (
                "nexus.h",
                std::fs::read_to_string(sdk.join("c/nexus.h")).context("reading nexus.h from the SDK")?,
            ),
        ],
        Lang::Go => vec![
            (
                "go.mod",
                render(
                    include_str!("../../templates/go/go.mod.tmpl"),
                    &[("name", &args.name), ("go_sdk_path", &path("go"))],
                ),
            ),
            ("main.go", render(include_str!("../../templates/go/main.go.tmpl"), &[("name", &args.name)])),
        ],
    };
    for (rel, contents) in files {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, contents).with_context(|| format!("cannot write {}", p.display()))?;
    }
    println!("created {} ({:?}); next: cd {} && nexus build", dir.display(), args.lang, dir.display());
    Ok(ExitCode::SUCCESS)
}
