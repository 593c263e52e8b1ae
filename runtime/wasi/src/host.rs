//! The 46 `wasi_snapshot_preview1` imports, registered with [`add_to_linker`].

use std::cell::Cell;
use std::ops::Range;

use wasmtime::{Caller, Extern, Linker};

use crate::ctx::{Desc, FdEntry, MAX_FDS, WasiCtx, rights};
use crate::errno::Errno;
use crate::gas;
use crate::storage::{QuotaExceeded, Storage};
use crate::vfs::{FileStat, FileType, Ino, MAX_FILE_SIZE, OpenOptions, Vfs};

const MODULE: &str = "wasi_snapshot_preview1";

/// Gives the host functions the invocation's WASI state and filesystem storage.
pub trait WasiView: 'static {
    /// The WASI context and the storage holding the function's virtual filesystem.
    fn wasi_parts(&mut self) -> (&mut WasiCtx, &mut dyn Storage);
}

/// Returned (as the wasmtime error) by `proc_exit` so the runtime can map it to `Exit(code)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the guest called proc_exit({0})")]
pub struct ProcExit(pub u32);

/// A host call failed in a way no errno can express; the call traps with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// WASI passes pointers into the module's exported `memory`, so it must exist.
    #[error("the module exports no linear memory named `memory`")]
    NoMemory,
}

// Constants of the witx that the host functions interpret.
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FDFLAGS_APPEND: u16 = 1;
const FDFLAGS_ALL: u16 = 0x1f;
const OFLAGS_CREAT: u16 = 1;
const OFLAGS_DIRECTORY: u16 = 2;
const OFLAGS_EXCL: u16 = 4;
const OFLAGS_TRUNC: u16 = 8;
const LOOKUP_SYMLINK_FOLLOW: i32 = 1;
const FSTFLAGS_ATIM: u16 = 1;
const FSTFLAGS_ATIM_NOW: u16 = 2;
const FSTFLAGS_MTIM: u16 = 4;
const FSTFLAGS_MTIM_NOW: u16 = 8;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const EVENTRWFLAGS_HANGUP: u16 = 1;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const DIRENT_SIZE: usize = 24;
const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;

/// Guest linear memory; every out-of-bounds access is `EFAULT`.
struct Mem<'a>(&'a mut [u8]);

fn offset(ptr: u32, by: u64) -> Result<u32, Errno> {
    u32::try_from(u64::from(ptr) + by).map_err(|_| Errno::Fault)
}

impl Mem<'_> {
    fn range(&self, ptr: u32, len: u64) -> Result<Range<usize>, Errno> {
        let start = ptr as usize;
        let end = u64::from(ptr) + len;
        if end > self.0.len() as u64 {
            return Err(Errno::Fault);
        }
        Ok(start..end as usize)
    }

    fn slice(&self, ptr: u32, len: u64) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&self.0[r])
    }

    fn slice_mut(&mut self, ptr: u32, len: u64) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.0[r])
    }

    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let mut out = [0; N];
        out.copy_from_slice(self.slice(ptr, N as u64)?);
        Ok(out)
    }

    fn u16(&self, ptr: u32) -> Result<u16, Errno> {
        self.array(ptr).map(u16::from_le_bytes)
    }

    fn u32(&self, ptr: u32) -> Result<u32, Errno> {
        self.array(ptr).map(u32::from_le_bytes)
    }

    fn u64(&self, ptr: u32) -> Result<u64, Errno> {
        self.array(ptr).map(u64::from_le_bytes)
    }

    fn put(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        self.slice_mut(ptr, bytes.len() as u64)?.copy_from_slice(bytes);
        Ok(())
    }

    fn put_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }

    fn put_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }

    /// A path or name argument: must be in bounds and valid UTF-8 (`EILSEQ`), as the witx
    /// declares paths as strings.
    fn str(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let bytes = self.slice(ptr, u64::from(len))?;
        std::str::from_utf8(bytes).map_err(|_| Errno::Ilseq)?;
        Ok(bytes)
    }

    /// The `(buf, buf_len)` of iovec `i` in the array at `iovs`.
    fn iov(&self, iovs: u32, i: u32) -> Result<(u32, u32), Errno> {
        let at = offset(iovs, 8 * u64::from(i))?;
        Ok((self.u32(at)?, self.u32(offset(at, 4)?)?))
    }

    /// The bytes of a ciovec array, borrowed when there is one buffer and copied otherwise.
    fn gather(&self, iovs: u32, count: u32) -> Result<std::borrow::Cow<'_, [u8]>, Errno> {
        if count == 1 {
            let (ptr, len) = self.iov(iovs, 0)?;
            return Ok(self.slice(ptr, u64::from(len))?.into());
        }
        let mut out = Vec::new();
        for i in 0..count {
            let (ptr, len) = self.iov(iovs, i)?;
            out.extend_from_slice(self.slice(ptr, u64::from(len))?);
        }
        Ok(out.into())
    }
}

/// Everything a host function works on.
struct Env<'a> {
    mem: Mem<'a>,
    ctx: &'a mut WasiCtx,
    storage: &'a mut dyn Storage,
}

fn vfs<'s>(storage: &'s mut dyn Storage, ctx: &WasiCtx) -> Vfs<'s> {
    Vfs::new(storage, ctx.now_ns())
}

/// Runs one host call: `f` returns the bytes it moved (for gas) or an errno for the guest.
fn run<T: WasiView>(
    caller: &mut Caller<'_, T>,
    f: impl FnOnce(&mut Env<'_>) -> Result<u64, Errno>,
) -> wasmtime::Result<i32> {
    let memory = match caller.data_mut().wasi_parts().0.memory.0 {
        Some(memory) => memory,
        None => {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return Err(HostError::NoMemory.into());
            };
            caller.data_mut().wasi_parts().0.memory.0 = Some(memory);
            memory
        }
    };
    let (bytes, data) = memory.data_and_store_mut(&mut *caller);
    let (ctx, storage) = data.wasi_parts();
    let mut metered = Metered { inner: storage, ops: Cell::new(0) };
    let mut env = Env { mem: Mem(bytes), ctx, storage: &mut metered };
    let result = env.ctx.mount(&mut *env.storage).and_then(|()| f(&mut env));
    let (errno, moved) = match result {
        Ok(moved) => (Errno::Success, moved),
        Err(e) => (e, 0),
    };
    let fuel = gas::cost(moved, metered.ops.get());
    gas::charge_fuel(caller, fuel)?;
    Ok(i32::from(errno.code()))
}

/// Counts one call's storage accesses, which cost fuel (see [`gas::PER_STORAGE_OP`]).
struct Metered<'s> {
    inner: &'s mut dyn Storage,
    ops: Cell<u64>,
}

impl Metered<'_> {
    fn count(&self) {
        self.ops.set(self.ops.get() + 1);
    }
}

impl Storage for Metered<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.count();
        self.inner.get(key)
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), QuotaExceeded> {
        self.count();
        self.inner.set(key, value)
    }

    fn delete(&mut self, key: &[u8]) {
        self.count();
        self.inner.delete(key);
    }

    fn next(&self, start: &[u8], exclusive: bool, reverse: bool) -> Option<(Vec<u8>, Vec<u8>)> {
        self.count();
        self.inner.next(start, exclusive, reverse)
    }
}

fn ptr(p: i32) -> u32 {
    p as u32
}

fn clock_valid(id: i32) -> Result<(), Errno> {
    // realtime, monotonic, process and thread CPU time all read the virtual clock.
    if (0..=3).contains(&id) { Ok(()) } else { Err(Errno::Inval) }
}

/// Decodes `fstflags` into the new access and modification times.
fn times(now: u64, atim: i64, mtim: i64, flags: i32) -> Result<(Option<u64>, Option<u64>), Errno> {
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & !0xf != 0
        || flags & (FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW) == FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW
        || flags & (FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW) == FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW
    {
        return Err(Errno::Inval);
    }
    let pick = |set: u16, set_now: u16, value: i64| {
        if flags & set != 0 {
            Some(value as u64)
        } else if flags & set_now != 0 {
            Some(now)
        } else {
            None
        }
    };
    Ok((pick(FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW, atim), pick(FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW, mtim)))
}

fn write_filestat(mem: &mut Mem<'_>, at: u32, st: &FileStat) -> Result<(), Errno> {
    let mut b = [0u8; 64];
    b[8..16].copy_from_slice(&st.ino.to_le_bytes());
    b[16] = st.file_type.wasi_code();
    b[24..32].copy_from_slice(&st.nlink.to_le_bytes());
    b[32..40].copy_from_slice(&st.size.to_le_bytes());
    b[40..48].copy_from_slice(&st.atim.to_le_bytes());
    b[48..56].copy_from_slice(&st.mtim.to_le_bytes());
    b[56..64].copy_from_slice(&st.ctim.to_le_bytes());
    mem.put(at, &b)
}

/// The regular file behind `fd` with the `need`ed right: directories give `EISDIR`, standard
/// streams `ESPIPE`, a missing right `EBADF`.
fn file(ctx: &mut WasiCtx, fd: i32, need: u64) -> Result<(Ino, &mut u64, u16), Errno> {
    let entry = ctx.fd_mut(fd)?;
    if entry.rights_base & need != need {
        return Err(match entry.desc {
            Desc::Dir { .. } => Errno::Isdir,
            _ => Errno::Badf,
        });
    }
    let flags = entry.flags;
    match &mut entry.desc {
        Desc::File { ino, pos } => Ok((*ino, pos, flags)),
        Desc::Dir { .. } => Err(Errno::Isdir),
        Desc::Stdin | Desc::Stdout | Desc::Stderr => Err(Errno::Spipe),
    }
}

fn strings_get(mem: &mut Mem<'_>, list: &[String], ptrs: u32, buf: u32) -> Result<u64, Errno> {
    let mut at = buf;
    for (i, s) in (0u64..).zip(list) {
        mem.put_u32(offset(ptrs, 4 * i)?, at)?;
        mem.put(at, s.as_bytes())?;
        let end = offset(at, s.len() as u64)?;
        mem.put(end, &[0])?;
        at = offset(end, 1)?;
    }
    Ok(u64::from(at - buf))
}

fn sizes_get(mem: &mut Mem<'_>, list: &[String], count: u32, size: u32) -> Result<u64, Errno> {
    let bytes: usize = list.iter().map(|s| s.len() + 1).sum();
    mem.put_u32(count, list.len() as u32)?;
    mem.put_u32(size, bytes as u32)?;
    Ok(0)
}

fn args_get<T: WasiView>(mut c: Caller<'_, T>, argv: i32, buf: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| strings_get(&mut env.mem, &env.ctx.args, ptr(argv), ptr(buf)))
}

fn args_sizes_get<T: WasiView>(mut c: Caller<'_, T>, n: i32, size: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| sizes_get(&mut env.mem, &env.ctx.args, ptr(n), ptr(size)))
}

fn environ_get<T: WasiView>(mut c: Caller<'_, T>, envp: i32, buf: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| strings_get(&mut env.mem, &env.ctx.env, ptr(envp), ptr(buf)))
}

fn environ_sizes_get<T: WasiView>(mut c: Caller<'_, T>, n: i32, size: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| sizes_get(&mut env.mem, &env.ctx.env, ptr(n), ptr(size)))
}

fn clock_res_get<T: WasiView>(mut c: Caller<'_, T>, id: i32, out: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        clock_valid(id)?;
        env.mem.put_u64(ptr(out), 1)?;
        Ok(0)
    })
}

fn clock_time_get<T: WasiView>(
    mut c: Caller<'_, T>,
    id: i32,
    _precision: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        clock_valid(id)?;
        env.mem.put_u64(ptr(out), env.ctx.now_ns())?;
        Ok(0)
    })
}

fn fd_advise<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    _offset: i64,
    _len: i64,
    advice: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        if let Desc::Stdin | Desc::Stdout | Desc::Stderr = env.ctx.fd(fd)?.desc {
            return Err(Errno::Spipe);
        }
        if !(0..=5).contains(&advice) {
            return Err(Errno::Inval);
        }
        Ok(0)
    })
}

fn fd_allocate<T: WasiView>(mut c: Caller<'_, T>, fd: i32, off: i64, len: i64) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let (ino, _, _) = file(env.ctx, fd, rights::FD_WRITE)?;
        if off < 0 || len <= 0 {
            return Err(Errno::Inval);
        }
        let end = (off as u64).checked_add(len as u64).filter(|&e| e <= MAX_FILE_SIZE).ok_or(Errno::Fbig)?;
        let mut vfs = vfs(env.storage, env.ctx);
        if vfs.stat_ino(ino)?.size < end {
            vfs.set_size(ino, end)?;
        }
        Ok(0)
    })
}

fn fd_close<T: WasiView>(mut c: Caller<'_, T>, fd: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let fd = u32::try_from(fd).map_err(|_| Errno::Badf)?;
        env.ctx.fds.remove(&fd).ok_or(Errno::Badf)?;
        Ok(0)
    })
}

/// `fd_sync` and `fd_datasync`: state is durable once the block commits, so nothing to do.
fn fd_sync<T: WasiView>(mut c: Caller<'_, T>, fd: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| env.ctx.fd(fd).map(|_| 0))
}

fn fd_fdstat_get<T: WasiView>(mut c: Caller<'_, T>, fd: i32, out: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let entry = env.ctx.fd(fd)?;
        let mut b = [0u8; 24];
        b[0] = match entry.desc {
            Desc::Stdin | Desc::Stdout | Desc::Stderr => FILETYPE_CHARACTER_DEVICE,
            Desc::File { .. } => FileType::RegularFile.wasi_code(),
            Desc::Dir { .. } => FileType::Directory.wasi_code(),
        };
        b[2..4].copy_from_slice(&entry.flags.to_le_bytes());
        b[8..16].copy_from_slice(&entry.rights_base.to_le_bytes());
        b[16..24].copy_from_slice(&entry.rights_inheriting.to_le_bytes());
        env.mem.put(ptr(out), &b)?;
        Ok(0)
    })
}

fn fd_fdstat_set_flags<T: WasiView>(mut c: Caller<'_, T>, fd: i32, flags: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let entry = env.ctx.fd_mut(fd)?;
        let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
        if flags & !FDFLAGS_ALL != 0 {
            return Err(Errno::Inval);
        }
        entry.flags = flags;
        Ok(0)
    })
}

fn fd_fdstat_set_rights<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    base: i64,
    inheriting: i64,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let entry = env.ctx.fd_mut(fd)?;
        let (base, inheriting) = (base as u64, inheriting as u64);
        if base & !entry.rights_base != 0 || inheriting & !entry.rights_inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        entry.rights_base = base;
        entry.rights_inheriting = inheriting;
        Ok(0)
    })
}

fn fd_filestat_get<T: WasiView>(mut c: Caller<'_, T>, fd: i32, out: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let st = match env.ctx.fd(fd)?.desc {
            Desc::File { ino, .. } | Desc::Dir { ino, .. } => vfs(env.storage, env.ctx).stat_ino(ino)?,
            Desc::Stdin | Desc::Stdout | Desc::Stderr => {
                let mut b = [0u8; 64];
                b[16] = FILETYPE_CHARACTER_DEVICE;
                b[24] = 1;
                env.mem.put(ptr(out), &b)?;
                return Ok(0);
            }
        };
        write_filestat(&mut env.mem, ptr(out), &st)?;
        Ok(0)
    })
}

fn fd_filestat_set_size<T: WasiView>(mut c: Caller<'_, T>, fd: i32, size: i64) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let (ino, _, _) = file(env.ctx, fd, rights::FD_WRITE)?;
        vfs(env.storage, env.ctx).set_size(ino, size as u64)?;
        Ok(0)
    })
}

fn fd_filestat_set_times<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    atim: i64,
    mtim: i64,
    flags: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let (a, m) = times(env.ctx.now_ns(), atim, mtim, flags)?;
        match env.ctx.fd(fd)?.desc {
            Desc::File { ino, .. } | Desc::Dir { ino, .. } => {
                vfs(env.storage, env.ctx).set_times(ino, a, m)?
            }
            // Standard streams have no stored metadata to change.
            Desc::Stdin | Desc::Stdout | Desc::Stderr => {}
        }
        Ok(0)
    })
}

fn fd_pread<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    iovs: i32,
    count: i32,
    off: i64,
    nread: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let (ino, _, _) = file(env.ctx, fd, rights::FD_READ)?;
        if off < 0 {
            return Err(Errno::Inval);
        }
        env.mem.slice(ptr(nread), 4)?;
        let n = read_file(env, ino, off as u64, ptr(iovs), count as u32)?;
        env.mem.put_u32(ptr(nread), n as u32)?;
        Ok(n)
    })
}

/// Fills the iovecs from a file starting at `pos`; returns the bytes read.
fn read_file(env: &mut Env<'_>, ino: Ino, pos: u64, iovs: u32, count: u32) -> Result<u64, Errno> {
    let vfs = vfs(env.storage, env.ctx);
    let mut done = 0u64;
    for i in 0..count {
        let (p, len) = env.mem.iov(iovs, i)?;
        let buf = env.mem.slice_mut(p, u64::from(len))?;
        let n = vfs.read_at(ino, pos + done, buf)?;
        done += n as u64;
        if n < buf.len() {
            break;
        }
    }
    Ok(done)
}

fn fd_prestat_get<T: WasiView>(mut c: Caller<'_, T>, fd: i32, out: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        // wasi-libc scans fds from 3 until EBADF, so non-preopens must say exactly that.
        let name = env.ctx.fd(fd)?.preopen.as_ref().ok_or(Errno::Badf)?;
        let mut b = [0u8; 8];
        b[4..].copy_from_slice(&(name.len() as u32).to_le_bytes());
        env.mem.put(ptr(out), &b)?;
        Ok(0)
    })
}

fn fd_prestat_dir_name<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    out: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let name = env.ctx.fd(fd)?.preopen.as_ref().ok_or(Errno::Badf)?;
        if (len as u32 as usize) < name.len() {
            return Err(Errno::Nametoolong);
        }
        env.mem.put(ptr(out), name.as_bytes())?;
        Ok(name.len() as u64)
    })
}

fn fd_pwrite<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    iovs: i32,
    count: i32,
    off: i64,
    nwritten: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let (ino, _, _) = file(env.ctx, fd, rights::FD_WRITE)?;
        if off < 0 {
            return Err(Errno::Inval);
        }
        env.mem.slice(ptr(nwritten), 4)?;
        let data = env.mem.gather(ptr(iovs), count as u32)?;
        let n = data.len() as u64;
        // POSIX: pwrite writes at `off` even on an append-mode descriptor.
        vfs(env.storage, env.ctx).write_at(ino, Some(off as u64), &data)?;
        env.mem.put_u32(ptr(nwritten), n as u32)?;
        Ok(n)
    })
}

fn fd_read<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    iovs: i32,
    count: i32,
    nread: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        env.mem.slice(ptr(nread), 4)?;
        let entry = env.ctx.fd(fd)?;
        let n = match entry.desc {
            Desc::Stdin if entry.rights_base & rights::FD_READ == 0 => return Err(Errno::Badf),
            Desc::Stdin => {
                let mut done = 0u64;
                for i in 0..count as u32 {
                    let (p, len) = env.mem.iov(ptr(iovs), i)?;
                    let buf = env.mem.slice_mut(p, u64::from(len))?;
                    let n = env.ctx.read_stdin(buf);
                    done += n as u64;
                    if n < buf.len() {
                        break;
                    }
                }
                done
            }
            _ => {
                let (ino, pos, _) = file(env.ctx, fd, rights::FD_READ)?;
                let start = *pos;
                let n = read_file(env, ino, start, ptr(iovs), count as u32)?;
                *file(env.ctx, fd, 0)?.1 = start + n;
                n
            }
        };
        env.mem.put_u32(ptr(nread), n as u32)?;
        Ok(n)
    })
}

fn fd_readdir<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    buf: i32,
    len: i32,
    cookie: i64,
    used: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let len = len as u32 as usize;
        env.mem.slice(ptr(used), 4)?;
        env.mem.slice(ptr(buf), len as u64)?;
        let cookie = cookie as u64;
        let (ino, cache) = match &env.ctx.fd(fd)?.desc {
            Desc::Dir { ino, readdir, .. } => (*ino, readdir),
            _ => return Err(Errno::Notdir),
        };
        let vfs = vfs(env.storage, env.ctx);
        let parent = vfs.inode(ino)?.parent;
        let mut out = Vec::with_capacity(len.min(64 * 1024));
        let mut emitted = Vec::new();
        // Entry `i` is `.` (0), `..` (1), then the names in order; cookie `c` resumes at entry `c`.
        let mut index = cookie;
        for (i, name, dir_ino) in [(0, &b"."[..], ino), (1, &b".."[..], parent)] {
            if index == i && out.len() < len {
                push_dirent(&mut out, i + 1, dir_ino, FileType::Directory, name);
                index += 1;
            }
        }
        let mut after: Option<Vec<u8>> = None;
        if index >= 3 {
            match cache.iter().find(|(c, _)| *c == index) {
                Some((_, name)) => after = Some(name.clone()),
                None => {
                    // Not a cookie we handed out last time: walk to it.
                    for _ in 2..index {
                        match vfs.next_entry(ino, after.as_deref())? {
                            Some((name, _)) => after = Some(name),
                            None => break,
                        }
                    }
                }
            }
        }
        if index >= 2 {
            while out.len() < len {
                let Some((name, e)) = vfs.next_entry(ino, after.as_deref())? else {
                    break;
                };
                index += 1;
                push_dirent(&mut out, index, e.ino, e.kind, &name);
                emitted.push((index, name.clone()));
                after = Some(name);
            }
        }
        // A last entry that does not fit is cut off: bufused == buf_len tells the guest to
        // come back from the last complete entry's cookie.
        out.truncate(len);
        env.mem.put(ptr(buf), &out)?;
        env.mem.put_u32(ptr(used), out.len() as u32)?;
        if let Ok(FdEntry { desc: Desc::Dir { readdir, .. }, .. }) = env.ctx.fd_mut(fd) {
            *readdir = emitted;
        }
        Ok(out.len() as u64)
    })
}

/// Appends one `dirent` (24-byte header, then the name) to `out`.
fn push_dirent(out: &mut Vec<u8>, next: u64, ino: Ino, kind: FileType, name: &[u8]) {
    out.reserve(DIRENT_SIZE + name.len());
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(&[kind.wasi_code(), 0, 0, 0]);
    out.extend_from_slice(name);
}

fn fd_renumber<T: WasiView>(mut c: Caller<'_, T>, from: i32, to: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        env.ctx.fd(from)?;
        env.ctx.fd(to)?;
        if from != to {
            let entry = env.ctx.fds.remove(&(from as u32)).ok_or(Errno::Badf)?;
            env.ctx.fds.insert(to as u32, entry);
        }
        Ok(0)
    })
}

fn fd_seek<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    delta: i64,
    whence: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        env.mem.slice(ptr(out), 8)?;
        let (ino, pos, _) = file(env.ctx, fd, 0)?;
        let base = match whence {
            0 => 0,
            1 => *pos,
            2 => vfs(env.storage, env.ctx).stat_ino(ino)?.size,
            _ => return Err(Errno::Inval),
        };
        let new = base.checked_add_signed(delta).filter(|&p| p <= MAX_FILE_SIZE).ok_or(Errno::Inval)?;
        *file(env.ctx, fd, 0)?.1 = new;
        env.mem.put_u64(ptr(out), new)?;
        Ok(0)
    })
}

fn fd_tell<T: WasiView>(mut c: Caller<'_, T>, fd: i32, out: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let pos = *file(env.ctx, fd, 0)?.1;
        env.mem.put_u64(ptr(out), pos)?;
        Ok(0)
    })
}

fn fd_write<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    iovs: i32,
    count: i32,
    nwritten: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        env.mem.slice(ptr(nwritten), 4)?;
        let entry = env.ctx.fd(fd)?;
        let n = match entry.desc {
            Desc::Stdout | Desc::Stderr if entry.rights_base & rights::FD_WRITE == 0 => {
                return Err(Errno::Badf);
            }
            Desc::Stdout | Desc::Stderr => {
                let to_stdout = matches!(entry.desc, Desc::Stdout);
                let mut n = 0;
                for i in 0..count as u32 {
                    let (p, len) = env.mem.iov(ptr(iovs), i)?;
                    let data = env.mem.slice(p, u64::from(len))?;
                    if to_stdout {
                        env.ctx.write_stdout(data);
                    } else {
                        env.ctx.write_stderr(data);
                    }
                    n += u64::from(len);
                }
                n
            }
            _ => {
                let (ino, pos, flags) = file(env.ctx, fd, rights::FD_WRITE)?;
                let start = *pos;
                let data = env.mem.gather(ptr(iovs), count as u32)?;
                let n = data.len() as u64;
                let mut vfs = vfs(env.storage, env.ctx);
                let append = flags & FDFLAGS_APPEND != 0;
                let at = vfs.write_at(ino, (!append).then_some(start), &data)?;
                drop(data);
                *file(env.ctx, fd, 0)?.1 = at + n;
                n
            }
        };
        env.mem.put_u32(ptr(nwritten), n as u32)?;
        Ok(n)
    })
}

fn path_create_directory<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    p: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let path = env.mem.str(ptr(p), len as u32)?;
        let at = env.ctx.at(fd, path)?;
        vfs(env.storage, env.ctx).mkdir_at(at)?;
        Ok(path.len() as u64)
    })
}

fn path_filestat_get<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    flags: i32,
    p: i32,
    len: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let path = env.mem.str(ptr(p), len as u32)?;
        let moved = path.len() as u64;
        let at = env.ctx.at(fd, path)?;
        let st = vfs(env.storage, env.ctx).stat_at(at, flags & LOOKUP_SYMLINK_FOLLOW != 0)?;
        write_filestat(&mut env.mem, ptr(out), &st)?;
        Ok(moved)
    })
}

#[allow(clippy::too_many_arguments)] // the witx signature
fn path_filestat_set_times<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    flags: i32,
    p: i32,
    len: i32,
    atim: i64,
    mtim: i64,
    fst: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let (a, m) = times(env.ctx.now_ns(), atim, mtim, fst)?;
        let path = env.mem.str(ptr(p), len as u32)?;
        let at = env.ctx.at(fd, path)?;
        let mut vfs = vfs(env.storage, env.ctx);
        let e = vfs.stat_at(at, flags & LOOKUP_SYMLINK_FOLLOW != 0)?;
        vfs.set_times(e.ino, a, m)?;
        Ok(path.len() as u64)
    })
}

#[allow(clippy::too_many_arguments)] // the witx signature
fn path_link<T: WasiView>(
    mut c: Caller<'_, T>,
    old_fd: i32,
    old_flags: i32,
    old_p: i32,
    old_len: i32,
    new_fd: i32,
    new_p: i32,
    new_len: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let old = env.mem.str(ptr(old_p), old_len as u32)?;
        let new = env.mem.str(ptr(new_p), new_len as u32)?;
        let (old_at, new_at) = (env.ctx.at(old_fd, old)?, env.ctx.at(new_fd, new)?);
        vfs(env.storage, env.ctx).link_at(old_at, old_flags & LOOKUP_SYMLINK_FOLLOW != 0, new_at)?;
        Ok((old.len() + new.len()) as u64)
    })
}

#[allow(clippy::too_many_arguments)] // the witx signature
fn path_open<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    dirflags: i32,
    p: i32,
    len: i32,
    oflags: i32,
    base: i64,
    inheriting: i64,
    fdflags: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let oflags = u16::try_from(oflags).map_err(|_| Errno::Inval)?;
        let fdflags = u16::try_from(fdflags).map_err(|_| Errno::Inval)?;
        if oflags & !0xf != 0 || fdflags & !FDFLAGS_ALL != 0 {
            return Err(Errno::Inval);
        }
        env.mem.slice(ptr(out), 4)?;
        let path = env.mem.str(ptr(p), len as u32)?;
        let path_len = path.len() as u64;
        let at = env.ctx.at(fd, path)?;
        if env.ctx.fds.len() >= MAX_FDS {
            return Err(Errno::Mfile);
        }
        let (base, inheriting) = (base as u64, inheriting as u64);
        let opts = OpenOptions {
            create: oflags & OFLAGS_CREAT != 0,
            directory: oflags & OFLAGS_DIRECTORY != 0,
            exclusive: oflags & OFLAGS_EXCL != 0,
            truncate: oflags & OFLAGS_TRUNC != 0,
            write: base & rights::FD_WRITE != 0,
            follow: dirflags & LOOKUP_SYMLINK_FOLLOW != 0,
        };
        let e = vfs(env.storage, env.ctx).open(at, opts)?;
        let parent = env.ctx.fd(fd)?;
        let allowed = parent.rights_inheriting;
        let (desc, mask) = match e.kind {
            FileType::Directory => {
                (Desc::Dir { ino: e.ino, root: at.root, readdir: Vec::new() }, rights::DIR)
            }
            _ => (Desc::File { ino: e.ino, pos: 0 }, rights::FILE),
        };
        let new = env.ctx.insert(FdEntry {
            desc,
            flags: fdflags,
            rights_base: base & allowed & mask,
            rights_inheriting: inheriting & allowed,
            preopen: None,
        })?;
        env.mem.put_u32(ptr(out), new)?;
        Ok(path_len)
    })
}

fn path_readlink<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    p: i32,
    len: i32,
    buf: i32,
    buf_len: i32,
    used: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        env.mem.slice(ptr(used), 4)?;
        let path = env.mem.str(ptr(p), len as u32)?;
        let path_len = path.len();
        let at = env.ctx.at(fd, path)?;
        let target = vfs(env.storage, env.ctx).readlink_at(at)?;
        // Like readlink(2): silently truncated to the buffer, no NUL.
        let n = target.len().min(buf_len as u32 as usize);
        env.mem.put(ptr(buf), &target[..n])?;
        env.mem.put_u32(ptr(used), n as u32)?;
        Ok((path_len + n) as u64)
    })
}

fn path_remove_directory<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    p: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let path = env.mem.str(ptr(p), len as u32)?;
        let at = env.ctx.at(fd, path)?;
        vfs(env.storage, env.ctx).rmdir_at(at)?;
        Ok(path.len() as u64)
    })
}

fn path_rename<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: i32,
    old_p: i32,
    old_len: i32,
    new_fd: i32,
    new_p: i32,
    new_len: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let old = env.mem.str(ptr(old_p), old_len as u32)?;
        let new = env.mem.str(ptr(new_p), new_len as u32)?;
        let (old_at, new_at) = (env.ctx.at(fd, old)?, env.ctx.at(new_fd, new)?);
        vfs(env.storage, env.ctx).rename_at(old_at, new_at)?;
        Ok((old.len() + new.len()) as u64)
    })
}

fn path_symlink<T: WasiView>(
    mut c: Caller<'_, T>,
    old_p: i32,
    old_len: i32,
    fd: i32,
    new_p: i32,
    new_len: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let target = env.mem.str(ptr(old_p), old_len as u32)?;
        let path = env.mem.str(ptr(new_p), new_len as u32)?;
        let at = env.ctx.at(fd, path)?;
        vfs(env.storage, env.ctx).symlink_at(target, at)?;
        Ok((target.len() + path.len()) as u64)
    })
}

fn path_unlink_file<T: WasiView>(mut c: Caller<'_, T>, fd: i32, p: i32, len: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let path = env.mem.str(ptr(p), len as u32)?;
        let at = env.ctx.at(fd, path)?;
        vfs(env.storage, env.ctx).unlink_at(at)?;
        Ok(path.len() as u64)
    })
}

/// One parsed subscription of `poll_oneoff`.
enum Sub {
    /// The deadline on the virtual clock, or the error for a bad clock id.
    Clock(Result<u64, Errno>),
    /// An fd subscription, already evaluated: `(type, error, nbytes, flags)`.
    Fd(u8, Errno, u64, u16),
}

/// Readiness of `fd` for an fd subscription: files and streams are always ready.
fn fd_readiness(env: &mut Env<'_>, fd: i32, read: bool) -> (Errno, u64, u16) {
    let need = if read { rights::FD_READ } else { rights::FD_WRITE };
    let entry = match env.ctx.fd(fd) {
        Ok(e) if e.rights_base & need == need => e,
        Ok(_) | Err(_) => return (Errno::Badf, 0, 0),
    };
    match entry.desc {
        Desc::Stdin => {
            let left = env.ctx.stdin_left() as u64;
            (Errno::Success, left, if left == 0 { EVENTRWFLAGS_HANGUP } else { 0 })
        }
        Desc::File { ino, pos } if read => match vfs(env.storage, env.ctx).stat_ino(ino) {
            Ok(st) => (Errno::Success, st.size.saturating_sub(pos), 0),
            Err(e) => (e, 0, 0),
        },
        _ => (Errno::Success, 0, 0),
    }
}

fn poll_oneoff<T: WasiView>(
    mut c: Caller<'_, T>,
    subs: i32,
    events: i32,
    n: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let n = n as u32;
        if n == 0 {
            return Err(Errno::Inval);
        }
        env.mem.slice(ptr(subs), u64::from(n) * u64::from(SUBSCRIPTION_SIZE))?;
        env.mem.slice(ptr(events), u64::from(n) * u64::from(EVENT_SIZE))?;
        env.mem.slice(ptr(nevents), 4)?;
        let now = env.ctx.now_ns();
        let mut parsed = Vec::with_capacity(n as usize);
        for i in 0..n {
            let at = ptr(subs) + i * SUBSCRIPTION_SIZE;
            let userdata = env.mem.u64(at)?;
            let sub = match env.mem.slice(at + 8, 1)?[0] {
                EVENTTYPE_CLOCK => {
                    let id = env.mem.u32(at + 16)?;
                    let timeout = env.mem.u64(at + 24)?;
                    let flags = env.mem.u16(at + 40)?;
                    Sub::Clock(clock_valid(id as i32).map(|()| {
                        if flags & SUBCLOCKFLAGS_ABSTIME != 0 { timeout } else { now.saturating_add(timeout) }
                    }))
                }
                ty @ (EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE) => {
                    let fd = env.mem.u32(at + 16)? as i32;
                    let (err, nbytes, flags) = fd_readiness(env, fd, ty == EVENTTYPE_FD_READ);
                    Sub::Fd(ty, err, nbytes, flags)
                }
                _ => return Err(Errno::Inval),
            };
            parsed.push((userdata, sub));
        }
        // Files are always ready, so the guest only "waits" when it subscribed to clocks
        // alone: then the virtual clock jumps to the earliest deadline.
        if !parsed.iter().any(|(_, s)| matches!(s, Sub::Fd(..))) {
            let earliest = parsed
                .iter()
                .filter_map(|(_, s)| match s {
                    Sub::Clock(Ok(d)) => Some(*d),
                    _ => None,
                })
                .min();
            if let Some(deadline) = earliest {
                env.ctx.sleep_until(deadline);
            }
        }
        let now = env.ctx.now_ns();
        let mut out = ptr(events);
        let mut count = 0u32;
        for (userdata, sub) in &parsed {
            let (ty, err, nbytes, flags) = match *sub {
                Sub::Clock(Ok(deadline)) if deadline <= now => (EVENTTYPE_CLOCK, Errno::Success, 0, 0),
                Sub::Clock(Ok(_)) => continue,
                Sub::Clock(Err(e)) => (EVENTTYPE_CLOCK, e, 0, 0),
                Sub::Fd(ty, err, nbytes, flags) => (ty, err, nbytes, flags),
            };
            let mut b = [0u8; EVENT_SIZE as usize];
            b[..8].copy_from_slice(&userdata.to_le_bytes());
            b[8..10].copy_from_slice(&err.code().to_le_bytes());
            b[10] = ty;
            b[16..24].copy_from_slice(&nbytes.to_le_bytes());
            b[24..26].copy_from_slice(&flags.to_le_bytes());
            env.mem.put(out, &b)?;
            out += EVENT_SIZE;
            count += 1;
        }
        env.mem.put_u32(ptr(nevents), count)?;
        Ok(u64::from(n) * u64::from(SUBSCRIPTION_SIZE) + u64::from(count) * u64::from(EVENT_SIZE))
    })
}

fn proc_exit<T: WasiView>(mut c: Caller<'_, T>, code: i32) -> wasmtime::Result<()> {
    gas::charge(&mut c, 0)?;
    Err(ProcExit(code as u32).into())
}

fn proc_raise<T: WasiView>(mut c: Caller<'_, T>, _sig: i32) -> wasmtime::Result<i32> {
    run(&mut c, |_| Err(Errno::Nosys))
}

fn sched_yield<T: WasiView>(mut c: Caller<'_, T>) -> wasmtime::Result<i32> {
    run(&mut c, |_| Ok(0))
}

fn random_get<T: WasiView>(mut c: Caller<'_, T>, buf: i32, len: i32) -> wasmtime::Result<i32> {
    run(&mut c, |env| {
        let len = u64::from(len as u32);
        let out = env.mem.slice_mut(ptr(buf), len)?;
        env.ctx.fill_random(out);
        Ok(len)
    })
}

fn sock_accept<T: WasiView>(mut c: Caller<'_, T>, _fd: i32, _flags: i32, _out: i32) -> wasmtime::Result<i32> {
    run(&mut c, |_| Err(Errno::Nosys))
}

fn sock_recv<T: WasiView>(
    mut c: Caller<'_, T>,
    _fd: i32,
    _iovs: i32,
    _count: i32,
    _flags: i32,
    _nread: i32,
    _oflags: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |_| Err(Errno::Nosys))
}

fn sock_send<T: WasiView>(
    mut c: Caller<'_, T>,
    _fd: i32,
    _iovs: i32,
    _count: i32,
    _flags: i32,
    _nwritten: i32,
) -> wasmtime::Result<i32> {
    run(&mut c, |_| Err(Errno::Nosys))
}

fn sock_shutdown<T: WasiView>(mut c: Caller<'_, T>, _fd: i32, _how: i32) -> wasmtime::Result<i32> {
    run(&mut c, |_| Err(Errno::Nosys))
}

/// Defines all 46 `wasi_snapshot_preview1` functions in `linker`.
pub fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "args_get", args_get::<T>)?;
    linker.func_wrap(MODULE, "args_sizes_get", args_sizes_get::<T>)?;
    linker.func_wrap(MODULE, "environ_get", environ_get::<T>)?;
    linker.func_wrap(MODULE, "environ_sizes_get", environ_sizes_get::<T>)?;
    linker.func_wrap(MODULE, "clock_res_get", clock_res_get::<T>)?;
    linker.func_wrap(MODULE, "clock_time_get", clock_time_get::<T>)?;
    linker.func_wrap(MODULE, "fd_advise", fd_advise::<T>)?;
    linker.func_wrap(MODULE, "fd_allocate", fd_allocate::<T>)?;
    linker.func_wrap(MODULE, "fd_close", fd_close::<T>)?;
    linker.func_wrap(MODULE, "fd_datasync", fd_sync::<T>)?;
    linker.func_wrap(MODULE, "fd_fdstat_get", fd_fdstat_get::<T>)?;
    linker.func_wrap(MODULE, "fd_fdstat_set_flags", fd_fdstat_set_flags::<T>)?;
    linker.func_wrap(MODULE, "fd_fdstat_set_rights", fd_fdstat_set_rights::<T>)?;
    linker.func_wrap(MODULE, "fd_filestat_get", fd_filestat_get::<T>)?;
    linker.func_wrap(MODULE, "fd_filestat_set_size", fd_filestat_set_size::<T>)?;
    linker.func_wrap(MODULE, "fd_filestat_set_times", fd_filestat_set_times::<T>)?;
    linker.func_wrap(MODULE, "fd_pread", fd_pread::<T>)?;
    linker.func_wrap(MODULE, "fd_prestat_get", fd_prestat_get::<T>)?;
    linker.func_wrap(MODULE, "fd_prestat_dir_name", fd_prestat_dir_name::<T>)?;
    linker.func_wrap(MODULE, "fd_pwrite", fd_pwrite::<T>)?;
    linker.func_wrap(MODULE, "fd_read", fd_read::<T>)?;
    linker.func_wrap(MODULE, "fd_readdir", fd_readdir::<T>)?;
    linker.func_wrap(MODULE, "fd_renumber", fd_renumber::<T>)?;
    linker.func_wrap(MODULE, "fd_seek", fd_seek::<T>)?;
    linker.func_wrap(MODULE, "fd_sync", fd_sync::<T>)?;
    linker.func_wrap(MODULE, "fd_tell", fd_tell::<T>)?;
    linker.func_wrap(MODULE, "fd_write", fd_write::<T>)?;
    linker.func_wrap(MODULE, "path_create_directory", path_create_directory::<T>)?;
    linker.func_wrap(MODULE, "path_filestat_get", path_filestat_get::<T>)?;
    linker.func_wrap(MODULE, "path_filestat_set_times", path_filestat_set_times::<T>)?;
    linker.func_wrap(MODULE, "path_link", path_link::<T>)?;
    linker.func_wrap(MODULE, "path_open", path_open::<T>)?;
    linker.func_wrap(MODULE, "path_readlink", path_readlink::<T>)?;
    linker.func_wrap(MODULE, "path_remove_directory", path_remove_directory::<T>)?;
    linker.func_wrap(MODULE, "path_rename", path_rename::<T>)?;
    linker.func_wrap(MODULE, "path_symlink", path_symlink::<T>)?;
    linker.func_wrap(MODULE, "path_unlink_file", path_unlink_file::<T>)?;
    linker.func_wrap(MODULE, "poll_oneoff", poll_oneoff::<T>)?;
    linker.func_wrap(MODULE, "proc_exit", proc_exit::<T>)?;
    linker.func_wrap(MODULE, "proc_raise", proc_raise::<T>)?;
    linker.func_wrap(MODULE, "sched_yield", sched_yield::<T>)?;
    linker.func_wrap(MODULE, "random_get", random_get::<T>)?;
    linker.func_wrap(MODULE, "sock_accept", sock_accept::<T>)?;
    linker.func_wrap(MODULE, "sock_recv", sock_recv::<T>)?;
    linker.func_wrap(MODULE, "sock_send", sock_send::<T>)?;
    linker.func_wrap(MODULE, "sock_shutdown", sock_shutdown::<T>)?;
    Ok(())
}
