//! Example function: notes kept as files through std::fs.
//!
//! Everything goes through plain `std::fs`, which on chain reaches the function's virtual
//! filesystem over WASI; natively the tests run the same code in a temporary directory
//! ([`nexus_sdk::fs::root`]). Notes live in `/notes/<name>`. The input is one command:
//!
//! | command | effect | output |
//! |---|---|---|
//! | `add <name> <text>` | creates the note (fails if it exists) | nothing |
//! | `append <name> <text>` | appends a line to the note, creating it if needed | nothing |
//! | `cat <name>` | — | the note |
//! | `read <name> <offset> [<len>]` | — | `len` bytes from `offset` (to the end by default) |
//! | `list` | — | one `name size` line per note, sorted by name |
//! | `stat <name>` | — | `size <bytes> modified <unix seconds>` |
//! | `rm <name>` | deletes the note | nothing |
//! | `mv <from> <to>` | renames the note (fails if `to` exists) | nothing |
//!
//! `on_call` runs every command; `query` only the read-only ones (`cat`, `read`, `list`, `stat`).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

fn notes_dir() -> PathBuf {
    nexus_sdk::fs::root().join("notes")
}

/// A note's path, refusing names that would escape the notes directory.
fn note(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        return Err(format!("invalid note name {name:?}"));
    }
    Ok(notes_dir().join(name))
}

fn io_err(what: &str, name: &str) -> impl FnOnce(io::Error) -> String {
    let ctx = format!("{what} {name:?}");
    move |e| format!("{ctx}: {e}")
}

/// Runs one command; `read_only` refuses the commands that change files.
fn run(command: &str, read_only: bool) -> Result<Vec<u8>, String> {
    let command = command.trim_end_matches(['\n', '\r']);
    let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
    let mutating = matches!(verb, "add" | "append" | "rm" | "mv");
    if read_only && mutating {
        return Err(format!("`{verb}` changes notes; send it as a call, not a query"));
    }
    if mutating {
        fs::create_dir_all(notes_dir()).map_err(io_err("create", "/notes"))?;
    }
    match verb {
        "add" => {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(note(name)?)
                .map_err(io_err("create note", name))?;
            f.write_all(text.as_bytes()).map_err(io_err("write note", name))?;
            Ok(Vec::new())
        }
        "append" => {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let mut f = OpenOptions::new()
                .append(true)
                .create(true)
                .open(note(name)?)
                .map_err(io_err("open note", name))?;
            writeln!(f, "{text}").map_err(io_err("append to note", name))?;
            Ok(Vec::new())
        }
        "cat" => fs::read(note(rest)?).map_err(io_err("read note", rest)),
        "read" => {
            let mut args = rest.split(' ');
            let name = args.next().unwrap_or_default();
            let offset: u64 = parse(args.next(), "offset")?;
            let len: Option<u64> = args.next().map(|l| parse(Some(l), "length")).transpose()?;
            let mut f = fs::File::open(note(name)?).map_err(io_err("open note", name))?;
            f.seek(SeekFrom::Start(offset)).map_err(io_err("seek in note", name))?;
            let mut out = Vec::new();
            match len {
                Some(n) => f.take(n).read_to_end(&mut out),
                None => f.read_to_end(&mut out),
            }
            .map_err(io_err("read note", name))?;
            Ok(out)
        }
        "list" => {
            let mut out = String::new();
            let entries = match fs::read_dir(notes_dir()) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(format!("list notes: {e}")),
            };
            // The chain returns directory entries sorted by name; a native directory may not,
            // so sort anyway and the output is the same on both.
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| format!("list notes: {e}"))?;
                let size = entry.metadata().map_err(|e| format!("stat note: {e}"))?.len();
                names.push((entry.file_name().to_string_lossy().into_owned(), size));
            }
            names.sort();
            for (name, size) in names {
                out.push_str(&format!("{name} {size}\n"));
            }
            Ok(out.into_bytes())
        }
        "stat" => {
            let meta = fs::metadata(note(rest)?).map_err(io_err("stat note", rest))?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            Ok(format!("size {} modified {modified}", meta.len()).into_bytes())
        }
        "rm" => fs::remove_file(note(rest)?).map(|()| Vec::new()).map_err(io_err("remove note", rest)),
        "mv" => {
            let (from, to) = rest.split_once(' ').ok_or("usage: mv <from> <to>")?;
            let target = note(to)?;
            if target.exists() {
                return Err(format!("note {to:?} already exists"));
            }
            fs::rename(note(from)?, target).map_err(io_err("rename note", from))?;
            Ok(Vec::new())
        }
        other => Err(format!("unknown command {other:?}; try add, append, cat, read, list, stat, rm or mv")),
    }
}

fn parse(arg: Option<&str>, what: &str) -> Result<u64, String> {
    let arg = arg.ok_or(format!("missing {what}"))?;
    arg.parse().map_err(|e| format!("{what} {arg:?}: {e}"))
}

#[nexus_sdk::on_call]
fn call(command: &str) -> Result<Vec<u8>, String> {
    run(command, false)
}

#[nexus_sdk::query]
fn view(command: &str) -> Result<Vec<u8>, String> {
    run(command, true)
}

// The mock host these tests run against exists only off wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use nexus_sdk::testing::MockHost;

    fn call_ok(host: &MockHost, command: &str) -> String {
        host.set_input(command);
        host.invoke(on_call).unwrap_or_else(|e| panic!("{command}: {e}"));
        host.output_string().unwrap_or_default()
    }

    fn call_err(host: &MockHost, command: &str) -> String {
        host.set_input(command);
        host.invoke(on_call).expect_err(command)
    }

    #[test]
    fn notes_are_created_appended_read_and_listed_in_order() {
        let host = MockHost::new();
        assert_eq!(call_ok(&host, "list"), "");
        call_ok(&host, "add zeta last one");
        call_ok(&host, "add alpha first line\n");
        call_ok(&host, "append alpha");
        call_ok(&host, "append alpha second");
        call_ok(&host, "append mid created by append");
        assert_eq!(call_ok(&host, "cat alpha"), "first line\nsecond\n");
        assert_eq!(call_ok(&host, "list"), "alpha 18\nmid 18\nzeta 8\n");
        assert_eq!(call_ok(&host, "read alpha 6 4"), "line");
        assert_eq!(call_ok(&host, "read alpha 11"), "second\n");
        assert_eq!(call_ok(&host, "read alpha 100"), "");
        assert!(call_ok(&host, "stat zeta").starts_with("size 8 modified "));
        assert!(call_err(&host, "add zeta again").contains("create note \"zeta\""));
    }

    #[test]
    fn rename_and_remove_change_the_listing() {
        let host = MockHost::new();
        call_ok(&host, "add a 1");
        call_ok(&host, "add b 22");
        call_ok(&host, "mv a c");
        assert_eq!(call_ok(&host, "list"), "b 2\nc 1\n");
        assert!(call_err(&host, "mv b c").contains("already exists"));
        call_ok(&host, "rm b");
        assert_eq!(call_ok(&host, "list"), "c 1\n");
        assert!(call_err(&host, "rm b").contains("remove note \"b\""));
        assert!(call_err(&host, "cat a").contains("read note \"a\""));
    }

    #[test]
    fn names_cannot_escape_and_queries_cannot_write() {
        let host = MockHost::new();
        assert!(call_err(&host, "add ../x no").contains("invalid note name"));
        assert!(call_err(&host, "add .hidden no").contains("invalid note name"));
        assert!(call_err(&host, "frobnicate").contains("unknown command"));
        assert!(call_err(&host, "read a x").contains("offset \"x\""));
        host.set_input("add q text");
        assert!(host.invoke(query).unwrap_err().contains("not a query"));
        call_ok(&host, "add q text");
        host.set_input("cat q");
        host.invoke(query).unwrap();
        assert_eq!(host.output_string().as_deref(), Some("text"));
    }
}
