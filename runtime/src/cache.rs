//! The node-local cache of compiled modules, keyed by (code hash, engine fingerprint).
//!
//! Never part of consensus and never shipped in snapshots: a node without the file compiles the
//! module again and charges exactly the same gas.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::{Engine, Module};

/// A directory of precompiled modules.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
    fingerprint: String,
}

impl ModuleCache {
    /// Opens (creating if needed) a cache directory for modules compiled by `engine`.
    pub fn open(dir: impl Into<PathBuf>, engine: &Engine) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        // The fingerprint only names files on this node, so the std hasher's stability is enough.
        let mut h = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        crate::instrument::INSTRUMENTATION_VERSION.hash(&mut h);
        Ok(Self { dir, fingerprint: format!("{:016x}", h.finish()) })
    }

    /// The file holding the compiled module for `code_hash`.
    pub fn path(&self, code_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}-{}.cwasm", hex::encode(code_hash), self.fingerprint))
    }

    /// Loads a cached module, if present and loadable.
    pub fn load(&self, engine: &Engine, code_hash: &[u8; 32]) -> Option<Module> {
        let path = self.path(code_hash);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file was written by `store` below from a module this engine compiled, in a
        // directory owned by the node; wasmtime checks the engine compatibility header itself.
        let module = unsafe { Module::deserialize_file(engine, &path) };
        module.ok()
    }

    /// Writes a compiled module atomically (temporary file, then rename).
    pub fn store(&self, code_hash: &[u8; 32], module: &Module) -> std::io::Result<()> {
        let bytes = module.serialize().map_err(std::io::Error::other)?;
        let path = self.path(code_hash);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, path)
    }
}
