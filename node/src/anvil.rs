//! The local Ethereum `nexus dev` runs when given no endpoint: anvil with a block every second,
//! finality two blocks behind, and the gateway deployed on it.

use std::path::Path;

use anyhow::Context as _;
use nexus_ethereum::devnet;

/// A running anvil and its gateway; anvil stops when this is dropped.
pub struct Anvil {
    process: devnet::Anvil,
    /// The gateway deployed on it.
    pub gateway: [u8; 20],
}

impl Anvil {
    /// Starts anvil on `port`; with `state`, its chain is kept in that file between runs.
    pub async fn start(port: u16, state: Option<&Path>) -> anyhow::Result<Self> {
        let state = state.map(|s| s.display().to_string());
        let mut args = vec!["--block-time", "1"];
        if let Some(s) = &state {
            args.extend(["--state", s.as_str(), "--state-interval", "1"]);
        }
        let process = devnet::Anvil::spawn(port, &args).with_context(|| {
            format!("starting anvil on port {port} (pass --anvil-port, --eth-rpc or --no-eth)")
        })?;
        let gateway = devnet::deploy_gateway(&process.url()).await.context("deploying the NexusGateway")?;
        Ok(Self { process, gateway: gateway.into_array() })
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        self.process.url()
    }
}
