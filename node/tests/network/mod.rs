//! Real validator networks for the integration tests: `nexus network new` on free loopback
//! ports, one `nexus validator start` process per validator (each supervising a real cometbft),
//! killed with SIGKILL and restarted at will. A missing cometbft fails the tests (the network
//! cannot be created), it never skips them.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nexus_api::types::{BlockRecord, Bytes, H256, TxRecord};
use nexus_api::{Client, DevAccount, NexusApiClient as _};
use nexus_consensus::app::tx::{Msg, Tx};

pub mod signing;
pub mod staking;

#[path = "../common/mod.rs"]
pub mod common;
use common::examples_dir;

/// The chain id `nexus network new` gives a network by default.
pub const CHAIN_ID: u64 = 31_338;

/// Generous bound for anything a healthy 4-validator network does on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub fn example(name: &str) -> Vec<u8> {
    let p = examples_dir().join(format!("{name}.wasm"));
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); build the examples first (make examples)", p.display())
    })
}

/// A signed transaction for the network's chain id.
pub fn signed(account: &DevAccount, nonce: u64, gas_limit: u64, msg: Msg) -> Bytes {
    let tx = Tx { chain_id: CHAIN_ID, nonce, expires_at: 0, gas_limit, gas_price: 1, msgs: vec![msg] };
    Bytes(tx.sign(&account.key).encode())
}

/// Loopback ports `base .. base + 10 * n` that are free now.
fn free_base(n: usize) -> u16 {
    // The OS picks ephemeral ports at random: a cheap seed that differs between test processes.
    let seed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port() as u64;
    for attempt in 0..200u64 {
        let base = 20_000 + ((seed + attempt * 104_729) % 1_000) as u16 * 40;
        let all_free =
            (0..n as u16 * 10).all(|off| std::net::TcpListener::bind(("127.0.0.1", base + off)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no free block of loopback ports");
}

/// One validator of a test network.
pub struct Validator {
    pub home: PathBuf,
    /// Its node API, `http://…`.
    pub api: String,
    /// Its CometBFT RPC, `http://…`.
    pub cometbft_rpc: String,
    child: Option<Child>,
}

/// A network of validators in a temporary directory; every process is killed on drop.
pub struct Network {
    pub dir: tempfile::TempDir,
    pub validators: Vec<Validator>,
}

fn nexus() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nexus"))
}

impl Network {
    /// Creates (does not start) a network of `n` validators with the dev accounts funded.
    pub fn new(n: usize) -> Self {
        Self::with_params(n, None)
    }

    /// Like [`Network::new`], with genesis `params` (JSON, any subset) given to `network new`.
    pub fn with_params(n: usize, params: Option<serde_json::Value>) -> Self {
        let dir = tempfile::Builder::new().prefix("nx").tempdir_in("/tmp").unwrap();
        let base = free_base(n);
        let mut cmd = nexus();
        cmd.args([
            "network",
            "new",
            "--dev-accounts",
            "--validators",
            &n.to_string(),
            "--base-port",
            &base.to_string(),
            "--dir",
        ])
        .arg(dir.path());
        if let Some(params) = params {
            let path = dir.path().join("params.json");
            std::fs::write(&path, params.to_string()).unwrap();
            cmd.arg("--params").arg(path);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "nexus network new failed (is cometbft installed? scripts/install-cometbft.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let validators = (0..n)
            .map(|i| {
                let home = dir.path().canonicalize().unwrap().join(format!("validator-{i}"));
                let b = base + 10 * i as u16;
                Validator {
                    home,
                    api: format!("http://127.0.0.1:{}", b + 2),
                    cometbft_rpc: format!("http://127.0.0.1:{}", b + 1),
                    child: None,
                }
            })
            .collect();
        Self { dir, validators }
    }

    /// Initializes (does not start) one more node from the network's genesis with `nexus
    /// validator init`, peered with the genesis validators; returns its index. It validates once
    /// its consensus key joins the set.
    pub fn add_node(&mut self) -> usize {
        let i = self.validators.len();
        let home = self.dir.path().canonicalize().unwrap().join(format!("node-{i}"));
        let config =
            std::fs::read_to_string(self.validators[1].home.join("cometbft/config/config.toml")).unwrap();
        let peers = config
            .lines()
            .find_map(|l| l.strip_prefix("persistent_peers = "))
            .expect("validator-1 lists its peers")
            .trim_matches('"')
            .to_string();
        let base = free_base(1);
        let out = nexus()
            .args([
                "validator",
                "init",
                "--moniker",
                &format!("node-{i}"),
                "--listen",
                "127.0.0.1",
                "--peers",
                &peers,
            ])
            .args(["--p2p-port", &base.to_string(), "--cometbft-rpc-port", &(base + 1).to_string()])
            .args(["--api-port", &(base + 2).to_string(), "--home"])
            .arg(&home)
            .arg("--genesis")
            .arg(self.dir.path().join("genesis.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nexus validator init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.validators.push(Validator {
            home,
            api: format!("http://127.0.0.1:{}", base + 2),
            cometbft_rpc: format!("http://127.0.0.1:{}", base + 1),
            child: None,
        });
        i
    }

    /// The operator account key `network new` wrote for genesis validator `i`, as hex.
    pub fn operator_key(&self, i: usize) -> String {
        std::fs::read_to_string(self.validators[i].home.join("operator.key")).unwrap().trim().to_string()
    }

    /// Runs the `nexus` CLI against node `i`'s API, signing with `private_key`; returns
    /// `(success, stdout + stderr)`.
    pub fn cli(&self, i: usize, private_key: &str, args: &[&str]) -> (bool, String) {
        let out = nexus()
            .args(args)
            .args(["--rpc", &self.validators[i].api])
            .env("NEXUS_PRIVATE_KEY", private_key)
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// The validator set CometBFT at node `i` uses for `height`: consensus address (upper hex)
    /// → voting power.
    pub async fn cometbft_validators(
        &self,
        i: usize,
        height: u64,
    ) -> std::collections::BTreeMap<String, u64> {
        let r =
            cometbft(&self.validators[i].cometbft_rpc, "validators", &[("height", height.to_string())]).await;
        r["validators"]
            .as_array()
            .expect("a validator list")
            .iter()
            .map(|v| {
                let address = v["address"].as_str().unwrap().to_string();
                (address, v["voting_power"].as_str().unwrap().parse().unwrap())
            })
            .collect()
    }

    /// Waits until node `i`'s CometBFT runs with a set for which `accept` holds; returns the
    /// height it was seen at.
    pub async fn wait_set(
        &self,
        i: usize,
        what: &str,
        accept: impl Fn(&std::collections::BTreeMap<String, u64>) -> bool,
    ) -> u64 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let h = self.height(i).await.unwrap_or(0);
            if h > 0 && accept(&self.cometbft_validators(i, h).await) {
                return h;
            }
            assert!(Instant::now() < deadline, "{what}: not seen by height {h} in {}s", PATIENCE.as_secs());
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Waits until a commit after `from` (as node `i` serves them) carries a precommit of the
    /// validator with consensus `address`; a validator that joined late may miss a few.
    pub async fn wait_signed(&self, i: usize, address: &str, from: u64) -> u64 {
        for h in from + 1..=from + 20 {
            self.wait_height(i, h + 1).await;
            let commit =
                cometbft(&self.validators[i].cometbft_rpc, "commit", &[("height", h.to_string())]).await;
            let signed = commit["signed_header"]["commit"]["signatures"]
                .as_array()
                .expect("commit signatures")
                .iter()
                .any(|s| s["validator_address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(address)));
            if signed {
                return h;
            }
        }
        panic!("validator {address} signed none of the 20 commits after height {from}");
    }

    /// Starts validator `i` (its log appends to `<home>/node.log`).
    pub fn start(&mut self, i: usize) {
        self.start_with_env(i, &[]);
    }

    /// Starts validator `i` with extra environment variables.
    pub fn start_with_env(&mut self, i: usize, env: &[(&str, &str)]) {
        self.start_with(i, env, &[]);
    }

    /// Starts validator `i` with extra environment variables and `nexus validator start` args.
    pub fn start_with(&mut self, i: usize, env: &[(&str, &str)], args: &[&str]) {
        let v = &mut self.validators[i];
        assert!(v.child.is_none(), "validator-{i} is already running");
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(v.home.join("node.log")).unwrap();
        let mut cmd = nexus();
        cmd.args(["validator", "start", "--home"]).arg(&v.home).args(args);
        for (k, val) in env {
            cmd.env(k, val);
        }
        v.child =
            Some(cmd.stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap());
    }

    /// Starts every validator.
    pub fn start_all(&mut self) {
        for i in 0..self.validators.len() {
            self.start(i);
        }
    }

    /// The pid of validator `i`'s cometbft child, if it runs.
    pub fn cometbft_pid(&self, i: usize) -> Option<u32> {
        let pattern = format!("cometbft start --home {}/cometbft", self.validators[i].home.display());
        let out = Command::new("pgrep").args(["-f", &pattern]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().next().and_then(|l| l.trim().parse().ok())
    }

    /// SIGKILLs validator `i`'s application process and checks that its cometbft goes with it
    /// (the kernel kills it: it must not linger, holding ports a restart needs).
    pub fn kill_app(&mut self, i: usize) {
        let mut child = self.validators[i].child.take().expect("validator is running");
        child.kill().unwrap();
        child.wait().unwrap();
        self.wait_cometbft_gone(i, Duration::from_secs(3));
    }

    /// SIGSTOPs validator `i`'s cometbft: it can no longer react to anything, not even to losing
    /// its application.
    pub fn freeze_cometbft(&self, i: usize) {
        let pid = self.cometbft_pid(i).expect("cometbft runs");
        assert!(Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
    }

    /// SIGKILLs validator `i`'s cometbft; returns how the supervising process then exited.
    pub fn kill_cometbft(&mut self, i: usize) -> ExitStatus {
        let pid = self.cometbft_pid(i).expect("cometbft runs");
        Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
        self.wait_exit(i, Duration::from_secs(30))
            .expect("the validator process stops when its cometbft dies")
    }

    /// Stops validator `i` cleanly (SIGTERM: it stops its cometbft and closes its store) and
    /// waits for it.
    pub fn stop(&mut self, i: usize) -> ExitStatus {
        let pid = self.validators[i].child.as_ref().expect("validator is running").id();
        Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
        self.wait_exit(i, Duration::from_secs(30)).expect("a validator stops on SIGTERM")
    }

    /// Waits for validator `i`'s process to exit on its own; `None` on timeout.
    pub fn wait_exit(&mut self, i: usize, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.validators[i].child.as_mut().expect("validator is running");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.validators[i].child = None;
                self.wait_cometbft_gone(i, Duration::from_secs(30));
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_cometbft_gone(&self, i: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while let Some(pid) = self.cometbft_pid(i) {
            assert!(
                Instant::now() < deadline,
                "validator-{i}'s cometbft (pid {pid}) outlived its application"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub async fn client(&self, i: usize) -> Client {
        Client::connect(&self.validators[i].api).await.unwrap()
    }

    /// Validator `i`'s committed height, `None` if its API does not answer.
    pub async fn height(&self, i: usize) -> Option<u64> {
        let client = Client::connect(&self.validators[i].api).await.ok()?;
        client.status().await.ok().map(|s| s.height)
    }

    /// Waits until validator `i` has committed `height`.
    pub async fn wait_height(&self, i: usize, height: u64) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.height(i).await.is_some_and(|h| h >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "validator-{i} did not reach height {height} in {}s (at {:?}); log: {}",
                PATIENCE.as_secs(),
                self.height(i).await,
                self.validators[i].home.join("node.log").display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The highest height any running validator reports.
    pub async fn max_height(&self) -> u64 {
        let mut max = 0;
        for i in 0..self.validators.len() {
            max = max.max(self.height(i).await.unwrap_or(0));
        }
        max
    }

    /// Asserts that the listed validators report the same app hash at every height `1..=upto`.
    pub async fn assert_same_app_hashes(&self, which: &[usize], upto: u64) {
        let mut clients = Vec::new();
        for &i in which {
            // A validator a block behind the one the caller watched is not a disagreement.
            self.wait_height(i, upto).await;
            clients.push((i, self.client(i).await));
        }
        for h in 1..=upto {
            let mut first: Option<(usize, H256)> = None;
            for (i, c) in &clients {
                let b: BlockRecord =
                    c.get_block(Some(h)).await.unwrap_or_else(|e| panic!("validator-{i} block {h}: {e}"));
                let hash = H256(b.app_hash);
                match &first {
                    None => first = Some((*i, hash)),
                    Some((j, other)) => {
                        assert_eq!(hash, *other, "validators {j} and {i} disagree at height {h}")
                    }
                }
            }
        }
    }

    /// Submits a transaction through validator `i` and waits for its committed result.
    pub async fn send_and_wait(&self, i: usize, tx: Bytes) -> TxRecord {
        let client = self.client(i).await;
        let sent =
            client.send_tx(tx, Some(true)).await.unwrap_or_else(|e| panic!("validator-{i} refused: {e}"));
        sent.result.expect("wait = true returns the result")
    }
}

/// One request to a CometBFT RPC endpoint.
pub async fn cometbft(rpc: &str, method: &str, params: &[(&str, String)]) -> serde_json::Value {
    use jsonrpsee::core::client::ClientT as _;
    let client = jsonrpsee_http_client::HttpClientBuilder::default().build(rpc).unwrap();
    let mut p = jsonrpsee::core::params::ObjectParams::new();
    for (k, v) in params {
        p.insert(k, v).unwrap();
    }
    client.request(method, p).await.unwrap_or_else(|e| panic!("cometbft {method} at {rpc}: {e}"))
}

/// The upper-hex consensus address CometBFT names a validator home's key by.
pub fn consensus_address(home: &std::path::Path) -> String {
    let key: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("cometbft/config/priv_validator_key.json")).unwrap(),
    )
    .unwrap();
    key["address"].as_str().unwrap().to_string()
}

impl Drop for Network {
    fn drop(&mut self) {
        for v in &mut self.validators {
            if let Some(mut c) = v.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        // Their cometbft children exit once the application is gone; make sure.
        let _ = Command::new("pkill").args(["-9", "-f", &self.dir.path().display().to_string()]).status();
    }
}
