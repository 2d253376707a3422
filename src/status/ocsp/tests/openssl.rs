//! Requests from `openssl ocsp -reqout`, answered by the responder, verified by
//! `openssl ocsp -respin`.

use super::*;
use crate::status::ocsp::{Answer, HashAlg, ResponseStatus, certid::IssuerHashes, request};

/// Delegated responder, verified through the chain (responder -> issuer -> root).
const VIA_CHAIN: &[&str] = &["-CAfile", "@root.pem", "-verify_other", "@issuer.pem"];
/// Delegated responder, trusted directly (`-VAfile`).
const VIA_VAFILE: &[&str] = &["-VAfile", "@responder.pem"];

fn with<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    a.iter().chain(b).copied().collect()
}

#[tokio::test]
async fn sha1_good_without_nonce_delegated() {
    let pki = Pki::new();
    let source = pki.source();
    let r = pki.responder(pki.delegated_entry(), source.clone());
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let answer = r.respond(&req, crate::acme::now()).await;
    let Answer::Shared(p) = &answer else {
        panic!("expected a shared response, got {answer:?}")
    };
    assert_eq!(p.status, CertStatus::Good);
    for trust in [VIA_CHAIN, VIA_VAFILE] {
        let args = with(&["-cert", "@good.pem", "-no_nonce"], trust);
        let (ok, text) = pki.check(&answer.der(), &args);
        assert_verified(ok, &text, "good.pem: good");
        let key_id = crate::ca::ext::key_identifier(pki.responder_key.public_key());
        let responder_id = format!("Responder Id: {}", hex::encode_upper(key_id));
        assert!(text.contains(&responder_id), "byKey:\n{text}");
        assert!(text.contains("Next Update:"), "{text}");
        assert!(
            text.contains("OCSP Signing"),
            "responder cert in certs:\n{text}"
        );
    }
    // The second identical request is served from the cache without a lookup.
    let calls = source.calls();
    let again = r.cached(&req, crate::acme::now()).expect("cache hit");
    assert_eq!(again.der(), answer.der());
    assert_eq!(source.calls(), calls);
}

#[tokio::test]
async fn sha256_revoked_with_reason() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let req = pki.request("issuer.pem", &["revoked.pem"], &["-sha256", "-no_nonce"]);
    let parsed = request::parse(&req).unwrap();
    assert_eq!(parsed.cert_ids[0].hash_alg, Some(HashAlg::Sha256));
    assert_eq!(
        parsed.cert_ids[0].serial,
        Some(REVOKED),
        "sign octet stripped"
    );
    let answer = r.respond(&req, crate::acme::now()).await;
    let args = with(
        &["-sha256", "-cert", "@revoked.pem", "-no_nonce"],
        VIA_CHAIN,
    );
    let (ok, text) = pki.check(&answer.der(), &args);
    assert_verified(ok, &text, "revoked.pem: revoked");
    assert!(text.contains("Reason: keyCompromise"), "{text}");
    assert!(
        text.contains("Revocation Time: Jan  1 00:00:00 2026 GMT"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_serial() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let req = pki.request("issuer.pem", &["unknown.pem"], &["-no_nonce"]);
    let answer = r.respond(&req, crate::acme::now()).await;
    assert!(matches!(answer, Answer::Shared(_)));
    let args = with(&["-cert", "@unknown.pem", "-no_nonce"], VIA_VAFILE);
    let (ok, text) = pki.check(&answer.der(), &args);
    assert_verified(ok, &text, "unknown.pem: unknown");
    assert!(r.cache().is_empty(), "unknown answers are not stored");
}

#[tokio::test]
async fn nonce_is_echoed_and_not_cached() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    for extra in [&[][..], &["-sha256"][..]] {
        let req = pki.request("issuer.pem", &["good.pem"], extra);
        let nonce = request::parse(&req)
            .unwrap()
            .nonce
            .expect("openssl adds a nonce");
        assert_eq!(nonce.value.len(), 16);
        assert!(r.cached(&req, crate::acme::now()).is_none());
        let answer = r.respond(&req, crate::acme::now()).await;
        assert!(matches!(answer, Answer::Private(_)), "{answer:?}");
        // -reqin: openssl checks the response's nonce against this request's.
        std::fs::write(pki.path("nreq.der"), &req).unwrap();
        let args = with(&["-reqin", "@nreq.der"], VIA_CHAIN);
        let (ok, text) = pki.check(&answer.der(), &args);
        assert_verified(ok, &text, "Cert Status: good");
        assert!(!text.contains("WARNING"), "{text}");
        let hex = hex::encode_upper(nonce.extn_value);
        assert!(text.contains(&hex), "nonce {hex} not echoed:\n{text}");
    }
    assert!(r.cache().is_empty());
}

#[tokio::test]
async fn ca_signed_responses_verify() {
    let pki = Pki::new();
    let r = pki.responder(pki.ca_signed_entry(), pki.source());
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let answer = r.respond(&req, crate::acme::now()).await;
    let (ok, text) = pki.check(
        &answer.der(),
        &["-cert", "@good.pem", "-no_nonce", "-CAfile", "@root.pem"],
    );
    assert_verified(ok, &text, "good.pem: good");
}

#[tokio::test]
async fn several_cert_ids_in_one_request() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let req = pki.request(
        "issuer.pem",
        &["good.pem", "revoked.pem", "unknown.pem"],
        &["-no_nonce"],
    );
    let answer = r.respond(&req, crate::acme::now()).await;
    assert!(matches!(answer, Answer::Private(_)));
    let args = with(
        &[
            "-cert",
            "@good.pem",
            "-cert",
            "@revoked.pem",
            "-cert",
            "@unknown.pem",
            "-no_nonce",
        ],
        VIA_CHAIN,
    );
    let (ok, text) = pki.check(&answer.der(), &args);
    assert_verified(ok, &text, "good.pem: good");
    assert!(text.contains("revoked.pem: revoked"), "{text}");
    assert!(text.contains("unknown.pem: unknown"), "{text}");
}

#[tokio::test]
async fn unknown_issuer_is_unauthorized() {
    let pki = Pki::new();
    let source = pki.source();
    let r = pki.responder(pki.delegated_entry(), source.clone());
    let req = pki.request("other_ca.pem", &["other_leaf.pem"], &["-no_nonce"]);
    let answer = r.respond(&req, crate::acme::now()).await;
    assert_eq!(answer.status(), ResponseStatus::Unauthorized);
    assert_eq!(&answer.der()[..], &[0x30, 0x03, 0x0a, 0x01, 0x06]);
    assert_eq!(source.calls(), 0, "no lookup for a foreign issuer");
    // openssl reads it as such
    let (ok, text) = pki.check(&answer.der(), &["-no_nonce"]);
    assert!(!ok || text.contains("unauthorized"), "{text}");
    assert!(text.contains("unauthorized"), "{text}");
    // The root is not an issuer the responder serves either.
    let req = pki.request("root.pem", &["issuer.pem"], &["-no_nonce"]);
    assert_eq!(
        r.respond(&req, crate::acme::now()).await.status(),
        ResponseStatus::Unauthorized
    );
    // A hash algorithm stica does not support cannot name an issuer it serves.
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce", "-md5"]);
    assert_eq!(
        r.respond(&req, crate::acme::now()).await.status(),
        ResponseStatus::Unauthorized
    );
    // Mixing a served and a foreign issuer in one request.
    let mut cmd = std::process::Command::new("openssl");
    cmd.arg("ocsp")
        .arg("-issuer")
        .arg(pki.path("issuer.pem"))
        .arg("-cert")
        .arg(pki.path("good.pem"))
        .arg("-issuer")
        .arg(pki.path("other_ca.pem"))
        .arg("-cert")
        .arg(pki.path("other_leaf.pem"))
        .arg("-no_nonce")
        .arg("-reqout")
        .arg(pki.path("mixed.der"));
    run(&mut cmd);
    let req = std::fs::read(pki.path("mixed.der")).unwrap();
    assert_eq!(request::parse(&req).unwrap().cert_ids.len(), 2);
    assert_eq!(
        r.respond(&req, crate::acme::now()).await.status(),
        ResponseStatus::Unauthorized
    );
}

#[tokio::test]
async fn garbage_and_truncated_are_malformed() {
    let pki = Pki::new();
    let source = pki.source();
    let r = pki.responder(pki.delegated_entry(), source.clone());
    let now = crate::acme::now();
    let req = pki.request("issuer.pem", &["good.pem"], &[]);
    let mut inputs: Vec<Vec<u8>> = vec![
        b"hello world".to_vec(),
        vec![],
        vec![0x30],
        vec![0x30, 0x00],
        req[..req.len() / 2].to_vec(),
        req[..req.len() - 1].to_vec(),
    ];
    let mut trailing = req.clone();
    trailing.extend_from_slice(&[0, 0]);
    inputs.push(trailing);
    for bad in &inputs {
        let a = r.respond(bad, now).await;
        assert_eq!(a.status(), ResponseStatus::MalformedRequest, "{bad:02x?}");
        assert_eq!(&a.der()[..], &[0x30, 0x03, 0x0a, 0x01, 0x01]);
        assert!(matches!(r.cached(bad, now), Some(Answer::Error(_))));
    }
    assert_eq!(source.calls(), 0);
    let (_, text) = pki.check(&[0x30, 0x03, 0x0a, 0x01, 0x01], &["-no_nonce"]);
    assert!(text.contains("malformedrequest"), "{text}");
}

#[test]
fn real_shaken_ca_hashes_match_openssl() {
    // Martini Security SHAKEN G2 and a leaf it issued (public fixtures): the CertID hashes
    // openssl computes must name the issuer for both SHA-1 and SHA-256.
    let fixtures = std::path::Path::new("/work/shared/fixtures");
    let ca = fixtures.join("martini_ca_shaken_g2.pem");
    let leaf = fixtures.join("martini_leaf_lowlatency.pem");
    if !ca.exists() {
        eprintln!("fixtures not present; skipped");
        return;
    }
    let ca_der = crate::x509::pem_certificates(&std::fs::read(&ca).unwrap())
        .unwrap()
        .remove(0);
    let hashes = IssuerHashes::from_cert(&ca_der).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (flag, alg) in [("-sha1", HashAlg::Sha1), ("-sha256", HashAlg::Sha256)] {
        let out = dir.path().join("req.der");
        run(std::process::Command::new("openssl")
            .args(["ocsp", "-no_nonce", flag, "-issuer"])
            .arg(&ca)
            .arg("-cert")
            .arg(&leaf)
            .arg("-reqout")
            .arg(&out));
        let der = std::fs::read(&out).unwrap();
        let parsed = request::parse(&der).unwrap();
        let id = &parsed.cert_ids[0];
        assert_eq!(id.hash_alg, Some(alg));
        assert!(hashes.matches(alg, id.issuer_name_hash, id.issuer_key_hash));
    }
}
