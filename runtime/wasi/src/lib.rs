//! WASI preview 1 over a virtual, key-value-backed filesystem that is part of consensus state.
//!
//! [`add_to_linker`] defines all 46 `wasi_snapshot_preview1` functions on a
//! [`wasmtime::Linker`]. They work on a [`WasiCtx`] (descriptors, arguments, environment,
//! standard streams, clock, random stream) and a [`Storage`] holding the function's tree, both
//! handed out by the store data through [`WasiView`]. [`Vfs`] gives native code (CLI, RPC,
//! tests) the same tree. Nothing reads the host's clock, entropy or filesystem: the same calls
//! on the same state give the same results and the same storage bytes on every validator.
//!
//! # Storage layout
//!
//! All integers in keys are big-endian so that key order is numeric order.
//!
//! | key | value |
//! |---|---|
//! | `n` | next inode number to allocate, u64 BE (absent = 2; numbers are never reused) |
//! | `i` ‖ ino u64 | inode: kind u8 (WASI filetype: 3 dir, 4 file, 7 symlink) ‖ nlink ‖ size ‖ atim ‖ mtim ‖ ctim ‖ parent (all u64 BE) ‖ symlink target bytes |
//! | `d` ‖ ino u64 ‖ chunk u64 | bytes `chunk * 4096 ..` of a file, at most 4096; a missing chunk or bytes past a short chunk read as zeros (sparse files); chunks never hold bytes past the file size |
//! | `e` ‖ dir ino u64 ‖ name | directory entry: child ino u64 ‖ child kind u8 |
//!
//! The root directory is inode 1. It exists implicitly as an empty directory with timestamps 0
//! and is written on its first change. Directories record their parent (they cannot be
//! hard-linked), their size is their number of entries and their nlink is 2 + subdirectories.
//! Every change is stamped with the virtual time ([`WasiCtx::now_ns`]: block time plus the time
//! slept in `poll_oneoff`); reading never writes (access times change only through
//! `*_set_times`). Each operation is atomic: when a write fails (quota) its earlier writes are
//! undone, so `ENOSPC` leaves storage byte-for-byte unchanged.
//!
//! # Behaviour decisions
//!
//! - **Descriptors**: 0-2 are stdin/stdout/stderr (filetype character device, not seekable),
//!   3 is the tree's root preopened as `/`, further [`WasiConfig::preopens`] follow from 4 (their
//!   VFS directory is created on first use). New descriptors take the lowest free number; at
//!   most [`MAX_FDS`] are open.
//! - **Rights**: `path_open` grants `requested ∩ parent's inheriting ∩ what the file type
//!   supports`. Only `FD_READ`/`FD_WRITE` are enforced (they carry the open mode) and rights can
//!   only shrink (`fd_fdstat_set_rights`).
//! - **Paths** are UTF-8, at most 4096 bytes, names at most 255. Paths are relative to a
//!   directory descriptor; `..` cannot climb above the preopen it came from. Symbolic links are
//!   followed in the middle of a path always and at its end with `LOOKUPFLAGS_SYMLINK_FOLLOW` (or
//!   a trailing `/`), at most 40 per lookup. Absolute link targets resolve from the preopen's
//!   root, like a chroot (with `/` preopened this is ordinary POSIX).
//! - **Clocks**: all four clock ids read the virtual time, resolution 1 ns. `poll_oneoff` with
//!   only clock subscriptions advances the virtual time to the earliest deadline and returns at
//!   once; fd subscriptions are always ready (no time passes then).
//! - **Randomness**: `random_get` returns SHA-256(seed ‖ counter u64 LE) blocks in sequence.
//! - **Output**: stdout and stderr keep the first [`WasiConfig::max_output_bytes`] bytes each and
//!   count the rest; writes always report full success.
//! - **Unlink while open**: a file's data is freed with its last link (state must not outlive
//!   the invocation); descriptors still open on it then get `EBADF`.
//! - **Guest pointers**: any pointer or length reaching outside linear memory makes the call
//!   return `EFAULT` without side effects (output pointers are checked before acting); a
//!   module without an exported `memory` traps with [`HostError::NoMemory`]. Unaligned pointers
//!   are accepted.
//! - **Gas**: see [`gas`]; running out traps with `wasmtime::Trap::OutOfFuel`.
//! - `proc_exit(code)` traps with [`ProcExit`]`(code)`.
//!
//! # Errno table
//!
//! Cases POSIX leaves open, or where implementations differ, are decided as follows:
//!
//! | situation | errno |
//! |---|---|
//! | unknown, closed or negative descriptor | `EBADF` |
//! | `fd_prestat_get`/`fd_prestat_dir_name` on a descriptor that is not a preopen | `EBADF` |
//! | `fd_prestat_dir_name` buffer shorter than the name | `ENAMETOOLONG` |
//! | read without `FD_READ`, write/truncate/allocate without `FD_WRITE` | `EBADF` |
//! | read, write, seek, tell, pread, pwrite, set_size, allocate on a directory | `EISDIR` |
//! | seek, tell, pread, pwrite, set_size, allocate, advise on stdin/stdout/stderr | `ESPIPE` |
//! | a descriptor whose file was unlinked meanwhile (any access to its inode) | `EBADF` |
//! | path-taking call with a descriptor that is not a directory | `ENOTDIR` |
//! | path argument not UTF-8 | `EILSEQ` |
//! | path containing a NUL byte | `EINVAL` |
//! | empty path | `ENOENT` |
//! | absolute path (leading `/`) given to a `path_*` call | `ENOTCAPABLE` |
//! | `..` above the preopened directory | `ENOTCAPABLE` |
//! | more than 40 symbolic links in one lookup | `ELOOP` |
//! | `path_open` of a symbolic link without `SYMLINK_FOLLOW` | `ELOOP` |
//! | `path_open` with `OFLAGS_CREAT` and `OFLAGS_DIRECTORY` together | `EINVAL` |
//! | `path_open` of a directory with `FD_WRITE` rights or `OFLAGS_TRUNC` | `EISDIR` |
//! | `path_open` with `OFLAGS_CREAT` of a missing name with a trailing `/` | `EISDIR` |
//! | `path_open` with `OFLAGS_TRUNC` but without `FD_WRITE` | truncates (POSIX leaves it open) |
//! | unknown bits in `oflags`, `fdflags`, `fstflags`; both `X` and `X_NOW` in `fstflags` | `EINVAL` |
//! | more than [`MAX_FDS`] descriptors | `EMFILE` |
//! | `path_create_directory` of `.`/`..` or an existing name | `EEXIST` |
//! | `path_remove_directory` of `.` / of `..` | `EINVAL` / `ENOTEMPTY` |
//! | `path_unlink_file` of a directory, `.` or `..` | `EISDIR` |
//! | `path_rename` of or onto `.`/`..` | `EBUSY` |
//! | `path_rename` of a directory into itself or a descendant | `EINVAL` |
//! | `path_rename` dir onto non-dir / non-dir onto dir / onto non-empty dir | `ENOTDIR` / `EISDIR` / `ENOTEMPTY` |
//! | `path_rename` between two links of the same inode | success, no change (POSIX) |
//! | `path_link` of a directory | `EPERM` |
//! | `path_link`/`path_symlink` onto an existing name | `EEXIST` |
//! | `path_link`/`path_symlink` new path with a trailing `/` | `ENOENT` |
//! | `path_symlink` with an empty target | `ENOENT` |
//! | `path_readlink` of something that is not a symbolic link | `EINVAL` |
//! | `path_readlink` buffer too small | success, target truncated |
//! | `fd_seek` to a negative offset, beyond 2^63-1, or unknown whence | `EINVAL` |
//! | `fd_pread`/`fd_pwrite` with a negative offset | `EINVAL` |
//! | `fd_pwrite` on an append-mode descriptor | writes at the given offset (POSIX, not Linux) |
//! | a write or size beyond 2^63-1 bytes | `EFBIG` |
//! | `fd_allocate` with negative offset or length ≤ 0 | `EINVAL` |
//! | `fd_advise` with an unknown advice | `EINVAL` |
//! | `fd_renumber` when either descriptor is not open | `EBADF` |
//! | `fd_fdstat_set_rights` adding rights | `ENOTCAPABLE` |
//! | `fd_filestat_set_times` on stdin/stdout/stderr | success, no change |
//! | storage quota exceeded by any write | `ENOSPC` (nothing written) |
//! | unknown clock id (`clock_*`, clock subscription) | `EINVAL` (in the event for `poll_oneoff`) |
//! | `poll_oneoff` with 0 subscriptions or an unknown subscription type | `EINVAL` |
//! | `poll_oneoff` fd subscription on a bad descriptor or one without the matching right | `EBADF` in the event |
//! | all `sock_*` calls, `proc_raise` | `ENOSYS` |
//! | stored state that does not decode (never written by this crate) | `EIO` |

mod ctx;
mod errno;
pub mod gas;
mod host;
mod storage;
mod vfs;
#[cfg(test)]
mod vfs_tests;

pub use ctx::{Captured, MAX_FDS, WasiConfig, WasiCtx};
pub use errno::Errno;
pub use host::{HostError, ProcExit, WasiView, add_to_linker};
pub use storage::{MemStorage, QuotaExceeded, Storage};
pub use vfs::{
    CHUNK_SIZE, DirEntry, FileStat, FileType, Ino, MAX_FILE_SIZE, NAME_MAX, PATH_MAX, ROOT_INO, SYMLOOP_MAX,
    Vfs,
};
