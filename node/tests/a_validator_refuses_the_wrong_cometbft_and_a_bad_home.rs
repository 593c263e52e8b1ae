//! Operator mistakes around CometBFT, each refused with an error that names the fix: a cometbft
//! binary of another version, a home that is not a validator home, a genesis that is not a Nexus
//! network's.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

fn nexus(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nexus")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_wrong_cometbft_version_a_missing_home_and_a_foreign_genesis_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("cometbft");
    std::fs::write(&fake, "#!/bin/sh\necho 0.37.4\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let net = dir.path().join("net");
    let (code, err) = nexus(&[
        "network",
        "new",
        "--dir",
        net.to_str().unwrap(),
        "--validators",
        "1",
        "--cometbft",
        fake.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"0.37.4\"") && err.contains("0.38.26") && err.contains("install-cometbft.sh"),
        "{err}"
    );
    assert!(!net.join("genesis.json").exists(), "nothing is written");

    let (code, err) = nexus(&["validator", "start", "--home", dir.path().join("nowhere").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("nexus.toml") && err.contains("nexus validator init"), "{err}");

    let foreign = dir.path().join("genesis.json");
    std::fs::write(&foreign, r#"{"chain_id": "x", "app_state": {"balances": []}}"#).unwrap();
    let (code, err) = nexus(&[
        "validator",
        "init",
        "--home",
        dir.path().join("home").to_str().unwrap(),
        "--genesis",
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not a Nexus genesis"), "{err}");
}
