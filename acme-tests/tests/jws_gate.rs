//! End to end: RFC 8555 §6 request checks on the real binary. Each refusal is a problem document of
//! the right type, and changes nothing.

mod common;

use acme_tests::raw::Raw;
use acme_tests::{ServerOptions, TestServer};
use common::*;
use serde_json::json;

async fn server() -> TestServer {
    TestServer::start(BIN, ServerOptions::default()).await
}

#[tokio::test]
async fn directory_and_nonces() {
    let srv = server().await;
    let http = reqwest::Client::new();
    let dir: serde_json::Value = http
        .get(srv.directory())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in [
        "newNonce",
        "newAccount",
        "newOrder",
        "revokeCert",
        "keyChange",
    ] {
        assert!(dir[k].as_str().unwrap().starts_with(&srv.base), "{k}");
    }
    let head = http
        .head(dir["newNonce"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("replay-nonce"));
    assert_eq!(head.headers()["cache-control"], "no-store");
    let get = http
        .get(dir["newNonce"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 204);
    assert!(
        get.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"index\"")
    );
}

#[tokio::test]
async fn nonce_reuse_and_forged_nonce_are_bad_nonce_with_a_fresh_nonce() {
    let srv = server().await;
    let raw = Raw::new(&srv.directory()).await;
    let url = raw.url("newAccount");
    let body = serde_json::to_vec(&raw.jws(&url, Some(&json!({})), |_| {}).await).unwrap();
    let first = raw.send(&url, "application/jose+json", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let replay = raw.send(&url, "application/jose+json", body).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.problem_type(), "urn:ietf:params:acme:error:badNonce");
    assert!(replay.header("replay-nonce").is_some());

    let other = Raw::new(&srv.directory()).await;
    let jws = other
        .jws(&url, Some(&json!({})), |p| {
            let n = p["nonce"].as_str().unwrap().to_string();
            let mut c: Vec<char> = n.chars().collect();
            c[20] = if c[20] == 'A' { 'B' } else { 'A' };
            p.insert("nonce".into(), json!(c.into_iter().collect::<String>()));
        })
        .await;
    let r = other
        .send(
            &url,
            "application/jose+json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:badNonce",
        "{}",
        r.text()
    );
    let jws = other
        .jws(&url, Some(&json!({})), |p| {
            p.remove("nonce");
        })
        .await;
    let r = other
        .send(
            &url,
            "application/jose+json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:badNonce",
        "{}",
        r.text()
    );
    // Nothing was created for the refused key.
    let r = other
        .post(&url, Some(&json!({"onlyReturnExisting": true})))
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:accountDoesNotExist"
    );
}

#[tokio::test]
async fn url_mismatch_content_type_size_and_method() {
    let srv = server().await;
    let mut raw = Raw::new(&srv.directory()).await;
    raw.register().await;
    let order_url = raw.url("newOrder");
    // url header names another resource.
    let jws = raw
        .jws(&order_url, Some(&json!({})), |p| {
            p.insert(
                "url".into(),
                json!(format!("{}/acme/new-account", srv.base)),
            );
        })
        .await;
    let r = raw
        .send(
            &order_url,
            "application/jose+json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:unauthorized");
    // Wrong media type.
    let jws = raw.jws(&order_url, Some(&json!({})), |_| {}).await;
    let r = raw
        .send(
            &order_url,
            "application/json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:malformed");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    // Oversized body: announced by Content-Length, refused before it is read. Sent over a raw
    // socket so that the test does not race the server closing the connection mid-upload.
    let (status, body) = raw_post_headers_only(&srv.base, "/acme/new-order", 70 * 1024).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("urn:ietf:params:acme:error:malformed"),
        "{body}"
    );
    // Not a flattened JWS.
    let r = raw
        .send(
            &order_url,
            "application/jose+json",
            b"eyJh.eyJh.c2ln".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:malformed");
    // Plain GET of a POST-as-GET resource.
    let r = raw
        .http
        .get(format!("{}/acme/order/x", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // Both jwk and kid.
    let jws = raw
        .jws(&order_url, Some(&json!({})), |p| {
            p.insert("jwk".into(), json!({"kty": "EC"}));
        })
        .await;
    let r = raw
        .send(
            &order_url,
            "application/jose+json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:malformed",
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn kid_of_another_account_and_cross_account_reads() {
    let srv = server().await;
    let list = spc("1234");
    let (alice, alice_order, alice_order_url, alice_chall) = pending_order(&srv, &list).await;
    let mut mallory = Raw::new(&srv.directory()).await;
    mallory.register().await;
    // Mallory signs with her key but names Alice's account.
    let alice_kid = alice.kid.clone().unwrap();
    let jws = mallory
        .jws(&alice_order_url, None, |p| {
            p.insert("kid".into(), json!(alice_kid));
        })
        .await;
    let r = mallory
        .send(
            &alice_order_url,
            "application/jose+json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:unauthorized");
    // Mallory reads Alice's order, authorization, challenge: 404 for each.
    let authz_url = alice_order["authorizations"][0]
        .as_str()
        .unwrap()
        .to_string();
    for url in [
        alice_order_url.clone(),
        authz_url,
        alice_chall.clone(),
        format!("{}/acme/account/{}", srv.base, "nope"),
    ] {
        let r = mallory.post(&url, None).await;
        assert!(
            r.status == 404 || r.status == 403,
            "{url}: {} {}",
            r.status,
            r.text()
        );
    }
    // Mallory cannot answer Alice's challenge.
    let r = mallory.answer(&alice_chall, "a.b.c").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        alice.post(&alice_chall, None).await.json()["status"],
        "pending"
    );
    // An unknown kid.
    let jws = mallory
        .jws(&alice_order_url, None, |p| {
            p.insert(
                "kid".into(),
                json!(format!("{}/acme/account/doesnotexist", srv.base)),
            );
        })
        .await;
    let r = mallory
        .send(
            &alice_order_url,
            "application/jose+json",
            serde_json::to_vec(&jws).unwrap(),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:accountDoesNotExist"
    );
}

#[tokio::test]
async fn accounts_existing_key_update_deactivate_and_key_change() {
    let srv = server().await;
    let mut raw = Raw::new(&srv.directory()).await;
    let r = raw.register().await;
    assert_eq!(r.status, 201);
    let kid = raw.kid.clone().unwrap();
    let r = raw.register().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("location").as_deref(), Some(kid.as_str()));
    let r = raw
        .post(
            &kid,
            Some(&json!({"contact": ["mailto:noc@carrier.example"]})),
        )
        .await;
    assert_eq!(r.json()["contact"][0], "mailto:noc@carrier.example");
    let r = raw
        .post(&kid, Some(&json!({"contact": ["tel:+12155550123"]})))
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unsupportedContact"
    );
    // orders list
    raw.new_order(&spc("1234").to_der()).await;
    let orders_url = raw.post(&kid, None).await.json()["orders"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        raw.post(&orders_url, None).await.json()["orders"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // keyChange to a new key.
    let new_key = stica::jose::EcSigner::generate().unwrap();
    let key_change = raw.url("keyChange");
    let mut inner_protected = serde_json::Map::new();
    inner_protected.insert("jwk".into(), new_key.public_jwk().to_json());
    inner_protected.insert("url".into(), json!(key_change));
    let inner = stica::jose::sign_flattened(
        &new_key,
        inner_protected,
        &serde_json::to_vec(&json!({"account": kid, "oldKey": raw.key.public_jwk().to_json()}))
            .unwrap(),
    )
    .unwrap();
    let r = raw.post(&key_change, Some(&inner)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The old key no longer works; the new one does.
    let r = raw.post(&kid, None).await;
    assert_eq!(r.status, 403, "{}", r.text());
    raw.key = new_key;
    assert_eq!(raw.post(&kid, None).await.status, 200);

    // keyChange to a key another account already holds: 409 with that account's Location.
    let mut other = Raw::new(&srv.directory()).await;
    other.register().await;
    let mut inner_protected = serde_json::Map::new();
    inner_protected.insert("jwk".into(), other.key.public_jwk().to_json());
    inner_protected.insert("url".into(), json!(key_change));
    let inner = stica::jose::sign_flattened(
        &other.key,
        inner_protected,
        &serde_json::to_vec(&json!({"account": kid, "oldKey": raw.key.public_jwk().to_json()}))
            .unwrap(),
    )
    .unwrap();
    let r = raw.post(&key_change, Some(&inner)).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.header("location"), other.kid.clone());

    // Deactivation is final.
    let r = raw
        .post(&kid, Some(&json!({"status": "deactivated"})))
        .await;
    assert_eq!(r.json()["status"], "deactivated");
    let r = raw.new_order(&spc("1234").to_der()).await;
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:unauthorized");
}

#[tokio::test]
async fn identifiers_stica_does_not_issue_for_are_refused() {
    let srv = server().await;
    let mut raw = Raw::new(&srv.directory()).await;
    raw.register().await;
    let r = raw
        .post(
            &raw.url("newOrder"),
            Some(&json!({"identifiers": [{"type": "dns", "value": "example.com"}]})),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unsupportedIdentifier"
    );
    // The non-conformant bare IA5String encoding (libstirshaken).
    let bare = [0x16, 0x04, b'1', b'2', b'3', b'4'];
    let r = raw.new_order(&bare).await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:rejectedIdentifier",
        "{}",
        r.text()
    );
    let r = raw
        .new_order(
            &"tn:12155550123"
                .parse::<stica::tnauth::TnAuthList>()
                .unwrap()
                .to_der(),
        )
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:rejectedIdentifier"
    );
    let r = raw
        .post(&raw.url("newOrder"), Some(&json!({"identifiers": []})))
        .await;
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:malformed");
}

/// Sends request headers announcing `len` body bytes and returns the status and body of the answer.
async fn raw_post_headers_only(base: &str, path: &str, len: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/jose+json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn serves_https_with_a_configured_certificate() {
    let srv = TestServer::start(
        BIN,
        ServerOptions {
            tls: true,
            ..Default::default()
        },
    )
    .await;
    assert!(srv.base.starts_with("https://"));
    let ca =
        reqwest::Certificate::from_pem(srv.tls_cert_pem.as_deref().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let dir: serde_json::Value = http
        .get(srv.directory())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        dir["newAccount"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:"),
        "{dir}"
    );
    let head = http
        .head(dir["newNonce"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("replay-nonce"));
    // Plain http on the TLS port gets no ACME answer.
    let plain = reqwest::get(srv.directory().replacen("https://", "http://", 1)).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}
