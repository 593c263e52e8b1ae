//! Runs real WebAssembly against `add_to_linker`: every preview1 function, its results and errnos.

use nexus_wasi::{
    Errno, HostError, MemStorage, ProcExit, Storage, WasiConfig, WasiCtx, WasiView, add_to_linker, gas,
};
use wasmtime::{Config, Engine, Instance, Linker, Module, Store, Trap, Val, ValType};

const T: u64 = 1_700_000_000_123_456_789;
const FUEL: u64 = 100_000_000;

/// Every preview1 import: name, parameter types (`i` = i32, `I` = i64), whether it returns.
const SIGNATURES: &[(&str, &str, bool)] = &[
    ("args_get", "ii", true),
    ("args_sizes_get", "ii", true),
    ("environ_get", "ii", true),
    ("environ_sizes_get", "ii", true),
    ("clock_res_get", "ii", true),
    ("clock_time_get", "iIi", true),
    ("fd_advise", "iIIi", true),
    ("fd_allocate", "iII", true),
    ("fd_close", "i", true),
    ("fd_datasync", "i", true),
    ("fd_fdstat_get", "ii", true),
    ("fd_fdstat_set_flags", "ii", true),
    ("fd_fdstat_set_rights", "iII", true),
    ("fd_filestat_get", "ii", true),
    ("fd_filestat_set_size", "iI", true),
    ("fd_filestat_set_times", "iIIi", true),
    ("fd_pread", "iiiIi", true),
    ("fd_prestat_get", "ii", true),
    ("fd_prestat_dir_name", "iii", true),
    ("fd_pwrite", "iiiIi", true),
    ("fd_read", "iiii", true),
    ("fd_readdir", "iiiIi", true),
    ("fd_renumber", "ii", true),
    ("fd_seek", "iIii", true),
    ("fd_sync", "i", true),
    ("fd_tell", "ii", true),
    ("fd_write", "iiii", true),
    ("path_create_directory", "iii", true),
    ("path_filestat_get", "iiiii", true),
    ("path_filestat_set_times", "iiiiIIi", true),
    ("path_link", "iiiiiii", true),
    ("path_open", "iiiiiIIii", true),
    ("path_readlink", "iiiiii", true),
    ("path_remove_directory", "iii", true),
    ("path_rename", "iiiiii", true),
    ("path_symlink", "iiiii", true),
    ("path_unlink_file", "iii", true),
    ("poll_oneoff", "iiii", true),
    ("proc_exit", "i", false),
    ("proc_raise", "i", true),
    ("sched_yield", "", true),
    ("random_get", "ii", true),
    ("sock_accept", "iii", true),
    ("sock_recv", "iiiiii", true),
    ("sock_send", "iiiii", true),
    ("sock_shutdown", "ii", true),
];

/// A module importing every function and exporting a wrapper `call_<name>` for each.
fn wrapper_module() -> String {
    let mut imports = String::new();
    let mut exports = String::new();
    for (name, params, ret) in SIGNATURES {
        let types: Vec<&str> = params.chars().map(|c| if c == 'i' { "i32" } else { "i64" }).collect();
        let result = if *ret { "(result i32)" } else { "" };
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) {result}))\n",
            types.join(" ")
        ));
        let gets: String = (0..types.len()).map(|i| format!("local.get {i} ")).collect();
        exports.push_str(&format!(
            "(func (export \"call_{name}\") (param {}) {result} {gets} call ${name})\n",
            types.join(" ")
        ));
    }
    format!("(module\n{imports}(memory (export \"memory\") 2)\n{exports})")
}

struct Host {
    ctx: WasiCtx,
    storage: MemStorage,
}

impl WasiView for Host {
    fn wasi_parts(&mut self) -> (&mut WasiCtx, &mut dyn Storage) {
        (&mut self.ctx, &mut self.storage)
    }
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config).unwrap()
}

struct Guest {
    store: Store<Host>,
    instance: Instance,
}

// Scratch addresses in guest memory.
const PATH: u32 = 0x1000;
const PATH2: u32 = 0x1800;
const OUT: u32 = 0x100;
const IOVS: u32 = 0x200;
const BUF: u32 = 0x4000;

impl Guest {
    fn new(config: WasiConfig, storage: MemStorage) -> Self {
        Self::with_wat(&wrapper_module(), config, storage)
    }

    fn with_wat(wat: &str, config: WasiConfig, storage: MemStorage) -> Self {
        let engine = engine();
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker).unwrap();
        let host = Host { ctx: WasiCtx::new(config), storage };
        let mut store = Store::new(&engine, host);
        store.set_fuel(FUEL).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        Guest { store, instance }
    }

    fn default() -> Self {
        Self::new(WasiConfig { time_ns: T, ..WasiConfig::default() }, MemStorage::new())
    }

    /// Calls `call_<name>` with `args` (converted to the declared types); the raw errno.
    fn try_call(&mut self, name: &str, args: &[i64]) -> wasmtime::Result<i32> {
        let func = self.instance.get_func(&mut self.store, &format!("call_{name}")).unwrap();
        let ty = func.ty(&self.store);
        let params: Vec<Val> = ty
            .params()
            .zip(args)
            .map(|(t, &a)| match t {
                ValType::I64 => Val::I64(a),
                _ => Val::I32(a as i32),
            })
            .collect();
        assert_eq!(params.len(), args.len(), "{name} arity");
        let mut results = vec![Val::I32(0); ty.results().len()];
        func.call(&mut self.store, &params, &mut results)?;
        Ok(results.first().map_or(0, |v| v.unwrap_i32()))
    }

    fn call(&mut self, name: &str, args: &[i64]) -> Result<(), Errno> {
        match self.try_call(name, args).unwrap() {
            0 => Ok(()),
            e => Err(Errno::from_code(e as u16).expect("a WASI errno")),
        }
    }

    fn mem(&mut self) -> &mut [u8] {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        memory.data_mut(&mut self.store)
    }

    fn put(&mut self, at: u32, bytes: &[u8]) {
        self.mem()[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }

    fn get(&mut self, at: u32, len: usize) -> Vec<u8> {
        self.mem()[at as usize..at as usize + len].to_vec()
    }

    fn u32(&mut self, at: u32) -> u32 {
        u32::from_le_bytes(self.get(at, 4).try_into().unwrap())
    }

    fn u64(&mut self, at: u32) -> u64 {
        u64::from_le_bytes(self.get(at, 8).try_into().unwrap())
    }

    fn storage(&self) -> &MemStorage {
        &self.store.data().storage
    }

    fn ctx(&self) -> &WasiCtx {
        &self.store.data().ctx
    }

    /// `path_open` relative to `dir`; returns the new descriptor.
    fn open(&mut self, dir: u32, path: &str, oflags: u16, rights: u64, fdflags: u16) -> Result<u32, Errno> {
        self.open_with(dir, 1, path, oflags, rights, fdflags)
    }

    fn open_with(
        &mut self,
        dir: u32,
        lookup: i64,
        path: &str,
        oflags: u16,
        rights: u64,
        fdflags: u16,
    ) -> Result<u32, Errno> {
        self.put(PATH, path.as_bytes());
        self.call(
            "path_open",
            &[
                dir.into(),
                lookup,
                PATH.into(),
                path.len() as i64,
                oflags.into(),
                rights as i64,
                -1,
                fdflags.into(),
                OUT.into(),
            ],
        )?;
        Ok(self.u32(OUT))
    }

    /// Creates (or truncates) a file; like wasi-libc, maps an absolute path onto the `/` preopen.
    fn create(&mut self, path: &str) -> u32 {
        self.open(3, path.trim_start_matches('/'), CREAT | TRUNC, RW, 0).unwrap()
    }

    /// `path_*` calls taking `(fd, path_ptr, path_len)`.
    fn path_call(&mut self, name: &str, dir: u32, path: &str) -> Result<(), Errno> {
        self.put(PATH, path.as_bytes());
        self.call(name, &[dir.into(), PATH.into(), path.len() as i64])
    }

    /// Calls with two paths: `(fd, old, old_len, fd2, new, new_len)` as `path_rename` takes them.
    fn rename(&mut self, old: &str, new: &str) -> Result<(), Errno> {
        self.put(PATH, old.as_bytes());
        self.put(PATH2, new.as_bytes());
        self.call("path_rename", &[3, PATH.into(), old.len() as i64, 3, PATH2.into(), new.len() as i64])
    }

    fn write(&mut self, fd: u32, data: &[u8]) -> Result<u32, Errno> {
        self.put(BUF, data);
        self.put(IOVS, &iov(BUF, data.len() as u32));
        self.call("fd_write", &[fd.into(), IOVS.into(), 1, OUT.into()])?;
        Ok(self.u32(OUT))
    }

    fn read(&mut self, fd: u32, len: u32) -> Result<Vec<u8>, Errno> {
        self.put(IOVS, &iov(BUF, len));
        self.call("fd_read", &[fd.into(), IOVS.into(), 1, OUT.into()])?;
        let n = self.u32(OUT);
        Ok(self.get(BUF, n as usize))
    }

    fn seek(&mut self, fd: u32, delta: i64, whence: i64) -> Result<u64, Errno> {
        self.call("fd_seek", &[fd.into(), delta, whence, OUT.into()])?;
        Ok(self.u64(OUT))
    }

    fn filestat(&mut self, fd: u32) -> Result<Stat, Errno> {
        self.call("fd_filestat_get", &[fd.into(), 0x300])?;
        Ok(self.stat_at(0x300))
    }

    fn path_stat(&mut self, path: &str, follow: bool) -> Result<Stat, Errno> {
        self.put(PATH, path.as_bytes());
        self.call("path_filestat_get", &[3, i64::from(follow), PATH.into(), path.len() as i64, 0x300])?;
        Ok(self.stat_at(0x300))
    }

    fn stat_at(&mut self, at: u32) -> Stat {
        Stat {
            ino: self.u64(at + 8),
            filetype: self.get(at + 16, 1)[0],
            nlink: self.u64(at + 24),
            size: self.u64(at + 32),
            atim: self.u64(at + 40),
            mtim: self.u64(at + 48),
            ctim: self.u64(at + 56),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Stat {
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

fn iov(ptr: u32, len: u32) -> [u8; 8] {
    let mut b = [0; 8];
    b[..4].copy_from_slice(&ptr.to_le_bytes());
    b[4..].copy_from_slice(&len.to_le_bytes());
    b
}

const CREAT: u16 = 1;
const DIRECTORY: u16 = 2;
const EXCL: u16 = 4;
const TRUNC: u16 = 8;
const FD_READ: u64 = 1 << 1;
const FD_WRITE: u64 = 1 << 6;
const RW: u64 = FD_READ | FD_WRITE | (1 << 2) | (1 << 5) | (1 << 22);
const APPEND: u16 = 1;
const FILETYPE_DIR: u8 = 3;
const FILETYPE_FILE: u8 = 4;
const FILETYPE_SYMLINK: u8 = 7;

#[test]
fn args_and_environ() {
    let mut g = Guest::new(
        WasiConfig {
            args: vec!["prog".into(), "--flag".into(), "ü".into()],
            env: vec![("A".into(), "1".into()), ("PATH".into(), "/bin".into())],
            ..WasiConfig::default()
        },
        MemStorage::new(),
    );
    g.call("args_sizes_get", &[0x10, 0x14]).unwrap();
    assert_eq!((g.u32(0x10), g.u32(0x14)), (3, 5 + 7 + 3));
    g.call("args_get", &[0x20, 0x40]).unwrap();
    let ptrs: Vec<u32> = (0..3).map(|i| g.u32(0x20 + 4 * i)).collect();
    assert_eq!(ptrs, [0x40, 0x45, 0x4c]);
    assert_eq!(g.get(0x40, 15), b"prog\0--flag\0\xc3\xbc\0");
    g.call("environ_sizes_get", &[0x10, 0x14]).unwrap();
    assert_eq!((g.u32(0x10), g.u32(0x14)), (2, 4 + 10));
    g.call("environ_get", &[0x20, 0x40]).unwrap();
    assert_eq!(g.get(0x40, 14), b"A=1\0PATH=/bin\0");
    // Pointers outside memory: EFAULT, no trap.
    assert_eq!(g.call("args_get", &[0x20, 2 * 65536 - 3]), Err(Errno::Fault));
    assert_eq!(g.call("environ_sizes_get", &[-1, 0]), Err(Errno::Fault));
}

#[test]
fn clocks_are_block_time() {
    let mut g = Guest::default();
    for id in 0..4 {
        g.call("clock_time_get", &[id, 1, 0x10]).unwrap();
        assert_eq!(g.u64(0x10), T);
        g.call("clock_res_get", &[id, 0x10]).unwrap();
        assert_eq!(g.u64(0x10), 1);
    }
    assert_eq!(g.call("clock_time_get", &[4, 0, 0x10]), Err(Errno::Inval));
    assert_eq!(g.call("clock_res_get", &[-1, 0x10]), Err(Errno::Inval));
    assert_eq!(g.call("clock_time_get", &[0, 0, 2 * 65536 - 4]), Err(Errno::Fault));
}

/// Writes a subscription record at `at`.
fn clock_sub(g: &mut Guest, at: u32, userdata: u64, clock: u32, timeout: u64, abstime: bool) {
    let mut b = [0u8; 48];
    b[..8].copy_from_slice(&userdata.to_le_bytes());
    b[8] = 0;
    b[16..20].copy_from_slice(&clock.to_le_bytes());
    b[24..32].copy_from_slice(&timeout.to_le_bytes());
    b[40..42].copy_from_slice(&u16::from(abstime).to_le_bytes());
    g.put(at, &b);
}

fn fd_sub(g: &mut Guest, at: u32, userdata: u64, ty: u8, fd: u32) {
    let mut b = [0u8; 48];
    b[..8].copy_from_slice(&userdata.to_le_bytes());
    b[8] = ty;
    b[16..20].copy_from_slice(&fd.to_le_bytes());
    g.put(at, &b);
}

/// `(userdata, error, type, nbytes, flags)` of event `i` at 0x3000.
fn event(g: &mut Guest, i: u32) -> (u64, u16, u8, u64, u16) {
    let at = 0x3000 + 32 * i;
    let e = g.get(at, 32);
    (g.u64(at), u16::from_le_bytes([e[8], e[9]]), e[10], g.u64(at + 16), u16::from_le_bytes([e[24], e[25]]))
}

#[test]
fn poll_oneoff_sleeps_on_virtual_time() {
    let mut g = Guest::default();
    // Two relative timers: the clock jumps to the earlier, which alone fires.
    clock_sub(&mut g, 0x2000, 11, 1, 1_000, false);
    clock_sub(&mut g, 0x2030, 22, 0, 5_000, false);
    g.call("poll_oneoff", &[0x2000, 0x3000, 2, 0x10]).unwrap();
    assert_eq!(g.u32(0x10), 1);
    assert_eq!(event(&mut g, 0), (11, 0, 0, 0, 0));
    g.call("clock_time_get", &[1, 0, 0x10]).unwrap();
    assert_eq!(g.u64(0x10), T + 1_000);
    // An absolute deadline in the past fires at once without moving the clock.
    clock_sub(&mut g, 0x2000, 33, 0, 5, true);
    g.call("poll_oneoff", &[0x2000, 0x3000, 1, 0x10]).unwrap();
    assert_eq!((g.u32(0x10), event(&mut g, 0).0), (1, 33));
    assert_eq!(g.ctx().now_ns(), T + 1_000);
    // An absolute deadline in the future.
    clock_sub(&mut g, 0x2000, 44, 0, T + 10_000, true);
    g.call("poll_oneoff", &[0x2000, 0x3000, 1, 0x10]).unwrap();
    assert_eq!(g.ctx().now_ns(), T + 10_000);
    // File timestamps follow the virtual clock.
    let fd = g.create("/after-sleep");
    assert_eq!(g.filestat(fd).unwrap().mtim, T + 10_000);
    // fd subscriptions are ready at once and time does not move.
    g.ctx();
    let mut g2 =
        Guest::new(WasiConfig { stdin: b"abc".to_vec(), ..WasiConfig::default() }, MemStorage::new());
    fd_sub(&mut g2, 0x2000, 1, 1, 0);
    clock_sub(&mut g2, 0x2030, 2, 1, 1_000_000, false);
    fd_sub(&mut g2, 0x2060, 3, 2, 1);
    fd_sub(&mut g2, 0x2090, 4, 1, 99);
    fd_sub(&mut g2, 0x20c0, 5, 1, 1);
    clock_sub(&mut g2, 0x20f0, 6, 9, 0, false);
    g2.call("poll_oneoff", &[0x2000, 0x3000, 6, 0x10]).unwrap();
    assert_eq!(g2.u32(0x10), 5);
    assert_eq!(event(&mut g2, 0), (1, 0, 1, 3, 0));
    assert_eq!(event(&mut g2, 1), (3, 0, 2, 0, 0));
    assert_eq!(event(&mut g2, 2), (4, Errno::Badf as u16, 1, 0, 0));
    assert_eq!(event(&mut g2, 3), (5, Errno::Badf as u16, 1, 0, 0), "stdout is not readable");
    assert_eq!(event(&mut g2, 4), (6, Errno::Inval as u16, 0, 0, 0), "unknown clock");
    assert_eq!(g2.ctx().now_ns(), 0);
    // Stdin at its end reports hang-up.
    assert_eq!(g2.read(0, 10).unwrap(), b"abc");
    fd_sub(&mut g2, 0x2000, 7, 1, 0);
    g2.call("poll_oneoff", &[0x2000, 0x3000, 1, 0x10]).unwrap();
    assert_eq!(event(&mut g2, 0), (7, 0, 1, 0, 1));
    // A file descriptor reports the bytes left to read.
    let fd = g.create("/p");
    g.write(fd, b"12345").unwrap();
    g.seek(fd, 1, 0).unwrap();
    fd_sub(&mut g, 0x2000, 8, 1, fd);
    g.call("poll_oneoff", &[0x2000, 0x3000, 1, 0x10]).unwrap();
    assert_eq!(event(&mut g, 0), (8, 0, 1, 4, 0));
    // Errors of the call itself.
    assert_eq!(g.call("poll_oneoff", &[0x2000, 0x3000, 0, 0x10]), Err(Errno::Inval));
    g.put(0x2008, &[9]);
    assert_eq!(g.call("poll_oneoff", &[0x2000, 0x3000, 1, 0x10]), Err(Errno::Inval));
    assert_eq!(g.call("poll_oneoff", &[2 * 65536 - 40, 0x3000, 1, 0x10]), Err(Errno::Fault));
}

#[test]
fn random_get_is_a_seeded_stream() {
    let run = |seed: [u8; 32]| {
        let mut g = Guest::new(WasiConfig { random_seed: seed, ..WasiConfig::default() }, MemStorage::new());
        g.call("random_get", &[0x10, 5]).unwrap();
        g.call("random_get", &[0x15, 59]).unwrap();
        assert_eq!(g.call("random_get", &[2 * 65536 - 1, 2]), Err(Errno::Fault));
        g.get(0x10, 64)
    };
    let a = run([1; 32]);
    assert_eq!(a, run([1; 32]));
    assert_ne!(a, run([2; 32]));
    assert!(a.iter().any(|&b| b != 0));
}

#[test]
fn stdio_capture_is_bounded_and_stdin_reads_bytes() {
    let mut g = Guest::new(
        WasiConfig { stdin: b"input bytes".to_vec(), max_output_bytes: 8, ..WasiConfig::default() },
        MemStorage::new(),
    );
    assert_eq!(g.write(1, b"hello "), Ok(6));
    assert_eq!(g.write(1, b"world"), Ok(5));
    assert_eq!(g.write(2, b"err"), Ok(3));
    // Two iovecs in one call.
    g.put(BUF, b"xy");
    let mut iovs = iov(BUF, 1).to_vec();
    iovs.extend_from_slice(&iov(BUF + 1, 1));
    g.put(IOVS, &iovs);
    g.call("fd_write", &[2, IOVS.into(), 2, OUT.into()]).unwrap();
    assert_eq!(g.u32(OUT), 2);
    assert_eq!(g.ctx().stdout().bytes, b"hello wo");
    assert_eq!(g.ctx().stdout().dropped, 3);
    assert_eq!(g.ctx().stderr().bytes, b"errxy");
    assert_eq!(g.read(0, 6).unwrap(), b"input ");
    assert_eq!(g.read(0, 100).unwrap(), b"bytes");
    assert_eq!(g.read(0, 100).unwrap(), b"");
    assert_eq!(g.read(1, 10), Err(Errno::Badf));
    assert_eq!(g.write(0, b"x"), Err(Errno::Badf));
    // Rights shrunk on a standard stream are enforced too.
    g.call("fd_fdstat_set_rights", &[2, 0, 0]).unwrap();
    assert_eq!(g.write(2, b"x"), Err(Errno::Badf));
    g.call("fd_fdstat_set_rights", &[0, 0, 0]).unwrap();
    assert_eq!(g.read(0, 1), Err(Errno::Badf));
    assert_eq!(g.seek(1, 0, 0), Err(Errno::Spipe));
    assert_eq!(g.call("fd_tell", &[0, OUT.into()]), Err(Errno::Spipe));
    // Standard streams are character devices without stored metadata.
    let st = g.filestat(1).unwrap();
    assert_eq!((st.filetype, st.nlink, st.size), (2, 1, 0));
    g.call("fd_filestat_set_times", &[1, 0, 0, 2 | 8]).unwrap();
    // A bad iovec pointer.
    g.put(IOVS, &iov(2 * 65536 - 2, 10));
    assert_eq!(g.call("fd_write", &[1, IOVS.into(), 1, OUT.into()]), Err(Errno::Fault));
}

#[test]
fn preopens() {
    let mut g = Guest::new(
        WasiConfig { preopens: vec![("/data".into(), "/mnt/data".into())], ..WasiConfig::default() },
        MemStorage::new(),
    );
    g.call("fd_prestat_get", &[3, 0x10]).unwrap();
    assert_eq!((g.get(0x10, 1)[0], g.u32(0x14)), (0, 1));
    g.call("fd_prestat_dir_name", &[3, 0x20, 1]).unwrap();
    assert_eq!(g.get(0x20, 1), b"/");
    g.call("fd_prestat_get", &[4, 0x10]).unwrap();
    assert_eq!(g.u32(0x14), 5);
    assert_eq!(g.call("fd_prestat_dir_name", &[4, 0x20, 4]), Err(Errno::Nametoolong));
    g.call("fd_prestat_dir_name", &[4, 0x20, 5]).unwrap();
    assert_eq!(g.get(0x20, 5), b"/data");
    // wasi-libc stops scanning at the first EBADF.
    assert_eq!(g.call("fd_prestat_get", &[5, 0x10]), Err(Errno::Badf));
    assert_eq!(g.call("fd_prestat_get", &[1, 0x10]), Err(Errno::Badf));
    // The mount is a directory of the one tree.
    let fd = g.open(4, "file", CREAT, RW, 0).unwrap();
    g.write(fd, b"mounted").unwrap();
    assert!(g.path_stat("mnt/data/file", false).is_ok());
    // `..` cannot leave a preopen; absolute paths are not accepted.
    assert_eq!(g.open(4, "../data/file", 0, RW, 0), Err(Errno::Notcapable));
    assert_eq!(g.open(3, "..", 0, RW, 0), Err(Errno::Notcapable));
    assert_eq!(g.open(3, "/mnt", 0, RW, 0), Err(Errno::Notcapable));
    // A directory opened from the preopen keeps the preopen's root.
    let sub = g.open(4, ".", DIRECTORY, 0, 0).unwrap();
    assert_eq!(g.open(sub, "../x", 0, RW, 0), Err(Errno::Notcapable));
}

#[test]
fn files_read_write_seek_append() {
    let mut g = Guest::default();
    let fd = g.create("/f.txt");
    assert_eq!(fd, 4);
    assert_eq!(g.write(fd, b"hello world"), Ok(11));
    assert_eq!(g.call("fd_tell", &[fd.into(), OUT.into()]), Ok(()));
    assert_eq!(g.u64(OUT), 11);
    assert_eq!(g.seek(fd, 6, 0), Ok(6));
    assert_eq!(g.read(fd, 100).unwrap(), b"world");
    assert_eq!(g.seek(fd, -5, 1), Ok(6));
    assert_eq!(g.seek(fd, -1, 2), Ok(10));
    assert_eq!(g.seek(fd, -100, 1), Err(Errno::Inval));
    assert_eq!(g.seek(fd, 0, 3), Err(Errno::Inval));
    // Seeking past the end and writing leaves a hole of zeros.
    assert_eq!(g.seek(fd, 13, 0), Ok(13));
    g.write(fd, b"!").unwrap();
    g.seek(fd, 0, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"hello world\0\0!");
    // pread/pwrite leave the position alone.
    g.put(BUF, b"HELLO");
    g.put(IOVS, &iov(BUF, 5));
    g.call("fd_pwrite", &[fd.into(), IOVS.into(), 1, 0, OUT.into()]).unwrap();
    assert_eq!(g.u32(OUT), 5);
    g.put(IOVS, &iov(BUF + 100, 3));
    g.put(IOVS + 8, &iov(BUF + 200, 3));
    g.call("fd_pread", &[fd.into(), IOVS.into(), 2, 3, OUT.into()]).unwrap();
    assert_eq!(g.u32(OUT), 6);
    assert_eq!((g.get(BUF + 100, 3), g.get(BUF + 200, 3)), (b"LO ".to_vec(), b"wor".to_vec()));
    assert_eq!(g.call("fd_pread", &[fd.into(), IOVS.into(), 1, -1, OUT.into()]), Err(Errno::Inval));
    assert_eq!(g.call("fd_tell", &[fd.into(), OUT.into()]), Ok(()));
    assert_eq!(g.u64(OUT), 14);
    // Append mode writes at the end whatever the position.
    let app = g.open(3, "f.txt", 0, RW, APPEND).unwrap();
    g.write(app, b"+").unwrap();
    g.seek(app, 0, 0).unwrap();
    g.write(app, b"-").unwrap();
    assert_eq!(g.call("fd_tell", &[app.into(), OUT.into()]), Ok(()));
    assert_eq!(g.u64(OUT), 16);
    // Toggling append with fd_fdstat_set_flags.
    g.call("fd_fdstat_set_flags", &[app.into(), 0]).unwrap();
    g.seek(app, 0, 0).unwrap();
    g.write(app, b"h").unwrap();
    g.seek(app, 0, 0).unwrap();
    assert_eq!(g.read(app, 100).unwrap(), b"hELLO world\0\0!+-");
    assert_eq!(g.call("fd_fdstat_set_flags", &[app.into(), 0x20]), Err(Errno::Inval));
    // Writes on a read-only descriptor and reads on a write-only one.
    let ro = g.open(3, "f.txt", 0, FD_READ, 0).unwrap();
    assert_eq!(g.write(ro, b"x"), Err(Errno::Badf));
    let wo = g.open(3, "f.txt", 0, FD_WRITE, 0).unwrap();
    assert_eq!(g.read(wo, 1), Err(Errno::Badf));
    // Bad descriptors.
    assert_eq!(g.write(77, b"x"), Err(Errno::Badf));
    assert_eq!(g.read(-1i32 as u32, 1), Err(Errno::Badf));
    // A result pointer out of bounds: EFAULT and nothing written.
    g.put(BUF, b"zzz");
    g.put(IOVS, &iov(BUF, 3));
    let before = g.storage().clone();
    assert_eq!(g.call("fd_write", &[fd.into(), IOVS.into(), 1, 2 * 65536 - 2]), Err(Errno::Fault));
    assert_eq!(g.storage(), &before);
}

#[test]
fn open_flags_and_fdstat() {
    let mut g = Guest::default();
    let fd = g.create("/a");
    g.write(fd, b"data").unwrap();
    assert_eq!(g.open(3, "a", CREAT | EXCL, RW, 0), Err(Errno::Exist));
    assert_eq!(g.open(3, "missing", 0, RW, 0), Err(Errno::Noent));
    assert_eq!(g.open(3, "a", DIRECTORY, 0, 0), Err(Errno::Notdir));
    assert_eq!(g.open(3, "a", CREAT | DIRECTORY, 0, 0), Err(Errno::Inval));
    assert_eq!(g.open(3, "a", 0x10, 0, 0), Err(Errno::Inval));
    assert_eq!(g.open(3, ".", 0, FD_WRITE, 0), Err(Errno::Isdir));
    assert_eq!(g.open(fd, "x", 0, 0, 0), Err(Errno::Notdir));
    assert_eq!(g.open(3, "", 0, 0, 0), Err(Errno::Noent));
    // Invalid UTF-8 in a path.
    g.put(PATH, &[0xff, 0xfe]);
    assert_eq!(g.call("path_open", &[3, 0, PATH.into(), 2, 0, 0, 0, 0, OUT.into()]), Err(Errno::Ilseq));
    // Truncation on open.
    let t = g.open(3, "a", TRUNC, RW, 0).unwrap();
    assert_eq!(g.filestat(t).unwrap().size, 0);
    // fdstat: type, flags and rights (requested ∩ inheriting ∩ file rights).
    let app = g.open(3, "a", 0, RW | (1 << 14), APPEND).unwrap();
    g.call("fd_fdstat_get", &[app.into(), 0x10]).unwrap();
    assert_eq!(g.get(0x10, 1)[0], FILETYPE_FILE);
    assert_eq!(g.get(0x12, 2), [1, 0]);
    assert_eq!(g.u64(0x18), RW, "fd_readdir is not a file right");
    g.call("fd_fdstat_get", &[3, 0x10]).unwrap();
    assert_eq!(g.get(0x10, 1)[0], FILETYPE_DIR);
    assert_ne!(g.u64(0x18) & (1 << 13), 0, "path_open");
    g.call("fd_fdstat_get", &[1, 0x10]).unwrap();
    assert_eq!(g.get(0x10, 1)[0], 2);
    assert_eq!(g.u64(0x18) & (1 << 2), 0, "stdout is not seekable");
    // Rights only shrink.
    g.call("fd_fdstat_set_rights", &[app.into(), FD_READ as i64, 0]).unwrap();
    assert_eq!(g.write(app, b"x"), Err(Errno::Badf));
    assert_eq!(g.call("fd_fdstat_set_rights", &[app.into(), RW as i64, 0]), Err(Errno::Notcapable));
    assert_eq!(g.call("fd_fdstat_get", &[99, 0x10]), Err(Errno::Badf));
    // Directories open read-only, and readdir-able.
    let d = g.open(3, ".", DIRECTORY, FD_READ | (1 << 14), 0).unwrap();
    g.call("fd_fdstat_get", &[d.into(), 0x10]).unwrap();
    assert_eq!(g.u64(0x18), 1 << 14);
    assert_eq!(g.read(d, 10), Err(Errno::Isdir));
}

#[test]
fn fd_table_close_renumber() {
    let mut g = Guest::default();
    let a = g.create("/a");
    let b = g.create("/b");
    assert_eq!((a, b), (4, 5));
    g.call("fd_close", &[a.into()]).unwrap();
    assert_eq!(g.call("fd_close", &[a.into()]), Err(Errno::Badf));
    assert_eq!(g.create("/c"), 4, "lowest free descriptor");
    g.write(4, b"c").unwrap();
    g.call("fd_renumber", &[4, 5]).unwrap();
    assert_eq!(g.write(4, b"x"), Err(Errno::Badf));
    g.write(5, b"C").unwrap();
    assert_eq!(g.call("fd_renumber", &[5, 9]), Err(Errno::Badf));
    assert_eq!(g.call("fd_renumber", &[9, 5]), Err(Errno::Badf));
    g.call("fd_renumber", &[5, 5]).unwrap();
    let fd = g.open(3, "c", 0, RW, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"cC");
    assert_eq!(g.filestat(fd).unwrap().size, 2);
    // Closing stdout makes 1 the lowest free number.
    g.call("fd_close", &[1]).unwrap();
    assert_eq!(g.create("/d"), 1);
}

#[test]
fn sizes_allocate_sync_advise() {
    let mut g = Guest::default();
    let fd = g.create("/f");
    g.write(fd, b"0123456789").unwrap();
    g.call("fd_filestat_set_size", &[fd.into(), 4]).unwrap();
    assert_eq!(g.filestat(fd).unwrap().size, 4);
    g.call("fd_filestat_set_size", &[fd.into(), 8]).unwrap();
    g.seek(fd, 0, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"0123\0\0\0\0");
    assert_eq!(g.call("fd_filestat_set_size", &[fd.into(), -1]), Err(Errno::Fbig));
    assert_eq!(g.call("fd_filestat_set_size", &[3, 0]), Err(Errno::Isdir));
    // fd_allocate only ever grows.
    g.call("fd_allocate", &[fd.into(), 100, 28]).unwrap();
    assert_eq!(g.filestat(fd).unwrap().size, 128);
    g.call("fd_allocate", &[fd.into(), 0, 1]).unwrap();
    assert_eq!(g.filestat(fd).unwrap().size, 128);
    assert_eq!(g.call("fd_allocate", &[fd.into(), 0, 0]), Err(Errno::Inval));
    assert_eq!(g.call("fd_allocate", &[fd.into(), i64::MAX, 1]), Err(Errno::Fbig));
    assert_eq!(g.call("fd_allocate", &[1, 0, 1]), Err(Errno::Spipe));
    let ro = g.open(3, "f", 0, FD_READ, 0).unwrap();
    assert_eq!(g.call("fd_allocate", &[ro.into(), 0, 1000]), Err(Errno::Badf));
    assert_eq!(g.call("fd_filestat_set_size", &[ro.into(), 0]), Err(Errno::Badf));
    // Syncing and advice are accepted no-ops.
    g.call("fd_sync", &[fd.into()]).unwrap();
    g.call("fd_datasync", &[fd.into()]).unwrap();
    g.call("fd_sync", &[3]).unwrap();
    assert_eq!(g.call("fd_datasync", &[42]), Err(Errno::Badf));
    g.call("fd_advise", &[fd.into(), 0, 10, 2]).unwrap();
    assert_eq!(g.call("fd_advise", &[fd.into(), 0, 10, 6]), Err(Errno::Inval));
    assert_eq!(g.call("fd_advise", &[0, 0, 10, 0]), Err(Errno::Spipe));
}

#[test]
fn timestamps_and_set_times() {
    let mut g = Guest::default();
    let fd = g.create("/f");
    let st = g.filestat(fd).unwrap();
    assert_eq!((st.atim, st.mtim, st.ctim), (T, T, T));
    assert_eq!(st.ino, 2, "first allocated inode");
    g.call("fd_filestat_set_times", &[fd.into(), 10, 20, 1 | 4]).unwrap();
    let st = g.filestat(fd).unwrap();
    assert_eq!((st.atim, st.mtim, st.ctim), (10, 20, T));
    g.put(PATH, b"f");
    g.call("path_filestat_set_times", &[3, 1, PATH.into(), 1, 0, 30, 2 | 4]).unwrap();
    let st = g.filestat(fd).unwrap();
    assert_eq!((st.atim, st.mtim), (T, 30));
    assert_eq!(g.call("path_filestat_set_times", &[3, 1, PATH.into(), 1, 0, 0, 1 | 2]), Err(Errno::Inval));
    assert_eq!(g.call("fd_filestat_set_times", &[fd.into(), 0, 0, 4 | 8]), Err(Errno::Inval));
    assert_eq!(g.call("fd_filestat_set_times", &[fd.into(), 0, 0, 16]), Err(Errno::Inval));
}

#[test]
fn directories_and_readdir() {
    let mut g = Guest::default();
    g.path_call("path_create_directory", 3, "dir").unwrap();
    assert_eq!(g.path_call("path_create_directory", 3, "dir"), Err(Errno::Exist));
    assert_eq!(g.path_call("path_create_directory", 3, "no/dir"), Err(Errno::Noent));
    assert_eq!(g.path_call("path_create_directory", 3, "."), Err(Errno::Exist));
    let names = ["b", "a", "c.txt", "long-name-for-truncation", "A"];
    for n in names {
        g.create(&format!("dir/{n}"));
    }
    g.path_call("path_create_directory", 3, "dir/sub").unwrap();
    let d = g.open(3, "dir", DIRECTORY, FD_READ | (1 << 14), 0).unwrap();
    let dir_ino = g.filestat(d).unwrap().ino;
    // One big read: `.`, `..`, then names sorted bytewise.
    g.call("fd_readdir", &[d.into(), BUF.into(), 4096, 0, OUT.into()]).unwrap();
    let used = g.u32(OUT) as usize;
    let raw = g.get(BUF, used);
    let all = parse_dirents(&raw);
    let got: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(got, [".", "..", "A", "a", "b", "c.txt", "long-name-for-truncation", "sub"]);
    assert_eq!(all[0].ino, dir_ino);
    assert_eq!(all[1].ino, 1, "the root");
    assert_eq!(all[7].kind, FILETYPE_DIR);
    assert_eq!(all[2].kind, FILETYPE_FILE);
    let cookies: Vec<u64> = all.iter().map(|e| e.next).collect();
    assert_eq!(cookies, (1..=8).collect::<Vec<_>>());
    // The way wasi-libc reads it: small buffers, resuming from the last complete entry.
    for size in [24, 30, 40, 60, 100] {
        assert_eq!(readdir_like_libc(&mut g, d, size), got, "buffer of {size}");
    }
    // A cookie not handed out by the previous call still works (telldir/seekdir).
    g.call("fd_readdir", &[d.into(), BUF.into(), 4096, 5, OUT.into()]).unwrap();
    let rest = parse_dirents(&{
        let n = g.u32(OUT) as usize;
        g.get(BUF, n)
    });
    assert_eq!(rest[0].name, "c.txt");
    g.call("fd_readdir", &[d.into(), BUF.into(), 4096, 100, OUT.into()]).unwrap();
    assert_eq!(g.u32(OUT), 0);
    assert_eq!(g.call("fd_readdir", &[4, BUF.into(), 4096, 0, OUT.into()]), Err(Errno::Notdir));
    // Removing directories.
    assert_eq!(g.path_call("path_remove_directory", 3, "dir"), Err(Errno::Notempty));
    assert_eq!(g.path_call("path_remove_directory", 3, "dir/a"), Err(Errno::Notdir));
    g.path_call("path_remove_directory", 3, "dir/sub").unwrap();
    assert_eq!(g.path_call("path_remove_directory", 3, "dir/sub"), Err(Errno::Noent));
    assert_eq!(g.path_stat("dir", false).unwrap().nlink, 2);
    assert_eq!(g.path_stat("dir", false).unwrap().size, 5);
    g.path_call("path_unlink_file", 3, "dir/a").unwrap();
    assert_eq!(g.path_call("path_unlink_file", 3, "dir/a"), Err(Errno::Noent));
    assert_eq!(g.path_call("path_unlink_file", 3, "dir"), Err(Errno::Isdir));
}

#[derive(Debug)]
struct Dirent {
    next: u64,
    ino: u64,
    kind: u8,
    name: String,
}

fn parse_dirents(mut raw: &[u8]) -> Vec<Dirent> {
    let mut out = Vec::new();
    while raw.len() >= 24 {
        let len = u32::from_le_bytes(raw[16..20].try_into().unwrap()) as usize;
        if raw.len() < 24 + len {
            break;
        }
        out.push(Dirent {
            next: u64::from_le_bytes(raw[..8].try_into().unwrap()),
            ino: u64::from_le_bytes(raw[8..16].try_into().unwrap()),
            kind: raw[20],
            name: String::from_utf8(raw[24..24 + len].to_vec()).unwrap(),
        });
        raw = &raw[24 + len..];
    }
    out
}

/// wasi-libc's `readdir` loop: keep complete entries, restart at the last one's `d_next`,
/// grow the buffer when not even one entry fits.
fn readdir_like_libc(g: &mut Guest, fd: u32, mut size: u32) -> Vec<String> {
    let mut cookie = 0u64;
    let mut names = Vec::new();
    loop {
        g.call("fd_readdir", &[fd.into(), BUF.into(), size.into(), cookie as i64, OUT.into()]).unwrap();
        let used = g.u32(OUT);
        let entries = parse_dirents(&g.get(BUF, used as usize));
        if entries.is_empty() {
            if used < size {
                return names;
            }
            size *= 2;
            continue;
        }
        for e in &entries {
            names.push(e.name.clone());
            cookie = e.next;
        }
        if used < size {
            return names;
        }
    }
}

#[test]
fn rename_semantics() {
    let mut g = Guest::default();
    let a = g.create("/a");
    g.write(a, b"A").unwrap();
    let b = g.create("/b");
    g.write(b, b"B").unwrap();
    g.rename("a", "b").unwrap();
    assert_eq!(g.path_stat("a", false), Err(Errno::Noent));
    let fd = g.open(3, "b", 0, RW, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"A");
    // The descriptor of the replaced file is stale now.
    assert_eq!(g.read(b, 10), Err(Errno::Badf));
    // Directory renames.
    for d in ["d1", "d1/inner", "d2", "full", "full/x"] {
        g.path_call("path_create_directory", 3, d).unwrap();
    }
    assert_eq!(g.rename("d1", "d1/inner/d1"), Err(Errno::Inval));
    assert_eq!(g.rename("d1", "full"), Err(Errno::Notempty));
    assert_eq!(g.rename("d1", "b"), Err(Errno::Notdir));
    assert_eq!(g.rename("b", "d2"), Err(Errno::Isdir));
    assert_eq!(g.rename(".", "z"), Err(Errno::Busy));
    g.rename("d1", "d2").unwrap();
    assert!(g.path_stat("d2/inner", false).is_ok());
    // Across directory descriptors.
    let d2 = g.open(3, "d2", DIRECTORY, 0, 0).unwrap();
    g.put(PATH, b"b");
    g.put(PATH2, b"moved");
    g.call("path_rename", &[3, PATH.into(), 1, d2.into(), PATH2.into(), 5]).unwrap();
    assert_eq!(g.path_stat("d2/moved", false).unwrap().size, 1);
}

#[test]
fn symlinks_and_hard_links() {
    let mut g = Guest::default();
    g.path_call("path_create_directory", 3, "d").unwrap();
    let f = g.create("/d/target");
    g.write(f, b"T").unwrap();
    let symlink = |g: &mut Guest, target: &str, link: &str| {
        g.put(PATH, target.as_bytes());
        g.put(PATH2, link.as_bytes());
        g.call("path_symlink", &[PATH.into(), target.len() as i64, 3, PATH2.into(), link.len() as i64])
    };
    symlink(&mut g, "d/target", "rel").unwrap();
    symlink(&mut g, "/d", "abs").unwrap();
    symlink(&mut g, "loop", "loop").unwrap();
    assert_eq!(symlink(&mut g, "x", "rel"), Err(Errno::Exist));
    // Follow or not.
    assert_eq!(g.path_stat("rel", true).unwrap().filetype, FILETYPE_FILE);
    let lst = g.path_stat("rel", false).unwrap();
    assert_eq!((lst.filetype, lst.size), (FILETYPE_SYMLINK, 8));
    assert_eq!(g.path_stat("abs/target", false).unwrap().size, 1);
    assert_eq!(g.path_stat("loop", true), Err(Errno::Loop));
    assert_eq!(g.open_with(3, 0, "rel", 0, RW, 0), Err(Errno::Loop), "O_NOFOLLOW");
    let via = g.open_with(3, 1, "rel", 0, RW, 0).unwrap();
    assert_eq!(g.read(via, 10).unwrap(), b"T");
    // readlink, truncating to the buffer.
    g.put(PATH, b"abs");
    g.call("path_readlink", &[3, PATH.into(), 3, BUF.into(), 100, OUT.into()]).unwrap();
    assert_eq!(
        {
            let n = g.u32(OUT) as usize;
            g.get(BUF, n)
        },
        b"/d"
    );
    g.put(PATH, b"rel");
    g.call("path_readlink", &[3, PATH.into(), 3, BUF.into(), 4, OUT.into()]).unwrap();
    assert_eq!((g.u32(OUT), g.get(BUF, 4)), (4, b"d/ta".to_vec()));
    g.put(PATH, b"d");
    assert_eq!(g.call("path_readlink", &[3, PATH.into(), 1, BUF.into(), 4, OUT.into()]), Err(Errno::Inval));
    // Hard links: one inode, two names, nlink counts them.
    let link = |g: &mut Guest, flags: i64, old: &str, new: &str| {
        g.put(PATH, old.as_bytes());
        g.put(PATH2, new.as_bytes());
        g.call("path_link", &[3, flags, PATH.into(), old.len() as i64, 3, PATH2.into(), new.len() as i64])
    };
    link(&mut g, 0, "d/target", "hard").unwrap();
    assert_eq!(g.path_stat("hard", false).unwrap().nlink, 2);
    assert_eq!(g.path_stat("hard", false).unwrap().ino, g.path_stat("d/target", false).unwrap().ino);
    // Linking a symlink without follow links the symlink itself; with follow, its target.
    link(&mut g, 0, "rel", "rel2").unwrap();
    assert_eq!(g.path_stat("rel2", false).unwrap().filetype, FILETYPE_SYMLINK);
    link(&mut g, 1, "rel", "hard2").unwrap();
    assert_eq!(g.path_stat("hard2", false).unwrap().nlink, 3);
    assert_eq!(link(&mut g, 0, "d", "dlink"), Err(Errno::Perm));
    assert_eq!(link(&mut g, 0, "hard", "hard2"), Err(Errno::Exist));
    g.path_call("path_unlink_file", 3, "d/target").unwrap();
    assert_eq!(g.path_stat("hard", false).unwrap().nlink, 2);
    assert_eq!(g.path_stat("rel", true), Err(Errno::Noent), "dangling now");
    g.path_call("path_unlink_file", 3, "rel").unwrap();
    assert_eq!(g.path_stat("rel", false), Err(Errno::Noent));
}

#[test]
fn quota_gives_enospc_and_keeps_state() {
    let mut g = Guest::new(WasiConfig::default(), MemStorage::with_quota(3000));
    let fd = g.create("/f");
    g.write(fd, &[1u8; 1000]).unwrap();
    let before = g.storage().clone();
    assert_eq!(g.write(fd, &[2u8; 5000]), Err(Errno::Nospc));
    assert_eq!(g.storage(), &before);
    assert_eq!(g.call("fd_tell", &[fd.into(), OUT.into()]), Ok(()));
    assert_eq!(g.u64(OUT), 1000, "a failed write does not move the position");
    // Smaller writes still fit.
    g.write(fd, &[3u8; 100]).unwrap();
}

#[test]
fn sockets_signals_yield() {
    let mut g = Guest::default();
    assert_eq!(g.call("sock_accept", &[3, 0, OUT.into()]), Err(Errno::Nosys));
    assert_eq!(g.call("sock_recv", &[3, IOVS.into(), 1, 0, OUT.into(), OUT.into()]), Err(Errno::Nosys));
    assert_eq!(g.call("sock_send", &[3, IOVS.into(), 1, 0, OUT.into()]), Err(Errno::Nosys));
    assert_eq!(g.call("sock_shutdown", &[3, 3]), Err(Errno::Nosys));
    assert_eq!(g.call("proc_raise", &[9]), Err(Errno::Nosys));
    g.call("sched_yield", &[]).unwrap();
}

#[test]
fn proc_exit_traps_with_the_code() {
    let mut g = Guest::default();
    let err = g.try_call("proc_exit", &[42]).unwrap_err();
    assert_eq!(err.downcast_ref::<ProcExit>(), Some(&ProcExit(42)));
    assert_eq!(ProcExit(42).to_string(), "the guest called proc_exit(42)");
}

#[test]
fn every_call_costs_fuel_and_running_out_traps() {
    let mut g = Guest::default();
    let fd = g.create("/f");
    let before = g.store.get_fuel().unwrap();
    g.write(fd, &[0u8; 1000]).unwrap();
    let spent = before - g.store.get_fuel().unwrap();
    // Metadata read and write, chunk write; the wrapper's own instructions cost a little.
    let expect = gas::cost(1000, 3);
    assert!((expect..expect + 20).contains(&spent), "spent {spent}, expected {expect}");
    // Storage work is charged even where few bytes move: a path walking back and forth.
    g.path_call("path_create_directory", 3, "d").unwrap();
    let fuel_of = |g: &mut Guest, path: &str| {
        let before = g.store.get_fuel().unwrap();
        g.path_stat(path, false).unwrap();
        before - g.store.get_fuel().unwrap()
    };
    let short = fuel_of(&mut g, "d");
    let long = fuel_of(&mut g, "d/../d/../d/../d");
    assert_eq!(long - short, 15 + 6 * gas::PER_STORAGE_OP, "15 more bytes, 6 more lookups");
    g.store.set_fuel(gas::HOST_CALL_BASE + 10).unwrap();
    let err = g.try_call("sched_yield", &[]).unwrap_or_else(|_| panic!("the base fits"));
    assert_eq!(err, 0);
    g.store.set_fuel(gas::HOST_CALL_BASE + 10).unwrap();
    let err = g.try_call("random_get", &[0x10, 100]).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
    assert_eq!(g.store.get_fuel().unwrap(), 0);
}

#[test]
fn a_module_without_memory_traps() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
        (func (export "call_sched_yield") (result i32) call $y))"#;
    let mut g = Guest::with_wat(wat, WasiConfig::default(), MemStorage::new());
    let err = g.try_call("sched_yield", &[]).unwrap_err();
    assert_eq!(err.downcast_ref::<HostError>(), Some(&HostError::NoMemory));
}

/// A command that uses the filesystem, the clock and the random stream the way a C or Rust
/// program's startup and I/O code would, writing everything it learns into files.
const PROGRAM: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out")
  (data (i32.const 110) "out/log.txt")
  (data (i32.const 130) "out/final.txt")
  (data (i32.const 150) "run complete\n")
  (func $check (param i32) (if (local.get 0) (then (call $exit (i32.add (i32.const 100) (local.get 0))))))
  (func (export "_start") (local $fd i32) (local $i i32)
    (call $check (call $mkdir (i32.const 3) (i32.const 100) (i32.const 3)))
    (call $check (call $open (i32.const 3) (i32.const 1) (i32.const 110) (i32.const 11)
      (i32.const 1) (i64.const 0x46) (i64.const 0) (i32.const 1) (i32.const 0)))
    (local.set $fd (i32.load (i32.const 0)))
    ;; 300 appends of 40 bytes: 32 random bytes and the 8-byte clock, spanning several chunks.
    (loop $more
      (call $check (call $random (i32.const 200) (i32.const 32)))
      (call $check (call $clock (i32.const 0) (i64.const 0) (i32.const 232)))
      (i32.store (i32.const 16) (i32.const 200))
      (i32.store (i32.const 20) (i32.const 40))
      (call $check (call $write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 300))))
    (call $check (call $close (local.get $fd)))
    (call $check (call $rename (i32.const 3) (i32.const 110) (i32.const 11)
      (i32.const 3) (i32.const 130) (i32.const 13)))
    (i32.store (i32.const 16) (i32.const 150))
    (i32.store (i32.const 20) (i32.const 13))
    (call $check (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $exit (i32.const 0))))"#;

fn run_program(seed: [u8; 32]) -> (MemStorage, Vec<u8>) {
    let mut g = Guest::with_wat(
        PROGRAM,
        WasiConfig { time_ns: T, random_seed: seed, ..WasiConfig::default() },
        MemStorage::new(),
    );
    let start = g.instance.get_typed_func::<(), ()>(&mut g.store, "_start").unwrap();
    let err = start.call(&mut g.store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<ProcExit>(), Some(&ProcExit(0)), "{err:?}");
    let stdout = g.ctx().stdout().bytes.clone();
    (g.store.into_data().storage, stdout)
}

#[test]
fn two_runs_give_byte_identical_storage() {
    let (a, out_a) = run_program([5; 32]);
    let (b, out_b) = run_program([5; 32]);
    assert_eq!(out_a, b"run complete\n");
    assert_eq!(out_a, out_b);
    assert_eq!(a.entries(), b.entries());
    let mut a_mut = a.clone();
    let vfs = nexus_wasi::Vfs::new(&mut a_mut, 0);
    let data = vfs.read_file("/out/final.txt").unwrap();
    assert_eq!(data.len(), 300 * 40);
    assert_eq!(&data[32..40], &T.to_le_bytes());
    assert!(!vfs.exists("/out/log.txt"));
    // A different seed changes the random bytes and nothing else.
    let (c, _) = run_program([6; 32]);
    assert_ne!(a.entries(), c.entries());
    assert_eq!(a.entries().keys().collect::<Vec<_>>(), c.entries().keys().collect::<Vec<_>>());
}
