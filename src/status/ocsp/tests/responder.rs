//! Responder behaviour: the cache lifecycle, revocation, failures of the status source,
//! rotation, configuration checks, and the responder certificate itself.

use der::Decode;

use super::*;
use crate::status::ocsp::{Answer, HashAlg, OcspError, ResponseStatus};

#[tokio::test]
async fn presign_forget_and_revocation_become_visible() {
    let pki = Pki::new();
    let source = pki.source();
    let r = pki.responder(pki.delegated_entry(), source.clone());
    let now = crate::acme::now();
    let p = r
        .presign(0, HashAlg::Sha1, GOOD, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, CertStatus::Good);
    // A client request with openssl's CertID form hits the presigned response.
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let calls = source.calls();
    let Some(Answer::Shared(hit)) = r.cached(&req, now) else {
        panic!("presigned response not found")
    };
    assert!(Arc::ptr_eq(&hit, &p));
    assert_eq!(source.calls(), calls);
    pki.assert_shared_good(&hit.der);

    // Revocation: storage changes, the server forgets and re-presigns.
    source.set(
        0,
        GOOD,
        CertStatus::Revoked {
            time: now - 10,
            reason: Some(4),
        },
    );
    assert_eq!(r.forget(0, GOOD), 1);
    assert!(r.cached(&req, now).is_none());
    r.presign(0, HashAlg::Sha1, GOOD, now).await.unwrap();
    let answer = r.respond(&req, now).await;
    let (ok, text) = pki.check(
        &answer.der(),
        &[
            "-cert",
            "@good.pem",
            "-no_nonce",
            "-VAfile",
            "@responder.pem",
        ],
    );
    assert_verified(ok, &text, "good.pem: revoked");
    assert!(text.contains("Reason: superseded"), "{text}");

    // Unknown serials are not stored by presign.
    assert!(
        r.presign(0, HashAlg::Sha1, UNKNOWN, now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        r.presign(0, HashAlg::Sha1, &[], now).await,
        Err(OcspError::BadSerial)
    ));
    assert!(matches!(
        r.presign(3, HashAlg::Sha1, GOOD, now).await,
        Err(OcspError::NoSuchIssuer(3))
    ));
}

#[tokio::test]
async fn presign_normalises_leading_zeros() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let now = crate::acme::now();
    let mut padded = vec![0, 0];
    padded.extend_from_slice(REVOKED);
    r.presign(0, HashAlg::Sha256, &padded, now)
        .await
        .unwrap()
        .unwrap();
    let req = pki.request("issuer.pem", &["revoked.pem"], &["-no_nonce", "-sha256"]);
    assert!(matches!(r.cached(&req, now), Some(Answer::Shared(_))));
}

#[tokio::test]
async fn refresh_due_re_signs_and_drops() {
    let pki = Pki::new();
    let source = pki.source();
    let r = pki.responder(pki.delegated_entry(), source.clone());
    let t0 = crate::acme::now();
    r.presign(0, HashAlg::Sha1, GOOD, t0).await.unwrap();
    r.presign(0, HashAlg::Sha256, REVOKED, t0).await.unwrap();
    assert!(r.cache().refresh_due(t0).is_empty());
    let half = t0 + super::super::responder::DEFAULT_VALIDITY_SECS / 2;
    assert_eq!(r.cache().refresh_due(half).len(), 2);
    // The good certificate disappeared from storage (say, a restore): its entry is dropped.
    source.map.lock().unwrap().remove(&(0, GOOD.to_vec()));
    let report = r.refresh_due_now(half).await;
    assert_eq!(report.refreshed, 1);
    assert_eq!(report.removed, 1);
    assert_eq!(report.failed, 0);
    assert_eq!(r.cache().len(), 1);
    assert!(
        r.cache().refresh_due(half).is_empty(),
        "re-signed at `half`"
    );
    // Failures keep the entry until it expires, then it is purged.
    *source.fail.lock().unwrap() = Some(|| StatusError::Unavailable("db down".into()));
    let later = half + super::super::responder::DEFAULT_VALIDITY_SECS / 2;
    let report = r.refresh_due_now(later).await;
    assert_eq!(report.failed, 1);
    assert_eq!(r.cache().len(), 1);
    let expired = later + super::super::responder::DEFAULT_VALIDITY_SECS;
    r.refresh_due_now(expired).await;
    assert!(r.cache().is_empty());
}

#[tokio::test]
async fn source_failures_map_to_try_later_and_internal_error() {
    let pki = Pki::new();
    let source = pki.source();
    let r = pki.responder(pki.delegated_entry(), source.clone());
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    *source.fail.lock().unwrap() = Some(|| StatusError::Unavailable("pool exhausted".into()));
    let a = r.respond(&req, crate::acme::now()).await;
    assert_eq!(a.status(), ResponseStatus::TryLater);
    assert_eq!(&a.der()[..], &[0x30, 0x03, 0x0a, 0x01, 0x03]);
    *source.fail.lock().unwrap() = Some(|| StatusError::Failed("bad row".into()));
    assert_eq!(
        r.respond(&req, crate::acme::now()).await.status(),
        ResponseStatus::InternalError
    );
    assert!(r.cache().is_empty());
}

#[tokio::test]
async fn rotation_swaps_the_responder_and_clears_the_cache() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let now = crate::acme::now();
    r.presign(0, HashAlg::Sha1, GOOD, now).await.unwrap();
    let new = issue_responder_cert(pki.issuer_key.clone(), &pki.issuer_der, 3600, now).unwrap();
    assert_eq!(
        r.responder_not_after(0).map(|t| t > now + 6 * 86400),
        Some(true)
    );
    r.rotate(0, new.signer.clone(), new.cert_der.clone())
        .unwrap();
    assert_eq!(r.responder_not_after(0), Some(new.not_after));
    assert!(r.cache().is_empty());
    std::fs::write(
        pki.path("new_responder.pem"),
        crate::x509::to_pem("CERTIFICATE", &new.cert_der),
    )
    .unwrap();
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    let answer = r.respond(&req, now).await;
    let Answer::Shared(p) = &answer else {
        panic!("{answer:?}")
    };
    assert!(
        p.next_update <= new.not_after,
        "capped by the responder notAfter"
    );
    let (ok, text) = pki.check(
        &answer.der(),
        &[
            "-cert",
            "@good.pem",
            "-no_nonce",
            "-VAfile",
            "@new_responder.pem",
        ],
    );
    assert_verified(ok, &text, "good.pem: good");
    // A wrong pair is refused and the old identity stays.
    assert!(
        r.rotate(0, pki.issuer_key.clone(), new.cert_der.clone())
            .is_err()
    );
    assert!(r.rotate(1, new.signer.clone(), new.cert_der).is_err());
}

#[tokio::test]
async fn expired_responder_certificate_gives_internal_error() {
    let pki = Pki::new();
    let r = pki.responder(pki.delegated_entry(), pki.source());
    let after = r.responder_not_after(0).unwrap() + 1;
    let req = pki.request("issuer.pem", &["good.pem"], &["-no_nonce"]);
    assert_eq!(
        r.respond(&req, after).await.status(),
        ResponseStatus::InternalError
    );
}

#[test]
fn bad_configurations_are_refused() {
    let pki = Pki::new();
    let source = pki.source();
    let cfg = ResponderConfig::default;
    // No issuer.
    assert!(Responder::new(vec![], source.clone(), cfg()).is_err());
    // Responder key does not match the responder certificate.
    let mut e = pki.delegated_entry();
    e.responder = pki.issuer_key.clone();
    assert!(Responder::new(vec![e], source.clone(), cfg()).is_err());
    // A leaf of the issuer without id-kp-OCSPSigning.
    let key = KeyFileSigner::load(&pki.path("not_responder.key")).unwrap();
    let der = crate::x509::pem_certificates(&std::fs::read(pki.path("not_responder.pem")).unwrap())
        .unwrap()
        .remove(0);
    let e = IssuerEntry {
        cert_der: pki.issuer_der.clone(),
        responder: Arc::new(key),
        responder_cert_der: der,
    };
    let err = Responder::new(vec![e], source.clone(), cfg()).unwrap_err();
    assert!(err.to_string().contains("OCSPSigning"), "{err}");
    // A responder certificate of another issuer.
    let mut e = pki.delegated_entry();
    e.cert_der = pki.other_ca_der.clone();
    assert!(Responder::new(vec![e], source.clone(), cfg()).is_err());
    // Not a certificate.
    let mut e = pki.delegated_entry();
    e.cert_der = b"nope".to_vec();
    assert!(Responder::new(vec![e], source.clone(), cfg()).is_err());
    // Silly settings.
    let bad = ResponderConfig {
        validity_secs: 0,
        ..ResponderConfig::default()
    };
    assert!(Responder::new(vec![pki.delegated_entry()], source.clone(), bad).is_err());
    // Two issuers: indices follow the list.
    let r = Responder::new(
        vec![pki.ca_signed_entry(), pki.delegated_entry()],
        source,
        cfg(),
    )
    .unwrap();
    assert_eq!(r.issuer_count(), 2);
    assert_eq!(r.issuer_index(&pki.issuer_der), Some(0));
    assert_eq!(r.issuer_index(&pki.root_der), None);
}

#[test]
fn responder_certificate_profile() {
    let pki = Pki::new();
    let text = run(std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(pki.path("responder.pem")));
    for needle in [
        "Subject: C = US, O = stica tests, CN = OCSP Test Issuing CA OCSP Responder",
        "X509v3 Key Usage: critical",
        "Digital Signature",
        "X509v3 Extended Key Usage",
        "OCSP Signing",
        "OCSP No Check",
        "X509v3 Basic Constraints: critical",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    assert!(!text.contains("CA:TRUE"));
    let verify = run(std::process::Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-purpose",
            "ocsphelper",
            "-CAfile",
        ])
        .arg(pki.path("root.pem"))
        .arg("-untrusted")
        .arg(pki.path("issuer.pem"))
        .arg(pki.path("responder.pem")));
    assert!(verify.contains(": OK"), "{verify}");
    // Lifetime: 7 days from now (notBefore back-dated one hour).
    let cert = x509_cert::Certificate::from_der(&pki.responder_der).unwrap();
    let v = cert.tbs_certificate().validity();
    let secs = v.not_after.to_unix_duration().as_secs() - v.not_before.to_unix_duration().as_secs();
    assert_eq!(secs as i64, 7 * 86400 + 3600);
    // Refusals: wrong key for the issuer, non-positive lifetime.
    let other = Arc::new(KeyFileSigner::generate().unwrap());
    assert!(issue_responder_cert(other, &pki.issuer_der, 3600, crate::acme::now()).is_err());
    assert!(
        issue_responder_cert(
            pki.issuer_key.clone(),
            &pki.issuer_der,
            0,
            crate::acme::now()
        )
        .is_err()
    );
}
