//! Files: use `std::fs` unchanged; this module only says where the function's tree starts.
//!
//! On chain a function sees a private virtual filesystem preopened as `/` through WASI, and it is
//! part of the function's consensus state: writes of a failed invocation are rolled back, directory
//! listings come back sorted, timestamps are the block time, and a write over the storage quota
//! fails with `ENOSPC` (`std::io::ErrorKind::StorageFull`). Natively, [`root`] is a fresh temporary
//! directory per [`crate::testing::MockHost`], so the same code runs in `cargo test` without
//! touching the real `/`.
//!
//! ```
//! # let _host = nexus_sdk::testing::MockHost::new();
//! let dir = nexus_sdk::fs::root().join("notes");
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("a.txt"), "hello")?;
//! assert_eq!(std::fs::read_to_string(dir.join("a.txt"))?, "hello");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::path::PathBuf;

/// The root of the function's filesystem: `/` on chain, a per-test temporary directory natively.
///
/// ```
/// # let _host = nexus_sdk::testing::MockHost::new();
/// let root = nexus_sdk::fs::root();
/// assert!(root.is_dir());
/// ```
pub fn root() -> PathBuf {
    #[cfg(target_arch = "wasm32")]
    {
        PathBuf::from("/")
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::host::fs_root()
    }
}
