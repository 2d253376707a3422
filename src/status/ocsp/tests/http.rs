//! The router on a real listener: `openssl ocsp -url` (POST), GET with cache headers,
//! conditional GET, and the HTTP-level refusals.

use std::sync::Arc;

use base64::Engine;

use super::*;
use crate::status::ocsp::front::Front;
use crate::status::ocsp::{Responder, router};

/// The responder as `stica serve` mounts it: the router behind the pre-signed GET fast path.
async fn serve(r: Responder) -> (String, Arc<Responder>) {
    let r = Arc::new(r);
    let app = tower::make::Shared::new(Front::with_ocsp(router(r.clone()), "", r.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), r)
}

async fn openssl(pki: &Pki, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new("openssl")
        .arg("ocsp")
        .args(args.iter().map(|a| pki.arg(a)))
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_queries_over_http() {
    let pki = Pki::new();
    let source = pki.source();
    let (base, r) = serve(pki.responder(pki.delegated_entry(), source.clone())).await;
    let url = format!("{base}/ocsp");
    let trust = ["-CAfile", "@root.pem", "-verify_other", "@issuer.pem"];

    // Default: POST with a nonce, which must come back.
    let mut args = vec!["-url", &url, "-issuer", "@issuer.pem", "-cert", "@good.pem"];
    args.extend(trust);
    args.extend(["-req_text", "-resp_text"]);
    let (ok, text) = openssl(&pki, &args).await;
    assert_verified(ok, &text, "good.pem: good");
    assert!(text.contains("OCSP Nonce"), "{text}");
    assert!(!text.contains("WARNING"), "{text}");
    assert!(r.cache().is_empty(), "nonce responses are not cached");

    // Revoked, SHA-256 CertID, nonce.
    let mut args = vec![
        "-url",
        &url,
        "-sha256",
        "-issuer",
        "@issuer.pem",
        "-cert",
        "@revoked.pem",
    ];
    args.extend(trust);
    let (ok, text) = openssl(&pki, &args).await;
    assert_verified(ok, &text, "revoked.pem: revoked");
    assert!(text.contains("Reason: keyCompromise"), "{text}");

    // Without a nonce: the second query is served from the cache.
    let mut args = vec![
        "-url",
        &url,
        "-no_nonce",
        "-issuer",
        "@issuer.pem",
        "-cert",
        "@good.pem",
    ];
    args.extend(["-VAfile", "@responder.pem"]);
    let (ok, text) = openssl(&pki, &args).await;
    assert_verified(ok, &text, "good.pem: good");
    let calls = source.calls();
    assert_eq!(r.cache().len(), 1);
    let (ok, text) = openssl(&pki, &args).await;
    assert_verified(ok, &text, "good.pem: good");
    assert_eq!(source.calls(), calls, "served from the pre-signed cache");

    // Unknown issuer through HTTP.
    let args = [
        "-url",
        &url,
        "-no_nonce",
        "-issuer",
        "@other_ca.pem",
        "-cert",
        "@other_leaf.pem",
    ];
    let (_, text) = openssl(&pki, &args).await;
    assert!(text.contains("unauthorized"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_with_cache_headers_and_conditional_requests() {
    let pki = Pki::new();
    let (base, r) = serve(pki.responder(pki.delegated_entry(), pki.source())).await;
    let client = reqwest::Client::new();
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&req);
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let mut etags = Vec::new();
    for path in [&encoded, &b64] {
        let resp = client
            .get(format!("{base}/ocsp/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], "application/ocsp-response");
        let cc = h["cache-control"].to_str().unwrap();
        assert!(cc.starts_with("max-age="), "{cc}");
        assert!(
            cc.ends_with(", public, no-transform, must-revalidate"),
            "{cc}"
        );
        let max_age: i64 = cc["max-age=".len()..cc.find(',').unwrap()].parse().unwrap();
        assert!(max_age > 3 * 3600 && max_age <= 4 * 3600, "{max_age}");
        assert!(h["last-modified"].to_str().unwrap().ends_with(" GMT"));
        assert!(h["expires"].to_str().unwrap().ends_with(" GMT"));
        etags.push(h["etag"].clone());
        let body = resp.bytes().await.unwrap();
        pki.assert_shared_good(&body);
    }
    assert_eq!(
        etags[0], etags[1],
        "same cached response, percent-encoded or not"
    );
    assert_eq!(r.cache().len(), 1);

    // Conditional GET.
    let resp = client
        .get(format!("{base}/ocsp/{encoded}"))
        .header("if-none-match", etags[0].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"], etags[0]);

    // A GET with a nonce is signed for itself and not stored.
    let req = pki.request("issuer.pem", &["good.pem"], &[]);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&req);
    let resp = client
        .get(format!("{base}/ocsp/{b64}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers().get("etag").is_none());
    std::fs::write(pki.path("getreq.der"), &req).unwrap();
    let body = resp.bytes().await.unwrap();
    let (ok, text) = pki.check(
        &body,
        &["-reqin", "@getreq.der", "-VAfile", "@responder.pem"],
    );
    assert_verified(ok, &text, "Cert Status: good");
}

#[tokio::test]
async fn http_refusals() {
    let pki = Pki::new();
    let (base, _r) = serve(pki.responder(pki.delegated_entry(), pki.source())).await;
    let client = reqwest::Client::new();
    let malformed: &[u8] = &[0x30, 0x03, 0x0a, 0x01, 0x01];

    // Garbage POST: HTTP 200 with malformedRequest, no-store.
    let resp = client
        .post(format!("{base}/ocsp"))
        .header("content-type", "application/ocsp-request")
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(&resp.bytes().await.unwrap()[..], malformed);

    // Oversized POST: 413 with malformedRequest.
    let resp = client
        .post(format!("{base}/ocsp"))
        .body(vec![0x30u8; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(&resp.bytes().await.unwrap()[..], malformed);

    // Bad GETs.
    for path in ["/ocsp", "/ocsp/", "/ocsp/%zz", "/ocsp/!!!!", "/ocsp/AAAA"] {
        let resp = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(&resp.bytes().await.unwrap()[..], malformed, "{path}");
    }
    let long = "A".repeat(5000);
    let resp = client
        .get(format!("{base}/ocsp/{long}"))
        .send()
        .await
        .unwrap();
    assert_eq!(&resp.bytes().await.unwrap()[..], malformed);

    // Unknown issuer over GET: unauthorized.
    let req = pki.request("other_ca.pem", &["other_leaf.pem"], &["-no_nonce"]);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&req);
    let resp = client
        .get(format!("{base}/ocsp/{b64}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        &resp.bytes().await.unwrap()[..],
        &[0x30, 0x03, 0x0a, 0x01, 0x06]
    );

    // POST to /ocsp/ works too (some clients append a slash).
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let resp = client
        .post(format!("{base}/ocsp/"))
        .body(req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}
