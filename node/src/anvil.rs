//! The local Ethereum `nexus dev` runs when given no endpoint: an anvil child process with fast
//! finality and a `NexusGateway` deployed from its first (unlocked) account.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_sol_types::SolConstructor as _;
use anyhow::{Context as _, bail};
use jsonrpsee::core::client::ClientT as _;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use nexus_ethereum::NexusGateway;
use serde_json::{Value, json};

/// anvil's first dev account (unlocked: `eth_sendTransaction` needs no key here).
const DEPLOYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// The secp256k1 generator's x coordinate: a valid placeholder group key (even y) until the
/// validators' threshold key replaces it.
const PLACEHOLDER_KEY_X: [u8; 32] = [
    0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce, 0x87, 0x0b, 0x07, 0x02,
    0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98,
];

/// `~/.cache/nexus/bin/anvil` (where scripts/install-ethereum-tools.sh puts it), else PATH.
fn binary() -> anyhow::Result<PathBuf> {
    let cached = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/nexus/bin/anvil"));
    let on_path = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("anvil")).find(|a| a.is_file()));
    cached.filter(|a| a.is_file()).or(on_path).context(
        "anvil not found in ~/.cache/nexus/bin or PATH: run scripts/install-ethereum-tools.sh, or pass \
         --eth-rpc URL (an Ethereum node) or --no-eth",
    )
}

/// A running anvil, killed when dropped.
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
    /// The gateway deployed on it.
    pub gateway: [u8; 20],
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // SIGTERM lets anvil write its --state file; then make sure it is gone.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(client: &HttpClient, method: &str, params: Vec<Value>) -> anyhow::Result<Value> {
    client.request(method, params).await.with_context(|| format!("anvil {method}"))
}

impl Anvil {
    /// Starts anvil on `port` of 127.0.0.1 with a block every second and finality two blocks
    /// behind (`--slots-in-an-epoch 1`); with `state`, its chain is kept there between runs.
    /// Deploys the gateway unless the chain already has it.
    pub async fn start(port: u16, state: Option<&Path>) -> anyhow::Result<Self> {
        let bin = binary()?;
        let mut cmd = Command::new(&bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--block-time", "1"]).args([
            "--slots-in-an-epoch",
            "1",
            "--silent",
        ]);
        if let Some(state) = state {
            cmd.arg("--state").arg(state).args(["--state-interval", "1"]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut anvil = Self { child, url: url.clone(), gateway: [0; 20] };
        let client = HttpClientBuilder::default().build(&url)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while call(&client, "eth_chainId", vec![]).await.is_err() {
            if Instant::now() > deadline || !matches!(anvil.child.try_wait(), Ok(None)) {
                bail!("anvil did not answer on {url} (is the port free?)");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anvil.gateway = deploy_gateway(&client).await?;
        Ok(anvil)
    }
}

/// The gateway at the deployer's first contract address, deploying it when the chain has no code
/// there yet (a fresh anvil; a resumed one keeps it).
async fn deploy_gateway(client: &HttpClient) -> anyhow::Result<[u8; 20]> {
    let deployer: alloy_primitives::Address = DEPLOYER.parse().expect("a valid address");
    let address = deployer.create(0);
    let code = call(client, "eth_getCode", vec![json!(address), json!("latest")]).await?;
    if code.as_str().is_some_and(|c| c.len() > 2) {
        return Ok(address.into_array());
    }
    let nonce = call(client, "eth_getTransactionCount", vec![json!(DEPLOYER), json!("latest")]).await?;
    if nonce != json!("0x0") {
        bail!("anvil's first account already sent transactions but holds no gateway at {address}");
    }
    let mut data = NexusGateway::BYTECODE.to_vec();
    let args = NexusGateway::constructorCall { x: PLACEHOLDER_KEY_X.into(), parity: 0, initialEpoch: 1 };
    data.extend(args.abi_encode());
    let tx = json!({"from": DEPLOYER, "data": format!("0x{}", hex::encode(data)), "gas": "0x1000000"});
    let hash = call(client, "eth_sendTransaction", vec![tx]).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let receipt = call(client, "eth_getTransactionReceipt", vec![hash.clone()]).await?;
        if !receipt.is_null() {
            if receipt["status"] != json!("0x1") {
                bail!("deploying the gateway reverted: {receipt}");
            }
            return Ok(address.into_array());
        }
        if Instant::now() > deadline {
            bail!("the gateway deployment was not mined in 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
