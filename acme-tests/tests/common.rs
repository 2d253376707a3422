//! Shared setup for the end-to-end tests.
#![allow(dead_code)]

use acme_tests::raw::{Raw, Resp, csr};
use acme_tests::ta::TestTa;
use acme_tests::{ServerOptions, TestServer};
use serde_json::Value;
use stica::tnauth::TnAuthList;

/// The real binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_stica-e2e");

/// A policy for servers that fetch x5u chains and CRLs from the test token authority on loopback.
pub const LOOPBACK_POLICY: &str =
    "[authority_token]\ndanger_allow_http_x5u = true\nallow_private_x5u = true\n";

/// A server trusting a fresh test token authority, with `policy_toml`.
pub async fn server_with_ta(policy_toml: &str) -> (TestServer, TestTa) {
    let ta = TestTa::start().await;
    let opts = ServerOptions {
        policy_toml: Some(policy_toml.to_string()),
        token_authorities: vec![ta.root_file.clone()],
        ..Default::default()
    };
    (TestServer::start(BIN, opts).await, ta)
}

/// `spc:<spc>`
pub fn spc(spc: &str) -> TnAuthList {
    format!("spc:{spc}").parse().expect("spc")
}

/// A registered account with a pending order for `list`: (client, order JSON, order URL, challenge URL).
pub async fn pending_order(srv: &TestServer, list: &TnAuthList) -> (Raw, Value, String, String) {
    let mut raw = Raw::new(&srv.directory()).await;
    let r = raw.register().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = raw.new_order(&list.to_der()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let order_url = r.header("location").expect("order location");
    let order = r.json();
    let chall = raw.challenge_url(&order).await;
    (raw, order, order_url, chall)
}

/// Answers the challenge with `token` and expects it to be refused with `problem` (an ACME error
/// suffix); then checks that nothing can be issued for the order.
pub async fn assert_token_refused(
    raw: &Raw,
    order: &Value,
    order_url: &str,
    chall: &str,
    token: &str,
    problem: &str,
) {
    let r = raw.answer(chall, token).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = r.json();
    assert_eq!(c["status"], "invalid", "challenge should be invalid: {c}");
    assert_eq!(
        c["error"]["type"],
        format!("urn:ietf:params:acme:error:{problem}"),
        "{c}"
    );
    assert_nothing_issued(raw, order, order_url).await;
}

/// Finalize is refused and the order carries no certificate.
pub async fn assert_nothing_issued(raw: &Raw, order: &Value, order_url: &str) {
    let list = TnAuthList::from_identifier_value(
        order["identifiers"][0]["value"].as_str().expect("value"),
    )
    .expect("list");
    let r = raw.finalize(order, &csr(&list.to_der())).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:orderNotReady");
    let o = raw.post(order_url, None).await.json();
    assert!(o.get("certificate").is_none(), "{o}");
    assert_ne!(o["status"], "valid");
}

/// Finalizes with a fresh CSR and downloads the chain; returns (order JSON, chain PEM).
pub async fn finalize_and_download(raw: &Raw, order: &Value, list: &TnAuthList) -> (Value, Resp) {
    let r = raw.finalize(order, &csr(&list.to_der())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = r.json();
    assert_eq!(o["status"], "valid", "{o}");
    let cert_url = o["certificate"].as_str().expect("certificate url");
    let cert = raw.post(cert_url, None).await;
    assert_eq!(cert.status, 200, "{}", cert.text());
    (o, cert)
}

/// Checks a chain with `openssl verify` against the server's root and with stica's own lint.
pub fn check_certificate(srv: &TestServer, chain_pem: &str) {
    check_certificate_as(srv, chain_pem, stica::ca::Profile::ShakenSpc);
}

/// [`check_certificate`] for a certificate of `profile` (lint with the default policy knobs).
pub fn check_certificate_as(srv: &TestServer, chain_pem: &str, profile: stica::ca::Profile) {
    let (ok, out) = acme_tests::openssl_verify(&srv.root_pem(), chain_pem);
    assert!(ok, "openssl verify failed: {out}");
    let ders = stica::x509::pem_certificates(chain_pem.as_bytes()).expect("pem");
    assert_eq!(ders.len(), 2, "leaf then intermediate");
    let findings = stica::lint::lint_certificate(&ders[0], profile, &ders[1]);
    assert_eq!(findings, vec![], "lint ({profile})");
    // and `stica lint` (the real binary) over the downloaded chain
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("chain.pem");
    std::fs::write(&file, chain_pem).expect("write chain");
    let out = std::process::Command::new(BIN)
        .args(["lint", "--profile", profile.as_str()])
        .arg(&file)
        .output()
        .expect("stica lint");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("clean"),
        "stica lint ({profile}): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Finalize with `csr_der` is refused with `problem`, the order stays `ready` and carries no
/// certificate.
pub async fn assert_finalize_refused(
    raw: &Raw,
    order: &Value,
    order_url: &str,
    csr_der: &[u8],
    problem: &str,
) -> Value {
    let r = raw.finalize(order, csr_der).await;
    assert_eq!(
        r.problem_type(),
        format!("urn:ietf:params:acme:error:{problem}"),
        "{}",
        r.text()
    );
    let o = raw.post(order_url, None).await.json();
    assert_eq!(o["status"], "ready", "{o}");
    assert!(o.get("certificate").is_none(), "{o}");
    r.json()
}
