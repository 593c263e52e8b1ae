//! Read-only access to committed state that needs the runtime: `query` entry points and the
//! functions' virtual filesystems.

use nexus_runtime::state::Overlay;
use nexus_runtime::{Call, InvocationResult};
use nexus_types::{Context, EntryPoint, Hash32};
use nexus_wasi::Vfs;

use super::layers::FnView;
use super::{App, AppError, hex0x, state_keys};
use crate::store::Backend;

/// Why a read-only query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// No such function at the latest committed height.
    #[error("no function {0} on this chain")]
    NoFunction(String),
    /// The path does not exist, or is not what the operation needs.
    #[error("{path}: {reason}")]
    Path {
        /// The path asked for.
        path: String,
        /// The filesystem's answer (a WASI errno name).
        reason: String,
    },
    /// The application failed.
    #[error(transparent)]
    App(#[from] AppError),
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileEntry {
    /// Name within the directory.
    pub name: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    /// Size in bytes (files).
    pub size: u64,
}

/// Fuel a read-only query may use.
pub const QUERY_FUEL: u64 = 100_000_000;

impl<B: Backend + Send + Sync + 'static> App<B> {
    /// Runs a function's `query` entry point against committed state; nothing it does is kept.
    pub fn query_call(&self, id: &Hash32, input: Vec<u8>) -> Result<InvocationResult, QueryError> {
        let info = self.function(id).ok_or_else(|| QueryError::NoFunction(hex0x(id)))?;
        let module = self.module(&info.code_hash).map_err(|f| AppError::Corrupt(f.reason))?;
        let params = self.params().ok_or(AppError::NotInitialized)?;
        let latest = self.info().height;
        let time_ns = self.block(latest)?.map_or(0, |b| b.time_ns);
        let mut call = Call::new(EntryPoint::Query, input);
        call.context = Context {
            chain_id: params.chain_name.clone(),
            height: latest,
            time_ns,
            self_id: *id,
            caller: [0; 20],
            value: 0,
            entry: Some(EntryPoint::Query),
            eth_block: None,
        };
        call.fuel = QUERY_FUEL.min(params.max_fuel_per_invocation);
        call.args = vec![hex0x(id)];
        let view = FnView::committed(self.layers.clone(), state_keys::function_state(id));
        Ok(self.runtime.invoke(&module, call, view).0)
    }

    fn with_fs<T>(
        &self,
        id: &Hash32,
        read: impl FnOnce(&Vfs<'_>) -> Result<T, nexus_wasi::Errno>,
        path: &str,
    ) -> Result<T, QueryError> {
        self.function(id).ok_or_else(|| QueryError::NoFunction(hex0x(id)))?;
        let view = FnView::committed(self.layers.clone(), state_keys::function_state(id));
        let mut overlay = Overlay::new(view, u64::MAX);
        let vfs = Vfs::new(&mut overlay, 0);
        read(&vfs).map_err(|e| QueryError::Path { path: path.into(), reason: e.symbol().into() })
    }

    /// A file of a function's filesystem at the latest committed height.
    pub fn fs_read(&self, id: &Hash32, path: &str) -> Result<Vec<u8>, QueryError> {
        self.with_fs(id, |vfs| vfs.read_file(path), path)
    }

    /// A directory of a function's filesystem, sorted by name.
    pub fn fs_list(&self, id: &Hash32, path: &str) -> Result<Vec<FileEntry>, QueryError> {
        self.with_fs(
            id,
            |vfs| {
                let mut out = Vec::new();
                for entry in vfs.read_dir(path)? {
                    let full = format!("{}/{}", path.trim_end_matches('/'), entry.name);
                    let st = vfs.lstat(&full)?;
                    let kind = match st.file_type {
                        nexus_wasi::FileType::Directory => "dir",
                        nexus_wasi::FileType::RegularFile => "file",
                        nexus_wasi::FileType::SymbolicLink => "symlink",
                    };
                    out.push(FileEntry { name: entry.name.clone(), kind: kind.into(), size: st.size });
                }
                Ok(out)
            },
            path,
        )
    }
}
