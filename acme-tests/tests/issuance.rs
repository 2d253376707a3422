//! End to end: the real binary issues SHAKEN SPC certificates over ACME with tkauth-01.

mod common;

use acme_tests::raw::{Raw, csr_with_key};
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::json;
use stica::pa::SignerRef;

#[tokio::test]
async fn spc_certificate_with_x5c_token_verifies_with_openssl_and_lint() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
    let token = ta.token(&list, &raw.key.public_jwk());
    let r = raw.answer(&chall, &token).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let o = raw.post(&order_url, None).await.json();
    assert_eq!(o["status"], "ready");
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    assert_eq!(
        cert.header("content-type").as_deref(),
        Some("application/pem-certificate-chain")
    );
    check_certificate(&srv, &cert.text());
    // The subject comes from the CA, never from the CSR (whose CN was "ignored.example").
    let text = openssl_text(&cert.text());
    assert!(text.contains("CN = SHAKEN 1234"), "{text}");
    assert!(!text.contains("ignored.example"), "{text}");
}

#[tokio::test]
async fn spc_certificate_with_x5u_token_when_policy_allows_loopback_http() {
    let (srv, ta) = server_with_ta(LOOPBACK_POLICY).await;
    let list = spc("709J");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    let token = ta.token_with(&list, &raw.key.public_jwk(), SignerRef::X5u, false);
    let r = raw.answer(&chall, &token).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
}

#[tokio::test]
async fn padded_base64_identifier_and_token_reuse_by_the_same_account() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, _, _, chall) = pending_order(&srv, &list).await;
    let token = ta.token(&list, &raw.key.public_jwk());
    assert_eq!(raw.answer(&chall, &token).await.json()["status"], "valid");
    // A second order with the identifier in padded standard base64 (a production client's form)
    // and the same cached token (allowed until exp by default).
    let padded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, list.to_der());
    let r = raw
        .post(
            &raw.url("newOrder"),
            Some(&json!({"identifiers": [{"type": "TNAuthList", "value": padded}]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let order = r.json();
    assert_eq!(
        order["identifiers"][0]["value"], "MAigBhYEMTIzNA",
        "stica writes base64url"
    );
    let chall2 = raw.challenge_url(&order).await;
    assert_eq!(raw.answer(&chall2, &token).await.json()["status"], "valid");
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
}

#[tokio::test]
async fn dev_token_authority_http_api_token_works_on_the_default_server() {
    // No policy directory: the embedded dev token authority is the trust anchor.
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let list = spc("5555");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    let users =
        std::fs::read_to_string(srv.data_dir.join("pa").join("users.toml")).expect("users.toml");
    let table: toml_like::Users = toml_like::parse(&users);
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/sti-pa/api/v1/auth/login", srv.base))
        .json(&json!({"userId": table.user, "password": table.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_resp: serde_json::Value = http
        .post(format!("{}/sti-pa/api/v1/account/5555/token", srv.base))
        .header("authorization", login["accessToken"].as_str().unwrap())
        .json(&json!({"atc": {"tktype": "TNAuthList", "tkvalue": "MAigBhYENTU1NQ==", "ca": false, "fingerprint": raw.fingerprint()}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token_resp["status"], "success", "{token_resp}");
    let r = raw
        .answer(&chall, token_resp["token"].as_str().unwrap())
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
}

#[tokio::test]
async fn csr_scope_mismatch_and_account_key_reuse_are_bad_csr_and_leave_the_order_ready() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
    for other in ["spc:1235", "spc:1234,tn:12155550123", "tn:12155550123"] {
        let other: stica::tnauth::TnAuthList = other.parse().unwrap();
        let r = raw
            .finalize(&order, &acme_tests::raw::csr(&other.to_der()))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:badCSR");
    }
    // The account key in the CSR.
    let account_key =
        rcgen::KeyPair::try_from(raw.key.pkcs8_der()).expect("account key as rcgen key");
    let r = raw
        .finalize(&order, &csr_with_key(&list.to_der(), &account_key))
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:badCSR",
        "{}",
        r.text()
    );
    // Garbage.
    let r = raw
        .post(
            order["finalize"].as_str().unwrap(),
            Some(&json!({"csr": "AAAA"})),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:badCSR",
        "{}",
        r.text()
    );
    assert_eq!(raw.post(&order_url, None).await.json()["status"], "ready");
    // The right CSR still works: nothing was consumed by the refusals.
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
}

#[tokio::test]
async fn concurrent_finalize_signs_once() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
    let raw = std::sync::Arc::new(raw);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let raw = raw.clone();
        let order = order.clone();
        let der = list.to_der();
        tasks.push(tokio::spawn(async move {
            raw.finalize(&order, &acme_tests::raw::csr(&der)).await
        }));
    }
    let mut certificate_urls = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        if let Some(u) = r.json()["certificate"].as_str() {
            certificate_urls.insert(u.to_string());
        }
    }
    let o = raw.post(&order_url, None).await.json();
    assert_eq!(o["status"], "valid");
    certificate_urls.insert(o["certificate"].as_str().unwrap().to_string());
    assert_eq!(
        certificate_urls.len(),
        1,
        "one certificate: {certificate_urls:?}"
    );
}

#[tokio::test]
async fn external_account_binding_sets_the_organization_and_restricts_spcs() {
    let (srv, ta) = server_with_ta("external_account_required = true\n").await;
    let dir: serde_json::Value = reqwest::get(srv.directory())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dir["meta"]["externalAccountRequired"], true);
    let out = srv.run(
        BIN,
        &[
            "account",
            "add",
            "--name",
            "Example Telecom, LLC",
            "--spc",
            "1234",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .expect("printed field")
    };
    let (kid, hmac) = (field("key id:"), field("HMAC key:"));

    let mut raw = Raw::new(&srv.directory()).await;
    let r = raw.register().await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:externalAccountRequired"
    );

    let eab_for = |raw: &Raw, kid: &str, key: &[u8]| {
        let mut protected = serde_json::Map::new();
        protected.insert("kid".into(), json!(kid));
        protected.insert("url".into(), json!(raw.url("newAccount")));
        let payload = serde_json::to_vec(&raw.key.public_jwk().to_json()).unwrap();
        stica::jose::sign_hmac_flattened(key, protected, &payload)
    };
    let key = stica::jose::b64::decode_url(&hmac).unwrap();
    // A wrong MAC key is refused.
    let r = raw.register_with(json!({"externalAccountBinding": eab_for(&raw, &kid, b"wrong key wrong key wrong key!!!")})).await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unauthorized",
        "{}",
        r.text()
    );
    let r = raw
        .register_with(json!({"externalAccountBinding": eab_for(&raw, &kid, &key)}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["externalAccountBinding"].is_object());
    // The binding is used up: another key cannot take it.
    let mut other = Raw::new(&srv.directory()).await;
    let r = other
        .register_with(json!({"externalAccountBinding": eab_for(&other, &kid, &key)}))
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unauthorized",
        "{}",
        r.text()
    );

    // The binding allows SPC 1234 only.
    let r = raw.new_order(&spc("4321").to_der()).await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:rejectedIdentifier",
        "{}",
        r.text()
    );
    let list = spc("1234");
    let r = raw.new_order(&list.to_der()).await;
    let order = r.json();
    let chall = raw.challenge_url(&order).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
    let text = openssl_text(&cert.text());
    assert!(text.contains("O = \"Example Telecom, LLC\""), "{text}");
}

fn openssl_text(chain_pem: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(chain_pem.as_bytes())
        .unwrap();
    String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
}

/// Reads the first user of the dev token authority's users.toml.
mod toml_like {
    pub struct Users {
        pub user: String,
        pub password: String,
    }
    pub fn parse(text: &str) -> Users {
        let value = |key: &str| {
            text.lines()
                .find_map(|l| {
                    l.trim().strip_prefix(key).map(|r| {
                        r.trim_start_matches([' ', '='])
                            .trim()
                            .trim_matches('"')
                            .to_string()
                    })
                })
                .expect("users.toml field")
        };
        Users {
            user: value("user_id"),
            password: value("password"),
        }
    }
}

#[tokio::test]
async fn stica_pa_token_cli_mints_a_token_the_server_accepts() {
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let list = spc("0007");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    let key_file = srv.data_dir.with_file_name("account.pem");
    std::fs::write(&key_file, raw.key.to_pkcs8_pem()).unwrap();
    let out = srv.run(
        BIN,
        &[
            "pa",
            "token",
            "--spc",
            "0007",
            "--account-key",
            key_file.to_str().unwrap(),
            "--ttl",
            "10m",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let r = raw.answer(&chall, &token).await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    check_certificate(&srv, &cert.text());
    // A bad --spc is refused with a clear message.
    let out = srv.run(
        BIN,
        &[
            "pa",
            "token",
            "--spc",
            "bad spc!",
            "--account-key",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not an SPC"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn deactivated_authorization_makes_the_order_invalid() {
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let (raw, order, order_url, chall) = pending_order(&srv, &spc("1234")).await;
    let authz_url = order["authorizations"][0].as_str().unwrap();
    let r = raw
        .post(authz_url, Some(&json!({"status": "deactivated"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "deactivated");
    assert_eq!(raw.post(&order_url, None).await.json()["status"], "invalid");
    let r = raw.answer(&chall, "a.b.c").await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:malformed",
        "{}",
        r.text()
    );
    assert_nothing_issued(&raw, &order, &order_url).await;
}

#[tokio::test]
async fn stica_client_cli_obtains_a_certificate_from_the_default_server() {
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let users =
        std::fs::read_to_string(srv.data_dir.join("pa").join("users.toml")).expect("users.toml");
    let t = toml_like::parse(&users);
    let work = srv.data_dir.with_file_name("client");
    let out_dir = work.join("cert-1234");
    let directory = srv.directory();
    let pa = format!("{}/sti-pa", srv.base);
    let args: Vec<String> = [
        "client",
        "--directory",
        &directory,
        "--tnauthlist",
        "spc:1234",
        "--token-authority",
        &pa,
        "--pa-user",
        &t.user,
        "--pa-password",
        &t.password,
        "--account-key",
        work.join("account.pem").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "stica client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chain = std::fs::read_to_string(out_dir.join("chain.pem")).expect("chain.pem");
    check_certificate(&srv, &chain);
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(out_dir.join("key.pem"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600);
}

#[tokio::test]
async fn stica_verify_chain_and_inventory_check_cli() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
    let (_, cert) = finalize_and_download(&raw, &order, &list).await;
    let chain_file = srv.data_dir.with_file_name("chain.pem");
    std::fs::write(&chain_file, cert.text()).unwrap();
    let run = |args: &[&str]| std::process::Command::new(BIN).args(args).output().unwrap();
    let data_dir = srv.data_dir.to_str().unwrap();
    let out = run(&[
        "verify",
        "chain",
        chain_file.to_str().unwrap(),
        "--data-dir",
        data_dir,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("SHAKEN 1234"), "{text}");
    // Against another root the chain fails, with a non-zero exit.
    let out = run(&[
        "verify",
        "chain",
        chain_file.to_str().unwrap(),
        "--anchor",
        ta.root_file.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let csv = srv.data_dir.with_file_name("inventory.csv");
    std::fs::write(
        &csv,
        "spc,start,count\n1234,12155550100,100\n4321,13125550000,10\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let out = run(&[
        "inventory",
        "check",
        "--inventory",
        csv,
        "--spc",
        "1234",
        "--tnauthlist",
        "tn:12155550123,range:12155550150+10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "inventory",
        "check",
        "--inventory",
        csv,
        "--spc",
        "1234",
        "--tnauthlist",
        "range:12155550195+10",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not hold"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
