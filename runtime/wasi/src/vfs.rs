//! The virtual filesystem: inodes, chunked file data and directory entries over a [`Storage`].
//!
//! Every mutating operation is a transaction: it either completes or leaves storage exactly as
//! it found it (an undo log replays the old values when a later write fails, e.g. on quota).

use crate::errno::Errno;
use crate::storage::Storage;

/// Inode number of a file, directory or symbolic link; never reused.
pub type Ino = u64;

/// The root directory's inode; it exists implicitly (as an empty directory) until first written.
pub const ROOT_INO: Ino = 1;
/// Bytes per data chunk: a small write rewrites at most this much of a file.
pub const CHUNK_SIZE: u64 = 4096;
/// Longest file name in bytes.
pub const NAME_MAX: usize = 255;
/// Longest path in bytes.
pub const PATH_MAX: usize = 4096;
/// Most symbolic links followed while resolving one path before failing with `ELOOP`.
pub const SYMLOOP_MAX: u32 = 40;
/// Largest file size; offsets are signed 64-bit in `fd_seek`.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

const FIRST_FREE_INO: Ino = 2;
const NEXT_INO_KEY: &[u8] = b"n";
const META_SIZE: usize = 49;

/// What an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileType {
    /// A directory.
    Directory,
    /// A regular file.
    RegularFile,
    /// A symbolic link.
    SymbolicLink,
}

impl FileType {
    /// The WASI `filetype` value.
    pub fn wasi_code(self) -> u8 {
        match self {
            FileType::Directory => 3,
            FileType::RegularFile => 4,
            FileType::SymbolicLink => 7,
        }
    }

    fn from_code(code: u8) -> Result<Self, Errno> {
        match code {
            3 => Ok(FileType::Directory),
            4 => Ok(FileType::RegularFile),
            7 => Ok(FileType::SymbolicLink),
            // Only this module writes these bytes: anything else is corrupt state.
            _ => Err(Errno::Io),
        }
    }
}

/// Metadata of one inode, as `fd_filestat_get` reports it (`dev` is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// Inode number.
    pub ino: Ino,
    /// Kind of inode.
    pub file_type: FileType,
    /// Hard links (directories: 2 + subdirectories).
    pub nlink: u64,
    /// Bytes (files), target length (symbolic links) or number of entries (directories).
    pub size: u64,
    /// Last access time, ns; only set at creation and by `set_times` (reads never write state).
    pub atim: u64,
    /// Last data modification time, ns.
    pub mtim: u64,
    /// Last status change time, ns.
    pub ctim: u64,
}

/// One directory entry, as [`Vfs::read_dir`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Entry name (never `.` or `..`).
    pub name: String,
    /// Inode the entry links to.
    pub ino: Ino,
    /// Kind of that inode.
    pub file_type: FileType,
}

/// Decoded inode metadata (`i/<ino>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inode {
    pub kind: FileType,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
    /// Containing directory (directories only; they cannot be hard-linked, so it is unique).
    pub parent: Ino,
    /// Symbolic link target.
    pub target: Vec<u8>,
}

impl Inode {
    fn root() -> Self {
        Inode {
            kind: FileType::Directory,
            nlink: 2,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
            parent: ROOT_INO,
            target: Vec::new(),
        }
    }

    /// The fixed-size part of the encoding: all of it for anything but a symbolic link.
    fn header(&self) -> [u8; META_SIZE] {
        let mut out = [self.kind.wasi_code(); META_SIZE];
        let fields = [self.nlink, self.size, self.atim, self.mtim, self.ctim, self.parent];
        for (slot, v) in out[1..].chunks_exact_mut(8).zip(fields) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(META_SIZE + self.target.len());
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.target);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, Errno> {
        if bytes.len() < META_SIZE {
            return Err(Errno::Io);
        }
        let field = |i: usize| u64_at(bytes, 1 + 8 * i);
        Ok(Inode {
            kind: FileType::from_code(bytes[0])?,
            nlink: field(0),
            size: field(1),
            atim: field(2),
            mtim: field(3),
            ctim: field(4),
            parent: field(5),
            target: bytes[META_SIZE..].to_vec(),
        })
    }

    fn stat(&self, ino: Ino) -> FileStat {
        FileStat {
            ino,
            file_type: self.kind,
            nlink: self.nlink,
            size: self.size,
            atim: self.atim,
            mtim: self.mtim,
            ctim: self.ctim,
        }
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(b)
}

fn meta_key(ino: Ino) -> [u8; 9] {
    let mut k = [b'i'; 9];
    k[1..].copy_from_slice(&ino.to_be_bytes());
    k
}

fn chunk_key(ino: Ino, chunk: u64) -> [u8; 17] {
    let mut k = [b'd'; 17];
    k[1..9].copy_from_slice(&ino.to_be_bytes());
    k[9..].copy_from_slice(&chunk.to_be_bytes());
    k
}

fn entry_prefix(dir: Ino) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&dir.to_be_bytes());
    k
}

fn entry_key(dir: Ino, name: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + name.len());
    k.extend_from_slice(&entry_prefix(dir));
    k.extend_from_slice(name);
    k
}

/// A directory entry's target: the child inode and its kind (so readdir and path walks need
/// not load the child's metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub ino: Ino,
    pub kind: FileType,
}

impl Entry {
    fn encode(self) -> [u8; 9] {
        let mut v = [self.kind.wasi_code(); 9];
        v[..8].copy_from_slice(&self.ino.to_be_bytes());
        v
    }

    fn decode(bytes: &[u8]) -> Result<Self, Errno> {
        if bytes.len() != 9 {
            return Err(Errno::Io);
        }
        Ok(Entry { ino: u64_at(bytes, 0), kind: FileType::from_code(bytes[8])? })
    }
}

/// The last component of a resolved path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Last {
    Name(Vec<u8>),
    Dot,
    DotDot,
}

/// Where a path leads: the directory holding its last component, and what that names.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// Directory that holds `last` (for `.`/`..`: the directory they name).
    pub dir: Ino,
    pub last: Last,
    pub found: Option<Entry>,
    /// The path ended in `/`: whatever it names must be a directory.
    pub trailing_slash: bool,
}

impl Resolved {
    /// The name to create or remove; `dots` is the operation's error for `.` and `..`.
    fn name(&self, dots: Errno) -> Result<&[u8], Errno> {
        match &self.last {
            Last::Name(n) => Ok(n),
            Last::Dot | Last::DotDot => Err(dots),
        }
    }

    fn existing(&self) -> Result<Entry, Errno> {
        self.found.ok_or(Errno::Noent)
    }
}

/// `path_open`'s `oflags`, decoded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenOptions {
    pub create: bool,
    pub directory: bool,
    pub exclusive: bool,
    pub truncate: bool,
    /// The descriptor will be writable (opening a directory so fails with `EISDIR`).
    pub write: bool,
    pub follow: bool,
}

/// A path anchored at a directory, confined to a capability root (`..` cannot climb above it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'p> {
    pub root: Ino,
    pub dir: Ino,
    pub path: &'p [u8],
}

/// Native access to a function's virtual filesystem.
///
/// Paths given to the `&str` methods are relative to the root (a leading `/` is ignored);
/// `..` cannot climb above the root (`ENOTCAPABLE`). `time_ns` stamps every change.
pub struct Vfs<'a> {
    storage: &'a mut dyn Storage,
    now: u64,
    /// `(key, old value)` for every write of the running transaction, in order.
    undo: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Inodes whose last link went away; their data is deleted when the transaction commits.
    doomed: Vec<Ino>,
    in_txn: bool,
}

impl<'a> Vfs<'a> {
    /// A view of the tree stored in `storage`; changes are timestamped `time_ns`.
    pub fn new(storage: &'a mut dyn Storage, time_ns: u64) -> Self {
        Vfs { storage, now: time_ns, undo: Vec::new(), doomed: Vec::new(), in_txn: false }
    }

    // ---- storage primitives -----------------------------------------------------------------

    /// Runs `f` atomically: on error every write it made is undone.
    fn txn<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R, Errno>) -> Result<R, Errno> {
        if self.in_txn {
            return f(self);
        }
        self.in_txn = true;
        let result = f(self);
        self.in_txn = false;
        match result {
            Ok(v) => {
                self.undo.clear();
                for ino in std::mem::take(&mut self.doomed) {
                    self.free(ino);
                }
                Ok(v)
            }
            Err(e) => {
                // Replaying in reverse only revisits states the store already accepted, so
                // these writes stay within quota.
                while let Some((key, old)) = self.undo.pop() {
                    match old {
                        Some(v) => {
                            let _ = self.storage.set(&key, &v);
                        }
                        None => self.storage.delete(&key),
                    }
                }
                self.doomed.clear();
                Err(e)
            }
        }
    }

    /// Writes `value` under `key`, whose current value the caller already knows to be `old`.
    fn put_known(&mut self, key: &[u8], value: &[u8], old: Option<Vec<u8>>) -> Result<(), Errno> {
        self.storage.set(key, value).map_err(|_| Errno::Nospc)?;
        self.undo.push((key.to_vec(), old));
        Ok(())
    }

    /// Writes without an undo entry: only for the last write of a transaction.
    fn put_final(&mut self, key: &[u8], value: &[u8]) -> Result<(), Errno> {
        self.storage.set(key, value).map_err(|_| Errno::Nospc)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Errno> {
        let old = self.storage.get(key);
        self.put_known(key, value, old)
    }

    fn del_known(&mut self, key: &[u8], old: Vec<u8>) {
        self.storage.delete(key);
        self.undo.push((key.to_vec(), Some(old)));
    }

    /// Deletes an unlinked inode and its data; runs after commit, so it needs no undo.
    fn free(&mut self, ino: Ino) {
        self.storage.delete(&meta_key(ino));
        let prefix = chunk_key(ino, 0);
        while let Some((key, _)) = self.storage.next(&prefix, false, false) {
            if !key.starts_with(&prefix[..9]) {
                break;
            }
            self.storage.delete(&key);
        }
    }

    // ---- inodes and entries -----------------------------------------------------------------

    /// An inode's metadata; `EBADF` when it no longer exists (a descriptor outlived its file).
    pub(crate) fn inode(&self, ino: Ino) -> Result<Inode, Errno> {
        match self.storage.get(&meta_key(ino)) {
            Some(bytes) => Inode::decode(&bytes),
            None if ino == ROOT_INO => Ok(Inode::root()),
            None => Err(Errno::Badf),
        }
    }

    pub(crate) fn stat_ino(&self, ino: Ino) -> Result<FileStat, Errno> {
        Ok(self.inode(ino)?.stat(ino))
    }

    fn put_inode(&mut self, ino: Ino, inode: &Inode) -> Result<(), Errno> {
        self.put(&meta_key(ino), &inode.encode())
    }

    pub(crate) fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<Entry>, Errno> {
        self.storage.get(&entry_key(dir, name)).map(|v| Entry::decode(&v)).transpose()
    }

    /// The first entry of `dir` after `after` (from the start when `None`), in name order.
    pub(crate) fn next_entry(
        &self,
        dir: Ino,
        after: Option<&[u8]>,
    ) -> Result<Option<(Vec<u8>, Entry)>, Errno> {
        let prefix = entry_prefix(dir);
        let found = match after {
            Some(name) => self.storage.next(&entry_key(dir, name), true, false),
            None => self.storage.next(&prefix, false, false),
        };
        match found {
            Some((key, value)) if key.starts_with(&prefix) => {
                Ok(Some((key[prefix.len()..].to_vec(), Entry::decode(&value)?)))
            }
            _ => Ok(None),
        }
    }

    fn is_empty_dir(&self, dir: Ino) -> Result<bool, Errno> {
        Ok(self.next_entry(dir, None)?.is_none())
    }

    fn alloc_ino(&mut self) -> Result<Ino, Errno> {
        let old = self.storage.get(NEXT_INO_KEY);
        let next = match &old {
            Some(b) if b.len() == 8 => u64_at(b, 0),
            Some(_) => return Err(Errno::Io),
            None => FIRST_FREE_INO,
        };
        self.put_known(NEXT_INO_KEY, &(next + 1).to_be_bytes(), old)?;
        Ok(next)
    }

    /// Applies an entry-count and link-count change to directory `dir` and stamps it.
    fn touch_dir(&mut self, dir: Ino, entries: i64, links: i64) -> Result<(), Errno> {
        let mut node = self.inode(dir)?;
        node.size = node.size.saturating_add_signed(entries);
        node.nlink = node.nlink.saturating_add_signed(links);
        node.mtim = self.now;
        node.ctim = self.now;
        self.put_inode(dir, &node)
    }

    fn create(&mut self, dir: Ino, name: &[u8], kind: FileType, target: &[u8]) -> Result<Ino, Errno> {
        if self.inode(dir)?.kind != FileType::Directory {
            return Err(Errno::Notdir);
        }
        if self.lookup(dir, name)?.is_some() {
            return Err(Errno::Exist);
        }
        let ino = self.alloc_ino()?;
        let is_dir = kind == FileType::Directory;
        let node = Inode {
            kind,
            nlink: if is_dir { 2 } else { 1 },
            size: target.len() as u64,
            atim: self.now,
            mtim: self.now,
            ctim: self.now,
            parent: dir,
            target: target.to_vec(),
        };
        self.put_known(&meta_key(ino), &node.encode(), None)?;
        self.put_known(&entry_key(dir, name), &Entry { ino, kind }.encode(), None)?;
        self.touch_dir(dir, 1, i64::from(is_dir))?;
        Ok(ino)
    }

    /// Removes the entry `dir/name` for a file or symbolic link, dropping one link.
    fn unlink_entry(&mut self, dir: Ino, name: &[u8], entry: Entry) -> Result<(), Errno> {
        self.del_known(&entry_key(dir, name), entry.encode().to_vec());
        self.touch_dir(dir, -1, 0)?;
        let mut node = self.inode(entry.ino)?;
        node.nlink = node.nlink.saturating_sub(1);
        if node.nlink == 0 {
            self.doomed.push(entry.ino);
            Ok(())
        } else {
            node.ctim = self.now;
            self.put_inode(entry.ino, &node)
        }
    }

    /// Removes the empty directory `dir/name`.
    fn rmdir_entry(&mut self, dir: Ino, name: &[u8], entry: Entry) -> Result<(), Errno> {
        if entry.kind != FileType::Directory {
            return Err(Errno::Notdir);
        }
        if !self.is_empty_dir(entry.ino)? {
            return Err(Errno::Notempty);
        }
        self.del_known(&entry_key(dir, name), entry.encode().to_vec());
        self.touch_dir(dir, -1, -1)?;
        self.doomed.push(entry.ino);
        Ok(())
    }

    // ---- path resolution --------------------------------------------------------------------

    /// Walks `at.path`, following symbolic links in the middle always and at the end when
    /// `follow` (or the path ends in `/`).
    pub(crate) fn resolve(&self, at: At<'_>, follow: bool) -> Result<Resolved, Errno> {
        let path = at.path;
        if path.is_empty() {
            return Err(Errno::Noent);
        }
        if path.len() > PATH_MAX {
            return Err(Errno::Nametoolong);
        }
        if path[0] == b'/' {
            return Err(Errno::Notcapable);
        }
        if path.contains(&0) {
            return Err(Errno::Inval);
        }
        let trailing_slash = path.ends_with(b"/");
        let follow = follow || trailing_slash;
        // Components still to walk, last one first.
        let mut pending: Vec<Vec<u8>> = split(path);
        let mut cur = at.dir;
        let mut links = 0;
        let mut out = Resolved {
            dir: cur,
            last: Last::Dot,
            found: Some(Entry { ino: cur, kind: FileType::Directory }),
            trailing_slash,
        };
        while let Some(comp) = pending.pop() {
            let is_last = pending.is_empty();
            match comp.as_slice() {
                b"." => {
                    if is_last {
                        out.dir = cur;
                        out.last = Last::Dot;
                        out.found = Some(Entry { ino: cur, kind: FileType::Directory });
                    }
                }
                b".." => {
                    if cur == at.root || cur == ROOT_INO {
                        return Err(Errno::Notcapable);
                    }
                    cur = self.inode(cur)?.parent;
                    if is_last {
                        out.dir = cur;
                        out.last = Last::DotDot;
                        out.found = Some(Entry { ino: cur, kind: FileType::Directory });
                    }
                }
                name => {
                    if name.len() > NAME_MAX {
                        return Err(Errno::Nametoolong);
                    }
                    match self.lookup(cur, name)? {
                        Some(e) if e.kind == FileType::SymbolicLink && (!is_last || follow) => {
                            links += 1;
                            if links > SYMLOOP_MAX {
                                return Err(Errno::Loop);
                            }
                            let target = self.inode(e.ino)?.target;
                            if target.is_empty() {
                                return Err(Errno::Noent);
                            }
                            // Absolute targets are taken relative to the capability root, as
                            // in a chroot: with `/` preopened that is plain POSIX behaviour.
                            if target[0] == b'/' {
                                cur = at.root;
                            }
                            let mut parts = split(&target);
                            if parts.is_empty() {
                                parts.push(b".".to_vec());
                            }
                            // `parts` is reversed, so the target's components go on top.
                            pending.extend(parts);
                        }
                        Some(e) if is_last => {
                            out.dir = cur;
                            out.last = Last::Name(comp);
                            out.found = Some(e);
                        }
                        Some(e) if e.kind == FileType::Directory => cur = e.ino,
                        Some(_) => return Err(Errno::Notdir),
                        None if is_last => {
                            out.dir = cur;
                            out.last = Last::Name(comp);
                            out.found = None;
                        }
                        None => return Err(Errno::Noent),
                    }
                }
            }
        }
        if trailing_slash && out.found.is_some_and(|e| e.kind != FileType::Directory) {
            return Err(Errno::Notdir);
        }
        Ok(out)
    }

    // ---- operations on inodes ---------------------------------------------------------------

    /// Reads from a regular file at `offset`; bytes never written (sparse) read as zeros.
    pub(crate) fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let node = self.inode(ino)?;
        match node.kind {
            FileType::RegularFile => {}
            FileType::Directory => return Err(Errno::Isdir),
            FileType::SymbolicLink => return Err(Errno::Inval),
        }
        if offset >= node.size {
            return Ok(0);
        }
        let n = buf.len().min(usize::try_from(node.size - offset).unwrap_or(usize::MAX));
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let chunk = pos / CHUNK_SIZE;
            let within = (pos % CHUNK_SIZE) as usize;
            let take = (CHUNK_SIZE as usize - within).min(n - done);
            let dst = &mut buf[done..done + take];
            match self.storage.get(&chunk_key(ino, chunk)) {
                Some(data) => {
                    let have = data.len().saturating_sub(within).min(take);
                    dst[..have].copy_from_slice(&data[within..within + have]);
                    dst[have..].fill(0);
                }
                None => dst.fill(0),
            }
            done += take;
        }
        Ok(n)
    }

    /// Writes `data` into a regular file at `offset`, or at its end when `None`, growing it;
    /// returns the offset written at.
    pub(crate) fn write_at(&mut self, ino: Ino, offset: Option<u64>, data: &[u8]) -> Result<u64, Errno> {
        self.txn(|v| v.write_last(ino, offset, data))
    }

    /// [`Vfs::write_at`] inside a transaction, whose last step it must be: its final chunk
    /// write is not undoable, which spares the usual one-chunk write a copy of the old chunk.
    fn write_last(&mut self, ino: Ino, offset: Option<u64>, data: &[u8]) -> Result<u64, Errno> {
        let meta_bytes = self.storage.get(&meta_key(ino)).ok_or(Errno::Badf)?;
        let mut node = Inode::decode(&meta_bytes)?;
        match node.kind {
            FileType::RegularFile => {}
            FileType::Directory => return Err(Errno::Isdir),
            FileType::SymbolicLink => return Err(Errno::Inval),
        }
        let offset = offset.unwrap_or(node.size);
        if data.is_empty() {
            return Ok(offset);
        }
        let end = offset.checked_add(data.len() as u64).filter(|&e| e <= MAX_FILE_SIZE).ok_or(Errno::Fbig)?;
        let old_size = node.size;
        // Rewriting bytes in place within one block changes no metadata: skip that write.
        if end > old_size || node.mtim != self.now || node.ctim != self.now {
            node.size = node.size.max(end);
            node.mtim = self.now;
            node.ctim = self.now;
            // A regular file has no target: the header is the whole encoding.
            self.put_known(&meta_key(ino), &node.header(), Some(meta_bytes))?;
        }
        let mut pos = offset;
        while pos < end {
            let chunk = pos / CHUNK_SIZE;
            let start = chunk * CHUNK_SIZE;
            let lo = (pos - start) as usize;
            let hi = ((end - start).min(CHUNK_SIZE)) as usize;
            let src = &data[(pos - offset) as usize..(start + hi as u64 - offset) as usize];
            let key = chunk_key(ino, chunk);
            let full = lo == 0 && hi as u64 == CHUNK_SIZE;
            let last = start + hi as u64 == end;
            // Chunks never hold bytes past the file size, so none exist at or after it.
            let old = if start < old_size && !(full && last) { self.storage.get(&key) } else { None };
            let patch = |mut buf: Vec<u8>| {
                if buf.len() < hi {
                    buf.resize(hi, 0);
                }
                buf[lo..hi].copy_from_slice(src);
                buf
            };
            match (full, last) {
                (true, true) => self.put_final(&key, src)?,
                (true, false) => self.put_known(&key, src, old)?,
                (false, true) => self.put_final(&key, &patch(old.unwrap_or_default()))?,
                (false, false) => {
                    let new = patch(old.clone().unwrap_or_default());
                    self.put_known(&key, &new, old)?;
                }
            }
            pos = start + hi as u64;
        }
        Ok(offset)
    }

    /// Sets a regular file's size: shrinking drops the data past it, growing adds zeros.
    pub(crate) fn set_size(&mut self, ino: Ino, size: u64) -> Result<(), Errno> {
        self.txn(|v| v.set_size_inner(ino, size))
    }

    fn set_size_inner(&mut self, ino: Ino, size: u64) -> Result<(), Errno> {
        let mut node = self.inode(ino)?;
        match node.kind {
            FileType::RegularFile => {}
            FileType::Directory => return Err(Errno::Isdir),
            FileType::SymbolicLink => return Err(Errno::Inval),
        }
        if size > MAX_FILE_SIZE {
            return Err(Errno::Fbig);
        }
        if size == node.size {
            return Ok(());
        }
        if size < node.size {
            // Keep the invariant that chunks hold no bytes past the size, so growing the file
            // later reads zeros there.
            let keep_in_last = (size % CHUNK_SIZE) as usize;
            let first_dead = size.div_ceil(CHUNK_SIZE);
            if keep_in_last != 0 {
                let key = chunk_key(ino, size / CHUNK_SIZE);
                if let Some(old) = self.storage.get(&key)
                    && old.len() > keep_in_last
                {
                    let new = old[..keep_in_last].to_vec();
                    self.put_known(&key, &new, Some(old))?;
                }
            }
            let prefix = chunk_key(ino, 0);
            let mut from = chunk_key(ino, first_dead).to_vec();
            while let Some((key, old)) = self.storage.next(&from, false, false) {
                if !key.starts_with(&prefix[..9]) {
                    break;
                }
                self.del_known(&key, old);
                from = key;
            }
        }
        node.size = size;
        node.mtim = self.now;
        node.ctim = self.now;
        self.put_inode(ino, &node)
    }

    /// Sets access and/or modification time; `None` leaves one unchanged.
    pub(crate) fn set_times(&mut self, ino: Ino, atim: Option<u64>, mtim: Option<u64>) -> Result<(), Errno> {
        self.txn(|v| {
            let mut node = v.inode(ino)?;
            if let Some(t) = atim {
                node.atim = t;
            }
            if let Some(t) = mtim {
                node.mtim = t;
            }
            node.ctim = v.now;
            v.put_inode(ino, &node)
        })
    }

    // ---- operations on paths ----------------------------------------------------------------

    /// Opens (and maybe creates or truncates) what `at` names; see [`OpenOptions`].
    pub(crate) fn open(&mut self, at: At<'_>, opts: OpenOptions) -> Result<Entry, Errno> {
        if opts.create && opts.directory {
            return Err(Errno::Inval);
        }
        self.txn(|v| {
            let r = v.resolve(at, opts.follow)?;
            match r.found {
                Some(_) if opts.create && opts.exclusive => Err(Errno::Exist),
                Some(e) => {
                    match e.kind {
                        FileType::SymbolicLink => return Err(Errno::Loop),
                        FileType::Directory if opts.write || opts.truncate => {
                            return Err(Errno::Isdir);
                        }
                        FileType::RegularFile if opts.directory => return Err(Errno::Notdir),
                        _ => {}
                    }
                    if opts.truncate && e.kind == FileType::RegularFile {
                        v.set_size_inner(e.ino, 0)?;
                    }
                    Ok(e)
                }
                None if !opts.create => Err(Errno::Noent),
                None if r.trailing_slash => Err(Errno::Isdir),
                None => {
                    let name = r.name(Errno::Exist)?;
                    let ino = v.create(r.dir, name, FileType::RegularFile, b"")?;
                    Ok(Entry { ino, kind: FileType::RegularFile })
                }
            }
        })
    }

    pub(crate) fn stat_at(&self, at: At<'_>, follow: bool) -> Result<FileStat, Errno> {
        let e = self.resolve(at, follow)?.existing()?;
        self.stat_ino(e.ino)
    }

    pub(crate) fn mkdir_at(&mut self, at: At<'_>) -> Result<Ino, Errno> {
        self.txn(|v| {
            let r = v.resolve(at, false)?;
            if r.found.is_some() {
                return Err(Errno::Exist);
            }
            let name = r.name(Errno::Exist)?;
            v.create(r.dir, name, FileType::Directory, b"")
        })
    }

    pub(crate) fn unlink_at(&mut self, at: At<'_>) -> Result<(), Errno> {
        self.txn(|v| {
            let r = v.resolve(at, false)?;
            let e = r.existing()?;
            let name = r.name(Errno::Isdir)?;
            if e.kind == FileType::Directory {
                return Err(Errno::Isdir);
            }
            v.unlink_entry(r.dir, name, e)
        })
    }

    pub(crate) fn rmdir_at(&mut self, at: At<'_>) -> Result<(), Errno> {
        self.txn(|v| {
            let r = v.resolve(at, false)?;
            let e = r.existing()?;
            let name = match r.last {
                Last::Name(ref n) => n,
                Last::Dot => return Err(Errno::Inval),
                Last::DotDot => return Err(Errno::Notempty),
            };
            v.rmdir_entry(r.dir, name, e)
        })
    }

    pub(crate) fn symlink_at(&mut self, target: &[u8], at: At<'_>) -> Result<(), Errno> {
        if target.is_empty() {
            return Err(Errno::Noent);
        }
        if target.len() > PATH_MAX {
            return Err(Errno::Nametoolong);
        }
        self.txn(|v| {
            let r = v.resolve(at, false)?;
            if r.found.is_some() {
                return Err(Errno::Exist);
            }
            if r.trailing_slash {
                return Err(Errno::Noent);
            }
            let name = r.name(Errno::Exist)?;
            v.create(r.dir, name, FileType::SymbolicLink, target)?;
            Ok(())
        })
    }

    pub(crate) fn readlink_at(&self, at: At<'_>) -> Result<Vec<u8>, Errno> {
        let e = self.resolve(at, false)?.existing()?;
        if e.kind != FileType::SymbolicLink {
            return Err(Errno::Inval);
        }
        Ok(self.inode(e.ino)?.target)
    }

    pub(crate) fn link_at(&mut self, old: At<'_>, follow: bool, new: At<'_>) -> Result<(), Errno> {
        self.txn(|v| {
            let src = v.resolve(old, follow)?.existing()?;
            if src.kind == FileType::Directory {
                return Err(Errno::Perm);
            }
            let r = v.resolve(new, false)?;
            if r.found.is_some() {
                return Err(Errno::Exist);
            }
            if r.trailing_slash {
                return Err(Errno::Noent);
            }
            let name = r.name(Errno::Exist)?;
            if v.inode(r.dir)?.kind != FileType::Directory {
                return Err(Errno::Notdir);
            }
            v.put_known(&entry_key(r.dir, name), &src.encode(), None)?;
            v.touch_dir(r.dir, 1, 0)?;
            let mut node = v.inode(src.ino)?;
            node.nlink += 1;
            node.ctim = v.now;
            v.put_inode(src.ino, &node)
        })
    }

    /// POSIX `rename`: replaces an existing file or empty directory at `new` atomically.
    pub(crate) fn rename_at(&mut self, old: At<'_>, new: At<'_>) -> Result<(), Errno> {
        self.txn(|v| {
            let from = v.resolve(old, false)?;
            let src = from.existing()?;
            let src_name = from.name(Errno::Busy)?.to_vec();
            let to = v.resolve(new, false)?;
            let dst_name = to.name(Errno::Busy)?.to_vec();
            let is_dir = src.kind == FileType::Directory;
            if !is_dir && (from.trailing_slash || to.trailing_slash) {
                return Err(Errno::Notdir);
            }
            if let Some(dst) = to.found {
                if dst.ino == src.ino {
                    return Ok(());
                }
                match (is_dir, dst.kind == FileType::Directory) {
                    (true, false) => return Err(Errno::Notdir),
                    (false, true) => return Err(Errno::Isdir),
                    _ => {}
                }
            }
            if is_dir {
                // Refuse moving a directory into itself or one of its descendants.
                let mut cur = to.dir;
                loop {
                    if cur == src.ino {
                        return Err(Errno::Inval);
                    }
                    if cur == ROOT_INO {
                        break;
                    }
                    cur = v.inode(cur)?.parent;
                }
            }
            if let Some(dst) = to.found {
                if is_dir {
                    v.rmdir_entry(to.dir, &dst_name, dst)?;
                } else {
                    v.unlink_entry(to.dir, &dst_name, dst)?;
                }
            }
            v.del_known(&entry_key(from.dir, &src_name), src.encode().to_vec());
            v.put_known(&entry_key(to.dir, &dst_name), &src.encode(), None)?;
            let links = i64::from(is_dir);
            v.touch_dir(from.dir, -1, -links)?;
            v.touch_dir(to.dir, 1, links)?;
            let mut node = v.inode(src.ino)?;
            node.ctim = v.now;
            if is_dir {
                node.parent = to.dir;
            }
            v.put_inode(src.ino, &node)
        })
    }

    // ---- native API -------------------------------------------------------------------------

    fn native(path: &str) -> At<'_> {
        let trimmed = path.trim_start_matches('/');
        At { root: ROOT_INO, dir: ROOT_INO, path: if trimmed.is_empty() { b"." } else { trimmed.as_bytes() } }
    }

    /// Metadata of what `path` names, following symbolic links.
    pub fn stat(&self, path: &str) -> Result<FileStat, Errno> {
        self.stat_at(Self::native(path), true)
    }

    /// Metadata of what `path` names, not following a final symbolic link.
    pub fn lstat(&self, path: &str) -> Result<FileStat, Errno> {
        self.stat_at(Self::native(path), false)
    }

    /// Whether `path` names something (following symbolic links).
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }

    /// The whole content of a regular file.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, Errno> {
        let e = self.resolve(Self::native(path), true)?.existing()?;
        let size = self.inode(e.ino)?.size;
        let mut buf = vec![0; usize::try_from(size).map_err(|_| Errno::Fbig)?];
        let n = self.read_at(e.ino, 0, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn open_native(&mut self, path: &str, truncate: bool) -> Result<Ino, Errno> {
        let opts =
            OpenOptions { create: true, truncate, write: true, follow: true, ..OpenOptions::default() };
        Ok(self.open(Self::native(path), opts)?.ino)
    }

    /// Creates or replaces a regular file with `data`.
    pub fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), Errno> {
        self.txn(|v| {
            let ino = v.open_native(path, true)?;
            v.write_last(ino, Some(0), data).map(drop)
        })
    }

    /// Appends `data` to a regular file, creating it if needed.
    pub fn append_file(&mut self, path: &str, data: &[u8]) -> Result<(), Errno> {
        self.txn(|v| {
            let ino = v.open_native(path, false)?;
            v.write_last(ino, None, data).map(drop)
        })
    }

    /// Truncates or extends (with zeros) a regular file.
    pub fn set_len(&mut self, path: &str, len: u64) -> Result<(), Errno> {
        let e = self.resolve(Self::native(path), true)?.existing()?;
        self.set_size(e.ino, len)
    }

    /// Creates one directory; its parent must exist.
    pub fn create_dir(&mut self, path: &str) -> Result<(), Errno> {
        self.mkdir_at(Self::native(path)).map(drop)
    }

    /// Creates a directory and any missing parents; returns its inode.
    pub fn create_dir_all(&mut self, path: &str) -> Result<Ino, Errno> {
        self.txn(|v| {
            let mut prefix = String::new();
            let mut ino = ROOT_INO;
            for part in path.split('/').filter(|p| !p.is_empty()) {
                prefix.push('/');
                prefix.push_str(part);
                let at = Self::native(&prefix);
                ino = match v.resolve(at, true)? {
                    Resolved { found: Some(e), .. } if e.kind == FileType::Directory => e.ino,
                    Resolved { found: Some(_), .. } => return Err(Errno::Notdir),
                    Resolved { found: None, .. } => v.mkdir_at(at)?,
                };
            }
            Ok(ino)
        })
    }

    /// Entries of a directory sorted by name, without `.` and `..`.
    pub fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, Errno> {
        let dir = self.resolve(Self::native(path), true)?.existing()?;
        if dir.kind != FileType::Directory {
            return Err(Errno::Notdir);
        }
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let Some((name, e)) = self.next_entry(dir.ino, after.as_deref())? {
            out.push(DirEntry {
                name: String::from_utf8_lossy(&name).into_owned(),
                ino: e.ino,
                file_type: e.kind,
            });
            after = Some(name);
        }
        Ok(out)
    }

    /// Removes a file or symbolic link (dropping one hard link).
    pub fn remove_file(&mut self, path: &str) -> Result<(), Errno> {
        self.unlink_at(Self::native(path))
    }

    /// Removes an empty directory.
    pub fn remove_dir(&mut self, path: &str) -> Result<(), Errno> {
        self.rmdir_at(Self::native(path))
    }

    /// POSIX `rename`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        self.rename_at(Self::native(from), Self::native(to))
    }

    /// Creates a symbolic link at `link` pointing to `target` (stored verbatim).
    pub fn symlink(&mut self, target: &str, link: &str) -> Result<(), Errno> {
        self.symlink_at(target.as_bytes(), Self::native(link))
    }

    /// The target of a symbolic link.
    pub fn read_link(&self, path: &str) -> Result<String, Errno> {
        let target = self.readlink_at(Self::native(path))?;
        Ok(String::from_utf8_lossy(&target).into_owned())
    }

    /// Creates a hard link `link` to the file `original` (a final symbolic link is not followed).
    pub fn hard_link(&mut self, original: &str, link: &str) -> Result<(), Errno> {
        self.link_at(Self::native(original), false, Self::native(link))
    }
}

/// Path components, last first; empty components (from `//` or a trailing `/`) vanish.
fn split(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty()).rev().map(<[u8]>::to_vec).collect()
}
