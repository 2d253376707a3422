//! End to end on the real binary: direct delegation (issue 3, item 3). A carrier holding a
//! stica-issued `sca` or TN-level certificate mints an enterprise's token with
//! `stica delegate token`; the enterprise gets a `delegate` certificate from stica's own issuing
//! CA (root → intermediate → delegate), verified by `openssl verify` and `stica verify chain`,
//! recorded with its parent so that revoking the parent revokes it (issue 4: OCSP reports it
//! revoked). Every refusal asserts the problem type and that nothing was issued.

mod common;

use std::path::Path;

use acme_tests::raw::{Raw, csr, csr_with_ca, csr_with_ca_key};
use acme_tests::ta::TestTa;
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::{Map, json};
use stica::ca::Profile;
use stica::jose::{EcSigner, b64, sign_compact};
use stica::tnauth::TnAuthList;

/// Every profile, and no clock skew so that a certificate can expire within a test.
const POLICY: &str = "[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\", \"sca\", \"delegate\"]\ncap_validity_at_token_exp = true\n[authority_token]\nclock_skew_secs = 0\n";

fn list(text: &str) -> TnAuthList {
    text.parse().expect("list")
}

/// A certificate the carrier holds: its chain as downloaded, its key, its serial.
struct Held {
    chain_pem: String,
    key: rcgen::KeyPair,
    serial: String,
    raw: Raw,
}

/// The carrier orders `scope` with a token-authority token (`ca` as given, `exp_in` seconds).
async fn carrier_cert(
    srv: &TestServer,
    ta: &TestTa,
    scope: &TnAuthList,
    ca: bool,
    exp_in: i64,
) -> Held {
    let (raw, order, _, chall) = pending_order(srv, scope).await;
    let mut claims = TestTa::claims(scope, &raw.fingerprint());
    claims["atc"]["ca"] = json!(ca);
    claims["exp"] = json!(stica::acme::now() + exp_in);
    let r = raw.answer(&chall, &ta.custom_token(&claims)).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let r = raw
        .finalize(&order, &csr_with_ca_key(&scope.to_der(), ca, &key))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let url = r.json()["certificate"].as_str().expect("url").to_string();
    let chain_pem = raw.post(&url, None).await.text();
    let serial = url.rsplit('/').next().expect("serial").to_string();
    Held {
        chain_pem,
        key,
        serial,
        raw,
    }
}

/// `stica delegate token` (the real binary) for `account` with `args`; (success, stdout+stderr).
fn delegate_cli(dir: &Path, held: &Held, account: &EcSigner, args: &[&str]) -> (bool, String) {
    let cert = dir.join("carrier-chain.pem");
    let key = dir.join("carrier.key");
    let acct = dir.join("enterprise-account.pem");
    std::fs::write(&cert, &held.chain_pem).expect("chain");
    std::fs::write(&key, held.key.serialize_pem()).expect("key");
    std::fs::write(&acct, account.to_pkcs8_pem()).expect("account key");
    let out = std::process::Command::new(BIN)
        .args(["delegate", "token", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("--account-key")
        .arg(&acct)
        .args(args)
        .output()
        .expect("stica delegate token");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A delegation token signed with `held`'s key, minted here without the CLI's own scope check,
/// so that the server's checks are what is tested.
fn forged_scope_token(held: &Held, scope: &TnAuthList, account: &Raw, ca: bool) -> String {
    let key = EcSigner::from_pkcs8_pem(&held.key.serialize_pem()).expect("key");
    let chain = stica::x509::pem_certificates(held.chain_pem.as_bytes()).expect("chain");
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    header.insert(
        "x5c".into(),
        json!(
            chain
                .iter()
                .map(|d| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, d))
                .collect::<Vec<_>>()
        ),
    );
    let claims = json!({
        "exp": stica::acme::now() + 600,
        "jti": format!("delegation-{}", stica::ra::random_id()),
        "atc": {"tktype": "TNAuthList", "tkvalue": b64::encode_url(&scope.to_der()), "ca": ca,
                "fingerprint": account.fingerprint()}
    });
    sign_compact(&key, header, &claims).expect("sign")
}

async fn certificate_state(srv: &TestServer, serial: &str) -> stica::sa::model::CertificateState {
    let sa = stica::sa::Storage::connect(&srv.database_url)
        .await
        .expect("database");
    sa.certificate_state(serial)
        .await
        .expect("read")
        .expect("certificate row")
}

fn verify_chain_cli(srv: &TestServer, chain_pem: &str) -> (bool, String) {
    verify_chain_cli_with(srv, chain_pem, &[])
}

/// `stica verify chain` with `extra` arguments (`--crl`, ...).
fn verify_chain_cli_with(srv: &TestServer, chain_pem: &str, extra: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("chain.pem");
    std::fs::write(&file, chain_pem).expect("write");
    let out = std::process::Command::new(BIN)
        .args(["verify", "chain"])
        .arg(&file)
        .arg("--anchor")
        .arg(srv.root_pem())
        .arg("--data-dir")
        .arg(&srv.data_dir)
        .args(extra)
        .output()
        .expect("stica verify chain");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn sca_and_tn_level_holders_delegate_directly_and_revoking_the_parent_revokes_the_delegate() {
    let (srv, ta) = server_with_ta(POLICY).await;
    let dir = tempfile::tempdir().unwrap();
    let scope = list("range:12155550100+100");
    let sca = carrier_cert(&srv, &ta, &scope, true, 3600).await;
    assert_eq!(
        certificate_state(&srv, &sca.serial).await.cert.profile,
        "sca"
    );

    // The enterprise registers; the carrier mints its token with the real binary.
    let child = list("tn:12155550150,range:12155550160+10");
    let (raw, order, _, chall) = pending_order(&srv, &child).await;
    let (ok, token) = delegate_cli(
        dir.path(),
        &sca,
        &raw.key,
        &["--tn", "12155550150", "--range", "12155550160+10"],
    );
    assert!(ok, "{token}");
    let r = raw.answer(&chall, token.trim()).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let (o, cert) = finalize_and_download(&raw, &order, &child).await;
    let chain = cert.text();
    check_certificate_as(&srv, &chain, Profile::Delegate);
    let serial = o["certificate"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let state = certificate_state(&srv, &serial).await;
    assert_eq!(state.cert.profile, "delegate");
    assert_eq!(state.parent_serial.as_deref(), Some(sca.serial.as_str()));
    // root -> intermediate -> delegate, and stica's own chain verifier agrees
    assert_eq!(
        stica::x509::pem_certificates(chain.as_bytes())
            .unwrap()
            .len(),
        2
    );
    let (ok, report) = verify_chain_cli(&srv, &chain);
    assert!(ok, "{report}");
    // and with revocation: stica's own CRL (indirect, signed by its CRL signer) lists nothing yet
    let (ok, report) = verify_chain_cli_with(&srv, &chain, &["--crl"]);
    assert!(ok && report.contains("[0] good (not on"), "{report}");

    // A TN-level holder delegates a subset of its numbers the same way.
    let tn_scope = list("tn:12155550300,tn:12155550301,tn:12155550302");
    let tn_holder = carrier_cert(&srv, &ta, &tn_scope, false, 3600).await;
    assert_eq!(
        certificate_state(&srv, &tn_holder.serial)
            .await
            .cert
            .profile,
        "tn-level"
    );
    let sub = list("tn:12155550301");
    let (raw2, order2, _, chall2) = pending_order(&srv, &sub).await;
    let (ok, token) = delegate_cli(dir.path(), &tn_holder, &raw2.key, &["--tn", "12155550301"]);
    assert!(ok, "{token}");
    assert_eq!(
        raw2.answer(&chall2, token.trim()).await.json()["status"],
        "valid"
    );
    let (o2, cert2) = finalize_and_download(&raw2, &order2, &sub).await;
    check_certificate_as(&srv, &cert2.text(), Profile::Delegate);
    let serial2 = o2["certificate"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(
        certificate_state(&srv, serial2)
            .await
            .parent_serial
            .as_deref(),
        Some(tn_holder.serial.as_str())
    );

    // An order authorized by the SCA, answered, and then the SCA is revoked: finalize refuses.
    let pending = list("tn:12155550199");
    let (raw3, order3, order3_url, chall3) = pending_order(&srv, &pending).await;
    let (ok, token) = delegate_cli(dir.path(), &sca, &raw3.key, &["--tn", "12155550199"]);
    assert!(ok, "{token}");
    assert_eq!(
        raw3.answer(&chall3, token.trim()).await.json()["status"],
        "valid"
    );

    // The carrier revokes its SCA through ACME: the delegate below it is revoked too.
    let sca_der = stica::x509::pem_certificates(sca.chain_pem.as_bytes()).unwrap()[0].clone();
    let r = sca
        .raw
        .post(
            &sca.raw.url("revokeCert"),
            Some(&json!({"certificate": b64::encode_url(&sca_der), "reason": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let state = certificate_state(&srv, &serial).await;
    let revocation = state
        .revocation
        .expect("the delegate is revoked with its parent");
    assert_eq!(revocation.cause, format!("parent:{}", sca.serial));
    // the TN-level holder's delegate is untouched
    assert!(certificate_state(&srv, serial2).await.revocation.is_none());
    // `stica verify chain --crl` finds the delegate on stica's CRL.
    let (ok, report) = verify_chain_cli_with(&srv, &chain, &["--crl"]);
    assert!(!ok && report.contains("[0] REVOKED"), "{report}");
    // OCSP (on demand, with a nonce) reports the delegate revoked.
    let text = ocsp_status(&srv, &chain).await;
    assert!(text.contains("leaf.pem: revoked"), "{text}");
    assert!(text.contains("Response verify OK"), "{text}");

    let p = assert_finalize_refused(
        &raw3,
        &order3,
        &order3_url,
        &csr(&pending.to_der()),
        "unauthorized",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");

    // A new token signed by the revoked SCA is refused.
    let (raw4, order4, order4_url, chall4) = pending_order(&srv, &pending).await;
    let (ok, token) = delegate_cli(dir.path(), &sca, &raw4.key, &["--tn", "12155550199"]);
    assert!(ok, "{token}");
    assert_token_refused(
        &raw4,
        &order4,
        &order4_url,
        &chall4,
        token.trim(),
        "unauthorized",
    )
    .await;
}

/// `openssl ocsp` for the first certificate of `chain_pem` (issuer: its second), with a nonce.
async fn ocsp_status(srv: &TestServer, chain_pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    acme_tests::tools::write_ocsp_files(dir.path(), chain_pem, &srv.root_pem());
    let url = format!("{}/ocsp", srv.base);
    tokio::task::spawn_blocking(move || acme_tests::tools::openssl_ocsp(dir.path(), &url, &[]))
        .await
        .unwrap()
}

#[tokio::test]
async fn delegation_tokens_outside_the_signers_scope_or_from_the_wrong_signer_are_refused() {
    let (srv, ta) = server_with_ta(POLICY).await;
    let dir = tempfile::tempdir().unwrap();
    let scope = list("spc:1234,range:12155550100+100");
    let sca = carrier_cert(&srv, &ta, &scope, true, 3600).await;

    // Numbers outside the signer's scope: one number off, a range over the edge, another SPC.
    for outside in [
        "tn:12155550200",
        "tn:12155550099",
        "range:12155550190+20",
        "spc:5678,tn:12155550150",
    ] {
        let l = list(outside);
        let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
        // the CLI refuses to mint it ...
        let args: Vec<String> = vec!["--tnauthlist".into(), outside.into()];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = delegate_cli(dir.path(), &sca, &raw.key, &args);
        assert!(
            !ok && out.contains("does not encompass"),
            "{outside}: {out}"
        );
        // ... and the server refuses one minted anyway
        let token = forged_scope_token(&sca, &l, &raw, false);
        let r = raw.answer(&chall, &token).await;
        let detail = r.json()["error"]["detail"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(detail.contains("does not encompass"), "{outside}: {detail}");
        assert_token_refused(&raw, &order, &order_url, &chall, &token, "unauthorized").await;
    }

    // ca: true from an SCA whose pathLen is 0: pathLen exhausted.
    let l = list("range:12155550110+10");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let token = forged_scope_token(&sca, &l, &raw, true);
    let r = raw.answer(&chall, &token).await;
    let detail = r.json()["error"]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(detail.contains("pathLenConstraint is 0"), "{detail}");
    assert_nothing_issued(&raw, &order, &order_url).await;

    // ca: true from a TN-level certificate: it cannot delegate a CA.
    let tn_scope = list("range:12155550400+10");
    let tn_holder = carrier_cert(&srv, &ta, &tn_scope, false, 3600).await;
    let l = list("tn:12155550401");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let token = forged_scope_token(&tn_holder, &l, &raw, true);
    let r = raw.answer(&chall, &token).await;
    let detail = r.json()["error"]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(detail.contains("not a delegating CA"), "{detail}");
    assert_nothing_issued(&raw, &order, &order_url).await;

    // ca: false delegation token with a CSR asking for a CA: badCSR, the order stays ready.
    let l = list("tn:12155550402");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let token = forged_scope_token(&tn_holder, &l, &raw, false);
    assert_eq!(raw.answer(&chall, &token).await.json()["status"], "valid");
    assert_finalize_refused(
        &raw,
        &order,
        &order_url,
        &csr_with_ca(&l.to_der(), true),
        "badCSR",
    )
    .await;
    // CSR numbers differing from the token: badCSR, nothing issued.
    let other = list("tn:12155550403");
    assert_finalize_refused(&raw, &order, &order_url, &csr(&other.to_der()), "badCSR").await;

    // A token signed by an SPC certificate (not a CA, not TN-level) is refused.
    let spc_holder = carrier_cert(&srv, &ta, &spc("1234"), false, 3600).await;
    let l = list("spc:1234,tn:12155550150");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let token = forged_scope_token(&spc_holder, &l, &raw, false);
    let r = raw.answer(&chall, &token).await;
    let detail = r.json()["error"]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(detail.contains("may not delegate"), "{detail}");
    assert_nothing_issued(&raw, &order, &order_url).await;

    // An enterprise's delegate certificate may not delegate further.
    let l = list("tn:12155550150");
    let (raw, order, _, chall) = pending_order(&srv, &l).await;
    assert_eq!(
        raw.answer(&chall, &forged_scope_token(&sca, &l, &raw, false))
            .await
            .json()["status"],
        "valid"
    );
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let r = raw
        .finalize(&order, &csr_with_ca_key(&l.to_der(), false, &key))
        .await;
    let url = r.json()["certificate"]
        .as_str()
        .expect("delegate")
        .to_string();
    let enterprise = Held {
        chain_pem: raw.post(&url, None).await.text(),
        key,
        serial: url.rsplit('/').next().unwrap().to_string(),
        raw,
    };
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let token = forged_scope_token(&enterprise, &l, &raw, false);
    let r = raw.answer(&chall, &token).await;
    let detail = r.json()["error"]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(detail.contains("delegate certificate"), "{detail}");
    assert_nothing_issued(&raw, &order, &order_url).await;
}

/// A certificate with `scope` signed by the server's own intermediate key, but never issued
/// (no record): it chains to stica's root, so only the RA's records can refuse it.
fn unrecorded_cert(srv: &TestServer, scope: &TnAuthList, raw: Raw) -> Held {
    let ca = srv.data_dir.join("ca");
    let inter_pem = std::fs::read_to_string(ca.join("intermediate.pem")).unwrap();
    let inter_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca.join("intermediate.key")).unwrap())
            .unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&inter_pem, inter_key).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SHAKEN Forged");
    params.use_authority_key_identifier_extension = true;
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 26],
        scope.to_der(),
    )];
    let cert = params.signed_by(&key, &issuer).unwrap();
    Held {
        chain_pem: format!("{}{inter_pem}", cert.pem()),
        key,
        serial: String::new(),
        raw,
    }
}

#[tokio::test]
async fn a_signer_chaining_to_this_ca_but_never_issued_by_it_delegates_nothing() {
    let (srv, _ta) = server_with_ta(POLICY).await;
    let scope = list("range:12155550100+100");
    let l = list("tn:12155550123");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let placeholder = Raw::new(&srv.directory()).await;
    let forged = unrecorded_cert(&srv, &scope, placeholder);
    let token = forged_scope_token(&forged, &l, &raw, false);
    let r = raw.answer(&chall, &token).await;
    let detail = r.json()["error"]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(detail.contains("no record of issuing it"), "{detail}");
    assert_token_refused(&raw, &order, &order_url, &chall, &token, "unauthorized").await;
}

#[tokio::test]
async fn an_expired_signer_certificate_delegates_nothing() {
    let (srv, ta) = server_with_ta(POLICY).await;
    // The token caps the certificate's validity (cap_validity_at_token_exp): it expires in 3 s.
    let scope = list("range:12155550100+100");
    let short = carrier_cert(&srv, &ta, &scope, false, 3).await;
    let l = list("tn:12155550123");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    let token = forged_scope_token(&short, &l, &raw, false);
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let r = raw.answer(&chall, &token).await;
    let detail = r.json()["error"]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(detail.contains("expired"), "{detail}");
    assert_token_refused(&raw, &order, &order_url, &chall, &token, "unauthorized").await;
}

#[tokio::test]
async fn a_ca_that_does_not_offer_delegate_certificates_refuses_delegation_tokens() {
    let ta = TestTa::start().await;
    let opts = ServerOptions {
        policy_toml: Some(
            "[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\", \"sca\"]\n".into(),
        ),
        token_authorities: vec![ta.root_file.clone()],
        ..Default::default()
    };
    let srv = TestServer::start(BIN, opts).await;
    let scope = list("range:12155550100+100");
    let sca = carrier_cert(&srv, &ta, &scope, true, 3600).await;
    let l = list("tn:12155550150");
    let (raw, order, order_url, chall) = pending_order(&srv, &l).await;
    assert_eq!(
        raw.answer(&chall, &forged_scope_token(&sca, &l, &raw, false))
            .await
            .json()["status"],
        "valid"
    );
    let p =
        assert_finalize_refused(&raw, &order, &order_url, &csr(&l.to_der()), "unauthorized").await;
    assert!(p["detail"].as_str().unwrap().contains("delegate"), "{p}");
}
