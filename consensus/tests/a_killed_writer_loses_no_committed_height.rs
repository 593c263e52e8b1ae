//! Crash safety on the real RocksDB backend: a writer process killed with SIGKILL at an arbitrary
//! moment (mid-commit, mid-sync or between blocks) loses no height it reported committed. After
//! each kill the store reopens at or past every reported height, with exactly the reported app
//! hashes, the data an uninterrupted run would have and the aux records of those heights, and it
//! goes on committing.
#![cfg(feature = "rocksdb")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nexus_consensus::{AppHash, Changes, Store, StoreConfig};

/// Set in the child: the data directory it writes to.
const WRITER_DIR: &str = "NEXUS_KILLED_WRITER_DIR";
const TEST_NAME: &str = "a_killed_writer_loses_no_committed_height";
const ROUNDS: usize = 8;

/// The writes of `height`: deterministic, so the parent can replay them; updates, new keys and
/// deletions over a few thousand keys, enough for each commit to take a few milliseconds.
fn block(height: u64) -> Changes {
    (0..300u64)
        .map(|i| {
            let key = ((height * 7_919 + i * 104_729) % 5_000).to_be_bytes().to_vec();
            let value = (i % 10 != 0).then(|| format!("{height}:{i}").into_bytes());
            (key, value)
        })
        .collect()
}

/// The node-local record committed with `height`.
fn record(height: u64) -> (Vec<u8>, Vec<u8>) {
    ([&b"block/"[..], &height.to_be_bytes()].concat(), format!("record {height}").into_bytes())
}

fn hex(root: &AppHash) -> String {
    root.iter().map(|b| format!("{b:02x}")).collect()
}

/// The child: commits blocks until killed, printing each height and root once `commit` returns.
fn write_until_killed(dir: &str) -> ! {
    let mut store = Store::open(dir, StoreConfig::default()).unwrap();
    let mut height = store.latest().map_or(1, |(h, _)| h + 1);
    let mut out = std::io::stdout();
    loop {
        store.apply(block(height));
        let (key, value) = record(height);
        let root = store.commit_with_aux(height, vec![(key, Some(value))]).unwrap();
        writeln!(out, "committed {height} {}", hex(&root)).unwrap();
        out.flush().unwrap();
        height += 1;
    }
}

/// Runs the writer in a child process, kills it `delay` after its first report and returns every
/// (height, root) it reported, including lines still in the pipe when it died.
fn run_and_kill(dir: &std::path::Path, delay: Duration) -> Vec<(u64, String)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(WRITER_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reported = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Some(rest) = line.unwrap().strip_prefix("committed ").map(str::to_owned) else { continue };
            let (height, root) = rest.split_once(' ').unwrap();
            reported.push((height.parse::<u64>().unwrap(), root.to_owned()));
            let _ = first_tx.send(());
        }
        reported
    });
    first_rx.recv_timeout(Duration::from_secs(120)).expect("the writer commits within two minutes");
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL: no destructors, no flush, no chance to finish the write.
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn a_killed_writer_loses_no_committed_height() {
    if let Ok(dir) = std::env::var(WRITER_DIR) {
        write_until_killed(&dir);
    }

    let dir = tempfile::tempdir().unwrap();
    let mut reported: BTreeMap<u64, String> = BTreeMap::new();
    // A fixed linear congruential stream picks the kill moments: different in every round,
    // the same in every run.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..ROUNDS {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_micros((seed >> 33) % 40_000);
        let lines = run_and_kill(dir.path(), delay);
        assert!(!lines.is_empty(), "round {round}: the writer reported nothing");
        for (height, root) in lines {
            if let Some(earlier) = reported.insert(height, root.clone()) {
                assert_eq!(earlier, root, "height {height} reported twice with different roots");
            }
        }

        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let (latest, _) = store.latest().expect("something was committed");
        let (&last_reported, _) = reported.last_key_value().unwrap();
        assert!(
            latest >= last_reported,
            "round {round}: reported {last_reported} committed, reopened at {latest}"
        );
        for (height, root) in &reported {
            assert_eq!(&hex(&store.app_hash(*height).unwrap()), root, "round {round}: height {height}");
            let (key, value) = record(*height);
            assert_eq!(store.get_aux(&key).unwrap(), Some(value), "round {round}: record of height {height}");
        }
        let (after, _) = record(latest + 1);
        assert_eq!(store.get_aux(&after).unwrap(), None, "round {round}: a record beyond the latest height");
    }

    // The recovered state is exactly what an uninterrupted writer reaches, and it goes on.
    let mut store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let (latest, latest_root) = store.latest().unwrap();
    let mut replay = Store::in_memory();
    let mut model = BTreeMap::new();
    for height in 1..=latest {
        let changes = block(height);
        for (k, v) in &changes {
            match v {
                Some(v) => model.insert(k.clone(), v.clone()),
                None => model.remove(k),
            };
        }
        replay.apply(changes);
        let root = replay.commit(height).unwrap();
        assert_eq!(store.app_hash(height).unwrap(), root, "height {height} differs from a replay");
    }
    assert_eq!(replay.latest(), Some((latest, latest_root)));
    for key in (0..5_000u64).map(|k| k.to_be_bytes().to_vec()) {
        assert_eq!(store.get(&key).unwrap(), model.get(&key).cloned(), "key {key:?}");
    }
    store.apply(block(latest + 1));
    replay.apply(block(latest + 1));
    assert_eq!(store.commit(latest + 1).unwrap(), replay.commit(latest + 1).unwrap());
}
