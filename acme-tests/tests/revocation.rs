//! End to end: revocation through ACME (RFC 8555 §7.6) and by the operator, stica's CRL checked
//! with `openssl crl -verify`, the issuance-state API, and the STI-CR publication of every chain.

mod common;

use acme_tests::TestServer;
use acme_tests::raw::{Raw, Resp, csr_with_key};
use acme_tests::ta::TestTa;
use common::*;
use serde_json::{Value, json};
use stica::jose::{EcSigner, b64};
use stica::tnauth::TnAuthList;

/// A certificate issued to `raw`'s account, with its key.
struct Issued {
    order: Value,
    chain_pem: String,
    der: Vec<u8>,
    serial: String,
    key: EcSigner,
    download: Resp,
}

/// Registers an account, validates an order for `list` and finalizes it with a fresh key.
async fn issue(srv: &TestServer, ta: &TestTa, list: &TnAuthList) -> (Raw, Issued) {
    let (raw, order, _, chall) = pending_order(srv, list).await;
    let r = raw
        .answer(&chall, &ta.token(list, &raw.key.public_jwk()))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    let issued = finalize_with_new_key(&raw, &order, list).await;
    (raw, issued)
}

async fn finalize_with_new_key(raw: &Raw, order: &Value, list: &TnAuthList) -> Issued {
    let key = EcSigner::generate().unwrap();
    let rkey = rcgen::KeyPair::try_from(key.pkcs8_der()).unwrap();
    let r = raw
        .finalize(order, &csr_with_key(&list.to_der(), &rkey))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let order = r.json();
    assert_eq!(order["status"], "valid", "{order}");
    let download = raw.post(order["certificate"].as_str().unwrap(), None).await;
    assert_eq!(download.status, 200, "{}", download.text());
    let chain_pem = download.text();
    let der = stica::x509::pem_certificates(chain_pem.as_bytes())
        .unwrap()
        .remove(0);
    let serial = order["certificate"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    Issued {
        order,
        chain_pem,
        der,
        serial,
        key,
        download,
    }
}

async fn revoke(raw: &Raw, der: &[u8], reason: Option<i64>) -> Resp {
    let mut payload = json!({ "certificate": b64::encode_url(der) });
    if let Some(r) = reason {
        payload["reason"] = json!(r);
    }
    raw.post(&raw.url("revokeCert"), Some(&payload)).await
}

/// A client that signs with `key` as a `jwk` (no account).
async fn key_client(srv: &TestServer, key: &EcSigner) -> Raw {
    let mut raw = Raw::new(&srv.directory()).await;
    raw.key = EcSigner::from_pkcs8_pem(&key.to_pkcs8_pem()).unwrap();
    raw
}

async fn registered(srv: &TestServer) -> Raw {
    let mut raw = Raw::new(&srv.directory()).await;
    assert_eq!(raw.register().await.status, 201);
    raw
}

fn assert_problem(r: &Resp, status: u16, short: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.problem_type(),
        format!("urn:ietf:params:acme:error:{short}"),
        "{}",
        r.text()
    );
}

fn assert_revoked_ok(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty(), "200 with an empty body: {}", r.text());
    assert!(r.header("replay-nonce").is_some());
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap()
}

/// Fetches `/crl`, checks its headers and verifies it with `openssl crl -verify` against the root,
/// the intermediate and the CRL signer; returns `openssl crl -text`.
async fn fetch_crl(srv: &TestServer) -> String {
    let r = get(&format!("{}/crl", srv.base)).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pkix-crl");
    let cc = h["cache-control"].to_str().unwrap();
    assert!(cc.starts_with("public, max-age="), "{cc}");
    let max_age: i64 = cc.trim_start_matches("public, max-age=").parse().unwrap();
    assert!((1..=300).contains(&max_age), "{cc}");
    assert!(h.contains_key("last-modified"));
    let etag = h["etag"].to_str().unwrap().to_string();
    let der = r.bytes().await.unwrap().to_vec();
    // Conditional GET.
    let again = reqwest::Client::new()
        .get(format!("{}/crl", srv.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let signer = get(&format!("{}/crl/signer.pem", srv.base)).await;
    assert_eq!(signer.status(), 200);
    let signer = signer.text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    let root = std::fs::read_to_string(srv.root_pem()).unwrap();
    std::fs::write(&bundle, format!("{root}{signer}")).unwrap();
    let crl = dir.path().join("crl.der");
    std::fs::write(&crl, &der).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "crl", "-inform", "DER", "-noout", "-text", "-verify", "-CAfile",
        ])
        .arg(&bundle)
        .arg("-in")
        .arg(&crl)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("verify OK"), "{text}");
    assert!(text.contains("Indirect CRL"), "{text}");
    text
}

/// The `Serial Number:` block of `serial` in `openssl crl -text` output, up to the next entry.
fn crl_entry<'a>(text: &'a str, serial: &str) -> Option<&'a str> {
    let at = text.find(&format!("Serial Number: {}", serial.to_uppercase()))?;
    let rest = &text[at..];
    let end = rest[1..]
        .find("Serial Number:")
        .map_or(rest.len(), |i| i + 1);
    Some(&rest[..end])
}

#[tokio::test]
async fn revoke_by_issuing_account_reaches_the_crl_and_is_final() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, cert) = issue(&srv, &ta, &list).await;
    check_certificate(&srv, &cert.chain_pem);
    // The certificate names stica's policy CRL (the token authority's), not stica's own.
    assert!(crl_entry(&fetch_crl(&srv).await, &cert.serial).is_none());

    assert_revoked_ok(&revoke(&raw, &cert.der, Some(1)).await);
    let again = revoke(&raw, &cert.der, Some(1)).await;
    assert_problem(&again, 400, "alreadyRevoked");
    let other_reason = revoke(&raw, &cert.der, None).await;
    assert_problem(&other_reason, 400, "alreadyRevoked");

    let text = fetch_crl(&srv).await;
    let entry = crl_entry(&text, &cert.serial).expect("the CRL lists the serial");
    assert!(entry.contains("Key Compromise"), "{entry}");
    assert!(entry.contains("Certificate Issuer"), "{entry}");
    // A revoked certificate stays downloadable and published.
    let d = raw
        .post(cert.order["certificate"].as_str().unwrap(), None)
        .await;
    assert_eq!(d.status, 200);
    let published = get(cert.order["x5u"].as_str().unwrap()).await;
    assert_eq!(published.status(), 200);
}

#[tokio::test]
async fn revoke_by_certificate_key_and_every_refusal() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (owner, cert) = issue(&srv, &ta, &list).await;

    // A key that is neither an account nor the certificate's.
    let stranger_key = key_client(&srv, &EcSigner::generate().unwrap()).await;
    let r = revoke(&stranger_key, &cert.der, None).await;
    assert_problem(&r, 403, "unauthorized");
    let no_claim_detail = r.json()["detail"].clone();
    // An account with no claim on the certificate.
    let stranger = registered(&srv).await;
    assert_problem(
        &revoke(&stranger, &cert.der, None).await,
        403,
        "unauthorized",
    );
    // An account with a valid authorization for another TNAuthList.
    let other = spc("5678");
    let (elsewhere, _) = issue(&srv, &ta, &other).await;
    assert_problem(
        &revoke(&elsewhere, &cert.der, None).await,
        403,
        "unauthorized",
    );
    // A certificate stica never issued gets the same answer (RFC 8555 §7.6: no disclosure).
    let foreign = stica::x509::pem_certificates(
        include_str!("../../src/lint/testdata/martini_leaf_lowlatency.pem").as_bytes(),
    )
    .unwrap()
    .remove(0);
    let r = revoke(&owner, &foreign, None).await;
    assert_problem(&r, 403, "unauthorized");
    assert_eq!(r.json()["detail"], no_claim_detail);
    // The right serial with other bytes is not the certificate.
    let mut forged = cert.der.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_problem(&revoke(&owner, &forged, None).await, 403, "unauthorized");
    // Garbage.
    let r = owner
        .post(
            &owner.url("revokeCert"),
            Some(&json!({"certificate": "AAAA"})),
        )
        .await;
    assert_problem(&r, 400, "malformed");
    let r = owner
        .post(
            &owner.url("revokeCert"),
            Some(&json!({"certificate": b64::encode_url(&cert.der), "reason": "1"})),
        )
        .await;
    assert_problem(&r, 400, "malformed");
    // Reasons RFC 8555 §7.6 lets the server refuse: hold (6), unassigned (7), removeFromCRL (8),
    // out of range.
    for bad in [6, 7, 8, 11, -1, 1000] {
        let r = revoke(&owner, &cert.der, Some(bad)).await;
        assert_problem(&r, 400, "badRevocationReason");
    }

    // The certificate's own key, signing with `jwk`.
    let by_key = key_client(&srv, &cert.key).await;
    assert_revoked_ok(&revoke(&by_key, &cert.der, Some(4)).await);
    assert_problem(
        &revoke(&by_key, &cert.der, Some(4)).await,
        400,
        "alreadyRevoked",
    );
    let text = fetch_crl(&srv).await;
    let entry = crl_entry(&text, &cert.serial).expect("listed");
    assert!(entry.contains("Superseded"), "{entry}");
}

#[tokio::test]
async fn another_account_holding_an_authorization_may_revoke() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (_, cert) = issue(&srv, &ta, &list).await;
    // A second account proves control of the same SPC (a valid authorization), without issuing.
    let (holder, _, _, chall) = pending_order(&srv, &list).await;
    let r = holder
        .answer(&chall, &ta.token(&list, &holder.key.public_jwk()))
        .await;
    assert_eq!(r.json()["status"], "valid", "{}", r.text());
    assert_revoked_ok(&revoke(&holder, &cert.der, Some(5)).await);

    let token = api_token(&srv, "verifier");
    let state = api_get(
        &srv,
        &format!("/api/v1/certificates/{}", cert.serial),
        Some(&token),
    )
    .await;
    assert_eq!(state.0, 200);
    let holder_id = holder.kid.as_deref().unwrap().rsplit('/').next().unwrap();
    assert_eq!(
        state.1["revocation"]["cause"],
        format!("authorization:{holder_id}")
    );
    assert_eq!(state.1["revocation"]["reason"], 5);
    assert_eq!(state.1["revocation"]["reason_name"], "cessationOfOperation");
}

#[tokio::test]
async fn operator_revokes_with_the_cli_and_exports_the_crl() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, cert) = issue(&srv, &ta, &list).await;

    let out = srv.run(
        BIN,
        &[
            "revoke",
            "--serial",
            &cert.serial.to_uppercase(),
            "--reason",
            "keyCompromise",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("revoked {} (keyCompromise (1))", cert.serial)),
        "{stdout}"
    );
    assert!(stdout.contains("published CRL number"), "{stdout}");
    assert!(stdout.contains(&format!("{}/crl", srv.base)), "{stdout}");

    // The served CRL (the server reads it from the database) lists it at once.
    let text = fetch_crl(&srv).await;
    let entry = crl_entry(&text, &cert.serial).expect("listed");
    assert!(entry.contains("Key Compromise"), "{entry}");
    assert_problem(&revoke(&raw, &cert.der, None).await, 400, "alreadyRevoked");

    // Twice, unknown, refused reason.
    let again = srv.run(BIN, &["revoke", "--serial", &cert.serial]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"));
    let unknown = srv.run(BIN, &["revoke", "--serial", "0a0b"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no certificate with serial 0a0b"));
    let hold = srv.run(BIN, &["revoke", "--serial", &cert.serial, "--reason", "6"]);
    assert!(!hold.status.success());

    // Export for the STI-PA: a signed file (the CRL).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revocations.crl");
    let out = srv.run(
        BIN,
        &["revocations", "export", "--out", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 revoked certificates"));
    let parsed = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(parsed.status.success());
    assert!(String::from_utf8_lossy(&parsed.stdout).contains(&cert.serial.to_uppercase()));
}

/// `stica api-token add --name NAME` → the token it prints.
fn api_token(srv: &TestServer, name: &str) -> String {
    let out = srv.run(BIN, &["api-token", "add", "--name", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find(|l| l.starts_with("stica_api_"))
        .unwrap_or_else(|| panic!("no token in {stdout}"))
        .to_string()
}

/// GET an API path with an optional bearer token: (status, JSON body, headers).
async fn api_get(srv: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    let (status, body, _) = api_get_full(srv, path, token).await;
    (status, body)
}

async fn api_get_full(
    srv: &TestServer,
    path: &str,
    token: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", srv.base));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn issuance_state_api_needs_a_token_and_shows_issue_then_revoke() {
    let (srv, ta) = server_with_ta("").await;
    // Without a token, with a wrong one, with another scheme: 401 with a JSON problem.
    let (status, body, headers) = api_get_full(&srv, "/api/v1/changes", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], 401);
    check_openapi("Problem", &body);
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = "stica_api_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(api_get(&srv, "/api/v1/changes", Some(wrong)).await.0, 401);
    let basic = reqwest::Client::new()
        .get(format!("{}/api/v1/changes", srv.base))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        api_get(&srv, "/api/v1/certificates/01", Some(wrong))
            .await
            .0,
        401
    );

    let token = api_token(&srv, "ocsp-east");
    // The token is stored hashed: a second consumer name is fine, the same name is not.
    let dup = srv.run(BIN, &["api-token", "add", "--name", "ocsp-east"]);
    assert!(!dup.status.success());
    let t = Some(token.as_str());
    let (status, start) = api_get(&srv, "/api/v1/changes", t).await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["changes"], json!([]));
    assert_eq!(start["has_more"], false);
    let cursor = start["next_cursor"].as_str().unwrap().to_string();

    let list = spc("1234");
    let (raw, cert) = issue(&srv, &ta, &list).await;
    let (status, state) = api_get(&srv, &format!("/api/v1/certificates/{}", cert.serial), t).await;
    assert_eq!(status, 200, "{state}");
    check_openapi("Certificate", &state);
    assert_eq!(state["status"], "good");
    assert_eq!(state["revocation"], Value::Null);
    assert_eq!(state["profile"], "shaken-spc");
    assert_eq!(state["tnauthlist"], b64::encode_url(&list.to_der()));
    assert_eq!(state["chain_url"], cert.order["x5u"]);
    // OCSP CertID issuer hashes (RFC 6960 §4.1.1): the SHA-1 key hash is the leaf's AKI (stica's
    // key identifiers are RFC 5280 method 1), as openssl prints it.
    let aki = openssl_aki(&cert.chain_pem);
    assert_eq!(state["issuer"]["key_sha1"], aki, "{state}");
    assert_eq!(state["issuer"]["key_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(state["issuer"]["name_sha1"].as_str().unwrap().len(), 40);
    assert!(
        state["issuer"]["subject"]
            .as_str()
            .unwrap()
            .contains("SHAKEN")
    );

    assert_revoked_ok(&revoke(&raw, &cert.der, Some(4)).await);

    let sha256 = stica::sa::model::sha256_hex(&cert.der);
    let (status, by_hash) =
        api_get(&srv, &format!("/api/v1/certificates/by-hash/{sha256}"), t).await;
    assert_eq!(status, 200, "{by_hash}");
    check_openapi("Certificate", &by_hash);
    assert_eq!(by_hash["serial"], cert.serial);
    assert_eq!(by_hash["sha256"], sha256);
    assert_eq!(by_hash["status"], "revoked");
    assert_eq!(by_hash["revocation"]["reason"], 4);
    assert_eq!(by_hash["revocation"]["reason_name"], "superseded");
    let account_id = raw.kid.as_deref().unwrap().rsplit('/').next().unwrap();
    assert_eq!(
        by_hash["revocation"]["cause"],
        format!("account:{account_id}")
    );
    assert_eq!(
        api_get(
            &srv,
            &format!("/api/v1/certificates/by-hash/{}", "0".repeat(64)),
            t
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api_get(&srv, "/api/v1/certificates/by-hash/abc", t).await.0,
        400
    );
    assert_eq!(api_get(&srv, "/api/v1/certificates/0a0b", t).await.0, 404);
    assert_eq!(api_get(&srv, "/api/v1/certificates/xyz", t).await.0, 400);

    // After the cursor: issued, then revoked.
    let (status, page) = api_get(&srv, &format!("/api/v1/changes?since={cursor}"), t).await;
    assert_eq!(status, 200, "{page}");
    check_openapi("ChangesPage", &page);
    let events: Vec<(String, String)> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["event"].as_str().unwrap().to_string(),
                c["serial"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("issued".to_string(), cert.serial.clone()),
            ("revoked".to_string(), cert.serial.clone())
        ]
    );
    assert_eq!(page["changes"][1]["certificate"]["status"], "revoked");
    // One at a time, following next_cursor.
    let (_, one) = api_get(&srv, &format!("/api/v1/changes?since={cursor}&limit=1"), t).await;
    assert_eq!(one["changes"].as_array().unwrap().len(), 1);
    assert_eq!(one["has_more"], true);
    let next = one["next_cursor"].as_str().unwrap();
    let (_, two) = api_get(&srv, &format!("/api/v1/changes?since={next}&limit=1"), t).await;
    assert_eq!(two["changes"][0]["event"], "revoked");
    assert_eq!(two["has_more"], false);
    let end = page["next_cursor"].as_str().unwrap();
    let (_, empty) = api_get(&srv, &format!("/api/v1/changes?since={end}"), t).await;
    assert_eq!(empty["changes"], json!([]));
    assert_eq!(empty["next_cursor"], end);
    // Bad cursors and limits.
    assert_eq!(
        api_get(&srv, "/api/v1/changes?since=garbage", t).await.0,
        400
    );
    assert_eq!(api_get(&srv, "/api/v1/changes?limit=0", t).await.0, 400);
    assert_eq!(api_get(&srv, "/api/v1/changes?limit=1001", t).await.0, 400);
}

#[tokio::test]
async fn sti_cr_serves_the_chain_of_a_fresh_order_byte_for_byte() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (_, cert) = issue(&srv, &ta, &list).await;
    let x5u = cert.order["x5u"].as_str().expect("x5u on the valid order");
    assert_eq!(x5u, format!("{}/cr/{}.pem", srv.base, cert.serial));
    assert!(!x5u.contains('?') && !x5u.contains('#'));
    assert_eq!(
        cert.download
            .header("x-shaken-certificate-location")
            .as_deref(),
        Some(x5u)
    );
    // Unauthenticated, no redirect, 200.
    let r = get(x5u).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pem-certificate-chain");
    let cc = h["cache-control"].to_str().unwrap();
    let max_age: u64 = cc
        .split(',')
        .find_map(|p| p.trim().strip_prefix("max-age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(cc.contains("public") && max_age >= 86_400, "{cc}");
    let body = r.bytes().await.unwrap();
    assert_eq!(
        body.as_ref(),
        cert.download.body.as_slice(),
        "byte-identical"
    );
    check_certificate(&srv, std::str::from_utf8(&body).unwrap());
    // Unknown serials and other names are 404.
    assert_eq!(
        get(&format!("{}/cr/0a0b.pem", srv.base)).await.status(),
        404
    );
    assert_eq!(
        get(&format!("{}/cr/{}.der", srv.base, cert.serial))
            .await
            .status(),
        404
    );
    // An order that is not valid has no x5u.
    let (raw2, order2, _, _) = pending_order(&srv, &list).await;
    let _ = raw2;
    assert!(order2.get("x5u").is_none(), "{order2}");
}

#[tokio::test]
async fn client_library_revokes_by_account_and_by_certificate_key() {
    use stica::client::{AcmeClient, ObtainOptions, TokenSource, obtain};
    let srv = TestServer::start(BIN, acme_tests::ServerOptions::default()).await;
    let users =
        std::fs::read_to_string(srv.data_dir.join("pa").join("users.toml")).expect("users.toml");
    let user = value_of(&users, "user_id");
    let password = value_of(&users, "password");
    let work = tempfile::tempdir().unwrap();
    let account_key = work.path().join("account.pem");
    let token = TokenSource::Authority {
        base_url: format!("{}/sti-pa", srv.base),
        user,
        password,
        ca: false,
    };
    let mut opts = ObtainOptions::new(
        srv.directory(),
        &account_key,
        "spc:1234",
        token,
        work.path().join("one"),
    );
    opts.agree_terms = true;
    let one = obtain(&opts, &|_| {}).await.expect("obtain");
    let location = one.shaken_location.clone().expect("STI-CR location");
    assert_eq!(get(&location).await.text().await.unwrap(), one.chain_pem);
    opts.out_dir = work.path().join("two");
    let two = obtain(&opts, &|_| {}).await.expect("obtain again");

    let key = EcSigner::from_pkcs8_pem(&std::fs::read_to_string(&account_key).unwrap()).unwrap();
    let mut client = AcmeClient::new(&srv.directory(), key, reqwest::Client::new())
        .await
        .unwrap();
    client.set_account_url(&one.account_url);
    client.revoke(&one.leaf_der, Some(1)).await.expect("revoke");
    let again = client.revoke(&one.leaf_der, Some(1)).await.unwrap_err();
    assert!(again.is_problem("alreadyRevoked"), "{again}");

    let cert_key =
        EcSigner::from_pkcs8_pem(&std::fs::read_to_string(&two.key_path).unwrap()).unwrap();
    let anonymous = AcmeClient::new(
        &srv.directory(),
        EcSigner::generate().unwrap(),
        reqwest::Client::new(),
    )
    .await
    .unwrap();
    anonymous
        .revoke_with_certificate_key(&two.leaf_der, Some(4), &cert_key)
        .await
        .expect("revoke with the certificate key");
    let text = fetch_crl(&srv).await;
    for obtained in [&one, &two] {
        let serial = obtained.certificate_url.rsplit('/').next().unwrap();
        assert!(crl_entry(&text, serial).is_some(), "{serial} in {text}");
    }
}

/// Checks `value` against `schema` of docs/openapi.yaml with Python's jsonschema (skipped when
/// python3, PyYAML or jsonschema is missing).
fn check_openapi(schema: &str, value: &Value) {
    use std::io::Write;
    let root = env!("CARGO_MANIFEST_DIR");
    let Ok(mut child) = std::process::Command::new("python3")
        .arg(format!("{root}/python/openapi_check.py"))
        .arg(format!("{root}/../docs/openapi.yaml"))
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("python3 not found: OpenAPI schema check skipped");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    match out.status.code() {
        Some(0) => {}
        Some(77) => eprintln!(
            "OpenAPI schema check skipped: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        _ => panic!(
            "{value} does not match {schema}: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
    }
}

/// The leaf's authorityKeyIdentifier as lowercase hex, read by openssl.
fn openssl_aki(chain_pem: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(chain_pem.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.lines();
    lines
        .find(|l| l.contains("X509v3 Authority Key Identifier"))
        .unwrap_or_else(|| panic!("no AKI in {text}"));
    lines
        .next()
        .unwrap()
        .trim()
        .trim_start_matches("keyid:")
        .replace(':', "")
        .to_lowercase()
}

/// `key = "value"` from a flat TOML text.
fn value_of(toml: &str, key: &str) -> String {
    toml.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("{key} in {toml}"))
}
