//! POSIX-consistency tests of the [`Vfs`] over an in-memory store.

use crate::errno::Errno;
use crate::storage::{MemStorage, Storage};
use crate::vfs::{At, CHUNK_SIZE, FileType, OpenOptions, ROOT_INO, Vfs};

const T: u64 = 1_700_000_000_000_000_000;

fn keys_with(s: &MemStorage, prefix: u8) -> usize {
    s.entries().keys().filter(|k| k[0] == prefix).count()
}

#[test]
fn write_read_and_metadata() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    assert_eq!(v.read_dir("/").unwrap(), vec![]);
    v.write_file("/hello.txt", b"hello").unwrap();
    assert_eq!(v.read_file("hello.txt").unwrap(), b"hello");
    let st = v.stat("/hello.txt").unwrap();
    assert_eq!((st.ino, st.size, st.nlink), (2, 5, 1));
    assert_eq!((st.atim, st.mtim, st.ctim), (T, T, T));
    assert_eq!(st.file_type, FileType::RegularFile);
    let root = v.stat("/").unwrap();
    assert_eq!((root.ino, root.size, root.nlink, root.mtim), (ROOT_INO, 1, 2, T));
    // Replacing truncates.
    v.write_file("/hello.txt", b"hi").unwrap();
    assert_eq!(v.read_file("/hello.txt").unwrap(), b"hi");
    assert_eq!(v.read_file("/nope"), Err(Errno::Noent));
    assert_eq!(v.read_file("/"), Err(Errno::Isdir));
}

#[test]
fn inode_numbers_are_sequential_and_never_reused() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.create_dir("/a").unwrap();
    v.write_file("/a/f", b"").unwrap();
    v.remove_file("/a/f").unwrap();
    v.write_file("/a/g", b"").unwrap();
    assert_eq!(v.stat("/a").unwrap().ino, 2);
    assert_eq!(v.stat("/a/g").unwrap().ino, 4);
}

#[test]
fn append_and_offsets_across_chunks() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.append_file("/log", b"one\n").unwrap();
    v.append_file("/log", b"two\n").unwrap();
    assert_eq!(v.read_file("/log").unwrap(), b"one\ntwo\n");

    let big: Vec<u8> = (0..3 * CHUNK_SIZE as usize + 10).map(|i| i as u8).collect();
    v.write_file("/big", &big).unwrap();
    let ino = v.stat("/big").unwrap().ino;
    // Overwrite across the first chunk boundary.
    v.write_at(ino, Some(CHUNK_SIZE - 2), b"ABCD").unwrap();
    let mut expect = big.clone();
    expect[CHUNK_SIZE as usize - 2..CHUNK_SIZE as usize + 2].copy_from_slice(b"ABCD");
    assert_eq!(v.read_file("/big").unwrap(), expect);
    let mut buf = [0u8; 6];
    assert_eq!(v.read_at(ino, CHUNK_SIZE - 3, &mut buf), Ok(6));
    assert_eq!(&buf, &expect[CHUNK_SIZE as usize - 3..CHUNK_SIZE as usize + 3]);
    // Reading at or past the end.
    assert_eq!(v.read_at(ino, big.len() as u64, &mut buf), Ok(0));
    assert_eq!(v.read_at(ino, big.len() as u64 - 2, &mut buf), Ok(2));
    drop(v);
    assert_eq!(keys_with(&s, b'd'), 4 + 1);
}

#[test]
fn sparse_files_read_zeros_and_store_only_written_chunks() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.write_file("/sparse", b"").unwrap();
    let ino = v.stat("/sparse").unwrap().ino;
    let far = 100 * CHUNK_SIZE + 5;
    v.write_at(ino, Some(far), b"x").unwrap();
    assert_eq!(v.stat("/sparse").unwrap().size, far + 1);
    let data = v.read_file("/sparse").unwrap();
    assert!(data[..far as usize].iter().all(|&b| b == 0));
    assert_eq!(data[far as usize], b'x');
    // Growing with set_len stores nothing either.
    v.set_len("/sparse", far + 10 * CHUNK_SIZE).unwrap();
    drop(v);
    assert_eq!(keys_with(&s, b'd'), 1);
}

#[test]
fn truncate_then_grow_reads_zeros() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.write_file("/f", &[7u8; 10_000]).unwrap();
    v.set_len("/f", 5).unwrap();
    assert_eq!(v.read_file("/f").unwrap(), [7u8; 5]);
    v.set_len("/f", 20).unwrap();
    let mut expect = vec![7u8; 5];
    expect.resize(20, 0);
    assert_eq!(v.read_file("/f").unwrap(), expect);
    // Writing past the end after a shrink leaves a zero gap too.
    v.set_len("/f", 3).unwrap();
    let ino = v.stat("/f").unwrap().ino;
    v.write_at(ino, Some(8), b"z").unwrap();
    assert_eq!(v.read_file("/f").unwrap(), b"\x07\x07\x07\0\0\0\0\0z");
    drop(v);
    assert_eq!(keys_with(&s, b'd'), 1);
}

#[test]
fn unlink_frees_everything() {
    let mut s = MemStorage::new();
    let before = {
        let mut v = Vfs::new(&mut s, T);
        v.create_dir("/d").unwrap();
        drop(v);
        s.clone()
    };
    let mut v = Vfs::new(&mut s, T);
    v.write_file("/d/f", &[1u8; 9000]).unwrap();
    v.remove_file("/d/f").unwrap();
    assert_eq!(v.stat("/d/f"), Err(Errno::Noent));
    assert_eq!(v.remove_file("/d/f"), Err(Errno::Noent));
    assert_eq!(v.remove_file("/d"), Err(Errno::Isdir));
    drop(v);
    // Only the inode counter moved.
    let mut a = before.entries().clone();
    let mut b = s.entries().clone();
    a.remove(&b"n"[..]);
    b.remove(&b"n"[..]);
    assert_eq!(a, b);
}

#[test]
fn directories() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.create_dir("/a").unwrap();
    assert_eq!(v.create_dir("/a"), Err(Errno::Exist));
    assert_eq!(v.create_dir("/x/y"), Err(Errno::Noent));
    v.create_dir_all("/a/b/c").unwrap();
    v.create_dir_all("/a/b/c").unwrap();
    assert_eq!(v.stat("/a").unwrap().nlink, 3);
    assert_eq!(v.stat("/").unwrap().nlink, 3);
    v.write_file("/a/file", b"").unwrap();
    assert_eq!(v.create_dir_all("/a/file/x"), Err(Errno::Notdir));
    assert_eq!(v.remove_dir("/a"), Err(Errno::Notempty));
    assert_eq!(v.remove_dir("/a/file"), Err(Errno::Notdir));
    assert_eq!(v.remove_dir("/a/b/."), Err(Errno::Inval));
    assert_eq!(v.remove_dir("/a/b/c/.."), Err(Errno::Notempty));
    v.remove_dir("/a/b/c").unwrap();
    assert_eq!(v.stat("/a/b").unwrap().nlink, 2);
    assert_eq!(v.stat("/a/b/../file").unwrap().file_type, FileType::RegularFile);
    assert_eq!(v.stat("/..").map(drop), Err(Errno::Notcapable));
    assert_eq!(v.stat("/a/../..").map(drop), Err(Errno::Notcapable));
    assert_eq!(v.stat("/a/file/").map(drop), Err(Errno::Notdir));
    assert_eq!(v.stat("/a/b/").unwrap().file_type, FileType::Directory);
}

#[test]
fn readdir_is_sorted_by_name() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    for name in ["zeta", "Alpha", "beta", "a", "b.txt", "ä"] {
        v.write_file(&format!("/{name}"), b"").unwrap();
    }
    v.create_dir("/dir").unwrap();
    let names: Vec<String> = v.read_dir("/").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["Alpha", "a", "b.txt", "beta", "dir", "zeta", "ä"]);
    let dir = v.read_dir("/").unwrap().into_iter().find(|e| e.name == "dir").unwrap();
    assert_eq!(dir.file_type, FileType::Directory);
    assert_eq!(v.stat("/").unwrap().size, 7);
    assert_eq!(v.read_dir("/a"), Err(Errno::Notdir));
}

#[test]
fn rename_files() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.write_file("/a", b"A").unwrap();
    v.write_file("/b", b"B").unwrap();
    let a = v.stat("/a").unwrap().ino;
    let b = v.stat("/b").unwrap().ino;
    v.rename("/a", "/b").unwrap();
    assert_eq!(v.read_file("/b").unwrap(), b"A");
    assert_eq!(v.stat("/b").unwrap().ino, a);
    assert_eq!(v.stat("/a"), Err(Errno::Noent));
    assert_eq!(v.stat_ino(b), Err(Errno::Badf), "the replaced file is freed");
    assert_eq!(v.stat("/").unwrap().size, 1);
    // Renaming onto itself or another link of the same inode changes nothing.
    v.rename("/b", "/b").unwrap();
    v.hard_link("/b", "/c").unwrap();
    v.rename("/b", "/c").unwrap();
    assert!(v.exists("/b") && v.exists("/c"));
    v.create_dir("/d").unwrap();
    v.rename("/c", "/d/c").unwrap();
    assert_eq!(v.read_file("/d/c").unwrap(), b"A");
    assert_eq!(v.rename("/b", "/d"), Err(Errno::Isdir));
    assert_eq!(v.rename("/b", "/b2/"), Err(Errno::Notdir));
    assert_eq!(v.rename("/missing", "/x"), Err(Errno::Noent));
    assert_eq!(v.rename("/b", "/nodir/x"), Err(Errno::Noent));
    assert_eq!(v.rename("/d/.", "/e"), Err(Errno::Busy));
}

#[test]
fn rename_directories() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.create_dir_all("/a/sub").unwrap();
    v.write_file("/a/sub/f", b"x").unwrap();
    v.create_dir("/empty").unwrap();
    v.create_dir_all("/full/x").unwrap();
    assert_eq!(v.rename("/a", "/a/sub/a"), Err(Errno::Inval));
    assert_eq!(v.rename("/a", "/a/a2"), Err(Errno::Inval));
    assert_eq!(v.rename("/a", "/full"), Err(Errno::Notempty));
    v.write_file("/file", b"").unwrap();
    assert_eq!(v.rename("/a", "/file"), Err(Errno::Notdir));
    // Over an empty directory.
    let a = v.stat("/a").unwrap().ino;
    v.rename("/a", "/empty").unwrap();
    assert_eq!(v.stat("/empty").unwrap().ino, a);
    assert_eq!(v.read_file("/empty/sub/f").unwrap(), b"x");
    // Into another directory: link counts and `..` follow.
    v.rename("/empty", "/full/moved/").unwrap();
    assert_eq!(v.stat("/full").unwrap().nlink, 4);
    assert_eq!(v.stat("/full/moved/..").unwrap().ino, v.stat("/full").unwrap().ino);
    assert_eq!(v.read_file("/full/moved/sub/../sub/f").unwrap(), b"x");
    assert_eq!(v.stat("/").unwrap().nlink, 3, "2 + /full");
}

#[test]
fn symlinks() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.create_dir_all("/data/inner").unwrap();
    v.write_file("/data/inner/f", b"content").unwrap();
    v.symlink("inner/f", "/data/rel").unwrap();
    v.symlink("/data/inner", "/abs").unwrap();
    v.symlink("missing", "/dangling").unwrap();
    assert_eq!(v.read_file("/data/rel").unwrap(), b"content");
    assert_eq!(v.read_file("/abs/f").unwrap(), b"content");
    assert_eq!(v.lstat("/abs").unwrap().file_type, FileType::SymbolicLink);
    assert_eq!(v.lstat("/abs").unwrap().size, 11);
    assert_eq!(v.stat("/abs").unwrap().file_type, FileType::Directory);
    assert_eq!(v.stat("/abs/").unwrap().file_type, FileType::Directory);
    assert_eq!(v.read_link("/abs").unwrap(), "/data/inner");
    assert_eq!(v.read_link("/data"), Err(Errno::Inval));
    assert_eq!(v.stat("/dangling"), Err(Errno::Noent));
    assert!(v.lstat("/dangling").is_ok());
    // Writing through a dangling link creates its target.
    v.write_file("/dangling", b"now").unwrap();
    assert_eq!(v.read_file("/missing").unwrap(), b"now");
    // Loops.
    v.symlink("loop2", "/loop1").unwrap();
    v.symlink("loop1", "/loop2").unwrap();
    assert_eq!(v.stat("/loop1"), Err(Errno::Loop));
    v.symlink("self/x", "/self").unwrap();
    assert_eq!(v.stat("/self"), Err(Errno::Loop));
    // A chain of 40 links resolves, 41 does not.
    v.symlink("/data/inner/f", "/c0").unwrap();
    for i in 1..=40 {
        v.symlink(&format!("c{}", i - 1), &format!("/c{i}")).unwrap();
    }
    assert_eq!(v.read_file("/c39").unwrap(), b"content");
    assert_eq!(v.read_file("/c40"), Err(Errno::Loop));
    // Escaping the root through a link.
    v.symlink("../..", "/data/up").unwrap();
    assert_eq!(v.stat("/data/up"), Err(Errno::Notcapable));
    // Unlinking removes the link, not the target.
    v.remove_file("/data/rel").unwrap();
    assert!(v.exists("/data/inner/f"));
    assert_eq!(v.symlink("", "/empty"), Err(Errno::Noent));
    assert_eq!(v.symlink("x", "/abs"), Err(Errno::Exist));
}

#[test]
fn open_options() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.create_dir("/d").unwrap();
    v.write_file("/f", b"abc").unwrap();
    v.symlink("f", "/l").unwrap();
    let at = |p: &'static str| At { root: ROOT_INO, dir: ROOT_INO, path: p.as_bytes() };
    let o = OpenOptions::default();
    let create = OpenOptions { create: true, ..o };
    let excl = OpenOptions { exclusive: true, ..create };
    assert_eq!(v.open(at("f"), excl), Err(Errno::Exist));
    assert_eq!(v.open(at("l"), o), Err(Errno::Loop));
    assert_eq!(v.open(at("l"), OpenOptions { follow: true, ..o }).unwrap().kind, FileType::RegularFile);
    assert_eq!(v.open(at("d"), OpenOptions { write: true, ..o }), Err(Errno::Isdir));
    assert_eq!(v.open(at("f"), OpenOptions { directory: true, ..o }), Err(Errno::Notdir));
    assert_eq!(v.open(at("new/"), create), Err(Errno::Isdir));
    assert_eq!(v.open(at("new"), OpenOptions { directory: true, ..create }), Err(Errno::Inval));
    assert_eq!(v.open(at("new"), o), Err(Errno::Noent));
    assert_eq!(v.open(at("/f"), o), Err(Errno::Notcapable));
    assert_eq!(v.open(at("d/../f"), o).unwrap().kind, FileType::RegularFile);
    assert_eq!(v.open(at("."), o).unwrap().ino, ROOT_INO);
    v.open(at("f"), OpenOptions { truncate: true, ..o }).unwrap();
    assert_eq!(v.read_file("/f").unwrap(), b"");
    let long = "x".repeat(256);
    assert_eq!(v.write_file(&long, b""), Err(Errno::Nametoolong));
    assert_eq!(v.write_file("a\0b", b""), Err(Errno::Inval));
}

#[test]
fn hard_links() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T + 1);
    v.write_file("/a", b"shared").unwrap();
    v.hard_link("/a", "/b").unwrap();
    assert_eq!(v.stat("/a").unwrap().nlink, 2);
    assert_eq!(v.stat("/a").unwrap().ino, v.stat("/b").unwrap().ino);
    v.append_file("/b", b"!").unwrap();
    assert_eq!(v.read_file("/a").unwrap(), b"shared!");
    assert_eq!(v.hard_link("/a", "/b"), Err(Errno::Exist));
    v.create_dir("/d").unwrap();
    assert_eq!(v.hard_link("/d", "/d2"), Err(Errno::Perm));
    v.remove_file("/a").unwrap();
    assert_eq!(v.stat("/b").unwrap().nlink, 1);
    assert_eq!(v.read_file("/b").unwrap(), b"shared!");
    v.remove_file("/b").unwrap();
    drop(v);
    assert_eq!(keys_with(&s, b'd'), 0);
    assert_eq!(keys_with(&s, b'i'), 2, "root and /d");
}

#[test]
fn quota_exceeded_leaves_state_untouched() {
    let mut s = MemStorage::with_quota(20_000);
    {
        let mut v = Vfs::new(&mut s, T);
        v.create_dir("/d").unwrap();
        v.write_file("/d/f", &[1u8; 5000]).unwrap();
    }
    let before = s.clone();
    let mut v = Vfs::new(&mut s, T + 5);
    // A multi-chunk write that fails on a later chunk.
    let ino = v.stat("/d/f").unwrap().ino;
    assert_eq!(v.write_at(ino, Some(100), &[2u8; 30_000]), Err(Errno::Nospc));
    assert_eq!(v.write_file("/d/g", &[3u8; 30_000]), Err(Errno::Nospc));
    assert_eq!(v.append_file("/d/f", &[3u8; 16_000]), Err(Errno::Nospc));
    drop(v);
    assert_eq!(s, before);
    // Filling up exactly to the quota, then failing to create even an empty file.
    let mut v = Vfs::new(&mut s, T);
    assert!(20_000 - before.used() > 100, "room left for a few files");
    let mut n = 0;
    while v.write_file(&format!("/f{n}"), b"").is_ok() {
        n += 1;
    }
    let full = {
        drop(v);
        s.clone()
    };
    let mut v = Vfs::new(&mut s, T);
    assert_eq!(v.create_dir("/x"), Err(Errno::Nospc));
    assert_eq!(v.symlink("t", "/y"), Err(Errno::Nospc));
    drop(v);
    assert_eq!(s, full);
    // Freeing space makes writes possible again.
    let mut v = Vfs::new(&mut s, T);
    v.remove_file("/d/f").unwrap();
    v.create_dir("/x").unwrap();
}

#[test]
fn reads_never_write() {
    let mut s = MemStorage::new();
    let v = Vfs::new(&mut s, T);
    assert!(v.stat("/").is_ok());
    assert_eq!(v.read_dir("/").unwrap(), vec![]);
    assert_eq!(v.stat("/x"), Err(Errno::Noent));
    drop(v);
    assert!(s.entries().is_empty(), "the root is implicit until written");
    let mut v = Vfs::new(&mut s, T);
    v.write_file("/f", b"x").unwrap();
    drop(v);
    let before = s.clone();
    let v = Vfs::new(&mut s, T + 100);
    v.read_file("/f").unwrap();
    v.read_dir("/").unwrap();
    drop(v);
    assert_eq!(s, before);
}

#[test]
fn set_times_and_timestamps() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, T);
    v.write_file("/f", b"x").unwrap();
    let ino = v.stat("/f").unwrap().ino;
    let mut v = Vfs::new(&mut s, T + 10);
    v.set_times(ino, Some(5), None).unwrap();
    let st = v.stat("/f").unwrap();
    assert_eq!((st.atim, st.mtim, st.ctim), (5, T, T + 10));
    v.append_file("/f", b"y").unwrap();
    assert_eq!(v.stat("/f").unwrap().mtim, T + 10);
}

#[test]
fn storage_layout_is_as_documented() {
    let mut s = MemStorage::new();
    let mut v = Vfs::new(&mut s, 0);
    v.write_file("/f", b"hi").unwrap();
    drop(v);
    let e = s.entries();
    assert_eq!(e[&b"n"[..]], 3u64.to_be_bytes());
    let mut entry = vec![b'e'];
    entry.extend_from_slice(&1u64.to_be_bytes());
    entry.extend_from_slice(b"f");
    let mut child = 2u64.to_be_bytes().to_vec();
    child.push(4);
    assert_eq!(e[&entry], child);
    let mut data = vec![b'd'];
    data.extend_from_slice(&2u64.to_be_bytes());
    data.extend_from_slice(&0u64.to_be_bytes());
    assert_eq!(e[&data], b"hi");
    let mut meta = vec![b'i'];
    meta.extend_from_slice(&2u64.to_be_bytes());
    assert_eq!(e[&meta].len(), 49);
    assert_eq!(e[&meta][0], 4);
    assert_eq!(s.get(&meta).unwrap()[9..17], 2u64.to_be_bytes(), "size");
}
