//! End to end: every Authority Token rule broken on its own is refused with the right problem type,
//! and nothing is issued (issue "Issuance core", Done means).

mod common;

use acme_tests::ta::TestTa;
use acme_tests::{ServerOptions, TestServer};
use common::*;
use stica::pa::SignerRef;

#[tokio::test]
async fn each_broken_token_rule_is_refused_and_nothing_is_issued() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let stranger = TestTa::start().await;

    // (name, expected problem, token builder)
    type Build<'a> = Box<dyn Fn(&acme_tests::raw::Raw) -> String + 'a>;
    let cases: Vec<(&str, &str, Build<'_>)> = vec![
        ("bad signature", "incorrectResponse", {
            let ta = &ta;
            let list = list.clone();
            Box::new(move |raw| {
                let t = ta.token(&list, &raw.key.public_jwk());
                let (head, sig) = t.rsplit_once('.').unwrap();
                let mut sig: Vec<char> = sig.chars().collect();
                sig[5] = if sig[5] == 'A' { 'B' } else { 'A' };
                format!("{head}.{}", sig.into_iter().collect::<String>())
            })
        }),
        ("untrusted signer", "unauthorized", {
            let list = list.clone();
            let stranger = &stranger;
            Box::new(move |raw| stranger.token(&list, &raw.key.public_jwk()))
        }),
        ("expired token", "incorrectResponse", {
            let list = list.clone();
            let ta = &ta;
            Box::new(move |raw| ta.expired_token(&list, &raw.key.public_jwk()))
        }),
        ("missing jti", "malformed", {
            let list = list.clone();
            let ta = &ta;
            Box::new(move |raw| {
                let mut c = TestTa::claims(&list, &raw.fingerprint());
                c.as_object_mut().unwrap().remove("jti");
                ta.custom_token(&c)
            })
        }),
        ("missing exp", "malformed", {
            let list = list.clone();
            let ta = &ta;
            Box::new(move |raw| {
                let mut c = TestTa::claims(&list, &raw.fingerprint());
                c.as_object_mut().unwrap().remove("exp");
                ta.custom_token(&c)
            })
        }),
        ("wrong fingerprint", "unauthorized", {
            let list = list.clone();
            let ta = &ta;
            Box::new(move |_raw| {
                let other = stica::jose::EcSigner::generate().unwrap();
                ta.token(&list, &other.public_jwk())
            })
        }),
        ("tkvalue mismatch", "unauthorized", {
            let ta = &ta;
            Box::new(move |raw| ta.token(&spc("4321"), &raw.key.public_jwk()))
        }),
        ("wrong tktype", "unauthorized", {
            let list = list.clone();
            let ta = &ta;
            Box::new(move |raw| {
                let mut c = TestTa::claims(&list, &raw.fingerprint());
                c["atc"]["tktype"] = "DNS".into();
                ta.custom_token(&c)
            })
        }),
        (
            "not a JWS",
            "malformed",
            Box::new(|_raw| "not.a.token!".to_string()),
        ),
    ];
    for (name, problem, build) in &cases {
        let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
        let token = build(&raw);
        eprintln!("case: {name}");
        assert_token_refused(&raw, &order, &order_url, &chall, &token, problem).await;
    }

    // A token of another account (fingerprint of A, presented by B) is refused too.
    let (a, _, _, _) = pending_order(&srv, &list).await;
    let (b, order, order_url, chall) = pending_order(&srv, &list).await;
    let token_of_a = ta.token(&list, &a.key.public_jwk());
    assert_token_refused(&b, &order, &order_url, &chall, &token_of_a, "unauthorized").await;

    // tktype in RFC 9447's example casing is accepted.
    let (raw, _, _, chall) = pending_order(&srv, &list).await;
    let mut c = TestTa::claims(&list, &raw.fingerprint());
    c["atc"]["tktype"] = "TnAuthList".into();
    assert_eq!(
        raw.answer(&chall, &ta.custom_token(&c)).await.json()["status"],
        "valid"
    );
}

#[tokio::test]
async fn a_token_from_a_revoked_signer_is_refused() {
    let (srv, ta) = server_with_ta(LOOPBACK_POLICY).await;
    let list = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
    let token = ta.token(&list, &raw.key.public_jwk());
    ta.pa.revoke_signer().expect("revoke");
    assert_token_refused(&raw, &order, &order_url, &chall, &token, "unauthorized").await;
    // The authority's new signer works.
    let (raw, _, _, chall) = pending_order(&srv, &list).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
}

#[tokio::test]
async fn x5u_on_loopback_http_is_refused_by_default_policy() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
    let token = ta.token_with(&list, &raw.key.public_jwk(), SignerRef::X5u, false);
    assert_token_refused(&raw, &order, &order_url, &chall, &token, "unauthorized").await;
}

#[tokio::test]
async fn ca_true_token_cannot_finalize_an_spc_order() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, order_url, chall) = pending_order(&srv, &list).await;
    let token = ta.token_with(&list, &raw.key.public_jwk(), SignerRef::X5c, true);
    assert_eq!(raw.answer(&chall, &token).await.json()["status"], "valid");
    let r = raw
        .finalize(&order, &acme_tests::raw::csr(&list.to_der()))
        .await;
    assert_eq!(
        r.problem_type(),
        "urn:ietf:params:acme:error:unauthorized",
        "{}",
        r.text()
    );
    let o = raw.post(&order_url, None).await.json();
    assert_eq!(o["status"], "ready");
    assert!(o.get("certificate").is_none());
}

#[tokio::test]
async fn token_reuse_by_the_same_account_can_be_forbidden_by_policy() {
    let (srv, ta) = server_with_ta("[authority_token]\nallow_token_reuse = false\n").await;
    let list = spc("1234");
    let (raw, _, _, chall) = pending_order(&srv, &list).await;
    let token = ta.token(&list, &raw.key.public_jwk());
    assert_eq!(raw.answer(&chall, &token).await.json()["status"], "valid");
    let r = raw.new_order(&list.to_der()).await;
    let order = r.json();
    let order_url = r.header("location").unwrap();
    let chall2 = raw.challenge_url(&order).await;
    assert_token_refused(&raw, &order, &order_url, &chall2, &token, "unauthorized").await;
}

#[tokio::test]
async fn missing_token_in_the_response_is_a_400_and_leaves_the_challenge_pending() {
    let srv = TestServer::start(BIN, ServerOptions::default()).await;
    let (raw, _, _, chall) = pending_order(&srv, &spc("1234")).await;
    let r = raw.post(&chall, Some(&serde_json::json!({}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem_type(), "urn:ietf:params:acme:error:malformed");
    assert_eq!(raw.post(&chall, None).await.json()["status"], "pending");
}
