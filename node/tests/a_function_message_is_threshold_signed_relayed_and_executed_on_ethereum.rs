//! `nexus dev` with its own anvil: the dev validator makes a threshold key, its relayer installs
//! it on the gateway; `eth-sender`'s `eth_send` is signed, relayed and executed by the gateway
//! on anvil (a TestToken mint with the exact calldata), the function learns it in `on_reply`,
//! its logs read queued → signed → executed, and the same signed message replayed to the gateway
//! is refused.

mod common;

use std::time::{Duration, Instant};

use alloy_sol_types::SolCall as _;
use nexus_api::types::{Bytes, H256};
use nexus_api::{Client, NexusApiClient as _, dev_accounts};
use nexus_consensus::app::tx::{Msg, Tx};
use nexus_ethereum::NexusGateway;
use nexus_ethereum::devnet;
use nexus_ethereum::examples::TestToken;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn send(client: &Client, nonce: u64, msg: Msg) -> nexus_api::types::TxRecord {
    let tx =
        Tx { chain_id: 31_337, nonce, expires_at: 0, gas_limit: 400_000_000, gas_price: 1, msgs: vec![msg] };
    let sent = client.send_tx(Bytes(tx.sign(&dev_accounts()[0].key).encode()), Some(true)).await.unwrap();
    let r = sent.result.unwrap();
    assert!(r.ok, "{:?}", r.error);
    r
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eth_send_is_signed_relayed_executed_and_answered() {
    if devnet::anvil_binary().is_none() && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("skipping: anvil is not installed (scripts/install-ethereum-tools.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let (node, url) = common::start_dev(dir.path(), &["--block-time", "200ms", "--anvil-port", &port]);
    let _node = KilledOnDrop(node);
    let eth = format!("http://127.0.0.1:{port}");
    let client = Client::connect(&url).await.unwrap();
    let gateway = alloy_primitives::Address::from(client.eth_status().await.unwrap().gateway.unwrap().0);

    // The DKG (one dev validator) makes key 1; the relayer installs it on the gateway.
    let key = eventually("the first key", async || {
        let s = client.tss_status().await.unwrap();
        s.keys.into_iter().find(|k| s.active_epoch == Some(k.epoch))
    })
    .await;
    eventually("the key on the gateway", async || {
        let x = devnet::call(&eth, gateway, NexusGateway::groupKeyXCall {}.abi_encode()).await.ok()?;
        (x.as_slice() == key.x.0.as_slice()).then_some(())
    })
    .await;

    let token = devnet::deploy(&eth, TestToken::BYTECODE.to_vec()).await.unwrap();
    let holder = alloy_primitives::Address::repeat_byte(0xbb);
    let mint = TestToken::mintCall { to: holder, value: alloy_primitives::U256::from(42) }.abi_encode();
    let r = send(&client, 0, Msg::Deploy { code: common::example_bytes("eth-sender"), input: vec![] }).await;
    let sender = r.results[0].function.unwrap();
    let input = [token.as_slice(), &mint].concat();
    send(&client, 1, Msg::Call { function: sender, input, value: 0 }).await;

    // Signed, relayed, executed: the holder got exactly what the calldata said.
    eventually("the mint on Ethereum", async || {
        let balance = devnet::call(&eth, token, TestToken::balanceOfCall(holder).abi_encode()).await.ok()?;
        (alloy_primitives::U256::from_be_slice(&balance) == alloy_primitives::U256::from(42)).then_some(())
    })
    .await;
    let replies = eventually("the reply", async || {
        let text = client.fs_read(H256(sender), "/replies.txt".into()).await.ok()?;
        Some(String::from_utf8(text.0).unwrap())
    })
    .await;
    assert_eq!(replies, "0 ok\n");
    // `nexus logs` tells the message's story: queued, signed, executed.
    let story: Vec<String> = client
        .logs(H256(sender), None, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.kind == "eth_send")
        .map(|l| l.message)
        .collect();
    let to = format!("{token:#x}").to_lowercase();
    assert_eq!(
        story,
        [
            format!("request 0: gateway message 0 to {to} queued"),
            format!("request 0: gateway message 0 to {to} signed in batch 0 under key 1"),
            format!("request 0: gateway message 0 to {to} executed on Ethereum"),
        ]
    );

    // The same signed message again: the gateway refuses it.
    let batch = client.tss_batches(0, None).await.unwrap().remove(0);
    let m = &batch.messages[0];
    // The chain drops an executed message's calldata; the mint above is what was signed.
    assert_eq!((m.nonce, m.sender, m.status.as_str()), (0, H256(sender), "executed"));
    let replay = NexusGateway::executeCall {
        m: NexusGateway::Message {
            nonce: m.nonce,
            sender: m.sender.0.into(),
            target: alloy_primitives::Address::from(m.target.0),
            gasLimit: m.gas_limit,
            data: mint.into(),
        },
        proof: m.proof.iter().map(|p| p.0.into()).collect(),
        root: batch.root.0.into(),
        signature: NexusGateway::Signature {
            rx: alloy_primitives::U256::from_be_bytes(batch.signature.rx.0),
            ry: alloy_primitives::U256::from_be_bytes(batch.signature.ry.0),
            z: alloy_primitives::U256::from_be_bytes(batch.signature.z.0),
        },
    }
    .abi_encode();
    let refused = devnet::send(&eth, Some(gateway), replay, alloy_primitives::U256::ZERO).await;
    assert!(refused.is_err(), "a replayed message must revert: {refused:?}");
}

/// The dev node goes away with the test, even when an assertion fails: SIGTERM first, so it
/// stops the anvil it started, then SIGKILL if it has not exited within 10 s.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        for _ in 0..100 {
            if self.0.try_wait().is_ok_and(|s| s.is_some()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
