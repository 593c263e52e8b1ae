//! `nexus keys new|list|import`: encrypted Ethereum v3 keystore files, the format Foundry's
//! `cast wallet` and geth read and write, in `~/.nexus/keys/<name>.json`.

use std::process::ExitCode;

use alloy_signer_local::PrivateKeySigner;
use alloy_signer_local::coins_bip39::{English, Mnemonic};
use anyhow::{Context as _, bail};
use serde_json::json;

use crate::client::signer::{KeysDirArg, PasswordArg, from_mnemonic, parse_private_key};

/// Arguments of `nexus keys`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Keys,
    #[command(flatten)]
    keys_dir: KeysDirArg,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Keys {
    /// Create a new random key and store it encrypted.
    New {
        /// The key's name (its file is <keys-dir>/<NAME>.json).
        name: String,
        /// Derive the key from a fresh BIP-39 mnemonic and print the phrase (write it down: it is
        /// not stored).
        #[arg(long)]
        mnemonic: bool,
        /// Words in the fresh mnemonic: 12, 15, 18, 21 or 24.
        #[arg(long, default_value_t = 12, requires = "mnemonic")]
        words: usize,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// List the stored keys with their addresses.
    List,
    /// Store an existing private key or mnemonic-derived key, encrypted.
    Import {
        /// The key's name (its file is <keys-dir>/<NAME>.json).
        name: String,
        /// The private key, 0x-hex.
        #[arg(long, value_name = "HEX", required_unless_present = "mnemonic", conflicts_with = "mnemonic")]
        private_key: Option<String>,
        /// A BIP-39 mnemonic; the key at m/44'/60'/0'/0/<--mnemonic-index> is imported.
        #[arg(long, value_name = "PHRASE")]
        mnemonic: Option<String>,
        /// Account index within --mnemonic.
        #[arg(long, default_value_t = 0, requires = "mnemonic")]
        mnemonic_index: u32,
        #[command(flatten)]
        password: PasswordArg,
    },
}

/// Runs `nexus keys`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Keys::New { name, mnemonic, words, password } => {
            let (key, phrase) = if mnemonic {
                let m = Mnemonic::<English>::new_with_count(&mut os_rng(), words).with_context(|| {
                    format!("cannot make a {words}-word mnemonic (use 12, 15, 18, 21 or 24)")
                })?;
                let phrase = m.to_phrase();
                (from_mnemonic(&phrase, 0)?, Some(phrase))
            } else {
                (PrivateKeySigner::random().into_credential(), None)
            };
            let address = store(&args.keys_dir, &name, &key.to_bytes(), &password)?;
            if args.json {
                super::print_json(&json!({ "name": name, "address": address, "mnemonic": phrase }));
            } else {
                println!("created key {name}: {address}");
                if let Some(phrase) = phrase {
                    eprintln!("mnemonic (write it down; it is the only copy besides the encrypted key):");
                    println!("{phrase}");
                }
            }
        }
        Keys::Import { name, private_key, mnemonic, mnemonic_index, password } => {
            let key = match (private_key, mnemonic) {
                (Some(hex), _) => parse_private_key(&hex)?,
                (None, Some(phrase)) => from_mnemonic(&phrase, mnemonic_index)?,
                (None, None) => bail!("pass --private-key or --mnemonic"),
            };
            let address = store(&args.keys_dir, &name, &key.to_bytes(), &password)?;
            if args.json {
                super::print_json(&json!({ "name": name, "address": address }));
            } else {
                println!("imported key {name}: {address}");
            }
        }
        Keys::List => list(&args.keys_dir, args.json)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Encrypts `secret` into `<dir>/<name>.json`, refusing to overwrite; returns the address.
fn store(dir: &KeysDirArg, name: &str, secret: &[u8], password: &PasswordArg) -> anyhow::Result<String> {
    let path = dir.keystore_path(name)?;
    if path.exists() {
        bail!("a key named {name:?} already exists at {}; pick another name", path.display());
    }
    let dir = dir.dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let password = password.get(&format!("password for new key {name}: "), true)?;
    let (signer, _) = PrivateKeySigner::encrypt_keystore(
        &dir,
        &mut os_rng(),
        secret,
        password,
        Some(&format!("{name}.json")),
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    // Record the address in the clear, as geth does, so `nexus keys list` needs no password;
    // readers without the field (Foundry's) ignore it, and files without it still load here.
    let write = || -> anyhow::Result<()> {
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        v["address"] = hex::encode(signer.address()).into();
        std::fs::write(&path, serde_json::to_vec(&v)?)?;
        Ok(())
    };
    write().with_context(|| format!("cannot record the address in {}", path.display()))?;
    Ok(signer.address().to_checksum(None))
}

/// Prints every `*.json` keystore in the directory with the address it records.
fn list(dir: &KeysDirArg, json_out: bool) -> anyhow::Result<()> {
    let dir = dir.dir()?;
    let mut keys = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e.collect::<Result<Vec<_>, _>>()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for entry in entries {
        let path = entry.path();
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|_| path.extension().is_some_and(|e| e == "json"))
        else {
            continue;
        };
        // geth-compatible keystores record the address in the clear; others need the password.
        let address = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["address"].as_str().map(|a| format!("0x{}", a.trim_start_matches("0x"))));
        keys.push((name.to_string(), address, path.clone()));
    }
    keys.sort();
    if json_out {
        let list: Vec<_> = keys
            .iter()
            .map(|(name, address, path)| json!({ "name": name, "address": address, "path": path }))
            .collect();
        super::print_json(&json!(list));
    } else if keys.is_empty() {
        println!("no keys in {}; create one with `nexus keys new NAME`", dir.display());
    } else {
        for (name, address, _) in keys {
            println!("{name:<20} {}", address.as_deref().unwrap_or("(address unknown until decrypted)"));
        }
    }
    Ok(())
}

/// OS entropy for new keys and keystore salts: the CLI is not the state machine, whose
/// determinism rule bans this.
#[expect(clippy::disallowed_methods, reason = "key generation needs OS entropy")]
fn os_rng() -> rand::rngs::ThreadRng {
    rand::thread_rng()
}
