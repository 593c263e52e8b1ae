//! A guest using Rust's std (and so wasi-libc) against the virtual filesystem; built for
//! wasm32-wasip1 by `tests/std_guest.rs`. Panics (a trap) on any unexpected result.

use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    #[link_name = "path_symlink"]
    fn wasi_path_symlink(old: *const u8, old_len: usize, fd: u32, new: *const u8, new_len: usize) -> u16;
}

/// `symlink` relative to the `/` preopen (fd 3); std's wrapper for it is unstable.
fn symlink(target: &str, link: &str) {
    // SAFETY: both pointers and lengths describe live `str`s.
    let errno = unsafe { wasi_path_symlink(target.as_ptr(), target.len(), 3, link.as_ptr(), link.len()) };
    assert_eq!(errno, 0);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("args {args:?} X={}", std::env::var("X").unwrap());
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    println!("stdin {input:?}");

    // Files: create, append, seek, read.
    fs::create_dir_all("/data/sub").unwrap();
    fs::write("/data/a.txt", b"hello").unwrap();
    let mut f = fs::OpenOptions::new().append(true).open("/data/a.txt").unwrap();
    f.write_all(b" world").unwrap();
    drop(f);
    assert_eq!(fs::read_to_string("/data/a.txt").unwrap(), "hello world");
    let mut f = fs::File::open("/data/a.txt").unwrap();
    f.seek(SeekFrom::Start(6)).unwrap();
    let mut rest = String::new();
    f.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "world");
    assert_eq!(f.metadata().unwrap().len(), 11);
    assert!(f.write_all(b"x").is_err(), "opened read-only");
    let big = vec![7u8; 10_000];
    fs::write("/data/big", &big).unwrap();
    fs::OpenOptions::new().write(true).open("/data/big").unwrap().set_len(3).unwrap();
    assert_eq!(fs::read("/data/big").unwrap(), [7, 7, 7]);

    // Directories: many entries read back in sorted order through wasi-libc's readdir.
    for i in (0..60).rev() {
        fs::write(format!("/data/sub/file-{i:03}"), i.to_string()).unwrap();
    }
    let names: Vec<String> =
        fs::read_dir("/data/sub").unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names.len(), 60);
    assert_eq!(names, sorted);
    // WASI's ENOTEMPTY (std's ErrorKind table for wasip1 does not name it).
    let err = fs::remove_dir("/data/sub").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(55), "{err:?}");

    // Rename, hard and symbolic links, errors.
    fs::rename("/data/a.txt", "/data/b.txt").unwrap();
    assert_eq!(fs::metadata("/data/a.txt").unwrap_err().kind(), ErrorKind::NotFound);
    fs::hard_link("/data/b.txt", "/data/c.txt").unwrap();
    symlink("b.txt", "data/link");
    assert_eq!(fs::read_to_string("/data/link").unwrap(), "hello world");
    assert_eq!(fs::read_link("/data/link").unwrap().to_str(), Some("b.txt"));
    assert!(fs::symlink_metadata("/data/link").unwrap().file_type().is_symlink());
    fs::rename("/data/sub", "/data/moved").unwrap();
    fs::remove_dir_all("/data/moved").unwrap();
    assert!(!fs::exists("/data/moved").unwrap());

    // Time is the block time; sleeping advances it without waiting.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(30));
    assert!(start.elapsed() >= Duration::from_secs(30));
    let mtime = fs::metadata("/data/b.txt").unwrap().modified().unwrap();
    assert_eq!(mtime.duration_since(UNIX_EPOCH).unwrap(), now);

    // HashMap seeds itself from random_get: deterministic here.
    let map: HashMap<u32, u32> = (0..20).map(|i| (i, i * i)).collect();
    let order: Vec<u32> = map.keys().copied().collect();
    fs::write("/data/report", format!("now={} order={order:?}\n", now.as_nanos())).unwrap();
    eprintln!("done");
    std::process::exit(3);
}
