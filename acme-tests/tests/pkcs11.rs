//! End to end on the real binary with the CA key in an HSM (issue 5, item 2): SoftHSM2 holds the
//! root and intermediate keys that `stica ca init --pkcs11-...` created; `stica serve` signs
//! certificates, the CRL signer and the OCSP responder certificate through PKCS#11; the chain
//! verifies with `openssl verify` and no CA key file exists. `.ci/run` installs SoftHSM2 and sets
//! STICA_REQUIRE_SOFTHSM=1, so that a missing module fails rather than skips.

mod common;

use std::path::{Path, PathBuf};

use acme_tests::{ServerOptions, TestServer};
use common::*;

fn softhsm_module() -> Option<PathBuf> {
    let found = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    if found.is_none() && std::env::var("STICA_REQUIRE_SOFTHSM").is_ok_and(|v| v == "1") {
        panic!("SoftHSM2 is required (STICA_REQUIRE_SOFTHSM=1) but libsofthsm2.so was not found");
    }
    found
}

/// A fresh SoftHSM token labelled `stica` (user PIN 1234): (SOFTHSM2_CONF, PIN file).
fn token(dir: &Path) -> (PathBuf, PathBuf) {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "stica"])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pin = dir.join("pin");
    std::fs::write(&pin, "1234\n").unwrap();
    (conf, pin)
}

fn ca_init(module: &Path, conf: &Path, data_dir: &Path, pin: &Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .env("SOFTHSM2_CONF", conf)
        .args(["ca", "init", "--data-dir"])
        .arg(data_dir)
        .args(["--org", "HSM Test CA", "--path-len", "1"])
        .arg("--pkcs11-module")
        .arg(module)
        .args([
            "--pkcs11-token-label",
            "stica",
            "--pkcs11-key-label",
            "stica-issuing",
        ])
        .arg("--pkcs11-pin-file")
        .arg(pin)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_softhsm_backed_ca_issues_certificates_that_openssl_verifies() {
    let Some(module) = softhsm_module() else {
        eprintln!("skipped: SoftHSM2 not installed");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (conf, pin) = token(tmp.path());
    let data_dir = tmp.path().join("data");
    let out = ca_init(&module, &conf, &data_dir, &pin);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = data_dir.join("ca");
    assert!(ca.join("root.pem").exists() && ca.join("intermediate.pem").exists());
    assert!(ca.join("pkcs11.toml").exists());
    // the CRL signer is made with the hierarchy, certified by the HSM key
    assert!(ca.join("crl-signer.pem").exists());
    assert!(
        !ca.join("intermediate.key").exists() && !ca.join("root.key").exists(),
        "the CA keys stay in the token"
    );
    let toml = std::fs::read_to_string(ca.join("pkcs11.toml")).unwrap();
    assert!(
        !toml.contains("1234"),
        "no PIN in the data directory: {toml}"
    );
    // A second init refuses to touch an existing hierarchy or reuse the labels.
    assert!(!ca_init(&module, &conf, &data_dir, &pin).status.success());

    let ta = acme_tests::ta::TestTa::start().await;
    let opts = ServerOptions {
        data_dir: Some(data_dir.clone()),
        policy_toml: Some(String::new()),
        token_authorities: vec![ta.root_file.clone()],
        env: vec![("SOFTHSM2_CONF".into(), conf.display().to_string())],
        ..Default::default()
    };
    let srv = TestServer::start(BIN, opts).await;
    let list = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
    // The CRL signer was certified by the HSM key too: its CRL verifies against the chain.
    let crl = reqwest::get(format!("{}/crl", srv.base)).await.unwrap();
    assert_eq!(crl.status(), 200);
    let crl_signer = std::fs::read_to_string(ca.join("crl-signer.pem")).unwrap();
    let inter = std::fs::read_to_string(ca.join("intermediate.pem")).unwrap();
    let (ok, out) = acme_tests::openssl_verify(&srv.root_pem(), &format!("{crl_signer}{inter}"));
    assert!(ok, "CRL signer under the HSM intermediate: {out}");

    // With a wrong PIN a replica of this CA does not start, and says why.
    std::fs::write(&pin, "9999\n").unwrap();
    let out = std::process::Command::new(BIN)
        .env("SOFTHSM2_CONF", &conf)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .arg("--database-url")
        .arg(&srv.database_url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("C_Login"), "{text}");
}
