//! Where a command's signing key comes from: `--private-key`, a keystore file, a mnemonic,
//! `NEXUS_PRIVATE_KEY`, or — on a dev chain only — dev account 0, as Foundry's tools do.

use std::path::{Path, PathBuf};

use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner};
use anyhow::{Context as _, bail};
use k256::ecdsa::SigningKey;

/// Where keystores live unless `--keys-dir` or `NEXUS_KEYS_DIR` says otherwise.
fn default_keys_dir() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set; pass --keys-dir or set NEXUS_KEYS_DIR")?;
    Ok(Path::new(&home).join(".nexus").join("keys"))
}

/// `--keys-dir`, shared by `nexus keys` and every signing command.
#[derive(Debug, Clone, clap::Args)]
pub struct KeysDirArg {
    /// Directory of keystore files [default: ~/.nexus/keys].
    #[arg(long, env = "NEXUS_KEYS_DIR", value_name = "DIR", global = true)]
    pub keys_dir: Option<PathBuf>,
}

impl KeysDirArg {
    /// The directory, resolved.
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        match &self.keys_dir {
            Some(d) => Ok(d.clone()),
            None => default_keys_dir(),
        }
    }

    /// The path of keystore `name`, refusing names that would leave the directory.
    pub fn keystore_path(&self, name: &str) -> anyhow::Result<PathBuf> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
            bail!("invalid key name {name:?}: use letters, digits, '-' or '_'");
        }
        Ok(self.dir()?.join(format!("{name}.json")))
    }
}

/// `--password`, or `NEXUS_PASSWORD`, or a prompt.
#[derive(Debug, Clone, clap::Args)]
pub struct PasswordArg {
    /// Keystore password (else NEXUS_PASSWORD, else a prompt).
    #[arg(long, env = "NEXUS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

impl PasswordArg {
    /// The password, prompting on the terminal when none was given; `confirm` asks twice.
    pub fn get(&self, prompt: &str, confirm: bool) -> anyhow::Result<String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        let first = rpassword::prompt_password(prompt)
            .context("cannot prompt for a password (no terminal?); pass --password or set NEXUS_PASSWORD")?;
        if confirm && rpassword::prompt_password("repeat the password: ")? != first {
            bail!("the passwords differ");
        }
        Ok(first)
    }
}

/// The signing options of every command that sends a transaction.
#[derive(Debug, Clone, clap::Args)]
pub struct SignerArgs {
    /// Sign with this private key, 0x-hex (else NEXUS_PRIVATE_KEY).
    #[arg(long, value_name = "HEX", conflicts_with_all = ["keystore", "mnemonic"])]
    private_key: Option<String>,
    /// Sign with keystore NAME from the keys directory (see `nexus keys list`).
    #[arg(long, value_name = "NAME", conflicts_with = "mnemonic")]
    keystore: Option<String>,
    /// Sign with the key of this BIP-39 mnemonic at m/44'/60'/0'/0/<--mnemonic-index>.
    #[arg(long, value_name = "PHRASE")]
    mnemonic: Option<String>,
    /// Account index within --mnemonic.
    #[arg(long, default_value_t = 0, requires = "mnemonic")]
    mnemonic_index: u32,
    #[command(flatten)]
    keys_dir: KeysDirArg,
    #[command(flatten)]
    password: PasswordArg,
}

/// A key and how it was chosen, for telling the user.
pub struct Signer {
    /// The key.
    pub key: SigningKey,
    /// Its Ethereum address.
    pub address: [u8; 20],
    /// Set when the dev account was picked because nothing was given.
    pub dev_default: bool,
}

impl SignerArgs {
    /// Picks the key. `dev_chain` allows falling back to dev account 0 when no key was given.
    pub fn resolve(&self, dev_chain: bool) -> anyhow::Result<Signer> {
        let (key, dev_default) = if let Some(hex) = &self.private_key {
            (parse_private_key(hex)?, false)
        } else if let Some(name) = &self.keystore {
            (decrypt_keystore(&self.keys_dir, name, &self.password)?, false)
        } else if let Some(phrase) = &self.mnemonic {
            (from_mnemonic(phrase, self.mnemonic_index)?, false)
        } else if let Some(hex) = std::env::var("NEXUS_PRIVATE_KEY").ok().filter(|s| !s.is_empty()) {
            (parse_private_key(&hex).context("NEXUS_PRIVATE_KEY")?, false)
        } else if dev_chain {
            (dev_key(0)?, true)
        } else {
            bail!(
                "no signing key: pass --private-key, --keystore NAME or --mnemonic, or set NEXUS_PRIVATE_KEY \
                 (only a dev chain falls back to its dev account)"
            );
        };
        let address = nexus_consensus::app::tx::address_of(&key);
        Ok(Signer { key, address, dev_default })
    }
}

/// A private key from hex, with or without `0x`.
pub fn parse_private_key(hex: &str) -> anyhow::Result<SigningKey> {
    let bytes = hex::decode(hex.trim().trim_start_matches("0x"))
        .map_err(|_| anyhow::anyhow!("the private key must be 32 bytes of hex (0x…)"))?;
    let signer = PrivateKeySigner::from_slice(&bytes).map_err(|_| {
        anyhow::anyhow!("the private key must be 32 bytes of hex (0x…) and a valid secp256k1 scalar")
    })?;
    Ok(signer.into_credential())
}

/// The key at m/44'/60'/0'/0/`index` of a BIP-39 mnemonic.
pub fn from_mnemonic(phrase: &str, index: u32) -> anyhow::Result<SigningKey> {
    let signer = MnemonicBuilder::english()
        .phrase(phrase.trim())
        .index(index)?
        .build()
        .context("invalid mnemonic (expected 12 or 24 English BIP-39 words)")?;
    Ok(signer.into_credential())
}

/// Dev account `index` of the mnemonic `nexus dev` funds its accounts from (anvil's); indexes
/// past the funded ones give valid but empty accounts.
pub fn dev_key(index: u32) -> anyhow::Result<SigningKey> {
    from_mnemonic(nexus_api::DEV_MNEMONIC, index)
}

/// Decrypts keystore `name`.
pub fn decrypt_keystore(dir: &KeysDirArg, name: &str, password: &PasswordArg) -> anyhow::Result<SigningKey> {
    let path = dir.keystore_path(name)?;
    if !path.exists() {
        bail!(
            "no keystore {name:?} at {}; create one with `nexus keys new {name}` or list them with `nexus keys list`",
            path.display()
        );
    }
    let password = password.get(&format!("password for keystore {name}: "), false)?;
    let signer = PrivateKeySigner::decrypt_keystore(&path, password)
        .map_err(|e| anyhow::anyhow!("cannot decrypt keystore {name:?} ({e}); is the password right?"))?;
    Ok(signer.into_credential())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_accounts_are_anvils() {
        // anvil's well-known first two accounts.
        let a0 = nexus_consensus::app::tx::address_of(&dev_key(0).unwrap());
        let a1 = nexus_consensus::app::tx::address_of(&dev_key(1).unwrap());
        assert_eq!(hex::encode(a0), "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        assert_eq!(hex::encode(a1), "70997970c51812dc3a010c7d01b50e0d17dc79c8");
    }

    #[test]
    fn bad_keys_and_phrases_say_what_is_wrong() {
        let e = parse_private_key("0x12zz").err().unwrap().to_string();
        assert!(e.contains("32 bytes of hex"), "{e}");
        let e = parse_private_key(&"00".repeat(32)).err().unwrap().to_string();
        assert!(e.contains("valid secp256k1 scalar"), "{e}");
        let e = from_mnemonic("not a mnemonic", 0).err().unwrap().to_string();
        assert!(e.contains("invalid mnemonic"), "{e}");
        let e = KeysDirArg { keys_dir: Some("/k".into()) }.keystore_path("../x").err().unwrap().to_string();
        assert!(e.contains("invalid key name"), "{e}");
    }
}
