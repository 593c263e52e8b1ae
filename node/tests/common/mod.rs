//! A real `nexus dev` process for the CLI tests, and the CLI run against it.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest the node may take to start (it compiles nothing at start; this is scheduling slack on
/// a loaded 2-core machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest one CLI command may take (a deploy compiles a module; the node bounds its own wait for
/// a commit at a minute).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// Dev account 1's key (anvil's second account): someone other than the deployer.
pub const DEV1_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Dev account 1's address.
pub const DEV1_ADDRESS: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
/// Dev account 0's address (the CLI's default signer on a dev chain).
pub const DEV0_ADDRESS: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

pub fn examples_dir() -> PathBuf {
    match std::env::var("NEXUS_EXAMPLES_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let target = std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
            Path::new(&target).join("examples-wasm")
        }
    }
}

pub fn example(name: &str) -> String {
    let p = examples_dir().join(format!("{name}.wasm"));
    assert!(p.exists(), "{} is missing; build the examples first (scripts/build-examples.sh)", p.display());
    p.to_str().expect("a UTF-8 path").to_string()
}

/// The bytes of a built example module.
pub fn example_bytes(name: &str) -> Vec<u8> {
    std::fs::read(example(name)).expect("a readable example module")
}

/// A `nexus dev --json` process on data directory `dir` and a free loopback port, with `args`;
/// returns it and its HTTP URL (read from the startup line).
pub fn start_dev(dir: &Path, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .args(["dev", "--json", "--rpc-addr", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nexus dev starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a startup line");
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad startup line {line:?}: {e}"));
    let url = v["rpc_url"].as_str().expect("rpc_url in the startup line").to_string();
    (child, url)
}

/// Checks an `eth-block-counter` file against the Ethereum node at `eth`: consecutive block
/// numbers (no gap, no duplicate), at least `min_blocks` of them, each with the final chain's
/// hash. Returns the first and last numbers.
pub async fn assert_blocks_are_the_final_chain(eth: &str, text: &str, min_blocks: usize) -> (u64, u64) {
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= min_blocks, "only {} Ethereum blocks ran", lines.len());
    let first: u64 = lines[0].split(' ').next().unwrap().parse().unwrap();
    for (i, line) in lines.iter().enumerate() {
        let number = first + i as u64;
        let (_, hash) = nexus_ethereum::devnet::block(eth, &format!("0x{number:x}")).await.unwrap();
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[0], number.to_string(), "a gap or a duplicate at line {i}: {text}");
        assert_eq!(fields[1], format!("0x{}", hex::encode(hash)), "block {number} is not the final chain's");
    }
    (first, first + lines.len() as u64 - 1)
}

/// A `nexus dev --ephemeral` child on a free loopback port; killed on drop.
pub struct DevNode {
    child: Child,
    pub url: String,
    /// Keystores of this test only (and the node's log, `node.log`).
    pub keys_dir: tempfile::TempDir,
}

impl DevNode {
    /// Starts the node and waits for it to print its URL; panics (failing the test) if it does
    /// not within [`START_TIMEOUT`].
    pub fn start() -> DevNode {
        let keys_dir = tempfile::tempdir().expect("a temp dir");
        let log_path = keys_dir.path().join("node.log");
        let log = std::fs::File::create(&log_path).expect("a log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_nexus"))
            .args(["dev", "--no-eth", "--ephemeral", "--rpc-addr", "127.0.0.1:0", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("nexus dev starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining: a closed pipe would make the node's next print fail.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if !line.is_empty() => line,
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!(
                    "nexus dev did not start within {START_TIMEOUT:?} ({other:?}, exit {status:?}):\n{log}"
                );
            }
        };
        let banner: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("banner {line:?}: {e}"));
        let url = banner["rpc_url"].as_str().expect("rpc_url in the banner").to_string();
        DevNode { child, url, keys_dir }
    }

    /// Runs `nexus <args>` against this node, with no signing key in the environment.
    pub fn nexus(&self, args: &[&str]) -> Output {
        run(Command::new(env!("CARGO_BIN_EXE_nexus"))
            .args(args)
            .env("NEXUS_RPC", &self.url)
            .env("NEXUS_KEYS_DIR", self.keys_dir.path())
            .env_remove("NEXUS_PRIVATE_KEY")
            .env_remove("NEXUS_PASSWORD"))
    }

    /// Runs `nexus <args> --json`, asserts success and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.nexus(&[args, &["--json"]].concat());
        assert!(out.status.success(), "nexus {args:?} failed:\n{}", text(&out));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("nexus {args:?}: not JSON ({e}):\n{}", text(&out)))
    }

    /// Runs `nexus <args>` and asserts it fails with exit code `code` and `needle` on stderr.
    pub fn fails(&self, args: &[&str], code: i32, needle: &str) -> Output {
        let out = self.nexus(args);
        assert_eq!(out.status.code(), Some(code), "nexus {args:?} should fail with {code}:\n{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "nexus {args:?}: stderr lacks {needle:?}:\n{stderr}");
        out
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion, killing it past [`COMMAND_TIMEOUT`].
pub fn run(cmd: &mut Command) -> Output {
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawns");
    // Drained while it runs, so a chatty command cannot block on a full pipe.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took longer than {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output { status, stdout: out.join().expect("reader"), stderr: err.join().expect("reader") }
}

/// Both streams of an output, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
