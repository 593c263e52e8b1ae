//! The `nexus zk` command library: scaffolding, running, proving and verifying through files.

mod common;

use nexus_zkvm::cli;

#[test]
fn new_scaffolds_a_guest_crate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let guest = dir.path().join("my-guest");
    cli::new_guest(&guest).expect("scaffolds");
    for f in ["Cargo.toml", ".cargo/config.toml", "src/main.rs"] {
        assert!(guest.join(f).exists(), "{f} missing");
    }
    let manifest = std::fs::read_to_string(guest.join("Cargo.toml")).expect("manifest");
    assert!(manifest.contains("nexus-zkvm-guest"));
    assert!(matches!(cli::new_guest(&guest), Err(cli::CliError::Exists(_))));
}

#[test]
fn run_reports_output_cycles_and_debug_tape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = dir.path().join("echo.elf");
    std::fs::write(&elf, common::guest_elf("io-echo")).expect("write");
    let s = cli::run(&elf, b"hi").expect("runs");
    assert_eq!((s.output_hex.as_str(), s.exit_code), ("6869", 0));
    assert!(s.cycles > 0 && s.debug.contains("echoing 2 bytes"));
    assert!(cli::to_json(&s).contains("\"exit_code\":0"));
}

#[test]
fn prove_and_verify_through_files_report_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = dir.path().join("echo.elf");
    let proof = dir.path().join("echo.proof");
    std::fs::write(&elf, common::guest_elf("io-echo")).expect("write");
    let mut lines = Vec::new();
    let s = cli::prove(&elf, b"hi", &proof, cli::DEFAULT_LOG_SEGMENT, &mut |l| lines.push(l.to_string()))
        .expect("proves");
    assert_eq!((s.output_hex.as_str(), s.exit_code, s.segments), ("6869", 0, 1));
    assert!(s.cycles > 0 && s.proof_bytes > 0 && s.security_bits >= 100, "{s:?}");
    assert!(cli::to_json(&s).contains("\"segments\":1"));
    assert!(lines.iter().any(|l| l.starts_with("SIMD")));
    assert!(lines.iter().any(|l| l == "proved segment 1/1"), "{lines:?}");
    let v = cli::verify(&elf, b"hi", &proof).expect("verifies");
    assert_eq!((v.output_hex.as_str(), v.exit_code), ("6869", 0));
    assert!(matches!(cli::verify(&elf, b"ho", &proof), Err(cli::CliError::Verify(_))));
    let bytes = std::fs::read(&proof).expect("read");
    std::fs::write(&proof, &bytes[..bytes.len() / 2]).expect("write");
    assert!(matches!(cli::verify(&elf, b"hi", &proof), Err(cli::CliError::Verify(_))));

    // Shorter segments: more of them, the same statement.
    let mut lines = Vec::new();
    let short = cli::prove(&elf, b"hi", &proof, cli::MIN_LOG_SEGMENT, &mut |l| lines.push(l.to_string()))
        .expect("proves in short segments");
    assert!(short.segments > 1 && short.cycles == s.cycles, "{short:?}");
    assert!(lines.iter().any(|l| l == &format!("proved segment {0}/{0}", short.segments)), "{lines:?}");
    cli::verify(&elf, b"hi", &proof).expect("verifies");
    for log in [cli::MIN_LOG_SEGMENT - 1, cli::MAX_LOG_CPU_HEIGHT + 1] {
        assert!(matches!(cli::prove(&elf, b"hi", &proof, log, &mut |_| {}), Err(cli::CliError::Prove(_))));
    }
}
