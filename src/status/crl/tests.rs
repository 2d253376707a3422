//! CRL building: the indirect form (issuer = CRL signer, certificateIssuer on each issuer's first
//! entry, indirectCRL in the issuingDistributionPoint), reasons, numbers, and `openssl crl
//! -verify` over the result.

use std::process::Command;
use std::sync::Arc;

use der::{Decode, Encode};
use x509_cert::crl::CertificateList;

use super::*;
use crate::ca::crl_signer::{CrlSignerPaths, ensure_crl_signer};
use crate::ca::init_hierarchy;
use crate::sa::RevokedEntry;

const URL: &str = "http://ca.example/crl";

struct Pki {
    dir: tempfile::TempDir,
    intermediate_der: Vec<u8>,
    signer: CrlSigner,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    init_hierarchy(dir.path(), "stica test").unwrap();
    assert!(ensure_crl_signer(dir.path()).unwrap());
    assert!(!ensure_crl_signer(dir.path()).unwrap(), "created once");
    let signer = CrlSigner::load(dir.path()).unwrap();
    let pem = std::fs::read(dir.path().join("ca/intermediate.pem")).unwrap();
    let intermediate_der = crate::x509::pem_certificates(&pem).unwrap().remove(0);
    Pki {
        dir,
        intermediate_der,
        signer,
    }
}

/// A leaf signed by the intermediate (what a CRL lists needs no SHAKEN profile).
fn issue(p: &Pki) -> (String, Vec<u8>) {
    let key_pem = std::fs::read_to_string(p.dir.path().join("ca/intermediate.key")).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(p.intermediate_der.as_slice()),
        rcgen::KeyPair::from_pem(&key_pem).unwrap(),
    )
    .unwrap();
    let serial = crate::ca::serial::random_serial().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let leaf = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = params.signed_by(&leaf, &issuer).unwrap();
    (hex::encode(serial), cert.der().to_vec())
}

fn header<'a>(signer: &'a CrlSigner, now: i64) -> CrlHeader<'a> {
    CrlHeader {
        issuer_der: signer.subject_der(),
        key_id: signer.key_id(),
        url: URL,
        this_update: now,
        next_update: now + 86_400,
    }
}

fn entry(serial: &str, der: &[u8], reason: u8, at: i64) -> RevokedEntry {
    RevokedEntry {
        serial: serial.into(),
        der: der.to_vec(),
        revoked_at: at,
        reason,
    }
}

fn ext<'a>(exts: &'a Option<x509_cert::ext::Extensions>, oid: &str) -> Option<&'a Extension> {
    let oid = ObjectIdentifier::new_unwrap(oid);
    exts.iter().flatten().find(|e| e.extn_id == oid)
}

fn openssl_crl_text(p: &Pki, der: &[u8]) -> String {
    let crl = p.dir.path().join("crl.der");
    std::fs::write(&crl, der).unwrap();
    let bundle = p.dir.path().join("bundle.pem");
    let root = std::fs::read_to_string(p.dir.path().join("ca/root.pem")).unwrap();
    std::fs::write(&bundle, format!("{root}{}", p.signer.chain_pem())).unwrap();
    let out = Command::new("openssl")
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
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn indirect_crl_lists_reasons_and_verifies_with_openssl() {
    let p = pki();
    let (s1, d1) = issue(&p);
    let (s2, d2) = issue(&p);
    let now = crate::acme::now();
    let input = CrlInput {
        number: 7,
        covered_seq: 3,
        entries: vec![entry(&s1, &d1, 1, now - 10), entry(&s2, &d2, 0, now - 5)],
    };
    let tbs = build_tbs(&header(&p.signer, now), &input).unwrap();
    let der = p.signer.sign_crl(&tbs).unwrap();

    let crl = <CertificateList>::from_der(&der).unwrap();
    let tbs = &crl.tbs_cert_list;
    assert_eq!(tbs.issuer.to_der().unwrap(), p.signer.subject_der());
    assert_eq!(tbs.version, x509_cert::Version::V2);
    let number = ext(&tbs.crl_extensions, "2.5.29.20").unwrap();
    assert_eq!(number.extn_value.as_bytes(), [0x02, 0x01, 0x07]);
    let idp = ext(&tbs.crl_extensions, "2.5.29.28").unwrap();
    assert!(idp.critical);
    let idp = IssuingDistributionPoint::from_der(idp.extn_value.as_bytes()).unwrap();
    assert!(idp.indirect_crl);
    let aki = ext(&tbs.crl_extensions, "2.5.29.35").unwrap();
    let aki = AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).unwrap();
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), p.signer.key_id());

    let entries = tbs.revoked_certificates.as_ref().unwrap();
    assert_eq!(entries.len(), 2);
    // certificateIssuer (critical) = the intermediate, on the first entry only.
    let first = &entries[0].crl_entry_extensions;
    let ci = ext(first, "2.5.29.29").unwrap();
    assert!(ci.critical);
    let inter = x509_cert::Certificate::from_der(&p.intermediate_der).unwrap();
    let names = Vec::<GeneralName>::from_der(ci.extn_value.as_bytes()).unwrap();
    assert_eq!(
        names,
        vec![GeneralName::DirectoryName(
            inter.tbs_certificate().subject().clone()
        )]
    );
    assert!(ext(&entries[1].crl_entry_extensions, "2.5.29.29").is_none());
    // The keyCompromise entry carries its reason; the unspecified one carries none (§5.3.1).
    let by_serial = |s: &str| {
        entries
            .iter()
            .find(|e| hex::encode(e.serial_number.as_bytes()) == s)
            .unwrap()
    };
    let kc = ext(&by_serial(&s1).crl_entry_extensions, "2.5.29.21").unwrap();
    assert_eq!(kc.extn_value.as_bytes(), [0x0a, 0x01, 0x01]);
    assert!(ext(&by_serial(&s2).crl_entry_extensions, "2.5.29.21").is_none());

    let text = openssl_crl_text(&p, &der);
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("Indirect CRL"), "{text}");
    assert!(text.contains("Certificate Issuer"), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains(&s1.to_uppercase()), "{text}");
    assert!(text.contains(&s2.to_uppercase()), "{text}");
    assert!(text.contains(URL), "{text}");
}

#[test]
fn empty_crl_has_no_entries_and_verifies() {
    let p = pki();
    let now = crate::acme::now();
    let input = CrlInput {
        number: 1,
        covered_seq: 0,
        entries: vec![],
    };
    let der = p
        .signer
        .sign_crl(&build_tbs(&header(&p.signer, now), &input).unwrap())
        .unwrap();
    let crl = <CertificateList>::from_der(&der).unwrap();
    assert!(crl.tbs_cert_list.revoked_certificates.is_none());
    let text = openssl_crl_text(&p, &der);
    assert!(text.contains("No Revoked Certificates"), "{text}");
}

#[test]
fn entries_of_another_issuer_get_their_own_certificate_issuer() {
    let p = pki();
    let (s1, d1) = issue(&p);
    let foreign = crate::x509::pem_certificates(
        include_str!("../../lint/testdata/martini_leaf_lowlatency.pem").as_bytes(),
    )
    .unwrap()
    .remove(0);
    let now = crate::acme::now();
    let input = CrlInput {
        number: 2,
        covered_seq: 0,
        entries: vec![entry(&s1, &d1, 4, now), entry("foreign", &foreign, 5, now)],
    };
    let tbs = build_tbs(&header(&p.signer, now), &input).unwrap();
    let issuers = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .filter(|e| ext(&e.crl_entry_extensions, "2.5.29.29").is_some())
        .count();
    assert_eq!(issuers, 2);
}

#[test]
fn unreadable_stored_certificate_is_an_error_not_an_omission() {
    let p = pki();
    let input = CrlInput {
        number: 1,
        covered_seq: 0,
        entries: vec![entry("aa", b"garbage", 1, 1_000)],
    };
    assert!(matches!(
        build_tbs(&header(&p.signer, 1_000), &input),
        Err(CrlError::Encode(_))
    ));
}

#[test]
fn signer_refuses_a_crl_in_another_name() {
    let p = pki();
    let inter = x509_cert::Certificate::from_der(&p.intermediate_der).unwrap();
    let input = CrlInput {
        number: 1,
        covered_seq: 0,
        entries: vec![],
    };
    let mut tbs = build_tbs(&header(&p.signer, 1_000), &input).unwrap();
    tbs.issuer = inter.tbs_certificate().subject().clone();
    assert!(matches!(
        p.signer.sign_crl(&tbs),
        Err(CaError::BadRequest(_))
    ));
}

#[test]
fn signer_files_modes_and_checks() {
    let p = pki();
    let paths = CrlSignerPaths::new(p.dir.path());
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &std::path::Path| std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&paths.key), 0o600);
    assert_eq!(mode(&paths.cert), 0o644);
    // The certificate: cRLSign only, critical; cA FALSE; issued by the intermediate.
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&paths.cert)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("X509v3 Key Usage: critical\n                CRL Sign\n"),
        "{text}"
    );
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("CN = stica test SHAKEN CRL Signer"), "{text}");
    // The distribution point naming the signer encodes its subject byte for byte.
    let dp = p.signer.distribution_point(URL);
    assert_eq!(dp.crl_issuer_der.as_deref(), Some(p.signer.subject_der()));
    // A swapped key is refused.
    std::fs::remove_file(&paths.key).unwrap();
    crate::ca::KeyFileSigner::generate()
        .unwrap()
        .save(&paths.key)
        .unwrap();
    assert!(CrlSigner::load(p.dir.path()).is_err());
    // One file without the other is refused, never overwritten.
    std::fs::remove_file(&paths.key).unwrap();
    assert!(matches!(
        ensure_crl_signer(p.dir.path()),
        Err(CaError::PartialHierarchy { .. })
    ));
}

#[tokio::test]
async fn publisher_publishes_when_due() {
    let p = pki();
    let url = crate::sa::testing::fresh_database_url().await.unwrap();
    let sa = Storage::connect(&url).await.unwrap();
    let signer = CrlSigner::load(p.dir.path()).unwrap();
    let publisher = CrlPublisher::new(sa.clone(), Arc::new(signer), URL, CrlConfig::default());
    let now = 1_900_000_000;
    assert!(publisher.due(now).await.unwrap(), "no CRL yet");
    let first = publisher.refresh(now).await.unwrap().unwrap();
    assert_eq!(first.number, 1);
    assert_eq!(first.next_update, now + 86_400);
    assert!(!publisher.due(now + 60).await.unwrap());
    assert!(publisher.refresh(now + 60).await.unwrap().is_none());
    // Old enough: refresh_secs after thisUpdate.
    assert!(publisher.due(now + 43_200).await.unwrap());
    // Another URL (the server moved): a new CRL naming the new URL.
    let moved = CrlPublisher::new(
        sa.clone(),
        Arc::new(CrlSigner::load(p.dir.path()).unwrap()),
        "http://other.example/crl",
        CrlConfig::default(),
    );
    assert!(moved.due(now + 60).await.unwrap());
    let second = publisher.publish(now + 120).await.unwrap();
    assert_eq!(second.number, 2);
    assert_eq!(publisher.current().await.unwrap(), Some(second));
    sa.close().await.unwrap();
    crate::sa::testing::drop_database(&url).await.unwrap();
}
