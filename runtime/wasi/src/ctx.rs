//! Per-invocation WASI state: descriptors, arguments, environment, standard streams, clock and
//! random stream.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::errno::Errno;
use crate::storage::Storage;
use crate::vfs::{At, Ino, ROOT_INO, Vfs};

/// Right bits (`rights` in the witx); only the ones this crate inspects or grants are named.
pub(crate) mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// `path_create_directory` (bit 9) through `path_unlink_file` (bit 26), minus the `fd_*`
    /// bits 21-23 that sit among them.
    const PATH_AND_READDIR: u64 = ((1 << 27) - (1 << 9)) & !(0b111 << 21);

    /// Everything meaningful on a regular file.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// Everything meaningful on a directory.
    pub const DIR: u64 = FD_DATASYNC
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_AND_READDIR
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES;
    /// Standard input.
    pub const STDIN: u64 = FD_READ | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// Standard output and error.
    pub const STDOUT: u64 = FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// Most descriptors open at once (`EMFILE` beyond).
pub const MAX_FDS: usize = 1024;

/// What a fresh [`WasiCtx`] starts from.
#[derive(Debug, Clone)]
pub struct WasiConfig {
    /// `argv`, program name first.
    pub args: Vec<String>,
    /// Environment variables as `(name, value)`.
    pub env: Vec<(String, String)>,
    /// Bytes readable from fd 0.
    pub stdin: Vec<u8>,
    /// Block time in ns since the Unix epoch: every clock and timestamp derives from it.
    pub time_ns: u64,
    /// Seed of the `random_get` stream.
    pub random_seed: [u8; 32],
    /// Bytes kept from each of stdout and stderr; the rest is dropped and counted.
    pub max_output_bytes: usize,
    /// Extra preopened directories `(guest path, VFS directory)`, given fds 4, 5, … after `/`
    /// (fd 3). A missing VFS directory is created on first use.
    pub preopens: Vec<(String, String)>,
}

impl Default for WasiConfig {
    fn default() -> Self {
        WasiConfig {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            time_ns: 0,
            random_seed: [0; 32],
            max_output_bytes: 64 * 1024,
            preopens: Vec::new(),
        }
    }
}

/// A bounded capture of stdout or stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first `max_output_bytes` bytes written.
    pub bytes: Vec<u8>,
    /// Bytes written after the buffer was full.
    pub dropped: u64,
}

impl Captured {
    fn push(&mut self, data: &[u8], max: usize) {
        let room = max.saturating_sub(self.bytes.len()).min(data.len());
        self.bytes.extend_from_slice(&data[..room]);
        self.dropped += (data.len() - room) as u64;
    }
}

/// What a descriptor refers to.
#[derive(Debug, Clone)]
pub(crate) enum Desc {
    Stdin,
    Stdout,
    Stderr,
    File {
        ino: Ino,
        pos: u64,
    },
    Dir {
        ino: Ino,
        /// Capability root: `..` cannot climb above it.
        root: Ino,
        /// Names returned by the last `fd_readdir`, by the cookie that follows each, so the
        /// next call resumes without rescanning the directory.
        readdir: Vec<(u64, Vec<u8>)>,
    },
}

/// One open descriptor.
#[derive(Debug, Clone)]
pub(crate) struct FdEntry {
    pub desc: Desc,
    pub flags: u16,
    pub rights_base: u64,
    pub rights_inheriting: u64,
    /// Guest path of a preopened directory.
    pub preopen: Option<String>,
}

/// A deterministic byte stream: SHA-256(seed ‖ counter as u64 LE), block after block.
#[derive(Debug, Clone)]
struct RandomStream {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl RandomStream {
    fn new(seed: [u8; 32]) -> Self {
        RandomStream { seed, counter: 0, block: [0; 32], used: 32 }
    }

    fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            if self.used == 32 {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_le_bytes());
                self.block = h.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            let n = (32 - self.used).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.block[self.used..self.used + n]);
            self.used += n;
            done += n;
        }
    }
}

/// Per-invocation WASI state: fd table, args, env, stdin bytes, captured stdout/stderr
/// (bounded), clock (block time ns), deterministic random stream, preopens.
///
/// A context serves one instance in one store (make a fresh one per invocation): the first
/// host call remembers that instance's exported `memory`.
#[derive(Debug, Clone)]
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    stdin: Vec<u8>,
    stdin_pos: usize,
    stdout: Captured,
    stderr: Captured,
    max_output: usize,
    time_ns: u64,
    /// Time the guest slept through `poll_oneoff`; added to every clock.
    clock_offset: u64,
    random: RandomStream,
    pub(crate) fds: BTreeMap<u32, FdEntry>,
    /// Preopens whose VFS directory is not resolved yet: `(fd, VFS path)`.
    unmounted: Vec<(u32, String)>,
    /// The guest's exported memory, found on the first host call: looking it up by name costs
    /// about 100 ns, more than the rest of a small call.
    pub(crate) memory: MemoryCache,
}

/// A cached memory handle that a clone of the context does not inherit: the clone may serve
/// another store, where the handle would not be valid.
#[derive(Debug, Default)]
pub(crate) struct MemoryCache(pub Option<wasmtime::Memory>);

impl Clone for MemoryCache {
    fn clone(&self) -> Self {
        MemoryCache(None)
    }
}

impl WasiCtx {
    /// A context with fds 0-2 as standard streams, 3 as the VFS root preopened as `/`, and the
    /// configured extra preopens after it.
    pub fn new(config: WasiConfig) -> Self {
        let mut fds = BTreeMap::new();
        let stream = |desc, rights| FdEntry {
            desc,
            flags: 0,
            rights_base: rights,
            rights_inheriting: 0,
            preopen: None,
        };
        fds.insert(0, stream(Desc::Stdin, rights::STDIN));
        fds.insert(1, stream(Desc::Stdout, rights::STDOUT));
        fds.insert(2, stream(Desc::Stderr, rights::STDOUT));
        let dir = |ino, name: String| FdEntry {
            desc: Desc::Dir { ino, root: ino, readdir: Vec::new() },
            flags: 0,
            rights_base: rights::DIR,
            rights_inheriting: rights::DIR | rights::FILE,
            preopen: Some(name),
        };
        fds.insert(3, dir(ROOT_INO, "/".to_string()));
        let mut unmounted = Vec::new();
        for (fd, (guest, vfs)) in (4..).zip(config.preopens) {
            // Inode 0 never exists; it is replaced on the first host call.
            fds.insert(fd, dir(0, guest));
            unmounted.push((fd, vfs));
        }
        WasiCtx {
            args: config.args,
            env: config.env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            stdin: config.stdin,
            stdin_pos: 0,
            stdout: Captured::default(),
            stderr: Captured::default(),
            max_output: config.max_output_bytes,
            time_ns: config.time_ns,
            clock_offset: 0,
            random: RandomStream::new(config.random_seed),
            fds,
            unmounted,
            memory: MemoryCache::default(),
        }
    }

    /// What the guest wrote to stdout (bounded).
    pub fn stdout(&self) -> &Captured {
        &self.stdout
    }

    /// What the guest wrote to stderr (bounded).
    pub fn stderr(&self) -> &Captured {
        &self.stderr
    }

    /// Takes the captured stdout and stderr, leaving them empty.
    pub fn take_output(&mut self) -> (Captured, Captured) {
        (std::mem::take(&mut self.stdout), std::mem::take(&mut self.stderr))
    }

    /// The guest's current time: block time plus the time it slept in `poll_oneoff`.
    pub fn now_ns(&self) -> u64 {
        self.time_ns.saturating_add(self.clock_offset)
    }

    /// Advances the virtual clock to `deadline` if it is later than now.
    pub(crate) fn sleep_until(&mut self, deadline: u64) {
        let now = self.now_ns();
        if deadline > now {
            self.clock_offset += deadline - now;
        }
    }

    pub(crate) fn fill_random(&mut self, out: &mut [u8]) {
        self.random.fill(out);
    }

    pub(crate) fn write_stdout(&mut self, data: &[u8]) {
        self.stdout.push(data, self.max_output);
    }

    pub(crate) fn write_stderr(&mut self, data: &[u8]) {
        self.stderr.push(data, self.max_output);
    }

    /// Copies unread stdin into `buf`; returns the count (0 at end of input).
    pub(crate) fn read_stdin(&mut self, buf: &mut [u8]) -> usize {
        let rest = &self.stdin[self.stdin_pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.stdin_pos += n;
        n
    }

    pub(crate) fn stdin_left(&self) -> usize {
        self.stdin.len() - self.stdin_pos
    }

    /// Binds the configured preopens to their VFS directories (creating missing ones); a no-op
    /// once done. Deferred to the first host call because only then is storage at hand.
    pub(crate) fn mount(&mut self, storage: &mut dyn Storage) -> Result<(), Errno> {
        if self.unmounted.is_empty() {
            return Ok(());
        }
        let now = self.now_ns();
        let mut vfs = Vfs::new(storage, now);
        for (fd, path) in std::mem::take(&mut self.unmounted) {
            let ino = match vfs.create_dir_all(&path) {
                Ok(ino) => ino,
                Err(e) => {
                    self.unmounted.push((fd, path));
                    return Err(e);
                }
            };
            if let Some(FdEntry { desc: Desc::Dir { ino: i, root: r, .. }, .. }) = self.fds.get_mut(&fd) {
                *i = ino;
                *r = ino;
            }
        }
        Ok(())
    }

    pub(crate) fn fd(&self, fd: i32) -> Result<&FdEntry, Errno> {
        u32::try_from(fd).ok().and_then(|fd| self.fds.get(&fd)).ok_or(Errno::Badf)
    }

    pub(crate) fn fd_mut(&mut self, fd: i32) -> Result<&mut FdEntry, Errno> {
        u32::try_from(fd).ok().and_then(|fd| self.fds.get_mut(&fd)).ok_or(Errno::Badf)
    }

    /// A directory descriptor as a path anchor for `path`.
    pub(crate) fn at<'p>(&self, fd: i32, path: &'p [u8]) -> Result<At<'p>, Errno> {
        match &self.fd(fd)?.desc {
            Desc::Dir { ino, root, .. } => Ok(At { root: *root, dir: *ino, path }),
            _ => Err(Errno::Notdir),
        }
    }

    /// Installs `entry` at the lowest free descriptor number.
    pub(crate) fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        if self.fds.len() >= MAX_FDS {
            return Err(Errno::Mfile);
        }
        // Keys are sorted, so the first gap in 0, 1, 2, … is the lowest free number.
        let fd =
            self.fds.keys().zip(0u32..).find(|(k, i)| **k != *i).map_or(self.fds.len() as u32, |(_, i)| i);
        self.fds.insert(fd, entry);
        Ok(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_stream_is_seeded_and_chunking_independent() {
        let mut a = RandomStream::new([7; 32]);
        let mut b = RandomStream::new([7; 32]);
        let mut one = [0u8; 100];
        a.fill(&mut one);
        let mut parts = [0u8; 100];
        for chunk in parts.chunks_mut(7) {
            b.fill(chunk);
        }
        assert_eq!(one, parts);
        let mut c = RandomStream::new([8; 32]);
        let mut other = [0u8; 100];
        c.fill(&mut other);
        assert_ne!(one, other);
    }

    #[test]
    fn output_is_bounded_and_counted() {
        let mut c = Captured::default();
        c.push(b"hello", 3);
        c.push(b"!", 3);
        assert_eq!(c.bytes, b"hel");
        assert_eq!(c.dropped, 3);
    }

    #[test]
    fn lowest_free_fd() {
        let mut ctx = WasiCtx::new(WasiConfig::default());
        let entry = ctx.fds[&0].clone();
        assert_eq!(ctx.insert(entry.clone()), Ok(4));
        ctx.fds.remove(&1);
        assert_eq!(ctx.insert(entry.clone()), Ok(1));
        assert_eq!(ctx.insert(entry), Ok(5));
    }

    #[test]
    fn rights_masks() {
        assert_eq!(rights::DIR & rights::FD_READ, 0);
        assert_eq!(rights::DIR & rights::FD_FILESTAT_SET_SIZE, 0);
        assert_ne!(rights::DIR & (1 << 14), 0, "fd_readdir");
        assert_ne!(rights::DIR & (1 << 26), 0, "path_unlink_file");
        assert_eq!(rights::DIR & rights::POLL_FD_READWRITE, 0);
    }
}
