//! Test helpers: a lint-clean `shaken-spc` certificate built by the CA's own profile code,
//! which rule tests then break one property at a time.

use rcgen::{CertificateParams, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData};

use super::{Finding, LintContext, lint_with};
use crate::ca::shaken_spc::{Spec, params};
use crate::ca::{Profile, ext, oid};

/// A leaf and its issuer, DER.
pub(crate) struct Built {
    pub leaf: Vec<u8>,
    pub issuer: Vec<u8>,
}

/// The TNAuthList of SPC "709J".
pub(crate) const TNAUTH_709J: &str = "3008a00616043730394a";

fn issuer_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

/// A CA certificate (self-signed, SHA-1 SKI) for `key`.
pub(crate) fn issuer_cert(key: &KeyPair) -> Vec<u8> {
    let mut p = CertificateParams::default();
    p.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    p.key_identifier_method = KeyIdMethod::PreSpecified(ext::key_identifier(key.der_bytes()));
    p.distinguished_name =
        crate::ca::shaken_spc::subject("US", "Test CA", "Test SHAKEN CA").unwrap();
    p.self_signed(key).unwrap().der().to_vec()
}

/// The good parameters for `subject_key`.
pub(crate) fn good_params(subject_key: &[u8]) -> CertificateParams {
    let tn = hex::decode(TNAUTH_709J).unwrap();
    let crl = ext::crl_distribution_points("https://crl.example/crl", None).unwrap();
    let now = 1_800_000_000;
    params(&Spec {
        serial: &[0x42; 20],
        spc: "709J",
        organization: "Example Telecom LLC",
        country: "US",
        not_before: now,
        not_after: now + 30 * 86400,
        subject_public_key: subject_key,
        tnauthlist_der: &tn,
        certificate_policy: const_oid::ObjectIdentifier::new_unwrap(crate::policy::SHAKEN_CP_V1_4),
        crl_dp_der: &crl,
    })
    .unwrap()
}

/// Builds a leaf with a P-256 subject key after `mutate` edits the good parameters.
pub(crate) fn build(mutate: impl FnOnce(&mut CertificateParams)) -> Built {
    let subject = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    build_for(&subject, issuer_key(), mutate)
}

/// Builds a leaf for `subject`, issued by `issuer_key`.
pub(crate) fn build_for(
    subject: &impl PublicKeyData,
    issuer_key: KeyPair,
    mutate: impl FnOnce(&mut CertificateParams),
) -> Built {
    let issuer = issuer_cert(&issuer_key);
    let mut p = good_params(subject.der_bytes());
    mutate(&mut p);
    let iss = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(issuer.as_slice()),
        issuer_key,
    )
    .unwrap();
    Built {
        leaf: p.signed_by(subject, &iss).unwrap().der().to_vec(),
        issuer,
    }
}

/// Lints with CP v1.4.
pub(crate) fn lint(b: &Built) -> Vec<Finding> {
    lint_with(&b.leaf, &LintContext::new(Profile::ShakenSpc, &b.issuer))
}

/// The finding of `rule`, if it fired.
pub(crate) fn finding(b: &Built, rule: &str) -> Option<Finding> {
    lint(b).into_iter().find(|f| f.rule == rule)
}

/// Replaces the value (and criticality) of the custom extension `oid`.
pub(crate) fn set_ext(
    p: &mut CertificateParams,
    oid: const_oid::ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) {
    remove_ext(p, oid);
    p.custom_extensions.push(ext::custom(&oid, critical, value));
}

/// Removes the custom extension `oid`.
pub(crate) fn remove_ext(p: &mut CertificateParams, oid: const_oid::ObjectIdentifier) {
    let arcs = oid::arcs(&oid);
    p.custom_extensions
        .retain(|e| e.oid_components().collect::<Vec<_>>() != arcs);
}

/// Replaces the first occurrence of `from` with `to` (same length) in `der`.
pub(crate) fn patch(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let pos = der
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = der.to_vec();
    out[pos..pos + to.len()].copy_from_slice(to);
    out
}

#[test]
fn the_good_certificate_is_clean() {
    let b = build(|_| {});
    assert_eq!(lint(&b), vec![]);
}
