//! Test helpers: a lint-clean certificate of each profile, built by the CA's own profile code,
//! which rule tests then break one property at a time.

use rcgen::{CertificateParams, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData};

use super::{Finding, LintContext, lint_with};
use crate::ca::build::Spec;
use crate::ca::{Profile, delegate, ext, oid, sca, shaken_spc, tn_level};

/// A leaf and its issuer, DER, and the profile it was built for.
pub(crate) struct Built {
    pub leaf: Vec<u8>,
    pub issuer: Vec<u8>,
    pub profile: Profile,
}

/// The TNAuthList of SPC "709J".
pub(crate) const TNAUTH_709J: &str = "3008a00616043730394a";
/// The TN-level list of the good `tn-level` certificate (CLI syntax).
pub(crate) const TN_LEVEL_LIST: &str = "spc:709J,tn:12155550123,range:12155550100+100";
/// The list of the good `delegate` certificate (CLI syntax).
pub(crate) const DELEGATE_LIST: &str = "tn:12155550123,range:12155550100+100";
/// The organization of the good certificates.
pub(crate) const ORG: &str = "Example Telecom LLC";

/// The DER of a list in CLI syntax.
pub(crate) fn list_der(text: &str) -> Vec<u8> {
    text.parse::<crate::tnauth::TnAuthList>().unwrap().to_der()
}

fn issuer_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

/// What the issuer certificate looks like.
#[derive(Debug, Clone)]
pub(crate) struct IssuerSpec {
    /// cA TRUE (with keyCertSign) or an end entity.
    pub ca: bool,
    /// pathLenConstraint; `None` is unconstrained.
    pub path_len: Option<u8>,
    /// A TNAuthList (DER) the issuer carries, as an SCA does.
    pub tnauthlist: Option<Vec<u8>>,
}

impl Default for IssuerSpec {
    fn default() -> Self {
        Self {
            ca: true,
            path_len: Some(1),
            tnauthlist: None,
        }
    }
}

/// A CA certificate (self-signed, SHA-1 SKI) for `key`, pathLen 1.
pub(crate) fn issuer_cert(key: &KeyPair) -> Vec<u8> {
    issuer_cert_with(key, &IssuerSpec::default())
}

/// An issuer certificate (self-signed, SHA-1 SKI) for `key` as `spec` says.
pub(crate) fn issuer_cert_with(key: &KeyPair, spec: &IssuerSpec) -> Vec<u8> {
    let mut p = CertificateParams::default();
    if spec.ca {
        p.is_ca = IsCa::Ca(match spec.path_len {
            Some(n) => rcgen::BasicConstraints::Constrained(n),
            None => rcgen::BasicConstraints::Unconstrained,
        });
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    p.key_identifier_method = KeyIdMethod::PreSpecified(ext::key_identifier(key.der_bytes()));
    p.distinguished_name = shaken_spc::subject("US", "Test CA", "Test SHAKEN CA").unwrap();
    if let Some(t) = &spec.tnauthlist {
        p.custom_extensions = vec![ext::custom(&oid::TN_AUTH_LIST, false, t.clone())];
    }
    p.self_signed(key).unwrap().der().to_vec()
}

/// The good parameters of a certificate of `profile` for `subject_key`.
pub(crate) fn good_params_for(profile: Profile, subject_key: &[u8]) -> CertificateParams {
    let tn = match profile {
        Profile::ShakenSpc | Profile::Sca => hex::decode(TNAUTH_709J).unwrap(),
        Profile::TnLevel => list_der(TN_LEVEL_LIST),
        Profile::Delegate => list_der(DELEGATE_LIST),
    };
    let crl = ext::crl_distribution_points("https://crl.example/crl", None).unwrap();
    let now = 1_800_000_000;
    let spec = Spec {
        serial: &[0x42; 20],
        organization: ORG,
        country: "US",
        not_before: now,
        not_after: now + 30 * 86400,
        subject_public_key: subject_key,
        tnauthlist_der: &tn,
        certificate_policy: const_oid::ObjectIdentifier::new_unwrap(crate::policy::SHAKEN_CP_V1_4),
        crl_dp_der: &crl,
    };
    match profile {
        Profile::ShakenSpc => shaken_spc::params(&spec, "709J"),
        Profile::TnLevel => tn_level::params(&spec, Some("709J"), "acct-1", Vec::new()),
        Profile::Sca => sca::params(&spec, Some("709J"), 0, false),
        Profile::Delegate => delegate::params(&spec, Vec::new()),
    }
    .unwrap()
}

/// Builds a `shaken-spc` leaf with a P-256 subject key after `mutate` edits the good parameters.
pub(crate) fn build(mutate: impl FnOnce(&mut CertificateParams)) -> Built {
    build_as(Profile::ShakenSpc, mutate)
}

/// Builds a certificate of `profile` after `mutate` edits the good parameters.
pub(crate) fn build_as(profile: Profile, mutate: impl FnOnce(&mut CertificateParams)) -> Built {
    build_under(profile, &IssuerSpec::default(), mutate)
}

/// Builds a certificate of `profile` under an issuer made as `issuer` says.
pub(crate) fn build_under(
    profile: Profile,
    issuer: &IssuerSpec,
    mutate: impl FnOnce(&mut CertificateParams),
) -> Built {
    let subject = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let key = issuer_key();
    let issuer_der = issuer_cert_with(&key, issuer);
    sign(profile, &subject, key, issuer_der, mutate)
}

/// Builds a `shaken-spc` leaf for `subject`, issued by `issuer_key`.
pub(crate) fn build_for(
    subject: &impl PublicKeyData,
    issuer_key: KeyPair,
    mutate: impl FnOnce(&mut CertificateParams),
) -> Built {
    let issuer = issuer_cert(&issuer_key);
    sign(Profile::ShakenSpc, subject, issuer_key, issuer, mutate)
}

fn sign(
    profile: Profile,
    subject: &impl PublicKeyData,
    issuer_key: KeyPair,
    issuer: Vec<u8>,
    mutate: impl FnOnce(&mut CertificateParams),
) -> Built {
    let mut p = good_params_for(profile, subject.der_bytes());
    mutate(&mut p);
    let iss = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(issuer.as_slice()),
        issuer_key,
    )
    .unwrap();
    Built {
        leaf: p.signed_by(subject, &iss).unwrap().der().to_vec(),
        issuer,
        profile,
    }
}

/// Lints with CP v1.4 and the default policy (sca_path_len 0, no cRLSign).
pub(crate) fn lint(b: &Built) -> Vec<Finding> {
    lint_with(&b.leaf, &LintContext::new(b.profile, &b.issuer))
}

/// The finding of `rule`, if it fired.
pub(crate) fn finding(b: &Built, rule: &str) -> Option<Finding> {
    lint(b).into_iter().find(|f| f.rule == rule)
}

/// The finding of `rule` under a context edited by `edit`.
pub(crate) fn finding_with<'a>(
    b: &'a Built,
    rule: &str,
    edit: impl FnOnce(&mut LintContext<'a>),
) -> Option<Finding> {
    let mut ctx = LintContext::new(b.profile, &b.issuer);
    edit(&mut ctx);
    lint_with(&b.leaf, &ctx)
        .into_iter()
        .find(|f| f.rule == rule)
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

/// Replaces the subject CN.
pub(crate) fn set_cn(p: &mut CertificateParams, cn: &str) {
    p.distinguished_name.remove(rcgen::DnType::CommonName);
    p.distinguished_name.push(
        rcgen::DnType::CommonName,
        rcgen::DnValue::Utf8String(cn.into()),
    );
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
fn the_good_certificates_are_clean() {
    for profile in Profile::ALL {
        let b = build_as(profile, |_| {});
        assert_eq!(lint(&b), vec![], "{profile}");
    }
}
