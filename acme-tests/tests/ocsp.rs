//! End to end: OCSP from the real binary, asked by `openssl ocsp` (POST), before and after an ACME
//! revocation.

mod common;

use common::*;
use serde_json::json;

use acme_tests::tools::openssl_ocsp;

#[tokio::test]
async fn openssl_sees_good_then_revoked_with_the_reason() {
    let (srv, ta) = server_with_ta("").await;
    let list = spc("1234");
    let (raw, order, _, chall) = pending_order(&srv, &list).await;
    assert_eq!(
        raw.answer(&chall, &ta.token(&list, &raw.key.public_jwk()))
            .await
            .json()["status"],
        "valid"
    );
    let (valid_order, cert) = finalize_and_download(&raw, &order, &list).await;
    let serial = valid_order["certificate"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let pems: Vec<String> = cert
        .text()
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_string)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("leaf.pem"), &pems[0]).unwrap();
    std::fs::write(dir.path().join("issuer.pem"), &pems[1]).unwrap();
    std::fs::copy(srv.root_pem(), dir.path().join("root.pem")).unwrap();
    let url = format!("{}/ocsp", srv.base);
    let d = dir.path().to_path_buf();
    let u = url.clone();
    let text = tokio::task::spawn_blocking(move || openssl_ocsp(&d, &u, &[]))
        .await
        .unwrap();
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains("leaf.pem: good"), "{text}");
    // Without a nonce the answer is the pre-signed one (served from the cache the second time).
    let d = dir.path().to_path_buf();
    let u = url.clone();
    let text = tokio::task::spawn_blocking(move || openssl_ocsp(&d, &u, &["-no_nonce"]))
        .await
        .unwrap();
    assert!(text.contains("leaf.pem: good"), "{text}");
    // RFC 5019 GET, as relying parties send it: answered from the pre-signed cache in front of
    // the router after the first time (src/status/ocsp/front.rs).
    let get_url = format!("{url}/{}", get_path(dir.path()));
    for _ in 0..3 {
        let text = fetched(dir.path(), &get_url).await;
        assert!(
            text.contains("leaf.pem: good") && text.contains("Response verify OK"),
            "{text}"
        );
    }

    // The stapling aid serves the current response by serial.
    let staple_url = format!("{}/ocsp-staple/{serial}", srv.base);
    let text = fetched(dir.path(), &staple_url).await;
    assert!(
        text.contains("leaf.pem: good") && text.contains("Response verify OK"),
        "{text}"
    );
    let missing = reqwest::get(format!("{}/ocsp-staple/0123456789abcdef", srv.base))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let der = stica::x509::pem_certificates(pems[0].as_bytes())
        .unwrap()
        .remove(0);
    let r = raw
        .post(
            &raw.url("revokeCert"),
            Some(&json!({"certificate": stica::jose::b64::encode_url(&der), "reason": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Visible within the change-poll bound (5 s), also for the pre-signed path.
    let mut last = String::new();
    for _ in 0..40 {
        let d = dir.path().to_path_buf();
        let u = url.clone();
        last = tokio::task::spawn_blocking(move || openssl_ocsp(&d, &u, &["-no_nonce"]))
            .await
            .unwrap();
        if last.contains("leaf.pem: revoked") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(last.contains("leaf.pem: revoked"), "{last}");
    assert!(last.contains("Reason: keyCompromise"), "{last}");
    let d = dir.path().to_path_buf();
    let text = tokio::task::spawn_blocking(move || openssl_ocsp(&d, &url, &[]))
        .await
        .unwrap();
    assert!(
        text.contains("leaf.pem: revoked") && text.contains("Response verify OK"),
        "{text}"
    );
    let text = fetched(dir.path(), &staple_url).await;
    assert!(text.contains("leaf.pem: revoked"), "{text}");
    // The same GET that was answered in front of the router now says revoked too.
    let text = fetched(dir.path(), &get_url).await;
    assert!(
        text.contains("leaf.pem: revoked") && text.contains("Reason: keyCompromise"),
        "{text}"
    );
}

/// The RFC 6960 appendix A.1 GET path of a nonce-free request for `dir/leaf.pem`, made by
/// `openssl ocsp -reqout`: base64, then URL-encoded.
fn get_path(dir: &std::path::Path) -> String {
    use base64::Engine as _;
    let req = dir.join("get-req.der");
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(dir.join("issuer.pem"))
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .arg("-reqout")
        .arg(&req)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(&req).unwrap())
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// [`staple`] off the async runtime.
async fn fetched(dir: &std::path::Path, url: &str) -> String {
    let (d, u) = (dir.to_path_buf(), url.to_string());
    tokio::task::spawn_blocking(move || staple(&d, &u))
        .await
        .unwrap()
}

/// Fetches a stapled response and checks it with `openssl ocsp -respin`.
fn staple(dir: &std::path::Path, url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp = rt.block_on(async { reqwest::get(url).await.unwrap() });
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/ocsp-response");
    let body = rt.block_on(resp.bytes()).unwrap();
    std::fs::write(dir.join("staple.der"), &body).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-respin"])
        .arg(dir.join("staple.der"))
        .arg("-issuer")
        .arg(dir.join("issuer.pem"))
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .output()
        .expect("openssl");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
